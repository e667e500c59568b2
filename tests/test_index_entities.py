"""IndexEntities wired in Beam: one index line per entity group, combined across articles."""

from __future__ import annotations

import json

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from transforms.core.types import Article, EntityGroup, Source
from transforms.index_entities import IndexEntities

SOURCE = Source(uri="/c/a.txt", path="a.txt", format="txt", bytes=10)


def _article(article_id: str, *groups: tuple[str, str, int]) -> Article:
    return Article(
        id=article_id,
        source=SOURCE,
        text="text",
        entity_groups=[EntityGroup(name, label, tuple(range(n))) for label, name, n in groups],
    )


def test_index_entities_combines_per_group():
    articles = [
        _article("c", ("ORG", "Acme", 2), ("GPE", "Geneva", 1)),
        _article("a", ("ORG", "Acme", 1)),
        _article("b", ("ORG", "Acme", 1), ("ORG", "Acme", 1)),
        _article("d", ("ORG", "Acme", 3)),
        _article("e"),
    ]
    with TestPipeline() as p:
        lines = p | beam.Create(articles) | IndexEntities()
        assert_that(
            lines | beam.Map(json.loads),
            equal_to(
                [
                    {"name": "Acme", "label": "ORG", "articles": 4, "mentions": 8, "examples": ["a", "b", "c"]},
                    {"name": "Geneva", "label": "GPE", "articles": 1, "mentions": 1, "examples": ["c"]},
                ]
            ),
            label="IndexLines",
        )

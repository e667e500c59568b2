"""Each composite transform wired in Beam: TestPipeline, assert_that, equal_to."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from transforms import CleanArticles, ReadArticles, TagEntities, WriteEnriched
from transforms.core.clean import CleanConfig
from transforms.core.entities import TagConfig
from transforms.core.parse import ReadConfig
from transforms.core.records import WriteConfig
from transforms.core.types import Article, DeadLetter, Entity, Source

from .conftest import read_shards

SOURCE = Source(uri="/c/a.txt", path="a.txt", format="txt", bytes=10)


def _write_corpus(root: Path) -> None:
    (root / "sport").mkdir()
    (root / "sport" / "199.txt").write_bytes(b"Mutu fee\n\nA fee of \xa315.8m was agreed.")
    (root / "a.txt.gz").write_bytes(gzip.compress(b"[ad_1]\nGzipped body.\nSource link"))
    (root / "feed.jsonl").write_text('{"id": "r1", "text": "Line one."}\nnot json\n', encoding="utf-8")
    (root / "broken.txt.gz").write_bytes(gzip.compress(b"xy" * 20)[:15])
    (root / "notes.md").write_text("not an article file", encoding="utf-8")


def test_read_articles(tmp_path):
    _write_corpus(tmp_path)
    with TestPipeline() as p:
        articles, dead = p | ReadArticles(f"{tmp_path}/**", str(tmp_path), ReadConfig())
        assert_that(
            articles | beam.Map(lambda a: (a.source.path, a.title, a.text, a.source.encoding)),
            equal_to(
                [
                    ("sport/199.txt", "Mutu fee", "A fee of £15.8m was agreed.", "cp1252"),
                    ("a.txt.gz", None, "[ad_1]\nGzipped body.\nSource link", "utf-8"),
                    ("feed.jsonl", None, "Line one.", "utf-8"),
                ]
            ),
            label="ArticlesRead",
        )
        assert_that(
            dead | beam.Map(lambda d: (d.source.path, d.source.line, d.stage, d.reason)),
            equal_to([("feed.jsonl", 2, "read", "invalid_json"), ("broken.txt.gz", None, "read", "corrupt_file")]),
            label="DeadLettersRead",
        )


def test_clean_articles():
    articles = [
        Article(id="1", source=SOURCE, text="[ad_1]\nBody â€œquotedâ€\x9d.\nSource link", title="Titleâ€™s"),
        Article(id="2", source=SOURCE, text="[ad_1]\n\nSource link"),
        Article(id="3", source=SOURCE, text="   "),
    ]
    with TestPipeline() as p:
        cleaned, dead = p | beam.Create(articles) | CleanArticles(CleanConfig())
        assert_that(
            cleaned | beam.Map(lambda a: (a.id, a.title, a.text, a.cleaning)),
            equal_to(
                [("1", "Title’s", "Body “quoted”.", {"mojibake:ftfy": 1, "rule:ad_marker": 1, "rule:source_link": 1})]
            ),
            label="Cleaned",
        )
        assert_that(
            dead | beam.Map(lambda d: (d.article_id, d.stage, d.reason)),
            equal_to([("2", "clean", "empty_after_cleaning"), ("3", "clean", "empty_input")]),
            label="DeadLettersCleaned",
        )


def test_tag_entities(tiny_model):
    articles = [Article(id=str(i), source=SOURCE, text=f"Joe Biden visited Geneva {i} times.") for i in range(5)]
    config = TagConfig(model=tiny_model, batch_size=2)
    with TestPipeline() as p:
        tagged, dead = p | beam.Create(articles) | TagEntities(config)
        assert_that(
            tagged | beam.Map(lambda a: (a.id, tuple(a.entities), a.model["version"])),
            equal_to(
                [
                    (str(i), (Entity("Joe Biden", "PERSON", 0, 9), Entity("Geneva", "GPE", 18, 24)), "0.0.0")
                    for i in range(5)
                ]
            ),
            label="Tagged",
        )
        assert_that(dead, equal_to([]), label="NoDeadLetters")


def test_write_enriched(tmp_path, record_validators):
    article = Article(
        id="0123456789abcdef0123",
        source=SOURCE,
        text="Joe Biden.",
        model={"name": "m", "version": "1"},
        entities=[Entity("Joe Biden", "PERSON", 0, 9)],
    )
    dead = DeadLetter(SOURCE, "read", "invalid_json", "bad", "0123456789abcdef0124")
    with TestPipeline() as p:
        _ = (p | "Articles" >> beam.Create([article]), p | "Dead" >> beam.Create([dead])) | WriteEnriched(
            str(tmp_path), WriteConfig()
        )
    enriched_validator, dead_validator = record_validators
    (record,) = read_shards(tmp_path, "enriched")
    (dead_record,) = read_shards(tmp_path, "dead-letter")
    enriched_validator.validate(record)
    dead_validator.validate(dead_record)
    assert record["entities"] == [{"text": "Joe Biden", "label": "PERSON", "start": 0, "end": 9}]
    assert json.loads(json.dumps(dead_record))["reason"] == "invalid_json"


def test_a_crash_while_cleaning_is_a_dead_letter_in_the_same_output_as_the_others():
    def article(name: str, text) -> Article:
        return Article(id=name, source=Source(uri=f"/in/{name}", path=name, format="txt", bytes=1), text=text)

    with TestPipeline() as p:
        articles = p | beam.Create([article("ok", "Fine."), article("blank", "  "), article("crash", None)])
        cleaned, dead = articles | CleanArticles(CleanConfig())
        assert_that(cleaned | "Ids" >> beam.Map(lambda a: a.id), equal_to(["ok"]), label="Cleaned")
        reasons = dead | "Reasons" >> beam.Map(lambda d: (d.article_id, d.stage, d.reason))
        assert_that(reasons, equal_to([("blank", "clean", "empty_input"), ("crash", "clean", "clean_failed")]))

"""The whole pipeline in one screen: read, clean, tag, write."""

from __future__ import annotations

import apache_beam as beam

from pipeline.config import Config
from transforms import CleanArticles, ReadArticles, TagEntities, WriteEnriched


def build_pipeline(pipeline: beam.Pipeline, config: Config, pattern: str, base: str, output: str) -> None:
    """Add the article-enrich transforms to `pipeline`, reading `pattern` and writing under `output`."""
    articles, read_dead = pipeline | "ReadArticles" >> ReadArticles(pattern, base, config.read)
    cleaned, clean_dead = articles | "CleanArticles" >> CleanArticles(config.clean)
    tagged, tag_dead = cleaned | "TagEntities" >> TagEntities(config.tag)
    dead_letters = (read_dead, clean_dead, tag_dead) | "CollectDeadLetters" >> beam.Flatten()
    _ = (tagged, dead_letters) | "WriteEnriched" >> WriteEnriched(output, config.write)

"""WriteEnriched: enriched records and dead letters as sharded JSON Lines files."""

from __future__ import annotations

from typing import TYPE_CHECKING

import apache_beam as beam

from transforms.core.records import dead_letter_record, enriched_record, to_json_line
from transforms.core.types import Article
from transforms.metrics import count

if TYPE_CHECKING:
    from pipeline.config import WriteConfig

ENRICHED_PREFIX = "enriched"
DEAD_LETTER_PREFIX = "dead-letter"
SHARD_TEMPLATE = "-SSSSS-of-NNNNN"
SUFFIX = ".jsonl"


class WriteEnriched(beam.PTransform):
    """Write (articles, dead letters) under `output` as enriched-*.jsonl and dead-letter-*.jsonl.

    An optional third member, {prefix: JSON lines}, is written as `prefix-*.jsonl` (e.g. duplicates).
    """

    def __init__(self, output: str, config: WriteConfig) -> None:
        super().__init__()
        self._output = output.rstrip("/")
        self._config = config

    def expand(self, outputs):
        articles, dead_letters, *more = outputs
        enriched, dead = (articles, dead_letters) | "FormatRecords" >> FormatRecords()
        for prefix, lines in (more[0] if more else {}).items():
            _ = lines | f"Write_{prefix}" >> self._sink(prefix)
        return (
            enriched | "WriteEnrichedShards" >> self._sink(ENRICHED_PREFIX),
            dead | "WriteDeadLetterShards" >> self._sink(DEAD_LETTER_PREFIX),
        )

    def _sink(self, prefix: str) -> beam.io.WriteToText:
        return beam.io.WriteToText(
            f"{self._output}/{prefix}",
            file_name_suffix=SUFFIX,
            shard_name_template=SHARD_TEMPLATE,
            num_shards=self._config.num_shards,
        )


class FormatRecords(beam.PTransform):
    """(articles, dead letters) to (enriched JSON lines, dead-letter JSON lines), counting both."""

    def expand(self, outputs):
        articles, dead_letters = outputs
        enriched = (
            articles
            | "CountEnriched" >> beam.Map(_count_article)
            | "EnrichedToJson" >> beam.Map(lambda article: to_json_line(enriched_record(article)))
        )
        dead = (
            dead_letters
            | "CountDeadLetters" >> beam.Map(count, "dead_letter")
            | "DeadLettersToJson" >> beam.Map(lambda dead: to_json_line(dead_letter_record(dead)))
        )
        return enriched, dead


def _count_article(article: Article) -> Article:
    count(article, "enriched")
    return count(article, "entities", len(article.entities))

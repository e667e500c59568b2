"""WriteEnriched: enriched records and dead letters as sharded JSON Lines files."""

from __future__ import annotations

from collections.abc import Iterator

import apache_beam as beam

from transforms.core import layout
from transforms.core.arrow_schema import ENRICHED, parquet_row
from transforms.core.progress import WRITTEN, ProgressReporter
from transforms.core.records import WriteConfig, dead_letter_record, enriched_record, to_json_line
from transforms.core.types import Article
from transforms.index_entities import IndexEntities
from transforms.metrics import count


class WriteEnriched(beam.PTransform):
    """Write (articles, dead letters) under `output` as enriched-*.jsonl and dead-letter-*.jsonl.

    An optional third member, {prefix: JSON lines}, is written as `prefix-*.jsonl` (e.g. duplicates).
    With a local `progress` folder, the inputs that reach the output are reported there (pipeline/progress.py).
    """

    def __init__(self, output: str, config: WriteConfig, progress: str | None = None) -> None:
        super().__init__()
        self._output = output.rstrip("/")
        self._config = config
        self._progress = progress

    def expand(self, outputs):
        articles, dead_letters, *more = outputs
        enriched, dead = (articles, dead_letters) | "FormatRecords" >> FormatRecords()
        if self._progress is not None:
            for name, inputs in (("Articles", articles), ("DeadLetters", dead_letters)):
                _ = inputs | f"ReportWritten{name}" >> beam.ParDo(_ReportWrittenFn(self._progress))
        self._write_extras(articles)
        for prefix, lines in (more[0] if more else {}).items():
            _ = lines | f"Write_{prefix}" >> self._sink(prefix)
        return (
            enriched | "WriteEnrichedShards" >> self._sink(layout.ENRICHED),
            dead | "WriteDeadLetterShards" >> self._sink(layout.DEAD_LETTER),
        )

    def _write_extras(self, articles) -> None:
        """The corpus entity index if `write.entity_index`, and the enriched records as Parquet if `write.parquet`."""
        if self._config.entity_index:
            _ = articles | "IndexEntities" >> IndexEntities() | "WriteEntityIndex" >> self._sink(layout.ENTITIES)
        if self._config.parquet:
            _ = (
                articles
                | "ParquetRows" >> beam.Map(lambda article: parquet_row(enriched_record(article)))
                | "WriteParquetShards"
                >> beam.io.WriteToParquet(
                    layout.shard_prefix(self._output, layout.ENRICHED),
                    ENRICHED,
                    file_name_suffix=layout.PARQUET,
                    shard_name_template=layout.SHARD_TEMPLATE,
                    num_shards=self._config.num_shards,
                )
            )

    def _sink(self, prefix: str) -> beam.io.WriteToText:
        return beam.io.WriteToText(
            layout.shard_prefix(self._output, prefix),
            file_name_suffix=layout.JSONL,
            shard_name_template=layout.SHARD_TEMPLATE,
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
        return enriched, dead_letters | FormatDeadLetters()


class FormatDeadLetters(beam.PTransform):
    """Dead letters to dead-letter JSON lines, counting them."""

    def expand(self, dead_letters):
        return (
            dead_letters
            | "CountDeadLetters" >> beam.Map(count, "dead_letter")
            | "DeadLettersToJson" >> beam.Map(lambda dead: to_json_line(dead_letter_record(dead)))
        )


def _count_article(article: Article) -> Article:
    count(article, "enriched")
    return count(article, "entities", len(article.entities))


class _ReportWrittenFn(beam.DoFn):
    """Counts the inputs that reached the output for the launcher's progress line; emits nothing."""

    def __init__(self, folder: str) -> None:
        self._folder = folder

    def setup(self) -> None:
        self._reporter = ProgressReporter(self._folder, WRITTEN)
        self._reporter.start()

    def process(self, _: object) -> Iterator[None]:
        self._reporter.input_read()
        return iter(())

    def finish_bundle(self) -> None:
        self._reporter.flush()

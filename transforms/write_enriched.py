"""WriteEnriched: enriched records and dead letters as sharded JSON Lines files."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from transforms.core import layout
from transforms.core.arrow_schema import ENRICHED, parquet_row
from transforms.core.progress import WRITTEN, ProgressReporter
from transforms.core.records import WriteConfig, dead_letter_record, enriched_record, to_json_line
from transforms.core.types import Article
from transforms.index_entities import IndexEntities
from transforms.metrics import count

_LABELS = {
    layout.ENRICHED: "WriteEnrichedShards",
    layout.DEAD_LETTER: "WriteDeadLetterShards",
    layout.ENTITIES: "WriteEntityIndex",
}


class WriteEnriched(beam.PTransform):
    """Write (articles, dead letters) under `output` as enriched-*.jsonl and dead-letter-*.jsonl.

    An optional third member, {prefix: JSON lines}, is written as `prefix-*.jsonl` (e.g. duplicates).
    With a local `progress` folder, the inputs that reach the output are reported there (pipeline/progress.py).
    A `compact` job (a few articles, one worker) writes every JSON Lines shard in one step, one shard each.
    """

    def __init__(
        self, output: str, config: WriteConfig, progress: str | None = None, compact: bool = False
    ) -> None:
        super().__init__()
        self._output = output.rstrip("/")
        self._config = config
        self._progress = progress
        self._compact = compact

    def expand(self, outputs):
        articles, dead_letters, *more = outputs
        enriched, dead = (articles, dead_letters) | "FormatRecords" >> FormatRecords()
        if self._progress is not None:
            for name, inputs in (("Articles", articles), ("DeadLetters", dead_letters)):
                _ = inputs | f"ReportWritten{name}" >> beam.ParDo(_ReportWrittenFn(self._progress))
        lines = {layout.ENRICHED: enriched, layout.DEAD_LETTER: dead, **(more[0] if more else {})}
        if self._config.entity_index:
            lines[layout.ENTITIES] = articles | "IndexEntities" >> IndexEntities()
        if self._config.parquet:
            self._write_parquet(articles)
        if self._compact:
            return lines | "WriteShards" >> _WriteOneShardEach(self._output)
        written = {}
        for prefix, shard in lines.items():
            written[prefix] = shard | _LABELS.get(prefix, f"Write_{prefix}") >> self._sink(prefix)
        return written

    def _write_parquet(self, articles) -> None:
        """The enriched records as Parquet too (`write.parquet`)."""
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


@beam.ptransform_fn
def _WriteOneShardEach(lines_by_prefix: dict, output: str):
    """{prefix: JSON lines} as one `prefix-00000-of-00001.jsonl` each (empty if it has no lines), as WriteToText
    names a single shard, all written in one step: files first in a `beam-temp-` folder, then renamed."""
    prefixes = sorted(lines_by_prefix)
    keyed = [
        lines | f"Key_{prefix}" >> beam.Map(lambda line, prefix: (prefix, line), prefix)
        for prefix, lines in lines_by_prefix.items()
    ]
    every = next(iter(lines_by_prefix.values())).pipeline | "EveryPrefix" >> beam.Create([(p, None) for p in prefixes])
    return (
        [every, *keyed]
        | "AllLines" >> beam.Flatten()
        | "ByPrefix" >> beam.GroupByKey()
        | "Write" >> beam.ParDo(_WriteShardFn(output))
    )


class _WriteShardFn(beam.DoFn):
    def __init__(self, output: str) -> None:
        self._output = output

    def start_bundle(self) -> None:
        self._temp = f"{self._output}/{layout.BEAM_TEMP}shards-{uuid.uuid4().hex}"
        self._written: list[str] = []

    def process(self, prefix_lines: tuple[str, Iterable[str | None]]) -> Iterator[str]:
        prefix, lines = prefix_lines
        name = f"{prefix}-00000-of-00001{layout.JSONL}"
        with FileSystems.create(f"{self._temp}/{name}") as handle:
            for line in lines:
                if line is not None:
                    handle.write(line.encode("utf-8") + b"\n")
        self._written.append(name)
        yield f"{self._output}/{name}"

    def finish_bundle(self) -> None:
        if self._written:
            FileSystems.rename(
                [f"{self._temp}/{name}" for name in self._written], [f"{self._output}/{name}" for name in self._written]
            )
            if FileSystems.exists(self._temp):  # a local folder; object stores have no folder objects
                FileSystems.delete([self._temp])


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

"""ReadArticles: match article files on any Beam filesystem and parse them into articles."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystem import CompressionTypes

from transforms.core import parse
from transforms.core.records import describe_exception, error_text
from transforms.core.types import Article, DeadLetter, Source
from transforms.metrics import count

if TYPE_CHECKING:
    from pipeline.config import ReadConfig

DEAD_LETTER = "dead_letter"


class ReadArticles(beam.PTransform):
    """Read every article file matching `pattern`; returns (articles, dead letters)."""

    def __init__(self, pattern: str, base: str, config: ReadConfig) -> None:
        super().__init__()
        self._pattern = pattern
        self._read = _ReadFileFn(base, config)

    def expand(self, pbegin):
        files = (
            pbegin
            | "MatchFiles" >> fileio.MatchFiles(self._pattern)
            | "KeepArticleFiles" >> beam.Filter(lambda meta: parse.article_format(meta.path) is not None)
            | "ReadMatches" >> fileio.ReadMatches()
        )
        parsed = files | "ParseFiles" >> beam.ParDo(self._read).with_output_types(
            Article, dead_letter=DeadLetter
        ).with_exception_handling(dead_letter_tag="failed").with_outputs(DEAD_LETTER, main="articles")
        crashed = parsed["failed"] | "DescribeFailures" >> beam.Map(self._read.failed)
        dead = (parsed[DEAD_LETTER], crashed) | "MergeDeadLetters" >> beam.Flatten()
        articles = parsed["articles"] | "CountArticleInputs" >> beam.Map(count, "inputs")
        dead = dead | "CountFailedInputs" >> beam.Map(count, "inputs")
        return articles, dead


class _ReadFileFn(beam.DoFn):
    def __init__(self, base: str, config: ReadConfig) -> None:
        self._base = base
        self._config = config
        self._fields = parse.Fields(
            config.id_field, config.title_field, config.text_field, config.url_field, config.date_field
        )

    def process(self, file: fileio.ReadableFile) -> Iterator[Article | beam.pvalue.TaggedOutput]:
        source = self.source_of(file)
        try:
            with parse.open_decompressed(
                file.open(compression_type=CompressionTypes.UNCOMPRESSED), source.uri
            ) as stream:
                yield from self._articles(stream, source)
        except parse.InputError as error:
            yield self._dead(source, error)
        except (OSError, EOFError) as error:
            yield self._dead(source, parse.InputError(_io_reason(error), error_text(error)))

    def _articles(self, stream, source: Source) -> Iterator[Article | beam.pvalue.TaggedOutput]:
        if source.format == "txt":
            data = parse.read_limited(stream, self._config.max_article_bytes, "article")
            yield parse.text_article(data, source, title_max_chars=self._config.title_max_chars)
            return
        if source.format == "jsonl":
            items = parse.jsonl_articles(stream, source, self._fields, self._config.max_article_bytes)
        else:
            data = parse.read_limited(stream, self._config.max_file_bytes, "JSON file")
            items = parse.json_articles(data, source, self._fields)
        for item in items:
            yield self._dead(source, item) if isinstance(item, parse.InputError) else item

    def source_of(self, file: fileio.ReadableFile) -> Source:
        path = file.metadata.path
        return Source(
            uri=path,
            path=parse.relative_path(path, self._base),
            format=parse.article_format(path) or "unknown",
            bytes=file.metadata.size_in_bytes,
        )

    def failed(self, failure: tuple) -> DeadLetter:
        file, (exc_type, exc_repr, trace) = failure
        source = self.source_of(file)
        error = describe_exception(exc_type, exc_repr, trace)
        return DeadLetter(source, "read", "read_failed", error, parse.article_id(source.path))

    @staticmethod
    def _dead(source: Source, error: parse.InputError) -> beam.pvalue.TaggedOutput:
        source = replace(source, line=error.line)
        article_id = parse.article_id(source.path, error.line)
        return beam.pvalue.TaggedOutput(DEAD_LETTER, DeadLetter(source, "read", error.reason, str(error), article_id))


def _io_reason(error: BaseException) -> str:
    if isinstance(error, FileNotFoundError):
        return "file_vanished"
    if isinstance(error, PermissionError):
        return "unreadable"
    return "corrupt_file"

"""ReadArticles: match article files on any Beam filesystem and parse them into articles."""

from __future__ import annotations

import copy
import errno
import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import replace

import apache_beam as beam
from apache_beam import typehints
from apache_beam.io import fileio
from apache_beam.io.filesystem import CompressionTypes, FileMetadata

from transforms.core import parse, warc
from transforms.core.html import Page
from transforms.core.parse import ReadConfig
from transforms.core.paths import is_local
from transforms.core.progress import ProgressReporter
from transforms.core.records import as_dead_letter, describe_exception, error_text
from transforms.core.types import DEAD_LETTER, Article, DeadLetter, Source
from transforms.extract_pages import ExtractPageFn, ExtractPages
from transforms.match_files import MatchFiles
from transforms.metrics import count
from transforms.object_stores import STORE_ERRORS, store_failure

PAGES = "pages"
FILES_PER_SHUFFLE = 10  # small enough that a few dozen files still spread over every worker


class ReadArticles(beam.PTransform):
    """Read every article file matching `patterns` (one glob or a list); returns (articles, dead letters).

    If the input may hold WARC `archives`, their pages are extracted in a stage of their own (ExtractPages),
    spread over all workers. Without, pages are extracted where they are read: merging two stages' articles
    would make the DirectRunner hold every article in its launcher's memory. The articles are the same.
    A `compact` job (a few articles, one worker) spreads nothing: its files and pages stay where they are read.
    """

    def __init__(
        self,
        patterns: str | Sequence[str],
        base: str,
        config: ReadConfig,
        progress: str | None = None,
        archives: bool = True,
        compact: bool = False,
    ) -> None:
        super().__init__()
        self._patterns = [patterns] if isinstance(patterns, str) else list(patterns)
        self._parse = _ParseArticleFiles(base, config, progress, archives and not compact)
        self._compact = compact

    def expand(self, pbegin):
        files = (
            pbegin
            | "Patterns" >> beam.Create(self._patterns)
            | "MatchFiles" >> beam.ParDo(MatchFiles())
            | "KeepArticleFiles" >> beam.Filter(lambda meta: parse.article_format(meta.path) is not None)
        )
        if not self._compact:
            files = files | "SpreadFiles" >> _SpreadFiles(FILES_PER_SHUFFLE)
        return files | "ParseArticleFiles" >> self._parse


@beam.ptransform_fn
def _SpreadFiles(files, batch_size: int):
    """Reshuffle matched files so that all workers share reading, cleaning and tagging.

    Matching emits every file from one element, so the stage fused behind it would run on one worker. Files
    travel as small batches of (path, size): the DirectRunner holds a shuffle in the launcher's memory, about
    2.4–2.9 KB per FileMetadata shuffled on its own against 0.8 KB per file this way (`memory_probes`).
    """
    return (
        files
        | "PathsAndSizes" >> beam.Map(lambda meta: (meta.path, meta.size_in_bytes))
        | "Batch" >> beam.BatchElements(min_batch_size=batch_size, max_batch_size=batch_size)
        | "Reshuffle" >> beam.Reshuffle()
        | "Unbatch" >> beam.FlatMap(lambda batch: [FileMetadata(path, size) for path, size in batch])
    )


class _ParseArticleFiles(beam.PTransform):
    """Parse matched files (FileMetadata) into articles and dead letters."""

    def __init__(self, base: str, config: ReadConfig, progress: str | None = None, archives: bool = True) -> None:
        super().__init__()
        self._read = _ReadFileFn(base, config)
        self._progress = progress
        self._archives = archives
        self._extract = ExtractPages(config.web)

    def expand(self, metadata):
        self._read.extract_inline = not self._archives
        files = metadata | "ReadMatches" >> fileio.ReadMatches()
        reader = self._read.reporting_to(ProgressReporter(self._progress)) if self._progress else self._read
        parsed = files | "ParseFiles" >> beam.ParDo(reader).with_output_types(
            Article, dead_letter=DeadLetter, pages=Page
        ).with_exception_handling(dead_letter_tag=DEAD_LETTER).with_outputs(DEAD_LETTER, PAGES, main="articles")
        # Beam's exception handling shares the dead-letter output: no Flatten, which would be a stage of its own.
        # It types that output as its (input, error) tuples; it carries DeadLetters too, so it gets their coder,
        # as Beam itself sets element types there.
        parsed[DEAD_LETTER].element_type = typehints.Union[DeadLetter, typehints.Any]
        dead = parsed[DEAD_LETTER] | "DescribeFailures" >> beam.Map(as_dead_letter, self._read.failed)
        articles = parsed["articles"]
        if not self._read.extract_inline:
            extracted, extract_dead = parsed[PAGES] | "ExtractPages" >> self._extract
            dead = (dead, extract_dead) | "MergeDeadLetters" >> beam.Flatten()
            articles = (articles, extracted) | "MergeArticles" >> beam.Flatten()
        articles = articles | "CountArticleInputs" >> beam.Map(count, "inputs")
        dead = dead | "CountFailedInputs" >> beam.Map(count, "inputs")
        return articles, dead


class _ReadFileFn(beam.DoFn):
    def __init__(self, base: str, config: ReadConfig) -> None:
        self._base = base
        self._config = config
        self._progress: ProgressReporter | None = None
        self.extract_inline = False
        self._extractor = ExtractPageFn(config.web)
        self._store_down: str | None = None

    def reporting_to(self, progress: ProgressReporter) -> _ReadFileFn:
        """A copy of this reader that reports its progress to `progress`."""
        reader = copy.copy(self)
        reader._progress = progress
        return reader

    def setup(self) -> None:
        if self._progress is not None:
            self._progress.start()
        if self.extract_inline:
            self._extractor.setup()

    def finish_bundle(self) -> None:
        if self._progress is not None:
            self._progress.flush()

    def teardown(self) -> None:
        self._extractor.teardown()

    def process(self, file: fileio.ReadableFile) -> Iterator[Article | beam.pvalue.TaggedOutput]:
        if self._progress is None:
            yield from self._read_file(file)
            return
        for item in self._read_file(file):
            self._progress.input_read()
            yield item
        self._progress.file_done(file.metadata.size_in_bytes)

    def _read_file(self, file: fileio.ReadableFile) -> Iterator[Article | beam.pvalue.TaggedOutput]:
        source = self.source_of(file)
        if self._store_down is not None:  # once the store failed after Beam's retries, not again for every file
            yield self._store_failed(source, self._store_down)
            return
        try:
            problem = _local_file_problem(source.uri)
            if problem is not None:
                raise problem
            raw = file.open(compression_type=CompressionTypes.UNCOMPRESSED)
            if self._progress is not None:
                self._progress.open_file(raw)
            if source.format in parse.WEB_FORMATS.values():
                yield from self._web_items(raw, source)
                return
            with parse.open_decompressed(raw, source.uri) as stream:
                limited = parse.LimitedStream(stream, self._config.max_decompressed_bytes)
                yield from self._articles(limited, source)
        except parse.InputError as error:
            yield self._dead(source, error)
        except (OSError, EOFError) as error:
            yield self._dead(source, parse.InputError(_io_reason(error), error_text(error)))
        except Exception as error:
            if not store_failure(error):
                raise
            self._store_down = error_text(error)
            yield self._store_failed(source, self._store_down)

    def _store_failed(self, source: Source, error: str) -> beam.pvalue.TaggedOutput:
        """A file its store did not serve: counted, so that the run fails rather than commit it as a dead letter."""
        count(None, STORE_ERRORS)
        return self._dead(source, parse.InputError("store_unavailable", error))

    def _articles(self, stream, source: Source) -> Iterator[Article | beam.pvalue.TaggedOutput]:
        if source.format == "txt":
            data = parse.read_limited(stream, self._config.max_article_bytes, "article")
            yield parse.text_article(data, source, title_max_chars=self._config.title_max_chars)
            return
        if source.format == "jsonl":
            items = parse.jsonl_articles(stream, source, self._config)
        else:
            data = parse.read_limited(stream, self._config.max_file_bytes, "JSON file")
            items = parse.json_articles(data, source, self._config)
        empty = True
        for item in items:
            empty = False
            yield self._dead(source, item) if isinstance(item, parse.InputError) else item
        if empty:  # a file without a single record must still leave a trace
            yield self._dead(source, parse.InputError("empty_input", "the file holds no records"))

    def _web_items(self, raw, source: Source) -> Iterator[Article | beam.pvalue.TaggedOutput]:
        """Pages to extract, WET articles, and dead letters of a web file; other WARC records are counted."""
        web, empty = self._config.web, True
        with raw:
            for item in warc.web_items(
                raw,
                source,
                max_page_bytes=web.max_page_bytes,
                max_text_bytes=self._config.max_article_bytes,
                max_decompressed_bytes=self._config.max_decompressed_bytes,
            ):
                empty = False
                if isinstance(item, Page) and self.extract_inline:
                    yield from self._extractor.process(item)
                elif isinstance(item, Page):
                    yield beam.pvalue.TaggedOutput(PAGES, item)
                elif isinstance(item, warc.Skipped):
                    count(item, f"{warc.SKIPPED_PREFIX}{item.kind}")
                elif isinstance(item, warc.RecordError):
                    at = replace(source, offset=item.offset)
                    dead = DeadLetter(at, "read", item.reason, str(item), parse.article_id(source.path, item.offset))
                    yield beam.pvalue.TaggedOutput(DEAD_LETTER, dead)
                else:
                    yield item
        if empty:  # a file without a single record must still leave a trace
            yield self._dead(source, parse.InputError("empty_input", "the file holds no records"))

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


def _local_file_problem(path: str) -> parse.InputError | None:
    """A local path that is not a regular file (a FIFO would block, a device never ends), or None."""
    if not is_local(path):
        return None
    if os.path.islink(path) and not os.path.exists(path):
        return parse.InputError("broken_link", "a symbolic link to a missing target, or a link loop")
    mode = os.stat(path).st_mode
    if stat.S_ISREG(mode):
        return None
    return parse.InputError("not_a_file", "not a regular file (a directory, FIFO, socket or device)")


def _io_reason(error: BaseException) -> str:
    if isinstance(error, FileNotFoundError):
        return "file_vanished"
    if isinstance(error, PermissionError):
        return "unreadable"
    if getattr(error, "errno", None) == errno.ELOOP:
        return "broken_link"
    return "corrupt_file"

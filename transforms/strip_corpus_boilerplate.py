"""StripCorpusBoilerplate: remove lines that repeat verbatim in many articles of the same site."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator

import apache_beam as beam
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MIN_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue

from transforms.core import layout
from transforms.core.boilerplate import (
    CorpusBoilerplateConfig,
    distinct_line_keys,
    partial_counts,
    repeated_keys,
    strip_repeated,
)
from transforms.core.records import line_keys_record, to_json_line
from transforms.core.store import History, StoreReader
from transforms.core.types import Article
from transforms.hold_articles import HoldArticles
from transforms.metrics import count

COUNT_BUCKETS = 64
MAX_HELD_KEYS = 200_000  # a worker's partial counts are sent on at this size, so its memory stays bounded


class StripCorpusBoilerplate(beam.PTransform):
    """Count each normalised line once per article per site; drop lines seen in `min_articles` or more.

    One pass: the line keys are counted as the articles go by, while the articles wait in files under
    `temp_root` (HoldArticles) until the count is complete; then they are read back and stripped. Without
    `temp_root` the runner holds them (in memory on the DirectRunner; for tests and small inputs).
    With a `history`, committed articles count as evidence too (looked up in its store for the lines below the
    threshold). Returns (articles, {file prefix: JSON lines}): with a history, each article's line keys, for the
    corpus evidence of later runs.
    """

    def __init__(
        self, config: CorpusBoilerplateConfig, temp_root: str | None = None, history: History | None = None
    ) -> None:
        super().__init__()
        self._config = config
        self._temp_root = temp_root
        self._history = history

    def expand(self, articles):
        if not self._config.enabled:
            return articles, {}
        lines = articles | "DistinctLines" >> beam.Map(_uri_and_keys)
        files = {}
        if self._history is not None:
            files[layout.LINE_KEYS] = lines | "LineKeysToJson" >> beam.MapTuple(
                lambda uri, keys: to_json_line(line_keys_record(uri, keys))
            )
        repeated = (
            lines
            | "CountLines" >> beam.ParDo(_CountLinesFn())
            | "GroupPartialCounts" >> beam.GroupByKey()
            | "KeepRepeated" >> beam.ParDo(_RepeatedFn(self._config.min_articles, self._history))
        )
        if self._temp_root is not None:
            articles = articles | "HoldArticles" >> HoldArticles(self._temp_root, until=repeated)
        stripped = articles | "StripRepeatedLines" >> beam.ParDo(_StripFn(), repeated=beam.pvalue.AsIter(repeated))
        return stripped, files


class _CountLinesFn(beam.DoFn):
    """Counts (uri, line keys) per bundle; emits the counts as (bucket, packed {key: count}) partial counts."""

    def start_bundle(self) -> None:
        self._counts: Counter[str] = Counter()

    def process(self, uri_keys: tuple[str, Iterable[str]]) -> Iterator[tuple[int, bytes]]:
        self._counts.update(uri_keys[1])
        if len(self._counts) >= MAX_HELD_KEYS:
            yield from self._flush()

    def finish_bundle(self) -> Iterator[WindowedValue]:
        for part in self._flush():
            yield WindowedValue(part, MIN_TIMESTAMP, (GlobalWindow(),))

    def _flush(self) -> list[tuple[int, bytes]]:
        parts = partial_counts(self._counts, COUNT_BUCKETS)
        self._counts = Counter()
        return parts


class _RepeatedFn(beam.DoFn):
    """The repeated line keys of one count bucket, with the committed articles' counts of `history` added."""

    def __init__(self, least: int, history: History | None) -> None:
        self._least = least
        self._history = history

    def setup(self) -> None:
        self._store = StoreReader(self._history.store) if self._history is not None else None
        # The committed keys of inputs this job processes again: their new version is counted instead.
        self._replaced = self._store.line_keys_of(self._history.replaced) if self._store is not None else Counter()

    def process(self, bucket: tuple[int, Iterable[bytes]]) -> Iterator[str]:
        earlier = self._earlier_counts if self._store is not None else None
        yield from repeated_keys(bucket[1], self._least, earlier)

    def teardown(self) -> None:
        if self._store is not None:
            self._store.close()

    def _earlier_counts(self, keys: list[str]) -> dict[str, int]:
        counts = self._store.line_counts(keys)
        return {key: n - self._replaced[key] for key, n in counts.items()}


class _StripFn(beam.DoFn):
    def start_bundle(self) -> None:
        self._repeated: frozenset[str] | None = None

    def process(self, article: Article, repeated: Iterable[str]) -> Iterable[Article]:
        if self._repeated is None:
            self._repeated = frozenset(repeated)
        if not self._repeated:
            yield article
            return
        text, removed = strip_repeated(article, self._repeated)
        if not removed:
            yield article
            return
        count(article, "corpus_boilerplate_lines", removed)
        yield article.replace(text=text, cleaning={**article.cleaning, "corpus_boilerplate": removed})


def _uri_and_keys(article: Article) -> tuple[str, set[str]]:
    return article.source.uri, distinct_line_keys(article)



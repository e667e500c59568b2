"""WatchArticles: poll a folder or glob for new complete article files and parse them, windowed by event time."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import apache_beam as beam
from apache_beam.io.filesystem import FileMetadata
from apache_beam.io.filesystems import FileSystems
from apache_beam.io.restriction_trackers import OffsetRange, OffsetRestrictionTracker
from apache_beam.transforms import window
from apache_beam.transforms.core import RestrictionProvider

from transforms.core.parse import ReadConfig
from transforms.core.types import Article
from transforms.core.watch import FileTracker, event_time, is_watchable
from transforms.match_files import match_files
from transforms.read_articles import ParseArticleFiles

log = logging.getLogger(__name__)
_NEVER = 2**62


class WatchArticles(beam.PTransform):
    """Every complete article file under `pattern`, now and later, parsed; returns (articles, dead letters).

    Each article's timestamp is its `date` when that parses, else its file's modification time; both
    outputs are in fixed event-time windows of `window_seconds`. Polling stops after `idle_timeout`
    seconds without a new or growing file (None: never) or once the file `stop_marker` exists.
    """

    def __init__(
        self,
        pattern: str,
        base: str,
        config: ReadConfig,
        *,
        window_seconds: float,
        poll_interval: float,
        idle_timeout: float | None,
        stop_marker: str,
    ) -> None:
        super().__init__()
        self._poll = _PollFilesFn(pattern, poll_interval, idle_timeout, stop_marker)
        self._parse = ParseArticleFiles(base, config)
        self.window_seconds = window_seconds

    def expand(self, pbegin):
        files = pbegin | "Start" >> beam.Create([None]) | "PollFiles" >> beam.ParDo(self._poll)
        articles, dead = files | "ParseArticleFiles" >> self._parse
        articles = articles | "EventTime" >> beam.Map(_with_event_time)
        windows = window.FixedWindows(self.window_seconds)
        return (
            articles | "WindowArticles" >> beam.WindowInto(windows),
            dead | "WindowDeadLetters" >> beam.WindowInto(windows),
        )


def _with_event_time(article: Article, timestamp=beam.DoFn.TimestampParam) -> window.TimestampedValue:
    seconds = event_time(article.date)
    return window.TimestampedValue(article, timestamp if seconds is None else seconds)


class _Polls(RestrictionProvider):
    """One offset per poll that found files, so each batch of new files is its own bundle."""

    def initial_restriction(self, element: None) -> OffsetRange:
        return OffsetRange(0, _NEVER)

    def create_tracker(self, restriction: OffsetRange) -> OffsetRestrictionTracker:
        return OffsetRestrictionTracker(restriction)

    def restriction_size(self, element: None, restriction: OffsetRange) -> int:
        return 1


_POLLS = beam.DoFn.RestrictionParam(_Polls())


class _PollFilesFn(beam.DoFn):
    def __init__(self, pattern: str, interval: float, idle_timeout: float | None, stop_marker: str) -> None:
        self._pattern = pattern
        self._interval = interval
        self._idle_timeout = idle_timeout
        self._stop_marker = stop_marker

    def setup(self) -> None:
        self._tracker = FileTracker(settle=max(1.0, 2 * self._interval))
        self._active_at = time.monotonic()
        self._stop_seen_at: float | None = None

    @beam.DoFn.unbounded_per_element()
    def process(self, _: None, polls=_POLLS) -> Iterator[window.TimestampedValue]:
        while True:
            if self._stop_seen_at is None and FileSystems.exists(self._stop_marker):
                self._stop_seen_at = time.monotonic()
            listing = self._list()
            pending = set(self._tracker.pending)
            ready = self._tracker.observe(listing, time.time())
            if ready or set(self._tracker.pending) != pending:
                self._active_at = time.monotonic()
            idle = self._idle_timeout is not None and time.monotonic() - self._active_at >= self._idle_timeout
            if self._stopped() or idle:
                if self._tracker.pending:
                    log.warning("stopping with incomplete files left unread: %s", self._tracker.pending)
                polls.try_claim(_NEVER - 1)
                yield from (self._timestamped(path, listing[path]) for path in ready)
                return
            if ready:
                if not polls.try_claim(polls.current_restriction().start):
                    return
                yield from (self._timestamped(path, listing[path]) for path in ready)
                polls.defer_remainder()
                return
            time.sleep(self._interval)

    def _stopped(self) -> bool:
        """Stop requested, and no file is still settling (or the grace period for them is over)."""
        if self._stop_seen_at is None:
            return False
        grace = 4 * self._tracker.settle + 5 * self._interval
        return not self._tracker.pending or time.monotonic() - self._stop_seen_at >= grace

    def _list(self) -> dict[str, tuple[int, float]]:
        try:
            found = match_files(self._pattern)
        except Exception:  # noqa: BLE001 - an empty or vanished folder is not an error while watching
            return {}
        return {m.path: (m.size_in_bytes, m.last_updated_in_seconds) for m in found if is_watchable(m.path)}

    @staticmethod
    def _timestamped(path: str, stat: tuple[int, float]) -> window.TimestampedValue:
        size, mtime = stat
        return window.TimestampedValue(FileMetadata(path, size, mtime), mtime)

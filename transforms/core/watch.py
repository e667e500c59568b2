"""Watch-mode logic without Beam: which files are complete, and an article's event time."""

from __future__ import annotations

import datetime as dt
import email.utils
from dataclasses import dataclass, field

from transforms.core.parse import article_format

PARTIAL_SUFFIXES = (".tmp", ".temp", ".part", ".partial", ".crdownload", ".swp", "~", "_copying_", ".filepart")


def is_watchable(path: str) -> bool:
    """An article file that is not hidden and not a temporary or partial name (`.x.txt`, `a.txt.tmp`, `a.txt~`)."""
    name = path.rstrip("/").rsplit("/", 1)[-1]
    lowered = name.lower()
    if not name or name[0] in "._~" or lowered.endswith(PARTIAL_SUFFIXES):
        return False
    return article_format(path) is not None


@dataclass
class FileTracker:
    """Emits each file once, when its size and mtime were the same in two consecutive listings and it
    has not been modified for `settle` seconds (a writer that pauses between writes is not cut short)."""

    settle: float = 1.0
    seen: dict[str, tuple[int, float]] = field(default_factory=dict)
    emitted: set[str] = field(default_factory=set)

    def observe(self, listing: dict[str, tuple[int, float]], now: float) -> list[str]:
        """Complete files not emitted before, given {path: (size, mtime)} of one poll at time `now`."""
        ready = [
            path
            for path, stat in sorted(listing.items())
            if path not in self.emitted and self.seen.get(path) == stat and now - stat[1] >= self.settle
        ]
        self.emitted.update(ready)
        self.seen = {path: stat for path, stat in listing.items() if path not in self.emitted}
        return ready

    @property
    def pending(self) -> list[str]:
        """Files seen but not yet complete (still growing, or seen in only one listing)."""
        return sorted(self.seen)


def event_time(date: str | None) -> float | None:
    """Seconds since the epoch of an ISO 8601 or RFC 2822 date (naive means UTC), or None if unparseable."""
    if not date or not isinstance(date, str):
        return None
    text = date.strip()
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.timestamp()


def window_label(start: float, size: float) -> str:
    """A sortable file-name part for the window [start, start + size): `20240501T120000Z-60s`."""
    stamp = dt.datetime.fromtimestamp(start, dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{size:g}s"

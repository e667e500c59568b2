"""Which files of a watched folder have arrived whole: complete names, settled sizes and times (pure logic)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from transforms.core.parse import article_format

PARTIAL_SUFFIXES = (".tmp", ".temp", ".part", ".partial", ".crdownload", ".swp", "~", "_copying_", ".filepart")
Stat = tuple[int, float]  # (size, modification time)


def is_watchable(path: str) -> bool:
    """An article file that is not hidden and not a temporary or partial name (`.x.txt`, `a.txt.tmp`, `a.txt~`)."""
    name = path.rstrip("/").rsplit("/", 1)[-1]
    lowered = name.lower()
    if not name or name[0] in "._~" or lowered.endswith(PARTIAL_SUFFIXES):
        return False
    return article_format(path) is not None


class Arrivals:
    """Emits a file once it is complete: its size and modification time were the same in two consecutive
    listings and it has not been modified for `settle` seconds (a writer that pauses is not cut short). A file
    is emitted again when it changes; files `known` with their stat (committed already) are not emitted."""

    def __init__(self, settle: float, known: Mapping[str, Stat] | None = None) -> None:
        self._settle = settle
        self._seen: dict[str, Stat] = {}
        self._emitted: dict[str, Stat] = dict(known or {})

    def observe(self, listing: Mapping[str, Stat], now: float) -> list[str]:
        """The files of one listing ({path: (size, mtime)} at time `now`) that arrived whole since the last."""
        ready = [
            path
            for path, stat in sorted(listing.items())
            if self._emitted.get(path) != stat and self._seen.get(path) == stat and now - stat[1] >= self._settle
        ]
        self._emitted = {path: stat for path, stat in self._emitted.items() if path in listing}
        self._emitted.update((path, listing[path]) for path in ready)
        self._seen = dict(listing)
        return ready

    def forget(self, paths: Iterable[str]) -> None:
        """Emit these again once they are listed (their batch was not committed)."""
        for path in paths:
            self._emitted.pop(path, None)

    @property
    def pending(self) -> list[str]:
        """Files listed but not emitted in their current state (still growing, or seen in only one listing)."""
        return sorted(path for path, stat in self._seen.items() if self._emitted.get(path) != stat)

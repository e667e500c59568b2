"""Progress of a local run: input totals at start, worker totals polled from a folder, a bar or plain lines."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import IO, Any

from pipeline.storage import matching
from transforms.core.parse import article_format
from transforms.core.progress import WRITTEN

STREAM_FORMATS = ("jsonl", "warc")  # many articles per file: progress is counted in bytes
POLL_S = 0.5
LINE_EVERY_S = 10.0
MAX_SAMPLES = 120
MIN_SHARE_FOR_ETA = 0.01


@dataclass(frozen=True)
class Totals:
    """What the inputs hold, known once they are matched."""

    files: int
    bytes: int
    stream_bytes: int  # of JSON Lines and WARC files, whose article counts are not known before reading

    @property
    def by_bytes(self) -> bool:
        return self.stream_bytes > 0


@dataclass(frozen=True)
class Snapshot:
    """Files finished, bytes read and inputs (articles and unreadable inputs) read so far."""

    files: int = 0
    bytes: int = 0
    inputs: int = 0
    written: int = 0  # inputs that reached the output, records or dead letters


def input_totals(patterns: str | Sequence[str], listed: Iterable[tuple[str, int]] = ()) -> Totals:
    """What the files matching `patterns` hold, or the `listed` files ((uri, size), known already) if any."""
    listed = list(listed)
    if not listed:
        for pattern in [patterns] if isinstance(patterns, str) else patterns:
            listed.extend((meta.path, meta.size_in_bytes) for meta in matching(pattern))
    files = size = stream = 0
    for path, file_size in listed:
        fmt = article_format(path)
        if fmt is None:
            continue
        files += 1
        size += file_size
        stream += file_size if fmt in STREAM_FORMATS else 0
    return Totals(files, size, stream)


def combine(states: Iterable[dict[str, Any]]) -> Snapshot:
    """The run's progress from every reporter's totals: what the readers read, and what reached the output."""
    read, written = [0, 0, 0], 0
    for state in states:
        if state["role"] == WRITTEN:
            written += state["inputs"]
            continue
        read[0] += state["files"]
        read[1] += state["bytes"]
        read[2] += state["inputs"]
    return Snapshot(*read, written=written)


def done_and_total(snapshot: Snapshot, totals: Totals) -> tuple[int, int]:
    return (snapshot.bytes, totals.bytes) if totals.by_bytes else (snapshot.files, totals.files)


def eta_s(done: float, total: float, working_s: float) -> float | None:
    """Seconds left at the rate so far; None before 1% is done (the first articles wait for workers to start)."""
    if done <= 0 or working_s <= 0 or done < MIN_SHARE_FOR_ETA * total:
        return None
    return max(0.0, (total - done) * working_s / done)


def share_done(snapshot: Snapshot, totals: Totals) -> float:
    """The run's share done: the share of the inputs read, times the share of the articles read so far that
    reached the output (articles wait for corpus-wide counts after reading, so reading ends well before)."""
    done, total = done_and_total(snapshot, totals)
    return (done / total if total else 0.0) * (snapshot.written / snapshot.inputs if snapshot.inputs else 0.0)


def progress_line(snapshot: Snapshot, totals: Totals, rate: float, eta: float | None) -> str:
    done, total = done_and_total(snapshot, totals)
    share = f"{100 * done / total:.0f}%" if total else "-"
    amount = f"{_size(done)}/{_size(total)}" if totals.by_bytes else f"{done:,}/{total:,} files"
    return (
        f"article-enrich: progress {amount} ({share}), {snapshot.inputs:,} articles, "
        f"{snapshot.written:,} written ({100 * share_done(snapshot, totals):.0f}%), "
        f"{rate:.1f} articles/s, ETA {_clock(eta)}"
    )


def _size(n: int) -> str:
    return f"{n / 1e6:,.1f} MB" if n >= 1e5 else f"{n / 1e3:,.1f} kB"


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = round(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def read_states(folder: str) -> list[dict[str, Any]]:
    states = []
    for name in os.listdir(folder):
        if not name.endswith(".json"):
            continue
        try:
            with open(os.path.join(folder, name), encoding="utf-8") as handle:
                states.append(json.load(handle))
        except (OSError, ValueError):  # replaced or half-written between listing and reading
            continue
    return states


class ProgressMonitor:
    """Polls the workers' progress folder from a thread; shows a bar on a terminal, else a line every 10 s."""

    def __init__(self, totals: Totals, show: bool, stream: IO[str] | None = None) -> None:
        self.totals = totals
        self.folder = tempfile.mkdtemp(prefix="article-enrich-progress-")
        self._show = show
        self._stream = stream or sys.stderr
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="article-enrich-progress", daemon=True)
        self._started = time.monotonic()
        self._first: float | None = None
        self._snapshot = Snapshot()
        self._samples: list[tuple[float, int]] = []

    def start(self) -> ProgressMonitor:
        self._started = time.monotonic()
        self._thread.start()
        return self

    def stop(self) -> dict[str, Any]:
        """Stop polling, remove the folder; the `progress` block of the run summary."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        shutil.rmtree(self.folder, ignore_errors=True)
        seconds = time.monotonic() - self._started
        working = seconds - (self._first - self._started) if self._first is not None else None
        return {
            "startup_s": round(self._first - self._started, 2) if self._first is not None else None,
            "seconds": round(seconds, 2),
            "inputs_per_s": round(self._snapshot.inputs / working, 2) if working else None,
            "totals": {"files": self.totals.files, "bytes": self.totals.bytes},
            "samples": _thin(self._samples, MAX_SAMPLES),
        }

    def _run(self) -> None:
        bar = self._bar() if self._show and self._stream.isatty() else None
        next_line = self._started + LINE_EVERY_S
        while True:
            stopping = self._stop.wait(POLL_S)
            self._poll()
            now = time.monotonic()
            if bar is not None:
                self._update_bar(bar)
            elif self._show and (now >= next_line or stopping):
                print(self._line(now), file=self._stream, flush=True)
                next_line = now + LINE_EVERY_S
            if stopping:
                break
        if bar is not None:
            bar.close()

    def _poll(self) -> None:
        snapshot = combine(read_states(self.folder))
        now = time.monotonic()
        if snapshot.inputs and self._first is None:
            self._first = now
        self._snapshot = snapshot
        if not self._samples or now - self._started - self._samples[-1][0] >= 1.0:
            self._samples.append((round(now - self._started, 1), snapshot.inputs))

    def _rates(self, now: float) -> tuple[float, float | None]:
        if self._first is None:
            return 0.0, None
        working = max(now - self._first, 1e-6)
        return self._snapshot.written / working, eta_s(share_done(self._snapshot, self.totals), 1.0, working)

    def _line(self, now: float) -> str:
        rate, eta = self._rates(now)
        return progress_line(self._snapshot, self.totals, rate, eta)

    def _bar(self):
        from tqdm import tqdm

        unit = "B" if self.totals.by_bytes else "file"
        size = shutil.get_terminal_size((100, 20))  # a pseudo-terminal may report 0 x 0: tqdm would hide the bar
        total = self.totals.bytes if self.totals.by_bytes else self.totals.files
        return tqdm(
            total=total,
            unit=unit,
            unit_scale=self.totals.by_bytes,
            file=self._stream,
            desc="article-enrich",
            ncols=size.columns,
            nrows=size.lines,
        )

    def _update_bar(self, bar) -> None:
        _, total = done_and_total(self._snapshot, self.totals)
        rate, _ = self._rates(time.monotonic())
        bar.n = int(share_done(self._snapshot, self.totals) * total)
        written = f"{self._snapshot.written:,} written"
        bar.set_postfix_str(f"{self._snapshot.inputs:,} articles, {written}, {rate:.1f} articles/s", refresh=False)
        bar.refresh()


def _thin(samples: list[tuple[float, int]], most: int) -> list[list[float]]:
    step = max(1, -(-len(samples) // most))
    kept = samples[::step]
    if samples and kept[-1] != samples[-1]:
        kept.append(samples[-1])
    return [list(sample) for sample in kept]

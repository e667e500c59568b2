"""WriteWindowedEnriched: enriched records and dead letters as JSON Lines files per event-time window."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterator

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.transforms.window import BoundedWindow, IntervalWindow

from transforms.core import layout
from transforms.core.watch import window_label
from transforms.write_enriched import FormatDeadLetters, FormatRecords, dead_letter_branches


class WriteWindowedEnriched(beam.PTransform):
    """Write (articles, dead letters) under `output` as `<prefix>-<window>-<digest>.jsonl`, one file per bundle.

    Streaming-safe without any grouping: each bundle's records for a window are written when the bundle
    finishes, to a name made of the window and a digest of the records, so later (and late) records of
    the same window land in new files, a retried bundle rewrites the same name, and nothing waits for
    a watermark or is dropped as late.
    """

    def __init__(self, output: str, window_seconds: float) -> None:
        super().__init__()
        self._output = output.rstrip("/")
        self._window = window_seconds

    def expand(self, outputs):
        articles, dead_letters, *more = outputs
        branches = dead_letter_branches(dead_letters)
        enriched, dead = (articles, branches[0]) | "FormatRecords" >> FormatRecords()
        # Each stage's dead letters are written by their own writer, fused behind the stage: a Flatten
        # would be a stage of its own, which the DirectRunner runs only once the endless source ends.
        dead_files = [dead | "WriteDeadLetterFiles" >> self._writer(layout.DEAD_LETTER)]
        for index, branch in enumerate(branches[1:], 1):
            lines = branch | f"FormatDeadLetters{index}" >> FormatDeadLetters()
            dead_files.append(lines | f"WriteDeadLetterFiles{index}" >> self._writer(layout.DEAD_LETTER))
        for prefix, lines in (more[0] if more else {}).items():
            _ = lines | f"Write_{prefix}" >> self._writer(prefix)
        return enriched | "WriteEnrichedFiles" >> self._writer(layout.ENRICHED), tuple(dead_files)

    def _writer(self, prefix: str) -> beam.ParDo:
        return beam.ParDo(_WriteWindowFilesFn(self._output, prefix, self._window))


class _WriteWindowFilesFn(beam.DoFn):
    """Buffers a bundle's lines per window; finish_bundle writes each window's lines to one new file."""

    def __init__(self, output: str, prefix: str, window_seconds: float) -> None:
        self._output = output
        self._prefix = prefix
        self._window = window_seconds

    def start_bundle(self) -> None:
        self._lines: dict[BoundedWindow, list[str]] = defaultdict(list)

    def process(self, line: str, window=beam.DoFn.WindowParam) -> None:
        self._lines[window].append(line)

    def finish_bundle(self) -> Iterator[beam.utils.windowed_value.WindowedValue]:
        for window, lines in self._lines.items():
            path = self._write(window, lines)
            yield beam.utils.windowed_value.WindowedValue(path, window.max_timestamp(), [window])
        self._lines.clear()

    def _write(self, window: BoundedWindow, lines: list[str]) -> str:
        start = window.start.micros / 1e6 if isinstance(window, IntervalWindow) else 0.0
        data = "".join(line + "\n" for line in sorted(lines)).encode("utf-8")
        digest = hashlib.sha256(data).hexdigest()[:16]
        path = f"{self._output}/{self._prefix}-{window_label(start, self._window)}-{digest}{layout.JSONL}"
        temporary = f"{self._output}/.{self._prefix}-{digest}{layout.JSONL}.tmp"
        with FileSystems.create(temporary) as handle:
            handle.write(data)
        if FileSystems.exists(path):
            FileSystems.delete([path])
        FileSystems.rename([temporary], [path])
        return path

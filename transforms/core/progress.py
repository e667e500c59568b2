"""Worker-side progress: each reader writes its running totals to a small file of its own in a local folder."""

from __future__ import annotations

import json
import os
import time
import uuid
from typing import IO

FLUSH_EVERY_S = 1.0
READ = "read"  # the readers' reporters: files, bytes and inputs read
WRITTEN = "written"  # the sink's reporters: inputs that reached the output (records and dead letters)


class ProgressReporter:
    """Running totals (files, bytes, inputs) of one DoFn instance, the reader's or the sink's (`role`), flushed at
    most every second.

    The launcher polls the folder (pipeline/progress.py). A folder that does not exist where the worker runs (a
    remote runner) turns reporting off.
    """

    def __init__(self, folder: str, role: str = READ) -> None:
        self.folder = folder
        self.role = role
        self._path: str | None = None
        self._files = self._bytes = self._inputs = 0
        self._current: IO[bytes] | None = None
        self._flushed = 0.0

    def start(self) -> None:
        if self._path is None and os.path.isdir(self.folder):
            self._path = f"{self.folder}/{self.role}-{os.getpid()}-{uuid.uuid4().hex[:8]}.json"

    def open_file(self, raw: IO[bytes]) -> None:
        """A file is being read from `raw`: its position counts as bytes done until it is finished."""
        self._current = raw

    def input_read(self) -> None:
        self._inputs += 1
        if self._path is not None and time.monotonic() - self._flushed >= FLUSH_EVERY_S:
            self.flush()

    def file_done(self, size: int) -> None:
        self._files += 1
        self._bytes += size
        self._current = None

    def flush(self) -> None:
        if self._path is None:
            return
        self._flushed = time.monotonic()
        done = self._bytes + self._position()
        state = {"role": self.role, "files": self._files, "bytes": done, "inputs": self._inputs}
        temp = self._path + ".tmp"
        with open(temp, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(state))
        os.replace(temp, self._path)

    def _position(self) -> int:
        try:
            return self._current.tell() if self._current is not None else 0
        except (OSError, ValueError):  # closed, or a stream that cannot tell
            return 0

"""Extraction in a child process that is killed on a time limit: trafilatura cannot be interrupted on a thread."""

from __future__ import annotations

import logging
import os
import pickle
import select
import struct
import subprocess
import sys
from typing import IO, Any

from transforms.core.html import ExtractionError, extract

_HEADER = struct.Struct("!Q")
STARTUP_TIMEOUT_S = 120.0


class PageWorker:
    """A child Python process running `html.extract`, started on first use and restarted after a kill.

    Each call waits at most `timeout_s`; a page that takes longer kills the child (ExtractionError
    `extraction_timeout`). The child resets trafilatura's caches every `reset_every` pages and cannot grow past
    `memory_mb` of address space, so memory stays bounded over any number of pages.
    """

    def __init__(self, timeout_s: float, reset_every: int, memory_mb: int) -> None:
        self._timeout_s = timeout_s
        self._args = [sys.executable, "-m", __name__, str(reset_every), str(memory_mb)]
        self._process: subprocess.Popen | None = None

    def extract(self, html: str, url: str | None, favor_precision: bool) -> dict[str, Any] | None:
        process = self._started()
        try:
            _send(process.stdin, (html, url, favor_precision))
        except OSError as error:
            self.close()
            raise ExtractionError(
                "extraction_failed", "the extraction worker stopped before taking the page"
            ) from error
        reply = self._reply(process, self._timeout_s)
        if reply is None:
            self.close()
            raise ExtractionError("extraction_timeout", f"extraction took longer than {self._timeout_s:g} s")
        status, value = reply
        if status == "error":
            raise ExtractionError("extraction_failed", value)
        return value

    def close(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            process.kill()
            process.wait()
            for stream in (process.stdin, process.stdout):
                stream.close()

    def _started(self) -> subprocess.Popen:
        if self._process is None:
            self._process = subprocess.Popen(
                self._args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0
            )
            if self._reply(self._process, STARTUP_TIMEOUT_S) != ("ready", None):
                self.close()
                raise RuntimeError("the extraction worker did not start")
        return self._process

    def _reply(self, process: subprocess.Popen, timeout_s: float) -> tuple[str, Any] | None:
        """The child's next message, None if it takes longer than `timeout_s`; a dead child is a failure."""
        readable, _, _ = select.select([process.stdout], [], [], timeout_s)
        if not readable:
            return None
        reply = _receive(process.stdout)
        if reply is None:
            code = process.poll()
            self.close()
            raise ExtractionError("extraction_failed", f"the extraction worker died (exit code {code})")
        return reply


def _send(stream: IO[bytes], message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _receive(stream: IO[bytes]) -> Any:
    header = _read_exactly(stream, _HEADER.size)
    if header is None:
        return None
    data = _read_exactly(stream, _HEADER.unpack(header)[0])
    return None if data is None else pickle.loads(data)


def _read_exactly(stream: IO[bytes], size: int) -> bytes | None:
    chunks, remaining = [], size
    while remaining:
        chunk = stream.read(remaining)
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _serve(reset_every: int, memory_mb: int) -> None:
    """The child's loop: one (html, url, favor_precision) request in, one (status, value) reply out."""
    requests = sys.stdin.buffer
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a stray print must not corrupt the replies
    if memory_mb:
        import resource

        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    logging.disable(logging.WARNING)
    from trafilatura.meta import reset_caches

    _send(replies, ("ready", None))
    done = 0
    while (request := _receive(requests)) is not None:
        html, url, favor_precision = request
        try:
            reply = ("ok", extract(html, url, favor_precision=favor_precision))
        except (Exception, RecursionError, MemoryError) as error:  # noqa: BLE001 - any failure is this page's
            reply = ("error", f"{type(error).__name__}: {error}"[:1000])
        _send(replies, reply)
        done += 1
        if done % reset_every == 0:
            reset_caches()


if __name__ == "__main__":
    _serve(int(sys.argv[1]), int(sys.argv[2]))

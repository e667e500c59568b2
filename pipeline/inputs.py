"""The job's inputs: `--input` resolved into patterns and the base folder ids are relative to, and their sizes."""

from __future__ import annotations

import glob as globlib
import hashlib
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from apache_beam.io.filesystems import FileSystems

from pipeline.buckets import etags_under
from pipeline.config import ConfigError
from pipeline.plan import InputFile
from pipeline.storage import matching
from transforms.core.parse import article_format
from transforms.core.paths import absolute, glob_start, is_local

# Below this much input, worker processes cost more start-up (each starts Python and Beam and loads the model,
# about 1.5-2 s) than their parallelism saves: about 120 Reuters articles (benchmarks/README.md, start-up).
SMALL_INPUT_BYTES = 128 * 1024
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Inputs:
    """What a job reads: one pattern (a folder's `/**`, a file, a glob) or a list of files, and the folder that
    article ids are relative to."""

    patterns: tuple[str, ...]
    base: str
    label: str  # how the run summary names the input
    listed: tuple[tuple[str, int], ...] = ()  # (uri, size) when known already (an incremental run's): not listed again

    @property
    def holds_archives(self) -> bool:
        return holds_archives(self.patterns)


def resolve_input(given: str) -> Inputs:
    """The pattern and base of a glob, a single file or a folder (every article file below it)."""
    path = absolute(given)
    glob = glob_start(path)
    if glob is not None:
        pattern, base = path, path[:glob].rsplit("/", 1)[0]
    elif _is_file(path):
        pattern, base = path, path.rsplit("/", 1)[0]
    else:
        base = path.rstrip("/")
        pattern = base + "/**"
    if not any(article_format(meta.path) for meta in matching(pattern)):
        raise ConfigError(
            f"--input: no article files (.txt, .jsonl, .json, .html, .warc, .wet, optionally .gz or .bz2) "
            f"match {given!r}"
        )
    return Inputs((pattern,), base, pattern)


def watched_input(given: str) -> Inputs:
    """The pattern and base of a watched folder (which may still be empty) or glob; a local folder must exist."""
    path = absolute(given).rstrip("/")
    glob = glob_start(path)
    folder = path if glob is None else path[:glob].rsplit("/", 1)[0]
    if is_local(folder) and not os.path.isdir(folder):
        raise ConfigError(f"--input: {given!r}: no folder {folder!r} to watch (create it, or fix the path)")
    if glob is not None:
        return Inputs((path,), folder, path)
    return Inputs((path + "/**",), path, path + "/**")


def is_small(sizes: Iterable[int], limit: int = SMALL_INPUT_BYTES) -> bool:
    """Whether the sizes add up to less than `limit`; stops reading them as soon as they reach it."""
    total = 0
    for size in sizes:
        total += size
        if total >= limit:
            return False
    return True


def input_sizes(pattern: str) -> Iterator[int]:
    """The sizes of the article files `pattern` matches, as they are listed (a bucket: in one listing)."""
    if not is_local(pattern):
        yield from (meta.size_in_bytes for meta in matching(pattern) if article_format(meta.path) is not None)
        return
    for path in globlib.iglob(pattern, recursive=True):
        if article_format(path) is not None and os.path.isfile(path):
            yield os.path.getsize(path)


def holds_archives(patterns: Sequence[str]) -> bool:
    """Whether any file the patterns match is a WARC archive, whose pages need a stage of their own.

    A pattern naming its extension (a file, `*.txt`, an incremental run's list) is answered without listing.
    """
    for pattern in patterns:
        paths = [pattern] if article_format(pattern) else (meta.path for meta in matching(pattern))
        if any(article_format(path) == "warc" for path in paths):
            return True
    return False


def listing(pattern: str) -> dict[str, tuple[int, float]]:
    """uri -> (size, modification time) of every article file matching `pattern`."""
    return {
        meta.path: (meta.size_in_bytes, meta.last_updated_in_seconds)
        for meta in matching(pattern)
        if article_format(meta.path) is not None
    }


def input_files(
    listed: dict[str, tuple[int, float]], ledger: dict[str, dict[str, Any]], listed_checksums: Mapping[str, str] = {}
) -> list[InputFile]:
    """The listed files with their content checksums: read from the ledger where the size and modification time
    are the ones it has (as rsync and make judge a file unchanged), else from `listed_checksums` (a bucket's
    listing gives them), else computed from the content."""
    files = []
    for uri, (size, mtime) in sorted(listed.items()):
        entry = ledger.get(uri)
        if entry is not None and (entry["size"], entry["mtime"]) == (size, mtime):
            known = entry["checksum"]
        else:
            known = listed_checksums.get(uri) or checksum(uri)
        files.append(InputFile(uri, size, known, mtime))
    return files


def listed_checksums(pattern: str) -> dict[str, str]:
    """uri -> checksum, as `checksum` gives it, of every object under the fixed part of an s3:// `pattern`, from
    its listing (the ETags: no request per file); empty for other filesystems."""
    return {uri: "fs:" + tag for uri, tag in etags_under(pattern).items()}


def checksum(uri: str) -> str:
    """The filesystem's own checksum where it has a real one (GCS, S3), else a SHA-256 of the content."""
    if not is_local(uri):
        try:
            return "fs:" + str(FileSystems.checksum(uri))
        except Exception:  # noqa: BLE001 - filesystems without checksums raise their own errors; hash instead
            pass
    digest = hashlib.sha256()
    with FileSystems.open(uri, compression_type="uncompressed") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()


def _is_file(path: str) -> bool:
    if is_local(path):
        return os.path.isfile(path)
    return any(meta.path == path for meta in matching(path))

"""Matching article files: Beam's listing, plus the local links it drops (dangling ones and loops)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import apache_beam as beam
from apache_beam.io.filesystem import BeamIOError, FileMetadata
from apache_beam.io.filesystems import FileSystems

from transforms.core.paths import glob_start, is_local


def match_files(pattern: str) -> list[FileMetadata]:
    """The files matching `pattern`; on the local filesystem, broken symbolic links too (size 0).

    Beam's local listing skips every entry it cannot stat, so a dangling link or a link loop would vanish
    without a trace; here it reaches the reader, which dead-letters it as `broken_link`. Other filesystems
    (buckets) have no links and are matched by Beam as they are, with one listing (a single object, with one
    request for its metadata).
    """
    glob = glob_start(pattern)
    if not is_local(pattern) and glob is None:
        return _one_object(pattern)
    if not is_local(pattern) or glob is None:
        return FileSystems.match([pattern])[0].metadata_list
    # As Beam's FileSystem.match: list the folder the pattern's fixed part is in, keep what matches.
    local = FileSystems.get_filesystem(pattern)
    return list(local.match_files(list(_walk(os.path.dirname(pattern[:glob]))), pattern))


def _one_object(path: str) -> list[FileMetadata]:
    """A bucket's object by its name (an incremental run's input): one request, where Beam's match asks twice
    (whether it exists, then its metadata)."""
    try:
        return [FileSystems.get_filesystem(path).metadata(path)]
    except BeamIOError:
        if FileSystems.exists(path):
            raise
        return []


class MatchFiles(beam.DoFn):
    """Each pattern's matching files, as `match_files` finds them (fileio.MatchAll with broken links)."""

    def process(self, pattern: str) -> Iterator[FileMetadata]:
        yield from match_files(pattern)


def _walk(folder: str) -> Iterator[FileMetadata]:
    """Beam's local listing (LocalFileSystem._list), keeping the symbolic links it cannot follow."""
    for parent, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(parent, name)
            try:
                yield FileMetadata(path, os.path.getsize(path), os.path.getmtime(path))
            except OSError:
                if os.path.islink(path):  # otherwise it vanished since the walk saw it
                    yield FileMetadata(path, 0, os.lstat(path).st_mtime)

"""Resolving the --input argument into a file pattern and the base folder that ids are relative to."""

from __future__ import annotations

import glob as globlib
import os
import re
from collections.abc import Mapping, Sequence

from apache_beam.io.filesystem import FileMetadata
from apache_beam.io.filesystems import FileSystems

from pipeline.config import ConfigError
from transforms.core.parse import article_format, glob_start

_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


def absolute(path: str) -> str:
    """Local paths made absolute (workers may run elsewhere); URIs with a scheme are left alone."""
    return path if _SCHEME.match(path) else os.path.abspath(path)


def resolve_input(given: str) -> tuple[str, str]:
    """(pattern, base) for a glob, a single file or a folder (every article file below it)."""
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
    return pattern, base


def local_bytes_below(pattern: str, limit: int) -> bool:
    """Whether the article files a local `pattern` matches hold fewer than `limit` bytes in all.

    Stops listing as soon as the sum reaches `limit`, so a big folder costs a few hundred entries.
    Patterns on other filesystems are never "below" (answering would take a listing of the bucket).
    """
    if _SCHEME.match(pattern):
        return False
    total = 0
    for path in globlib.iglob(pattern, recursive=True):
        if article_format(path) is not None and os.path.isfile(path):
            total += os.path.getsize(path)
            if total >= limit:
                return False
    return True


def holds_archives(patterns: str | Sequence[str]) -> bool:
    """Whether any file the patterns match is a WARC archive, whose pages need a stage of their own.

    A pattern naming its extension (a file, `*.txt`, an incremental run's list) is answered without listing.
    """
    for pattern in [patterns] if isinstance(patterns, str) else patterns:
        paths = [pattern] if article_format(pattern) else (meta.path for meta in matching(pattern))
        if any(article_format(path) == "warc" for path in paths):
            return True
    return False


def _is_file(path: str) -> bool:
    if not _SCHEME.match(path):
        return os.path.isfile(path)
    return any(meta.path == path for meta in matching(path))


def folders_under(folder: str, prefixes: tuple[str, ...]) -> dict[str, list[str]]:
    """The folders in `folder` whose names start with one of `prefixes`, each with every file below it, on
    any Beam filesystem (local folders can be empty; object stores have folders only as names of files)."""
    folder = folder.rstrip("/")
    found: dict[str, list[str]] = {}
    if not _SCHEME.match(folder) and os.path.isdir(folder):
        found = {f"{folder}/{e.name}": [] for e in os.scandir(folder) if e.is_dir() and e.name.startswith(prefixes)}
    for prefix in prefixes:
        for meta in matching(f"{folder}/{prefix}*/**"):
            found.setdefault(meta.path[: meta.path.index("/", len(folder) + 1)], []).append(meta.path)
    return found


def delete_folders(folders: Mapping[str, Sequence[str]]) -> None:
    """Delete each folder with the files listed in it (`folders_under`): an object store deletes a folder's
    files only when they are named, and has no folder object to delete after them."""
    files = [file for listed in folders.values() for file in listed]
    if files:
        FileSystems.delete(files)
    left = [folder for folder in folders if FileSystems.exists(folder)]
    if left:
        FileSystems.delete(left)


def matching(pattern: str) -> list[FileMetadata]:
    """The metadata of every file `pattern` matches on any Beam filesystem; none if nothing is there."""
    try:
        return FileSystems.match([pattern])[0].metadata_list
    except Exception:  # noqa: BLE001 - Beam raises BeamIOError, or the scheme's own error, for "nothing there"
        return []

"""The launcher's own file operations, on any Beam filesystem: listing, reading, atomic writes, deleting folders."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

from apache_beam.io.filesystem import FileMetadata
from apache_beam.io.filesystems import FileSystems

from transforms.core import layout
from transforms.core.paths import is_local


def matching(pattern: str) -> list[FileMetadata]:
    """The metadata of every file `pattern` matches on any Beam filesystem; none if nothing is there."""
    try:
        return FileSystems.match([pattern])[0].metadata_list
    except Exception:  # noqa: BLE001 - Beam raises BeamIOError, or the scheme's own error, for "nothing there"
        return []


def read_bytes(path: str) -> bytes:
    with FileSystems.open(path, compression_type="uncompressed") as handle:
        return handle.read()


def read_json(path: str) -> Any:
    return json.loads(read_bytes(path).decode("utf-8"))


def write_bytes(path: str, data: bytes, mime_type: str = "application/octet-stream") -> None:
    with FileSystems.create(path, mime_type=mime_type) as handle:
        handle.write(data)


def write_atomic(path: str, data: bytes) -> None:
    """Local: a temporary file renamed over `path`; object stores: a single-object write is atomic."""
    if not is_local(path):
        write_bytes(path, data)
        return
    folder, name = path.rsplit("/", 1)
    os.makedirs(folder, exist_ok=True)
    temp = f"{folder}/{layout.STAGING}{name}"
    with open(temp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


def json_bytes(value: Any) -> bytes:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True).encode("utf-8") + b"\n"


def folders_under(folder: str, prefixes: tuple[str, ...]) -> dict[str, list[str]]:
    """The folders in `folder` whose names start with one of `prefixes`, each with every file below it, on
    any Beam filesystem (local folders can be empty; object stores have folders only as names of files).

    Only those folders are listed: locally their own trees, on object stores the keys under their prefix.
    """
    folder = folder.rstrip("/")
    if is_local(folder):
        if not os.path.isdir(folder):
            return {}
        entries = (e for e in os.scandir(folder) if e.is_dir(follow_symlinks=False) and e.name.startswith(prefixes))
        return {f"{folder}/{e.name}": _files_below(f"{folder}/{e.name}") for e in entries}
    found: dict[str, list[str]] = {}
    for prefix in prefixes:
        for meta in matching(f"{folder}/{prefix}*/**"):
            found.setdefault(meta.path[: meta.path.index("/", len(folder) + 1)], []).append(meta.path)
    return found


def _files_below(folder: str) -> list[str]:
    return sorted(os.path.join(parent, name) for parent, _, names in os.walk(folder) for name in names)


def delete_folder(folder: str) -> None:
    """Delete `folder` and everything below it (on an object store: every file under its prefix, by name)."""
    folder = folder.rstrip("/")
    if is_local(folder):
        if os.path.exists(folder):
            FileSystems.delete([folder])
        return
    delete_folders({folder: [meta.path for meta in matching(f"{folder}/**")]})


def delete_folders(folders: Mapping[str, Sequence[str]]) -> None:
    """Delete each folder with the files listed in it (`folders_under`): an object store deletes a folder's
    files only when they are named, and has no folder object to delete after them."""
    files = [file for listed in folders.values() for file in listed]
    if files:
        FileSystems.delete(files)
    left = [folder for folder in folders if FileSystems.exists(folder)]
    if left:
        FileSystems.delete(left)

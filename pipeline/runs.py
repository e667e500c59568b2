"""An incremental output folder on any Beam filesystem: its committed runs, the lock, commits and recovery."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import os
import socket
import uuid
from collections.abc import Iterator
from typing import Any

from apache_beam.io.filesystems import FileSystems

from pipeline.buckets import create_if_absent, read_with_etag, replace_if_unchanged, scheme, store_problem
from pipeline.plan import lock_is_stale, manifest_order
from pipeline.stopping import JobFailed
from pipeline.storage import (
    delete_folder,
    delete_folders,
    folders_under,
    json_bytes,
    matching,
    read_bytes,
    read_json,
    write_atomic,
)
from transforms.core import layout
from transforms.core.paths import is_local

MANIFEST_FORMAT = 1
log = logging.getLogger(__name__)


class RunLocked(JobFailed):
    """Another run holds the output folder's lock."""


def read_manifests(output: str) -> list[dict[str, Any]]:
    """The manifests of every committed run under `output` (a run without a manifest is not committed)."""
    manifests = [read_json(meta.path) for meta in matching(f"{output}/{layout.RUN}*/{layout.MANIFEST}")]
    return sorted(manifests, key=manifest_order)


def latest_run(output: str) -> str:
    """The name of the last committed run, as `latest` says."""
    return read_bytes(f"{output}/{layout.LATEST}").decode("utf-8").strip()


def committed_shards(output: str, prefix: str = layout.ENRICHED, suffix: str = layout.JSONL) -> list[str]:
    """The `prefix-*.jsonl` (or other `suffix`) shards of committed runs, oldest run first: the reader contract."""
    return [
        f"{output}/{m['run']}/{shard}"
        for m in read_manifests(output)
        for shard in m["shards"]
        if layout.is_shard_of(shard, prefix, suffix)
    ]


def finish_staged(output: str, keep: str | None = None) -> bool:
    """Settle the staging folders (`_tmp-run=…/`) that stopped runs left, except `keep`: a run whose manifest
    was written is committed, and only its staging goes; any other leaves nothing, not even the shards it
    moved into `run=…/` before it stopped. True if a committed run's commit was finished here.

    A run stages in `_tmp-run=…/` and deletes it only after its manifest and `latest`, so this lists only the
    staging folders, not the runs.
    """
    finished = False
    staged = folders_under(output, (layout.STAGING + layout.RUN,))
    for folder, files in staged.items():
        name = folder.rsplit("/", 1)[-1].removeprefix(layout.STAGING)
        if name == keep:
            continue
        run = f"{output}/{name}"
        if FileSystems.exists(f"{run}/{layout.MANIFEST}"):
            finished = True
        else:
            log.warning("removing %s and %s, left by a run stopped before its commit", folder, run)
            delete_folder(run)
        delete_folders({folder: files})
    temps = [meta.path for meta in matching(f"{output}/{layout.STAGING}*") if meta.path.rsplit("/", 1)[0] == output]
    if temps:
        FileSystems.delete(temps)
    return finished


def sweep(output: str) -> None:
    """Remove every folder and temporary file of a run that never committed, whichever way it stopped: the
    full listing, for output folders written before staging folders marked every unfinished commit."""
    committed = {m["run"] for m in read_manifests(output)}
    runs = folders_under(output, (layout.RUN, layout.STAGING + layout.RUN))
    doomed = {folder: files for folder, files in runs.items() if folder.rsplit("/", 1)[-1] not in committed}
    temps = [meta.path for meta in matching(f"{output}/{layout.RUN}*/{layout.STAGING}*")]
    if doomed or temps:
        log.warning(
            "removing %d uncommitted run folders and %d temp files left by killed runs", len(doomed), len(temps)
        )
        delete_folders(doomed)
        if temps:
            FileSystems.delete(temps)


def read_manifest(output: str, run: str) -> dict[str, Any]:
    return read_json(f"{output}/{run}/{layout.MANIFEST}")


def shard_lines(output: str, manifest: dict[str, Any], prefix: str) -> Iterator[bytes]:
    """The lines of a committed run's `prefix-*.jsonl` shards."""
    for shard in manifest["shards"]:
        if layout.is_shard_of(shard, prefix):
            yield from read_bytes(f"{output}/{manifest['run']}/{shard}").splitlines()


def prune(output: str, run: str, uris: set[str]) -> int:
    """Drop from `run` the records of `uris`, which a later run processed again: from its record shards, its
    Parquet shards, then its manifest. Pruning again what is pruned changes nothing."""
    manifest = read_manifest(output, run)
    uris = uris & set(manifest["inputs"])
    if not uris:
        return 0
    everything = uris == set(manifest["inputs"])
    for shard in manifest["shards"]:
        if layout.is_record_shard(shard):
            _rewrite_without(f"{output}/{run}/{shard}", uris, everything)
        elif shard.endswith(layout.PARQUET):
            _rewrite_parquet_without(f"{output}/{run}/{shard}", uris)
    remaining = {uri: entry for uri, entry in manifest["inputs"].items() if uri not in uris}
    updated = {**manifest, "inputs": remaining, "superseded": manifest.get("superseded", 0) + len(uris)}
    write_atomic(f"{output}/{run}/{layout.MANIFEST}", json_bytes(updated))
    return len(uris)


def commit(
    output: str, name: str, staging: str, manifest: dict[str, Any], summary: dict[str, Any]
) -> dict[str, Any]:
    """Move the staged shards into `run=…/`, then write its manifest (the commit point), then `latest`, then
    delete the staging folder; returns the manifest as written."""
    final = f"{output}/{name}"
    names = (meta.path.rsplit("/", 1)[-1] for meta in matching(f"{staging}/*"))
    shards = sorted(name for name in names if layout.is_shard(name))
    if not FileSystems.exists(final):
        FileSystems.mkdirs(final)
    FileSystems.rename([f"{staging}/{s}" for s in shards], [f"{final}/{s}" for s in shards])
    write_atomic(f"{final}/{layout.SUMMARY}", json_bytes(summary))
    manifest = {**manifest, "format": MANIFEST_FORMAT, "shards": shards}
    write_atomic(f"{final}/{layout.MANIFEST}", json_bytes(manifest))
    write_atomic(f"{output}/{layout.LATEST}", (name + "\n").encode("utf-8"))
    delete_folder(staging)  # on an object store, the job's own run-summary.json there is not a shard
    return manifest


class OutputLock:
    """`output/_lock` holding pid, host and time; refused while held, taken over once stale.

    Of two runs that start at once exactly one holds it: a local lock is created with O_EXCL, an S3 lock with a
    conditional create (`If-None-Match: *`), and a stale S3 lock is taken over, and a watcher's refreshed, only
    if it is still the object that was read (`If-Match`). On other object stores (gs://) the lock is written,
    then read back: two runs starting within the same moment could both go on (docs/runners.md).
    """

    def __init__(self, output: str, stale_after_s: int) -> None:
        self._path = f"{output}/{layout.LOCK}"
        self._stale_after_s = stale_after_s
        self._s3 = scheme(self._path) == "s3"
        self._etag: str | None = None  # S3: the lock object this run wrote
        self._info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "token": uuid.uuid4().hex,
            "started_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        }

    def __enter__(self) -> OutputLock:
        for _ in range(3):
            if self._try_create():
                return self
            holder, tag = self._read()
            if holder is not None and not lock_is_stale(
                holder, _epoch(), self._info["host"], self._stale_after_s, _pid_alive
            ):
                raise RunLocked(
                    f"another run holds {self._path} (pid {holder.get('pid')} on {holder.get('host')}, since "
                    f"{holder.get('started_at')}); refusing to run concurrently. If that run is gone, the lock "
                    f"expires after incremental.lock_stale_after_s={self._stale_after_s} s, or delete the file"
                )
            log.warning("taking over the stale lock %s left by %s", self._path, holder)
            if self._s3 and tag is not None:
                self._etag = replace_if_unchanged(self._path, self._held(), tag) or None
                if self._etag is not None:
                    return self
            else:
                FileSystems.delete([self._path])
        raise RunLocked(f"could not take the lock {self._path}: another run took it at the same time")

    def __exit__(self, *exc: object) -> None:
        problem = store_problem(self._path)
        if problem is not None:
            log.warning(
                "the lock %s stays: its store does not answer (%s); the next run on this host takes it over, "
                "one elsewhere once it is older than incremental.lock_stale_after_s",
                self._path,
                problem,
            )
            return
        holder, _ = self._read()
        if holder is not None and holder.get("token") == self._info["token"]:
            FileSystems.delete([self._path])

    def refresh(self) -> None:
        """Tell other hosts that the holder is alive (a watcher holds the lock for days); RunLocked if, on S3,
        another run took the lock over meanwhile."""
        if not self._s3:
            write_atomic(self._path, self._held())
            return
        self._etag = replace_if_unchanged(self._path, self._held(), self._etag or "") or None
        if self._etag is None:
            holder, _ = self._read()
            raise RunLocked(f"the lock {self._path} was taken over by another run ({holder}): stopping")

    def _held(self) -> bytes:
        return json_bytes({**self._info, "created": _epoch()})

    def _try_create(self) -> bool:
        info = self._held()
        if is_local(self._path):
            os.makedirs(os.path.dirname(self._path), exist_ok=True)
            try:
                fd = os.open(self._path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                return False
            with os.fdopen(fd, "wb") as handle:
                handle.write(info)
            return True
        if self._s3:
            self._etag = create_if_absent(self._path, info) or None
            return self._etag is not None
        if FileSystems.exists(self._path):
            return False
        with FileSystems.create(self._path) as handle:  # no conditional create here: last writer wins, read back
            handle.write(info)
        holder, _ = self._read()
        return holder is not None and holder.get("token") == self._info["token"]

    def _read(self) -> tuple[dict[str, Any] | None, str | None]:
        """The holder, and on S3 the ETag of the lock object read; (None, …) if the lock is gone or unreadable."""
        try:
            if self._s3:
                found = read_with_etag(self._path)
                if found is None:
                    return None, None
                return json.loads(found[0].decode("utf-8") or "{}"), found[1]
            return json.loads(read_bytes(self._path).decode("utf-8") or "{}"), None
        except Exception:  # noqa: BLE001 - a vanished or half-written lock reads as "no holder"
            return None, None


def _rewrite_without(path: str, uris: set[str], everything: bool) -> None:
    kept = b"" if everything else b"".join(_lines_not_from(path, uris))
    write_atomic(path, kept)


def _lines_not_from(path: str, uris: set[str]) -> Iterator[bytes]:
    for line in read_bytes(path).splitlines(keepends=True):
        if line.strip() and json.loads(line)["source"]["uri"] not in uris:
            yield line


def _rewrite_parquet_without(path: str, uris: set[str]) -> None:
    """A run's Parquet shard without the records of `uris` (superseded by a later run)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(read_bytes(path)))
    kept = table.filter(pc.invert(pc.is_in(pc.struct_field(table["source"], "uri"), pa.array(sorted(uris)))))
    sink = io.BytesIO()
    pq.write_table(kept, sink)
    write_atomic(path, sink.getvalue())


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _epoch() -> float:
    return dt.datetime.now(dt.timezone.utc).timestamp()

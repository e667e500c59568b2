"""Incremental runs: a ledger of committed inputs beside the output, one folder per run, a lock, atomic commits."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import json
import logging
import os
import socket
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from apache_beam.io.filesystems import FileSystems
from apache_beam.io.localfilesystem import LocalFileSystem

from pipeline.config import Config
from pipeline.inputs import absolute, delete_folders, folders_under, matching, resolve_input
from pipeline.run import JobFailed, now, report_quietly, run_job, versions
from pipeline.runners import SMALL_INPUT_BYTES
from transforms.cluster_duplicates import DROPPED_PREFIX, SIGNATURES_PREFIX, EarlierRuns
from transforms.core.parse import article_format
from transforms.strip_corpus_boilerplate import LINE_KEYS_PREFIX, LineLedger

RUN_PREFIX = "run="
TMP_PREFIX = "_tmp-"
MANIFEST = "_manifest.json"
LATEST = "latest"
LOCK = "_lock"
MANIFEST_FORMAT = 1
_CHUNK = 1 << 20
log = logging.getLogger(__name__)


class RunLocked(JobFailed):
    """Another run holds the output folder's lock."""


@dataclass(frozen=True)
class InputFile:
    """One input file as the ledger knows it: where it is and what its content was."""

    uri: str
    size: int
    checksum: str


@dataclass(frozen=True)
class Plan:
    """What a run must do: the files to process, and counts of why files are processed or skipped."""

    process: tuple[InputFile, ...]
    processed: dict[str, int]
    skipped: dict[str, int]
    gone: int


# ---- pure logic ---------------------------------------------------------------------------------


def config_fingerprint(config: Config, versions_info: dict[str, Any]) -> str:
    """A hash of everything that changes what a record contains: package and model versions, read/clean/tag settings."""
    tag = config.tag
    relevant = {
        "article_enrich": versions_info["article_enrich"],
        "model": versions_info["model"],
        "model_ref": tag.model,
        "read": dataclasses.asdict(config.read),
        "clean": dataclasses.asdict(config.clean),
        "tag": {key: value for key, value in dataclasses.asdict(tag).items() if key != "batch_size"},
        "language": dataclasses.asdict(config.language),
        "dedup": dataclasses.asdict(config.dedup),
    }
    return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode("utf-8")).hexdigest()[:20]


def ledger_of(manifests: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """uri -> {size, checksum, fingerprint, run} from the latest committed run that processed it."""
    ledger: dict[str, dict[str, Any]] = {}
    for manifest in sorted(manifests, key=_order):
        for uri, entry in manifest["inputs"].items():
            ledger[uri] = {**entry, "fingerprint": manifest["fingerprint"], "run": manifest["run"]}
    return ledger


def plan_run(
    inputs: Iterable[InputFile], ledger: dict[str, dict[str, Any]], fingerprint: str, reprocess: bool = False
) -> Plan:
    """Process exactly the inputs that are new, changed, or were processed with another fingerprint (or all)."""
    process, processed, skipped = [], Counter(), Counter()
    seen = set()
    for item in inputs:
        seen.add(item.uri)
        entry = ledger.get(item.uri)
        if entry is None:
            reason = "new"
        elif (entry["size"], entry["checksum"]) != (item.size, item.checksum):
            reason = "changed"
        elif entry["fingerprint"] != fingerprint:
            reason = "reconfigured"
        elif reprocess:
            reason = "reprocess"
        else:
            skipped["unchanged"] += 1
            continue
        processed[reason] += 1
        process.append(item)
    return Plan(tuple(process), dict(processed), dict(skipped), len(set(ledger) - seen))


def superseded(manifests: Iterable[dict[str, Any]]) -> dict[str, set[str]]:
    """run -> the uris it committed that a later committed run processed again (its records are stale)."""
    manifests = list(manifests)
    owners = {uri: entry["run"] for uri, entry in ledger_of(manifests).items()}
    stale = {m["run"]: {uri for uri in m["inputs"] if owners[uri] != m["run"]} for m in manifests}
    return {run: uris for run, uris in stale.items() if uris}


def run_name(now: dt.datetime, taken: Iterable[str]) -> str:
    """`run=2026-11-26T02-00-00Z`, with a `-N` suffix if that second is taken already."""
    base = RUN_PREFIX + now.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H-%M-%SZ")
    taken = set(taken)
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}-{n}"
    return name


def lock_is_stale(
    lock: dict[str, Any],
    now: float,
    host: str,
    stale_after_s: int,
    alive: Callable[[int], bool],
) -> bool:
    """A lock is stale once older than `stale_after_s`, or at once if its process is gone from this host."""
    if now - float(lock.get("created", 0)) > stale_after_s:
        return True
    return lock.get("host") == host and not alive(int(lock.get("pid", -1)))


def _order(manifest: dict[str, Any]) -> tuple[int, str]:
    return manifest["sequence"], manifest["run"]


# ---- filesystem side ----------------------------------------------------------------------------


def list_inputs(pattern: str) -> list[InputFile]:
    """Every article file matching `pattern`, with size and content checksum."""
    files = []
    for meta in matching(pattern):
        if article_format(meta.path) is not None:
            files.append(InputFile(meta.path, meta.size_in_bytes, checksum(meta.path)))
    return sorted(files, key=lambda f: f.uri)


def checksum(uri: str) -> str:
    """The filesystem's own checksum where it has a real one (GCS, S3), else a SHA-256 of the content."""
    if not _is_local(uri):
        try:
            return "fs:" + str(FileSystems.checksum(uri))
        except Exception:  # noqa: BLE001 - filesystems without checksums raise their own errors; hash instead
            pass
    digest = hashlib.sha256()
    with FileSystems.open(uri, compression_type="uncompressed") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()


def read_manifests(output: str) -> list[dict[str, Any]]:
    """The manifests of every committed run under `output` (a run without a manifest is not committed)."""
    manifests = []
    for meta in matching(f"{output}/{RUN_PREFIX}*/{MANIFEST}"):
        with FileSystems.open(meta.path, compression_type="uncompressed") as handle:
            manifests.append(json.loads(handle.read().decode("utf-8")))
    return sorted(manifests, key=_order)


def committed_shards(output: str, prefix: str = "enriched", suffix: str = ".jsonl") -> list[str]:
    """The `prefix-*.jsonl` (or other `suffix`) shards of committed runs, oldest run first: the reader contract."""
    runs = read_manifests(output)
    return [
        f"{output}/{m['run']}/{shard}"
        for m in runs
        for shard in m["shards"]
        if shard.startswith(prefix + "-") and shard.endswith(suffix)
    ]


def recover(output: str) -> None:
    """Remove what killed runs left (staging folders, runs without manifest, temp files); finish pruning."""
    committed = {m["run"] for m in read_manifests(output)}
    runs = folders_under(output, (RUN_PREFIX, TMP_PREFIX + RUN_PREFIX))
    doomed = {folder: files for folder, files in runs.items() if folder.rsplit("/", 1)[-1] not in committed}
    patterns = (f"{output}/{RUN_PREFIX}*/{TMP_PREFIX}*", f"{output}/{TMP_PREFIX}*")
    temps = [meta.path for pattern in patterns for meta in matching(pattern)]
    temps = [path for path in temps if path.rsplit("/", 2)[-2] in committed or path.rsplit("/", 1)[0] == output]
    if doomed or temps:
        log.warning(
            "removing %d uncommitted run folders and %d temp files left by killed runs",
            len(doomed),
            len(temps),
        )
        delete_folders(doomed)
        if temps:
            FileSystems.delete(temps)
    prune_superseded(output, read_manifests(output))


def prune_superseded(output: str, manifests: list[dict[str, Any]]) -> int:
    """Drop from older runs the records of inputs a later run re-processed; then from their manifests."""
    pruned = 0
    by_run = {m["run"]: m for m in manifests}
    for run, uris in superseded(manifests).items():
        manifest = by_run[run]
        everything = uris == set(manifest["inputs"])
        for shard in manifest["shards"]:
            if _is_record_shard(shard):
                _rewrite_without(f"{output}/{run}/{shard}", uris, everything)
            elif shard.endswith(".parquet"):
                _rewrite_parquet_without(f"{output}/{run}/{shard}", uris)
        remaining = {uri: entry for uri, entry in manifest["inputs"].items() if uri not in uris}
        updated = {**manifest, "inputs": remaining, "superseded": manifest.get("superseded", 0) + len(uris)}
        _atomic_write(f"{output}/{run}/{MANIFEST}", _json_bytes(updated))
        pruned += len(uris)
    return pruned


def commit(output: str, name: str, staging: str, manifest: dict[str, Any], summary: dict[str, Any]) -> None:
    """Move the staged shards into `run=…/`, then write its manifest (the commit point), then `latest`."""
    final = f"{output}/{name}"
    shards = sorted(meta.path.rsplit("/", 1)[-1] for meta in matching(f"{staging}/*") if _is_shard(meta.path))
    if not FileSystems.exists(final):
        FileSystems.mkdirs(final)
    FileSystems.rename([f"{staging}/{s}" for s in shards], [f"{final}/{s}" for s in shards])
    _atomic_write(f"{final}/run-summary.json", _json_bytes(summary))
    _atomic_write(f"{final}/{MANIFEST}", _json_bytes({**manifest, "shards": shards}))
    _atomic_write(f"{output}/{LATEST}", (name + "\n").encode("utf-8"))
    FileSystems.delete([staging])


class OutputLock:
    """`output/_lock` holding pid, host and time; refused while held, taken over once stale."""

    def __init__(self, output: str, stale_after_s: int) -> None:
        self._path = f"{output}/{LOCK}"
        self._stale_after_s = stale_after_s
        self._info = {"pid": os.getpid(), "host": socket.gethostname(), "token": uuid.uuid4().hex}

    def __enter__(self) -> OutputLock:
        for _ in range(2):
            if self._try_create():
                return self
            holder = self._read()
            if holder is not None and not lock_is_stale(
                holder, _epoch(), self._info["host"], self._stale_after_s, _pid_alive
            ):
                raise RunLocked(
                    f"another run holds {self._path} (pid {holder.get('pid')} on {holder.get('host')}, since "
                    f"{holder.get('started_at')}); refusing to run concurrently. If that run is gone, the lock "
                    f"expires after incremental.lock_stale_after_s={self._stale_after_s} s, or delete the file"
                )
            log.warning("taking over the stale lock %s left by %s", self._path, holder)
            FileSystems.delete([self._path])
        raise RunLocked(f"could not take the lock {self._path}: another run took it at the same time")

    def __exit__(self, *exc: object) -> None:
        holder = self._read()
        if holder is not None and holder.get("token") == self._info["token"]:
            FileSystems.delete([self._path])

    def _try_create(self) -> bool:
        info = _json_bytes({**self._info, "created": _epoch(), "started_at": now()})
        if _is_local(self._path):
            os.makedirs(os.path.dirname(self._path), exist_ok=True)
            try:
                fd = os.open(self._path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                return False
            with os.fdopen(fd, "wb") as handle:
                handle.write(info)
            return True
        if FileSystems.exists(self._path):
            return False
        with FileSystems.create(self._path) as handle:  # object stores: last writer wins; read back to check
            handle.write(info)
        holder = self._read()
        return holder is not None and holder.get("token") == self._info["token"]

    def _read(self) -> dict[str, Any] | None:
        try:
            with FileSystems.open(self._path, compression_type="uncompressed") as handle:
                return json.loads(handle.read().decode("utf-8") or "{}")
        except Exception:  # noqa: BLE001 - a vanished or half-written lock reads as "no holder"
            return None


def run_incremental(config: Config, beam_args: list[str]) -> dict[str, Any]:
    """Process only new, changed or re-configured inputs into a new `run=…` folder under the output, atomically."""
    assert config.input and config.output
    pattern, base = resolve_input(config.input)
    output = absolute(config.output).rstrip("/")
    with OutputLock(output, config.incremental.lock_stale_after_s):
        recover(output)
        manifests = read_manifests(output)
        versions_info = versions(config.tag.model)
        fingerprint = config_fingerprint(config, versions_info)
        inputs = list_inputs(pattern)
        plan = plan_run(inputs, ledger_of(manifests), fingerprint, config.incremental.reprocess)
        report = {"processed": plan.processed, "skipped": plan.skipped, "gone": plan.gone, "run": None}
        if not plan.process:
            return {
                "input": pattern,
                "output": output,
                "status": "succeeded",
                "incremental": report,
                "counts": dict.fromkeys(("inputs", "enriched", "dead_letter", "entities"), 0),
            }
        name = run_name(dt.datetime.now(dt.timezone.utc), (m["run"] for m in manifests))
        staging = f"{output}/{TMP_PREFIX}{name}"
        patterns, ledger = [_escape(f.uri) for f in plan.process], _line_ledger(config, plan, staging)
        earlier = earlier_runs(output, plan, ledger_of(manifests))
        small = sum(f.size for f in plan.process) < SMALL_INPUT_BYTES
        summary = run_job(
            config, beam_args, patterns, base, staging, ledger, small_input=small, report=False, earlier=earlier
        )
        report["run"] = name
        summary.update(input=pattern, output=f"{output}/{name}", incremental=report)
        manifest = {
            "format": MANIFEST_FORMAT,
            "run": name,
            "sequence": max((m["sequence"] for m in manifests), default=0) + 1,
            "committed_at": now(),
            "fingerprint": fingerprint,
            "versions": versions_info,
            "inputs": {f.uri: {"size": f.size, "checksum": f.checksum} for f in plan.process},
        }
        commit(output, name, staging, manifest, summary)
        if config.write.report:
            report_quietly(output, name)
        # Again after the commit: worker processes of a killed run can outlive it for a few seconds and
        # write into its staging folder after the first sweep.
        recover(output)
    return summary


def _line_ledger(config: Config, plan: Plan, staging: str) -> LineLedger | None:
    """Corpus-boilerplate evidence: the committed runs' line keys, less those of inputs processed again.

    This run writes its own keys into `staging`; the commit keeps them beside its records, and a later run
    that processes an input again prunes its keys with its records.
    """
    if not config.clean.corpus_boilerplate.enabled:
        return None
    output = staging.rsplit("/", 1)[0]
    earlier = tuple(committed_shards(output, LINE_KEYS_PREFIX))
    return LineLedger(earlier, frozenset(item.uri for item in plan.process), staging)


def earlier_runs(output: str, plan: Plan, ledger: dict[str, dict[str, Any]]) -> EarlierRuns:
    """The signature shards of committed runs, and the inputs this run processes again (skip their old ones)."""
    reprocessed = frozenset(f.uri for f in plan.process if f.uri in ledger)
    return EarlierRuns(tuple(committed_shards(output, SIGNATURES_PREFIX)), reprocessed)


def _rewrite_without(path: str, uris: set[str], everything: bool) -> None:
    kept = b"" if everything else b"".join(_lines_not_from(path, uris))
    _atomic_write(path, kept)


def _lines_not_from(path: str, uris: set[str]) -> Iterator[bytes]:
    with FileSystems.open(path, compression_type="uncompressed") as handle:
        for line in handle.read().splitlines(keepends=True):
            if line.strip() and json.loads(line)["source"]["uri"] not in uris:
                yield line


def _atomic_write(path: str, data: bytes) -> None:
    """Local: write a temp file and rename it over `path`; object stores: a single-object write is atomic."""
    if not _is_local(path):
        with FileSystems.create(path) as handle:
            handle.write(data)
        return
    folder, name = path.rsplit("/", 1)
    os.makedirs(folder, exist_ok=True)
    temp = f"{folder}/{TMP_PREFIX}{name}"
    with open(temp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


def _is_shard(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return _is_record_shard(name) or name.startswith("entities-") or name.endswith(".parquet")


def _is_record_shard(name: str) -> bool:
    """A JSON Lines shard of lines that carry `source.uri` (an entity index line does not)."""
    return name.endswith(".jsonl") and name.startswith((
        "enriched-", "dead-letter-", f"{DROPPED_PREFIX}-", f"{SIGNATURES_PREFIX}-", f"{LINE_KEYS_PREFIX}-"
    ))


def _rewrite_parquet_without(path: str, uris: set[str]) -> None:
    """A run's Parquet shard without the records of `uris` (superseded by a later run)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    with FileSystems.open(path, compression_type="uncompressed") as handle:
        table = pq.read_table(io.BytesIO(handle.read()))
    kept = table.filter(pc.invert(pc.is_in(pc.struct_field(table["source"], "uri"), pa.array(sorted(uris)))))
    sink = io.BytesIO()
    pq.write_table(kept, sink)
    _atomic_write(path, sink.getvalue())


def _escape(uri: str) -> str:
    """A file path as a Beam match pattern that matches only itself."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in uri)


def _is_local(path: str) -> bool:
    return isinstance(FileSystems.get_filesystem(path), LocalFileSystem)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True).encode("utf-8") + b"\n"


def _epoch() -> float:
    return dt.datetime.now(dt.timezone.utc).timestamp()

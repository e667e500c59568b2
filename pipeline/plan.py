"""Planning an incremental run, pure: what the ledger of committed runs says, and what this run must process."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from transforms.core import layout

if TYPE_CHECKING:
    from pipeline.config import Config


@dataclass(frozen=True)
class InputFile:
    """One input file as the ledger knows it: where it is and what its content was."""

    uri: str
    size: int
    checksum: str
    mtime: float | None = None


@dataclass(frozen=True)
class Plan:
    """What a run must do: the files to process, and counts of why files are processed or skipped."""

    process: tuple[InputFile, ...]
    processed: dict[str, int]
    skipped: dict[str, int]
    gone: int

    def report(self, run: str | None) -> dict[str, Any]:
        """The `incremental` block of the run summary."""
        return {"processed": self.processed, "skipped": self.skipped, "gone": self.gone, "run": run}


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


def plan_run(
    inputs: Iterable[InputFile],
    ledger: dict[str, dict[str, Any]],
    fingerprint: str,
    reprocess: bool = False,
    known: int | None = None,
) -> Plan:
    """Process exactly the inputs that are new, changed, or were processed with another fingerprint (or all).

    `ledger`: uri -> {size, checksum, fingerprint} of the committed inputs among `inputs` (or all of them);
    `known`: how many inputs the ledger holds in all, to count those gone from the listing.
    """
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
    gone = (len(ledger) if known is None else known) - len(seen & set(ledger))
    return Plan(tuple(process), dict(processed), dict(skipped), gone)


def run_name(now: dt.datetime, taken: Iterable[str]) -> str:
    """`run=2026-11-26T02-00-00Z`, with a `-N` suffix if that second is taken already."""
    base = layout.RUN + now.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H-%M-%SZ")
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


def manifest_order(manifest: dict[str, Any]) -> tuple[int, str]:
    return manifest["sequence"], manifest["run"]


def manifest_of(
    name: str, sequence: int, fingerprint: str, versions_info: dict[str, Any], plan: Plan
) -> dict[str, Any]:
    """A run's manifest (less its shards, which its commit adds): what it processed, with what."""
    return {
        "run": name,
        "sequence": sequence,
        "committed_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "fingerprint": fingerprint,
        "versions": versions_info,
        "inputs": {f.uri: {"size": f.size, "checksum": f.checksum, "mtime": f.mtime} for f in plan.process},
    }

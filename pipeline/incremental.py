"""Incremental outputs: runs of only new, changed or re-configured inputs, each committed whole into its folder.

`run --incremental` commits one run; `watch` commits one run per batch of arrived files. Both go through
`IncrementalOutput`: the output's lock, its corpus store (the ledger and the corpus evidence), and commits.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import tempfile
from collections.abc import Mapping
from typing import Any

from apache_beam.io.filesystems import FileSystems

from pipeline.buckets import StoreUnavailable, store_problem
from pipeline.build import Job
from pipeline.config import Config, ConfigError
from pipeline.inputs import Inputs, input_files, is_small, listed_checksums, listing, resolve_input
from pipeline.job import OUTCOME_COUNTS, run_job, versions
from pipeline.plan import Plan, config_fingerprint, manifest_of, plan_run, run_name
from pipeline.report import report_quietly
from pipeline.runs import (
    OutputLock,
    commit,
    finish_staged,
    latest_run,
    prune,
    read_manifests,
    shard_lines,
    sweep,
)
from pipeline.stopping import JobFailed, deferred_signals
from pipeline.storage import delete_folder, write_atomic
from transforms.core import layout
from transforms.core.paths import absolute, escape, is_local
from transforms.core.store import CorpusStore, History

STORE_FILE = "corpus.sqlite"
RECOVERY = "The next run finishes it if its manifest was written, or removes it; readers see the runs before it"
log = logging.getLogger(__name__)


def run_incremental(config: Config, beam_args: list[str]) -> dict[str, Any]:
    """Process only new, changed or re-configured inputs into a new `run=…` folder under the output, atomically."""
    assert config.input and config.output
    inputs = resolve_input(config.input)
    (pattern,) = inputs.patterns
    with IncrementalOutput(config) as output:
        plan = output.plan(listing(pattern), listed_checksums(pattern))
        if not plan.process:
            return {
                "input": pattern,
                "output": output.path,
                "status": "succeeded",
                "incremental": plan.report(None),
                "counts": dict.fromkeys(OUTCOME_COUNTS, 0),
            }
        summary = output.run(plan, inputs.base, pattern, beam_args)
        if config.write.report:
            report_quietly(output.path, summary["incremental"]["run"])
    return summary


class IncrementalOutput:
    """An incremental output folder held by this process: its lock, its corpus store, and the runs it commits.

    On entering, what stopped runs left is settled, and the store is brought up to the committed runs (built
    from their shards if it is new or behind). The store sits in `incremental.state` if given, else in
    `OUTPUT/_state/` for a local output, else in a temporary folder rebuilt from the output at every start.
    """

    def __init__(self, config: Config) -> None:
        assert config.output
        self.path = absolute(config.output).rstrip("/")
        self._config = config
        self._lock = OutputLock(self.path, config.incremental.lock_stale_after_s)
        self.versions = versions(config.tag.model)
        self.fingerprint = config_fingerprint(config, self.versions)
        self._state_folder, self._temporary_state = _state_folder(config, self.path)
        self.store: CorpusStore | None = None
        self.last_commit: dict[str, Any] | None = None  # the summary of the last run this process committed

    def __enter__(self) -> IncrementalOutput:
        self._lock.__enter__()
        try:
            os.makedirs(self._state_folder, exist_ok=True)
            self.store = CorpusStore(f"{self._state_folder}/{STORE_FILE}")
            self._catch_up()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self.store is not None:
            self.store.close()
        if self._temporary_state:
            shutil.rmtree(self._state_folder, ignore_errors=True)
        self._lock.__exit__()

    def refresh_lock(self) -> None:
        self._lock.refresh()

    def plan(self, listed: dict[str, tuple[int, float]], checksums: Mapping[str, str] = {}) -> Plan:
        """What a run must process of the `listed` files ({uri: (size, mtime)}, with the `checksums` their
        listing gave, if any), against the ledger."""
        ledger = self.store.ledger(listed)
        files = input_files(listed, ledger, checksums)
        reprocess = self._config.incremental.reprocess
        plan = plan_run(files, ledger, self.fingerprint, reprocess, known=self.store.known_inputs())
        # Hashed and found unchanged: the ledger takes their modification time, so the next plan need not hash.
        touched = {
            f.uri: f.mtime
            for f in files
            if (entry := ledger.get(f.uri)) is not None
            and entry["mtime"] != f.mtime
            and (entry["size"], entry["checksum"]) == (f.size, f.checksum)
        }
        if touched:
            self.store.touch(touched)
        return plan

    def run(
        self, plan: Plan, base: str, label: str, beam_args: list[str], config: Config | None = None
    ) -> dict[str, Any]:
        """Run the job over `plan.process` into a staging folder, then commit it as a new `run=…` folder and
        add it to the store. A failed or interrupted job leaves nothing (KeyboardInterrupt, JobFailed raised).
        `config`: the output's, or one that differs only in what does not change records (progress)."""
        runs = self.store.runs()
        name = run_name(dt.datetime.now(dt.timezone.utc), runs)
        staging = f"{self.path}/{layout.STAGING}{name}"
        replaced = frozenset(self.store.ledger([f.uri for f in plan.process]))
        listed = tuple((f.uri, f.size) for f in plan.process)
        inputs = Inputs(tuple(escape(uri) for uri, _ in listed), base, label, listed)
        history = History(self.store.path, replaced)
        config = config or self._config
        small = is_small(f.size for f in plan.process)
        try:
            summary = run_job(
                Job(config, inputs, staging, small=small, history=history),
                beam_args,
                output=f"{self.path}/{name}",
                incremental=plan.report(name),
            )
        except BaseException:
            _abandon(self.path, staging)
            raise
        manifest = manifest_of(name, max(runs.values(), default=0) + 1, self.fingerprint, self.versions, plan)
        with deferred_signals():
            try:
                manifest = commit(self.path, name, staging, manifest, summary)
            except Exception as error:
                raise _commit_failed(self.path, name, error) from error
            self.last_commit = summary
            self._apply(manifest)
        return summary

    def _catch_up(self) -> None:
        """Settle stopped runs' staging folders, then apply to the store every committed run it lacks."""
        store = self.store
        finished = finish_staged(self.path)
        if store.meta("output") != self.path:
            store.reset()
            store.set_meta("output", self.path)
        latest = latest_run(self.path) if FileSystems.exists(f"{self.path}/{layout.LATEST}") else None
        if finished or latest != store.last_run():
            manifests = read_manifests(self.path)
            committed = {m["run"] for m in manifests}
            if set(store.runs()) - committed:
                log.warning("the corpus store %s does not match %s: rebuilding it", store.path, self.path)
                store.reset()
                store.set_meta("output", self.path)
            if not store.runs():
                sweep(self.path)
            for manifest in manifests:
                self._apply(manifest)
            if manifests and latest != manifests[-1]["run"]:
                write_atomic(f"{self.path}/{layout.LATEST}", (manifests[-1]["run"] + "\n").encode("utf-8"))
        self._prune()

    def _apply(self, manifest: dict[str, Any]) -> None:
        lines = shard_lines(self.path, manifest, layout.LINE_KEYS)
        signatures = shard_lines(self.path, manifest, layout.SIGNATURES)
        self.store.apply_run(manifest, lines, signatures)
        self._prune()

    def _prune(self) -> None:
        """Remove from older runs the records of inputs a later run processed again."""
        for run, uris in self.store.pending_prunes().items():
            prune(self.path, run, uris)
            self.store.pruned([run])


def _abandon(output: str, staging: str) -> None:
    """Delete what a job that did not finish left in its staging folder (unless its store does not answer)."""
    problem = store_problem(output)
    if problem is not None:
        log.warning("%s stays: its store does not answer (%s); the next run removes it", staging, problem)
        return
    try:
        delete_folder(staging)
    except Exception as error:  # noqa: BLE001 - the next start removes it; the job's own error matters more
        log.warning("could not remove %s (%s: %s)", staging, type(error).__name__, error)


def _commit_failed(output: str, name: str, error: Exception) -> JobFailed:
    """The error of a commit that did not finish: the next run completes it if its manifest was written, else
    removes it; until then readers see the runs before it."""
    problem = store_problem(output)
    cause = f"the commit of {output}/{name} did not finish ({type(error).__name__}: {error})"
    if problem is not None:
        return StoreUnavailable(f"{cause}: its store does not answer ({problem}). {RECOVERY}")
    return JobFailed(f"{cause}. {RECOVERY}")


def _state_folder(config: Config, output: str) -> tuple[str, bool]:
    """Where the corpus store lives, and whether that folder is this process's temporary one."""
    named = config.incremental.state
    if named is not None:
        if not is_local(named):
            raise ConfigError(f"incremental.state: {named!r} must be a local folder (the store is an SQLite file)")
        return os.path.abspath(named), False
    if is_local(output):
        return f"{output}/{layout.STATE}", False
    return tempfile.mkdtemp(prefix="article-enrich-state-"), True

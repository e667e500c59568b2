"""`article-enrich watch`: enrich the files that arrive in a folder, in small incremental runs, until idle or stopped.

Each batch of files that arrived whole is one incremental run (pipeline/incremental.py): every stage of `run`,
the corpus store kept across batches, each batch committed whole or not at all.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import time
from collections import Counter
from typing import Any

from pipeline.arrivals import Arrivals, Stat, is_watchable
from pipeline.buckets import StoreUnavailable
from pipeline.config import Config, WatchConfig
from pipeline.incremental import IncrementalOutput
from pipeline.inputs import Inputs, is_small, listing, watched_input
from pipeline.job import OUTCOME_COUNTS, WarmModels, now
from pipeline.plan import Plan
from pipeline.report import report_quietly
from pipeline.stopping import JobFailed, interrupting_signal
from pipeline.storage import json_bytes, write_atomic
from transforms.core import layout

log = logging.getLogger(__name__)


def watch(config: Config, beam_args: list[str]) -> dict[str, Any]:
    """Commit a run for every batch of files that arrive under `--input`, until idle or SIGINT/SIGTERM; the
    summary of the whole watch is written to `OUTPUT/watch-summary.json`."""
    assert config.input and config.output
    inputs = watched_input(config.input)
    with IncrementalOutput(config) as output:
        watcher = _Watcher(config, inputs, output, beam_args)
        try:
            watcher.run()
        except JobFailed as error:
            if not isinstance(error, StoreUnavailable):
                _write_summary(output.path, watcher.summary() | {"status": "failed", "error": str(error)})
            raise
        summary = watcher.summary()
        _write_summary(output.path, summary)
        if config.write.report and watcher.batches:
            report_quietly(output.path)
    return summary


def _write_summary(output: str, summary: dict[str, Any]) -> None:
    write_atomic(f"{output}/{layout.WATCH_SUMMARY}", json_bytes(summary))


class _Watcher:
    """The loop: list, take what arrived whole (oldest first, up to a batch's cap), commit it as a run."""

    def __init__(self, config: Config, inputs: Inputs, output: IncrementalOutput, beam_args: list[str]) -> None:
        self._config = config
        self._settings: WatchConfig = config.watch
        self._inputs = inputs
        self._output = output
        self._beam_args = beam_args
        self._started_at = now()
        self._started = time.monotonic()
        self.batches = 0
        self._counts: Counter[str] = Counter()
        self._latencies: list[float] = []
        self._waiting: dict[str, Stat] = {}
        self._first_ready: float | None = None  # when the oldest waiting file was ready
        self._abandoned = 0
        self._stopped_by = "idle_timeout"
        # Batches small enough to run in this process find their models loaded (and kept) here.
        self._warm = WarmModels(config)

    def run(self) -> None:
        (pattern,) = self._inputs.patterns
        listed = self._list(pattern)
        committed = self._output.store.ledger(listed)
        arrivals = Arrivals(self._settings.settle_s, {uri: (e["size"], e["mtime"]) for uri, e in committed.items()})
        last_change, last_report, last_lock = time.monotonic(), time.monotonic(), time.monotonic()
        reported = 0
        try:
            while True:
                listed = self._list(pattern)
                for uri in arrivals.observe(listed, time.time()):
                    self._waiting[uri] = listed[uri]
                    self._first_ready = self._first_ready or time.monotonic()
                if self._waiting and not self._burst_going_on(arrivals):
                    self._commit_batch(arrivals)
                    self._first_ready = None if not self._waiting else time.monotonic()
                    last_change = time.monotonic()
                    continue
                if arrivals.pending:
                    last_change = time.monotonic()
                idle = time.monotonic() - last_change
                timeout = self._settings.idle_timeout_s
                if timeout is not None and idle >= timeout:
                    return
                if self.batches > reported and time.monotonic() - last_report >= self._settings.report_every_s:
                    if self._config.write.report:
                        report_quietly(self._output.path)
                    last_report, reported = time.monotonic(), self.batches
                if time.monotonic() - last_lock >= self._config.incremental.lock_stale_after_s / 4:
                    self._output.refresh_lock()
                    last_lock = time.monotonic()
                time.sleep(self._settings.poll_interval_s)
        except KeyboardInterrupt as interruption:
            self._stopped_by = interrupting_signal(interruption).name

    def _burst_going_on(self, arrivals: Arrivals) -> bool:
        """Whether more files are still arriving with the waiting ones (files moved in by the thousand are listed
        a part at a time): their batch waits for them, up to the settle time and the batch's cap."""
        return (
            bool(arrivals.pending)
            and len(self._waiting) < self._settings.max_batch_files
            and time.monotonic() - self._first_ready < self._settings.settle_s
        )

    def _list(self, pattern: str) -> dict[str, Stat]:
        return {uri: stat for uri, stat in listing(pattern).items() if is_watchable(uri)}

    def _commit_batch(self, arrivals: Arrivals) -> None:
        batch = self._take()
        plan = self._output.plan(batch)
        if not plan.process:
            return
        small = is_small(f.size for f in plan.process)
        # In-process batches print one line each (below); a batch that starts workers shows its progress too.
        config = dataclasses.replace(self._config, progress=self._config.progress and not small)
        started, before = time.monotonic(), self._output.last_commit
        try:
            summary = self._output.run(plan, self._inputs.base, self._inputs.label, self._beam_args, config=config)
        except BaseException:
            if self._output.last_commit is not before:  # committed, then a signal came
                self._count(self._output.last_commit, plan, started)
            else:
                self._abandoned += len(plan.process)
                arrivals.forget(batch)
            raise
        self._count(summary, plan, started)

    def _count(self, summary: dict[str, Any], plan: Plan, started: float) -> None:
        """Add a committed batch to the watch's totals, and say so on standard error."""
        committed_at = time.time()
        self.batches += 1
        counts = summary["counts"]
        self._counts.update({key: counts.get(key, 0) for key in OUTCOME_COUNTS})
        self._latencies.extend(committed_at - f.mtime for f in plan.process if f.mtime is not None)
        if self._config.progress:
            print(
                f"article-enrich: watch: {summary['incremental']['run']} committed {counts['inputs']:,} inputs "
                f"({counts['enriched']:,} enriched, {counts['dead_letter']:,} dead letters) in "
                f"{time.monotonic() - started:.1f} s; {self._counts['inputs']:,} inputs in "
                f"{self.batches:,} batch{'es' if self.batches > 1 else ''} so far, "
                f"{len(self._waiting):,} files waiting",
                file=sys.stderr,
                flush=True,
            )

    def _take(self) -> dict[str, Stat]:
        """The oldest waiting files, up to the batch's cap in files and bytes (one file at least)."""
        batch: dict[str, Stat] = {}
        size = 0
        settings = self._settings
        for uri, stat in sorted(self._waiting.items(), key=lambda item: (item[1][1], item[0])):
            if batch and (len(batch) >= settings.max_batch_files or size + stat[0] > settings.max_batch_bytes):
                break
            batch[uri] = stat
            size += stat[0]
        for uri in batch:
            del self._waiting[uri]
        return batch

    def summary(self) -> dict[str, Any]:
        return {
            "mode": "watch",
            "input": self._inputs.label,
            "output": self._output.path,
            "started_at": self._started_at,
            "finished_at": now(),
            "stopped_by": self._stopped_by,
            "status": "succeeded",
            "batches": self.batches,
            "counts": {key: self._counts[key] for key in OUTCOME_COUNTS},
            "abandoned": self._abandoned,
            "waiting": len(self._waiting),
            "latency_s": _percentiles(self._latencies),
            "watch": dataclasses.asdict(self._settings),
        }


def _percentiles(values: list[float]) -> dict[str, float] | None:
    """p50, p95 and the maximum of the seconds from each file's modification to its batch's commit."""
    if not values:
        return None
    ordered = sorted(values)

    def at(share: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 3)

    return {"p50": at(0.5), "p95": at(0.95), "max": round(ordered[-1], 3)}

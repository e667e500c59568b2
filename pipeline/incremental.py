"""`article-enrich run --incremental`: only new, changed or re-configured inputs, into a run folder committed whole."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pipeline.build import Job
from pipeline.config import Config
from pipeline.inputs import Inputs, is_small, list_inputs, resolve_input
from pipeline.job import now, run_job, versions
from pipeline.plan import Plan, config_fingerprint, ledger_of, plan_run, run_name
from pipeline.report import report_quietly
from pipeline.runs import OutputLock, commit, committed_shards, read_manifests, recover
from transforms.cluster_duplicates import EarlierRuns
from transforms.core import layout
from transforms.core.paths import absolute, escape
from transforms.strip_corpus_boilerplate import LineLedger


def run_incremental(config: Config, beam_args: list[str]) -> dict[str, Any]:
    """Process only new, changed or re-configured inputs into a new `run=…` folder under the output, atomically."""
    assert config.input and config.output
    given = resolve_input(config.input)
    (pattern,) = given.patterns
    output = absolute(config.output).rstrip("/")
    with OutputLock(output, config.incremental.lock_stale_after_s):
        recover(output)
        manifests = read_manifests(output)
        versions_info = versions(config.tag.model)
        fingerprint = config_fingerprint(config, versions_info)
        ledger = ledger_of(manifests)
        plan = plan_run(list_inputs(pattern), ledger, fingerprint, config.incremental.reprocess)
        if not plan.process:
            return {
                "input": pattern,
                "output": output,
                "status": "succeeded",
                "incremental": plan.report(None),
                "counts": dict.fromkeys(("inputs", "enriched", "dead_letter", "entities"), 0),
            }
        name = run_name(dt.datetime.now(dt.timezone.utc), (m["run"] for m in manifests))
        staging = f"{output}/{layout.STAGING}{name}"
        inputs = Inputs(tuple(escape(f.uri) for f in plan.process), given.base, pattern)
        job = Job(
            config,
            inputs,
            staging,
            small=is_small(f.size for f in plan.process),
            line_ledger=_line_ledger(config, plan, output, staging),
            earlier=_earlier_runs(output, plan, ledger),
        )
        summary = run_job(job, beam_args)
        summary.update(output=f"{output}/{name}", incremental=plan.report(name))
        manifest = {
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


def _line_ledger(config: Config, plan: Plan, output: str, staging: str) -> LineLedger | None:
    """Corpus-boilerplate evidence: the committed runs' line keys, less those of inputs processed again.

    This run writes its own keys into `staging`; the commit keeps them beside its records, and a later run
    that processes an input again prunes its keys with its records.
    """
    if not config.clean.corpus_boilerplate.enabled:
        return None
    earlier = tuple(committed_shards(output, layout.LINE_KEYS))
    return LineLedger(earlier, frozenset(item.uri for item in plan.process), staging)


def _earlier_runs(output: str, plan: Plan, ledger: dict[str, dict[str, Any]]) -> EarlierRuns:
    """The signature shards of committed runs, and the inputs this run processes again (skip their old ones)."""
    reprocessed = frozenset(f.uri for f in plan.process if f.uri in ledger)
    return EarlierRuns(tuple(committed_shards(output, layout.SIGNATURES)), reprocessed)

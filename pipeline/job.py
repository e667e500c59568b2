"""One job, whatever the mode: Beam options, the run summary, running to completion, signals, temporary files."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Callable, Collection
from importlib import metadata
from typing import Any

import apache_beam as beam
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.runners.runner import PipelineResult, PipelineState

from pipeline.buckets import StoreUnavailable, store_problem, with_s3_plugin
from pipeline.build import Job, build_pipeline
from pipeline.config import Config
from pipeline.inputs import Inputs
from pipeline.progress import ProgressMonitor, input_totals
from pipeline.runners import check_runner, one_process_for_small_input, runs_in_this_process
from pipeline.stopping import JobFailed, interrupting_signal
from pipeline.storage import delete_folders, folders_under, write_bytes
from transforms.core import layout
from transforms.core.nlp import model_info
from transforms.core.warc import SKIPPED_PREFIX
from transforms.metrics import NAMESPACE
from transforms.object_stores import STORE_ERRORS

CANCEL_WAIT_S = 30  # how long an interrupted run waits for its cancelled job on a job service or cluster
SECRET_OPTIONS = ("secret", "token", "password", "access_key")  # parts of Beam option names that hold credentials
COUNTERS = ("inputs", "cleaned", "tagged", "enriched", "dead_letter", "entities")
OUTCOME_COUNTS = ("inputs", "enriched", "dead_letter", "entities")  # what the CLI reports of every job
log = logging.getLogger(__name__)


def pipeline_options(config: Config, beam_args: list[str]) -> PipelineOptions:
    """Beam options from the config's `beam` section, overridden by flags given on the command line."""
    flags = [_flag(key, value) for key, value in config.beam.items() if value is not False and value is not None]
    options = PipelineOptions(with_s3_plugin(flags + list(beam_args), {"input": config.input, "output": config.output}))
    check_runner(options)
    return options


def run_job(job: Job, beam_args: list[str], **header: Any) -> dict[str, Any]:
    """Build and run `job` to completion, and write its run summary (`header` adds to its first keys).

    A small job runs in this process if the worker count is automatic (start-up beats parallelism).
    Raises JobFailed if it failed, KeyboardInterrupt (Interrupted) if a signal stopped it.
    """
    options = pipeline_options(job.config, beam_args)
    if job.small:
        one_process_for_small_input(options)
    warm = WarmModels(job.config) if runs_in_this_process(options) else None
    summary = summary_header(job.config, options, job.inputs.label, job.output) | header
    pipeline = beam.Pipeline(options=options)
    progress = start_progress(job.config, options, job.inputs)
    build_pipeline(pipeline, job, progress.folder if progress else None)
    try:
        return execute(pipeline, summary, job.output, job.config.max_dead_letter_ratio, progress)
    finally:
        del warm  # held until the job's DoFns have taken the models


class WarmModels:
    """The models a job uses, loaded in this process in a thread while the job is built (for a job whose workers
    are this process's threads), and kept loaded while this object lives: a watcher keeps one across its batches,
    so that a batch run in this process starts with its models loaded. One thread: loading is mostly Python, so
    two threads take longer than one (measured)."""

    def __init__(self, config: Config) -> None:
        self._held: list[Any] = []
        loads = ([self._identifier] if config.language.enabled else []) + [self._tagger]
        threading.Thread(target=self._hold, args=(loads, config), name="article-enrich-warm", daemon=True).start()

    def _hold(self, loads: list[Callable[[Config], Any]], config: Config) -> None:
        for load in loads:
            try:
                self._held.append(load(config))
            except Exception as error:  # noqa: BLE001 - the job's own DoFns load it again and report what fails
                log.debug("warming %s failed: %s", load.__name__, error)

    @staticmethod
    def _identifier(config: Config) -> Any:
        from transforms.identify_language import shared_identifier

        return shared_identifier(config.language)

    @staticmethod
    def _tagger(config: Config) -> Any:
        from transforms.tag_entities import shared_models

        models = shared_models(config.tag)
        models.get(config.tag.model)
        return models


def summary_header(config: Config, options: PipelineOptions, inputs: str, output: str) -> dict[str, Any]:
    """The first keys of every run summary: what ran, where, with what."""
    return {
        "input": inputs,
        "output": output,
        "runner": runner_name(options),
        "started_at": now(),
        "versions": versions(config.tag.model),
        "config": _without_secrets(json.loads(json.dumps(dataclasses.asdict(config), default=str))),
    }


def _without_secrets(config: dict[str, Any]) -> dict[str, Any]:
    """The config as the summary and the report show it: Beam options that hold credentials (e.g.
    `s3_secret_access_key` in the `beam:` section) are masked."""
    beam_options = {
        key: "***" if any(word in key for word in SECRET_OPTIONS) and value else value
        for key, value in config.get("beam", {}).items()
    }
    return {**config, "beam": beam_options}


def execute(
    pipeline: beam.Pipeline,
    summary: dict[str, Any],
    output: str,
    max_dead_letter_ratio: float,
    progress: ProgressMonitor | None = None,
) -> dict[str, Any]:
    """Run `pipeline` to completion, add its counts to `summary` and write it; raises JobFailed if it failed.

    A run that fails or is interrupted (KeyboardInterrupt, raised again) removes the temporary folders it
    left under `output` (held articles, half-written shards), and its summary says what stopped it.
    """
    earlier_temp = set(temp_folders(output))
    result: PipelineResult | None = None
    try:
        try:
            if progress is not None:
                progress.start()
            result = pipeline.run()
            state = result.wait_until_finish()
        finally:
            if progress is not None:
                summary["progress"] = progress.stop()
    except KeyboardInterrupt as interruption:
        if _job_over(result):
            remove_temp_folders(output, keep=earlier_temp)
        summary.update(status="interrupted", error=interrupting_signal(interruption).name, finished_at=now())
        write_summary(output, summary)
        raise
    except Exception as error:
        problem = store_problem(output)
        if problem is not None:  # Beam would retry every cleanup request for minutes
            raise StoreUnavailable(
                f"the job failed: {type(error).__name__}: {error}. The store of {output} does not answer "
                f"({problem}): its temporary files stay, and no run-summary.json was written"
            ) from error
        remove_temp_folders(output, keep=earlier_temp)
        summary.update(status="failed", error=f"{type(error).__name__}: {error}", finished_at=now())
        write_summary(output, summary)
        raise JobFailed(f"the job failed: {type(error).__name__}: {error}") from error
    counts = _counters(result)
    summary.update(_breakdowns(counts))
    summary["skipped_records"] = _skipped_records(counts)
    ratio = round(counts["dead_letter"] / counts["inputs"], 6) if counts["inputs"] else 0.0
    dropped = counts.get("duplicates_dropped", 0)
    invariant_ok = counts["inputs"] == counts["enriched"] + counts["dead_letter"] + dropped
    summary.update(
        finished_at=now(),
        state=str(state),
        counts=counts,
        invariant_ok=invariant_ok,
        status="succeeded" if invariant_ok else "failed",
        dead_letter_ratio=ratio,
        dead_letter_ratio_exceeded=ratio > max_dead_letter_ratio,
        duplicates=duplicates_summary(counts),
    )
    unread = counts.get(STORE_ERRORS, 0)
    if unread:  # the store, not the files: the run is not complete, whatever its counts say
        error = f"{unread} input files could not be read: their store did not answer"
        summary.update(status="failed", error=error)
        if store_problem(output) is None:
            write_summary(output, summary)
        raise JobFailed(f"{error} (the dead letters with reason store_unavailable say what it answered)")
    write_summary(output, summary)
    if not invariant_ok:
        raise JobFailed(
            f"inputs ({counts['inputs']}) != enriched ({counts['enriched']}) + dead letters "
            f"({counts['dead_letter']}) + dropped duplicates ({dropped}): articles were lost or duplicated"
        )
    return summary


def duplicates_summary(counts: dict[str, int]) -> dict[str, int]:
    """Clusters with a duplicate among this run's articles, by kind, and this run's articles that are copies."""
    exact, near = counts.get("duplicate_articles_exact", 0), counts.get("duplicate_articles_near", 0)
    return {
        "exact_clusters": counts.get("duplicate_clusters_exact", 0),
        "near_clusters": counts.get("duplicate_clusters_near", 0),
        "duplicate_articles": exact + near,
        "exact_duplicates": exact,
        "near_duplicates": near,
        "dropped": counts.get("duplicates_dropped", 0),
    }


def versions(model: str) -> dict[str, Any]:
    return {
        "article_enrich": metadata.version("article-enrich"),
        "apache_beam": beam.__version__,
        "spacy": metadata.version("spacy"),
        "ftfy": metadata.version("ftfy"),
        "model": model_info(model),
    }


def runner_name(options: PipelineOptions) -> str:
    runner = options.view_as(StandardOptions).runner or "DirectRunner"
    return runner if isinstance(runner, str) else type(runner).__name__


def start_progress(config: Config, options: PipelineOptions, inputs: Inputs) -> ProgressMonitor | None:
    """A monitor of a DirectRunner run's progress, started by `execute` (shown unless `progress` is off).

    None on other runners: their UIs show the Beam counters.
    """
    if runner_name(options) not in ("DirectRunner", "direct"):
        return None
    return ProgressMonitor(input_totals(inputs.patterns, inputs.listed), show=config.progress)


def temp_folders(output: str) -> dict[str, list[str]]:
    """The temporary folders under `output` (`beam-temp-*`), each with the files in it."""
    return folders_under(output, (layout.BEAM_TEMP,))


def remove_temp_folders(output: str, keep: Collection[str] = ()) -> None:
    """Delete the temporary folders under `output` (except those in `keep`); a failure is logged."""
    for folder, files in temp_folders(output).items():
        if folder in keep:
            continue
        try:
            delete_folders({folder: files})
        except Exception as error:  # noqa: BLE001 - what is left is named; the run's own error matters more
            log.warning("could not remove %s (%s: %s)", folder, type(error).__name__, error)


def write_summary(output: str, summary: dict[str, Any]) -> None:
    data = json.dumps(summary, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"
    write_bytes(f"{output}/{layout.SUMMARY}", data, mime_type="application/json")
    log.info("run summary written to %s/%s", output, layout.SUMMARY)


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _counters(result: PipelineResult) -> dict[str, int]:
    counters = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))["counters"]
    totals = dict.fromkeys(COUNTERS, 0)
    for counter in counters:
        value = counter.committed if counter.committed is not None else counter.attempted
        totals[counter.key.metric.name] = totals.get(counter.key.metric.name, 0) + (value or 0)
    return totals


def _breakdowns(counts: dict[str, int]) -> dict[str, dict[str, int]]:
    """Take the per-language counters (`language:<code>`, `ner_skipped:<code>`) out of `counts`: articles
    per identified language, and articles not tagged for want of a model, per language."""
    breakdowns: dict[str, dict[str, int]] = {"languages": {}, "ner_skipped_by_language": {}}
    for name in sorted(counts):
        prefix, sep, code = name.partition(":")
        section = {"language": "languages", "ner_skipped": "ner_skipped_by_language"}.get(prefix)
        if sep and section:
            value = counts.pop(name)
            if value:
                breakdowns[section][code] = value
    return breakdowns


def _skipped_records(counts: dict[str, int]) -> dict[str, int]:
    """Take the counts of WARC records that are not articles (request, metadata…) out of `counts`, by kind."""
    names = sorted(name for name in counts if name.startswith(SKIPPED_PREFIX))
    return {name.removeprefix(SKIPPED_PREFIX): counts.pop(name) for name in names}


def _job_over(result: PipelineResult | None) -> bool:
    """Whether an interrupted job has stopped: the DirectRunner's ends with this process (its `run` had not
    returned); a job on a job service or cluster is cancelled, and is over once its state says so."""
    if result is None:
        return True
    deadline = time.monotonic() + CANCEL_WAIT_S
    try:
        result.cancel()
        while not PipelineState.is_terminal(result.state) and time.monotonic() < deadline:
            time.sleep(0.5)
        if PipelineState.is_terminal(result.state):
            return True
        problem = f"still {result.state} after {CANCEL_WAIT_S} s"
    except Exception as error:  # noqa: BLE001 - the interruption is what the user asked for; this is reported
        problem = f"{type(error).__name__}: {error}"
    log.warning("could not cancel the job (%s): it may run on, so its temporary files stay", problem)
    return False


def _flag(key: str, value: Any) -> str:
    """`true` becomes a bare switch (`--key`), as Beam's boolean options expect; other values `--key=value`."""
    return f"--{key}" if value is True else f"--{key}={value}"

"""Running the pipeline and writing its run summary."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Sequence
from importlib import metadata
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from pipeline.build import CORPUS_EVIDENCE, build_pipeline
from pipeline.config import Config
from pipeline.inputs import absolute, resolve_input
from pipeline.runners import check_runner
from transforms.core.nlp import model_info
from transforms.core.warc import SKIPPED_PREFIX
from transforms.metrics import NAMESPACE

SUMMARY_NAME = "run-summary.json"
COUNTERS = ("inputs", "cleaned", "tagged", "enriched", "dead_letter", "entities")
log = logging.getLogger(__name__)


class JobFailed(RuntimeError):
    """The job ran but did not finish cleanly, or its counts do not add up."""


def pipeline_options(config: Config, beam_args: list[str]) -> PipelineOptions:
    """Beam options from the config's `beam` section, overridden by flags given on the command line."""
    flags = [_flag(key, value) for key, value in config.beam.items() if value is not False and value is not None]
    options = PipelineOptions(flags + list(beam_args))
    check_runner(options)
    return options


def run(config: Config, beam_args: list[str]) -> dict[str, Any]:
    """Run the job to completion and write `run-summary.json`; raises JobFailed if it did not succeed."""
    assert config.input and config.output
    pattern, base = resolve_input(config.input)
    return run_job(config, beam_args, pattern, base, absolute(config.output))


def run_job(
    config: Config, beam_args: list[str], patterns: str | Sequence[str], base: str, output: str
) -> dict[str, Any]:
    """Run the pipeline over `patterns` into `output` and write its summary; raises JobFailed if it failed."""
    options = pipeline_options(config, beam_args)
    summary: dict[str, Any] = {
        "input": patterns if isinstance(patterns, str) else f"{len(patterns)} files",
        "output": output,
        "runner": options.view_as(StandardOptions).runner or "DirectRunner",
        "started_at": now(),
        "versions": versions(config.tag.model),
    }
    pipeline = beam.Pipeline(options=options)
    build_pipeline(pipeline, config, patterns, base, output)
    return execute(pipeline, summary, output, config.max_dead_letter_ratio)


def execute(
    pipeline: beam.Pipeline, summary: dict[str, Any], output: str, max_dead_letter_ratio: float
) -> dict[str, Any]:
    """Run `pipeline` to completion, add its counts to `summary` and write it; raises JobFailed if it failed."""
    try:
        result = pipeline.run()
        state = result.wait_until_finish()
    except Exception as error:
        summary.update(status="failed", error=f"{type(error).__name__}: {error}", finished_at=now())
        write_summary(output, summary)
        raise JobFailed(f"the job failed: {type(error).__name__}: {error}") from error
    counts = _counters(result)
    summary["skipped_records"] = _skipped_records(counts)
    ratio = round(counts["dead_letter"] / counts["inputs"], 6) if counts["inputs"] else 0.0
    invariant_ok = counts["inputs"] == counts["enriched"] + counts["dead_letter"]
    summary.update(
        finished_at=now(),
        state=str(state),
        counts=counts,
        invariant_ok=invariant_ok,
        status="succeeded" if invariant_ok else "failed",
        dead_letter_ratio=ratio,
        dead_letter_ratio_exceeded=ratio > max_dead_letter_ratio,
    )
    write_summary(output, summary)
    if not invariant_ok:
        raise JobFailed(
            f"inputs ({counts['inputs']}) != enriched ({counts['enriched']}) + dead letters "
            f"({counts['dead_letter']}): articles were lost or duplicated"
        )
    return summary


def versions(model: str) -> dict[str, Any]:
    import ftfy
    import spacy

    return {
        "article_enrich": metadata.version("article-enrich"),
        "apache_beam": beam.__version__,
        "spacy": spacy.__version__,
        "ftfy": ftfy.__version__,
        "model": model_info(model),
    }


def _counters(result: beam.runners.runner.PipelineResult) -> dict[str, int]:
    counters = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))["counters"]
    totals = dict.fromkeys(COUNTERS, 0)
    for counter in counters:
        if counter.key.step.startswith(f"{CORPUS_EVIDENCE}/"):
            continue
        value = counter.committed if counter.committed is not None else counter.attempted
        totals[counter.key.metric.name] = totals.get(counter.key.metric.name, 0) + (value or 0)
    return totals


def _skipped_records(counts: dict[str, int]) -> dict[str, int]:
    """Take the counts of WARC records that are not articles (request, metadata…) out of `counts`, by kind."""
    names = sorted(name for name in counts if name.startswith(SKIPPED_PREFIX))
    return {name.removeprefix(SKIPPED_PREFIX): counts.pop(name) for name in names}


def write_summary(output: str, summary: dict[str, Any]) -> None:
    with FileSystems.create(f"{output}/{SUMMARY_NAME}") as handle:
        handle.write(json.dumps(summary, indent=2, ensure_ascii=False).encode("utf-8") + b"\n")
    log.info("run summary written to %s/%s", output, SUMMARY_NAME)


def _flag(key: str, value: Any) -> str:
    """`true` becomes a bare switch (`--key`), as Beam's boolean options expect; other values `--key=value`."""
    return f"--{key}" if value is True else f"--{key}={value}"


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")

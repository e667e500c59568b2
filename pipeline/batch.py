"""`article-enrich run`: the whole input in one job, into the output folder."""

from __future__ import annotations

from typing import Any

from pipeline.build import Job
from pipeline.config import Config
from pipeline.inputs import input_sizes, is_small, resolve_input
from pipeline.job import run_job
from pipeline.report import report_quietly
from transforms.core.paths import absolute


def run(config: Config, beam_args: list[str]) -> dict[str, Any]:
    """Run the job to completion and write `run-summary.json` and the report; raises JobFailed if it failed."""
    assert config.input and config.output
    inputs = resolve_input(config.input)
    (pattern,) = inputs.patterns
    small = is_small(input_sizes(pattern))
    output = absolute(config.output)
    try:
        return run_job(Job(config, inputs, output, small=small), beam_args)
    finally:
        # Failed runs too: the report then shows what their summary and partial output say.
        if config.write.report:
            report_quietly(output)


"""Runner checks: refuse, before any work starts, a Beam runner that would lose or corrupt records."""

from __future__ import annotations

from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions
from apache_beam.runners.runner import create_runner

from pipeline.config import ConfigError

# Gaps of Beam 2.77's DaskRunner that this pipeline depends on, each seen on a dask.distributed
# cluster (see docs/runners.md, "Dask"). Any one of them loses records while the job reports DONE.
DASK_GAPS = (
    "WriteToText reports DONE but leaves the final files empty (the shards stay in beam-temp-*)",
    "tagged outputs are misrouted and with_exception_handling fails, so dead letters cannot be separated",
    "outputs emitted from finish_bundle are dropped, so BatchElements loses each partition's last batch",
    "Metrics are not implemented, so the run summary could not check inputs == enriched + dead letters",
)


def one_process_for_small_input(options: PipelineOptions) -> bool:
    """With the DirectRunner's automatic worker count, run a small input in this process; True if it did."""
    runner = options.view_as(StandardOptions).runner
    direct = options.view_as(DirectOptions)
    if runner not in (None, "DirectRunner") or direct.direct_num_workers != 0:
        return False
    if direct.direct_running_mode != "multi_processing":
        return False
    direct.direct_running_mode, direct.direct_num_workers = "in_memory", 1
    return True


def runs_in_this_process(options: PipelineOptions) -> bool:
    """Whether the job's workers are threads of this process (the DirectRunner's in-memory modes)."""
    runner = options.view_as(StandardOptions).runner
    mode = options.view_as(DirectOptions).direct_running_mode
    return runner in (None, "DirectRunner") and mode in ("in_memory", "multi_threading")


def check_runner(options: PipelineOptions) -> None:
    """Raise ConfigError if the chosen runner cannot run this pipeline without losing records."""
    runner = options.view_as(StandardOptions).runner
    if not isinstance(runner, str):
        return
    if _runner_key(runner) == "daskrunner":
        raise ConfigError(
            f"beam.runner: {runner!r} cannot run article-enrich without losing records. Beam's "
            f"DaskRunner gaps: {'; '.join(DASK_GAPS)}. Use DirectRunner, PortableRunner, FlinkRunner, SparkRunner "
            "or DataflowRunner (docs/runners.md)"
        )
    try:
        create_runner(runner)
    except (ValueError, ImportError) as error:
        raise ConfigError(f"beam.runner: {runner!r} is not a runner this Beam installation has: {error}") from error


def _runner_key(runner: str) -> str:
    """'DaskRunner', 'dask' and 'apache_beam.runners.dask.dask_runner.DaskRunner' all give 'daskrunner'."""
    name = runner.rsplit(".", 1)[-1].lower()
    return name if name.endswith("runner") else name + "runner"

"""`article-enrich watch`: enrich every article file that appears in a folder, until idle or stopped."""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from pipeline.build import Job, enrich
from pipeline.config import Config
from pipeline.inputs import Inputs
from pipeline.job import execute, pipeline_options, stop_signals_handled_by, summary_header, write_summary
from transforms.core.paths import absolute, glob_start
from transforms.watch_articles import WatchArticles
from transforms.write_windowed_enriched import WriteWindowedEnriched

STOP_MARKER = ".article-enrich-stop"
log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class WatchOptions:
    poll_interval: float = 0.5
    idle_timeout: float | None = None
    window: float = 60.0


def watch_input(given: str) -> tuple[str, str]:
    """(pattern, base) for a folder (which may still be empty) or a glob."""
    path = absolute(given).rstrip("/")
    glob = glob_start(path)
    if glob is not None:
        return path, path[:glob].rsplit("/", 1)[0]
    return path + "/**", path


def watch(config: Config, options: WatchOptions, beam_args: list[str]) -> dict[str, Any]:
    """Run the watch pipeline until idle or SIGINT/SIGTERM; write run-summary.json; raises JobFailed."""
    assert config.input and config.output
    pattern, base = watch_input(config.input)
    output = absolute(config.output)
    if not FileSystems.exists(output):
        FileSystems.mkdirs(output)
    stop_marker = f"{output}/{STOP_MARKER}"
    if FileSystems.exists(stop_marker):
        FileSystems.delete([stop_marker])
    # Per-window corpus counts would hold every record until its window closes (until the end on the
    # DirectRunner): watch leaves corpus-level boilerplate removal to batch runs (docs/streaming.md).
    clean = dataclasses.replace(
        config.clean, corpus_boilerplate=dataclasses.replace(config.clean.corpus_boilerplate, enabled=False)
    )
    # Duplicate clusters need every article's signature before any is written: batch runs only, likewise.
    config = dataclasses.replace(config, dedup=dataclasses.replace(config.dedup, enabled=False))
    # The polling source is one long-running element: on the DirectRunner it must share a process with
    # the transforms after it, or their output would wait for the poller to finish.
    beam_defaults = {**config.beam, "direct_running_mode": "in_memory", "direct_num_workers": 1}
    config = dataclasses.replace(config, clean=clean, beam=beam_defaults)
    beam_options = pipeline_options(config, beam_args)
    summary = {"mode": "watch", **summary_header(config, beam_options, pattern, output)}
    summary["watch"] = dataclasses.asdict(options)
    source = WatchArticles(
        pattern,
        base,
        config.read,
        window_seconds=options.window,
        poll_interval=options.poll_interval,
        idle_timeout=options.idle_timeout,
        stop_marker=stop_marker,
    )
    pipeline = beam.Pipeline(options=beam_options)
    job = Job(config, Inputs((pattern,), base, pattern), output, small=True)
    enrich(pipeline, config, source, WriteWindowedEnriched(output, source.window_seconds), job)
    with _stop_on_signals(stop_marker):
        summary = execute(pipeline, summary, output, config.max_dead_letter_ratio)
    summary["stopped_by"] = "signal" if FileSystems.exists(stop_marker) else "idle_timeout"
    write_summary(output, summary)
    return summary


@contextmanager
def _stop_on_signals(stop_marker: str) -> Iterator[None]:
    """SIGINT/SIGTERM write the stop marker: the source stops polling and everything read is finished."""

    def request_stop(signum: int, _frame: object) -> None:
        log.warning("%s received: finishing the files already found, then stopping", signal.Signals(signum).name)
        with FileSystems.create(stop_marker) as handle:
            handle.write(f"{os.getpid()}\n".encode())

    with stop_signals_handled_by(request_stop):
        yield

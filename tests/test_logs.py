"""Standard error carries the run's own warnings: no Beam start-up chatter, from the launcher or its workers."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

from pipeline.logs import RELAY_LOGGER, WorkerRelayFilter

from .conftest import ROOT, SAMPLES


def _relayed(level: int, entry: str) -> logging.LogRecord:
    return logging.LogRecord(RELAY_LOGGER, level, __file__, 1, "Worker: %s", (entry,), None)


def test_worker_entries_of_the_pipeline_pass_and_beams_start_up_chatter_goes():
    relay = WorkerRelayFilter()
    beam_chatter = _relayed(
        logging.WARNING,
        'severity: WARN message: "No semi_persistent_directory found: ..." '
        'log_location: "/venv/site-packages/apache_beam/runners/worker/sdk_worker_main.py:421"',
    )
    assert not relay.filter(beam_chatter)
    ours = _relayed(
        logging.WARNING,
        'severity: WARN message: "stopping with \\"incomplete\\" files: caf\\303\\251" instruction_id: "bundle_1" '
        'transform_id: "ReadArticles/Watch" log_location: "/app/transforms/watch_articles.py:109"',
    )
    assert relay.filter(ours)
    assert ours.getMessage() == (
        'worker in ReadArticles/Watch (/app/transforms/watch_articles.py:109): stopping with "incomplete" files: café'
    )
    beam_error = _relayed(logging.ERROR, 'message: "boom" log_location: "/venv/apache_beam/x.py:1"')
    assert relay.filter(beam_error)
    service = logging.LogRecord(RELAY_LOGGER, logging.WARNING, __file__, 1, "Job state: %s", ("DONE",), None)
    assert not relay.filter(service)


def test_a_run_on_the_sample_corpus_writes_no_warning_to_standard_error(tmp_path, tiny_model):
    # The default config runs one worker process per core: they inherit standard error from the launcher.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "pipeline", "run", "--input", str(SAMPLES), "--output", str(tmp_path / "out")]
    done = subprocess.run(
        [*command, "--model", tiny_model], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert "apitools" not in done.stderr and "bigquery" not in done.stderr.lower()
    # Progress lines are the run's own (one every 10 s on a slow machine); nothing else may be there.
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert [line for line in lines if not line.startswith("article-enrich: progress")] == []

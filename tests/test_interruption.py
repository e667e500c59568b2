"""A run stopped by SIGINT, SIGTERM or a failure: its summary says so, its temporary folders go."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.run import Interrupted, JobFailed, execute, temp_folders

from .conftest import ROOT


class _PipelineStoppedMidway:
    """What `execute` sees when a run stops mid-way: temporary files written, then `error` raised."""

    def __init__(self, output: Path, error: BaseException) -> None:
        self._output = output
        self._error = error

    def run(self) -> None:
        (self._output / "beam-temp-enriched-abc").mkdir()
        (self._output / "beam-temp-enriched-abc" / "part").write_text("half a shard", encoding="utf-8")
        (self._output / "beam-temp-empty").mkdir()
        raise self._error


@pytest.mark.parametrize(
    ("error", "raised", "status", "reason"),
    [
        (Interrupted(signal.SIGTERM), Interrupted, "interrupted", "SIGTERM"),
        (KeyboardInterrupt(), KeyboardInterrupt, "interrupted", "SIGINT"),
        (RuntimeError("a worker died"), JobFailed, "failed", "RuntimeError: a worker died"),
    ],
)
def test_a_stopped_run_writes_its_summary_and_removes_only_its_own_temporary_folders(
    tmp_path, error, raised, status, reason
):
    earlier = tmp_path / "beam-temp-held-earlier"
    earlier.mkdir()
    (earlier / "kept.pickle").write_bytes(b"not this run's")

    with pytest.raises(raised):
        execute(_PipelineStoppedMidway(tmp_path, error), {"input": "x"}, str(tmp_path), max_dead_letter_ratio=1.0)

    summary = json.loads((tmp_path / "run-summary.json").read_text(encoding="utf-8"))
    assert (summary["status"], summary["error"]) == (status, reason)
    assert list(temp_folders(str(tmp_path))) == [str(earlier)]
    assert (earlier / "kept.pickle").exists()


def test_temp_folders_lists_each_folder_with_its_files(tmp_path):
    (tmp_path / "beam-temp-a" / "sub").mkdir(parents=True)
    (tmp_path / "beam-temp-a" / "sub" / "f").write_text("x", encoding="utf-8")
    (tmp_path / "beam-temp-b").mkdir()
    (tmp_path / "enriched-00000-of-00001.jsonl").write_text("{}\n", encoding="utf-8")

    folders = temp_folders(f"{tmp_path}/")

    assert folders == {f"{tmp_path}/beam-temp-a": [f"{tmp_path}/beam-temp-a/sub/f"], f"{tmp_path}/beam-temp-b": []}


def test_sigterm_stops_the_command_cleanly(tmp_path, tiny_model):
    # Enough articles for held files (articles wait in files for the duplicate clusters, then are tagged): the
    # signal goes once the first held file exists, a dozen stages before the run could end.
    words = ["harbour", "council", "budget", "Geneva", "rail", "strike", "talks", "Reuters", "market", "shares"]
    rng = random.Random(7)
    for n in range(400):
        text = " ".join(rng.choice(words) for _ in range(200))
        (tmp_path / "corpus" / f"{n // 100}").mkdir(parents=True, exist_ok=True)
        (tmp_path / "corpus" / f"{n // 100}" / f"{n}.txt").write_text(f"Title {n}\n\n{text}.\n", encoding="utf-8")
    output = tmp_path / "out"
    command = [sys.executable, "-m", "pipeline", "run", "--input", str(tmp_path / "corpus"), "--output", str(output)]
    command += ["--model", tiny_model, "--quiet"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 180
        while not list(output.glob("beam-temp-held-*/*")):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "no held file within 180 s"
            time.sleep(0.02)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()

    assert process.returncode == 128 + signal.SIGTERM, stderr
    assert "article-enrich: stopped by SIGTERM" in stderr
    summary = json.loads((output / "run-summary.json").read_text(encoding="utf-8"))
    assert (summary["status"], summary["error"]) == ("interrupted", "SIGTERM")
    assert temp_folders(str(output)) == {}
    assert not list(output.glob("enriched-*"))
    assert "status <b>interrupted</b>" in (output / "run-report.html").read_text(encoding="utf-8")

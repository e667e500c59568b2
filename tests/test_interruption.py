"""A run stopped by SIGINT, SIGTERM or a failure: its summary says so, its temporary folders go."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from pipeline.job import execute, temp_folders
from pipeline.stopping import Interrupted, JobFailed

from .conftest import sigterm_when_held, write_random_articles


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
    write_random_articles(tmp_path / "corpus", 400)
    output = tmp_path / "out"

    code, stderr = sigterm_when_held(
        ["--input", str(tmp_path / "corpus"), "--output", str(output), "--model", tiny_model, "--quiet"], output
    )

    assert code == 128 + signal.SIGTERM, stderr
    assert "article-enrich: stopped by SIGTERM" in stderr
    summary = json.loads((output / "run-summary.json").read_text(encoding="utf-8"))
    assert (summary["status"], summary["error"]) == ("interrupted", "SIGTERM")
    assert temp_folders(str(output)) == {}
    assert not list(output.glob("enriched-*"))
    assert "status <b>interrupted</b>" in (output / "run-report.html").read_text(encoding="utf-8")

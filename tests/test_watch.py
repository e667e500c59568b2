"""Watch mode: complete-file detection and event time (pure), the windowed write path under TestStream,
and `article-enrich watch` end to end in a subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing.test_stream import TestStream
from apache_beam.transforms import window

from transforms import CleanArticles, TagEntities
from transforms.core.clean import CleanConfig
from transforms.core.entities import TagConfig
from transforms.core.types import Article, Source
from transforms.core.watch import FileTracker, event_time, is_watchable
from transforms.write_windowed_enriched import WriteWindowedEnriched

from .conftest import ROOT


def test_only_complete_article_names_are_watched():
    assert is_watchable("/in/a.txt") and is_watchable("/in/feed.jsonl.gz")
    for name in ("/in/.a.txt", "/in/a.txt.tmp", "/in/a.txt.part", "/in/a.txt~", "/in/_STOP", "/in/notes.md"):
        assert not is_watchable(name), name


def test_a_file_is_emitted_once_after_two_equal_listings():
    tracker = FileTracker(settle=1.0)
    assert tracker.observe({"a": (5, 1.0)}, now=5) == []
    assert tracker.observe({"a": (9, 2.0)}, now=5) == []  # still growing
    assert tracker.pending == ["a"]
    assert tracker.observe({"a": (9, 2.0), "b": (1, 4.5)}, now=5) == ["a"]
    assert tracker.observe({"a": (9, 2.0), "b": (1, 4.5)}, now=5) == []  # b changed 0.5 s ago: not settled
    assert tracker.observe({"a": (9, 2.0), "b": (1, 4.5)}, now=6) == ["b"]
    assert tracker.observe({"a": (9, 2.0), "b": (1, 4.5)}, now=7) == [] and tracker.pending == []


def test_event_time_from_iso_and_rfc_2822_dates():
    assert event_time("2024-05-01T12:00:00Z") == 1714564800.0
    assert event_time("2024-05-01") == 1714521600.0
    assert event_time("Wed, 01 May 2024 12:00:00 +0000") == 1714564800.0
    assert event_time("yesterday") is None and event_time(None) is None


def _article(name: str, text: str) -> Article:
    return Article(id=name, source=Source(uri=f"/in/{name}", path=name, format="txt", bytes=len(text)), text=text)


def _records(folder: Path, prefix: str) -> dict[str, list[list[str]]]:
    """{window part of the name: [ids of each file]} for `prefix-*.jsonl`."""
    files: dict[str, list[list[str]]] = {}
    for path in sorted(folder.glob(f"{prefix}-*.jsonl")):
        window_part = path.name[len(prefix) + 1 :].rsplit("-", 1)[0]
        lines = path.read_text(encoding="utf-8").splitlines()
        files.setdefault(window_part, []).append(sorted(json.loads(line)["id"] for line in lines))
    return files


def test_windowed_write_under_test_stream_on_time_late_panes_and_dead_letter(tmp_path, tiny_model):
    stream = (
        TestStream()
        .add_elements([window.TimestampedValue(_article("a1", "Talks in Geneva."), 5)])
        .advance_processing_time(1)
        .add_elements([window.TimestampedValue(_article("a2", "More from Geneva."), 8)])
        .add_elements([window.TimestampedValue(_article("empty", "   "), 9)])
        .add_elements([window.TimestampedValue(_article("b1", "Budapest news."), 12)])
        .advance_watermark_to(30)
        .add_elements([window.TimestampedValue(_article("late", "Late word from Geneva."), 3)])
        .advance_watermark_to_infinity()
    )
    options = PipelineOptions()
    options.view_as(StandardOptions).streaming = True
    with beam.Pipeline(options=options) as p:
        articles = p | stream | beam.WindowInto(window.FixedWindows(10))
        cleaned, clean_dead = articles | CleanArticles(CleanConfig())
        tagged, tag_dead = cleaned | TagEntities(TagConfig(model=tiny_model))
        dead = (clean_dead, tag_dead) | beam.Flatten()
        _ = (tagged, dead) | WriteWindowedEnriched(str(tmp_path), 10)
    enriched = _records(tmp_path, "enriched")
    assert set(enriched) == {"19700101T000000Z-10s", "19700101T000010Z-10s"}
    first = enriched["19700101T000000Z-10s"]
    assert sorted(i for ids in first for i in ids) == ["a1", "a2", "late"]
    assert len(first) >= 2, "the late record is in its own file (pane), not overwriting the on-time one"
    assert enriched["19700101T000010Z-10s"] == [["b1"]]
    assert _records(tmp_path, "dead-letter") == {"19700101T000000Z-10s": [["empty"]]}


def _wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def _ids_written(output: Path, prefix: str) -> list[str]:
    return [json.loads(line)["source"]["path"] for f in output.glob(f"{prefix}-*.jsonl") for line in f.open()]


def _start_watch(input_dir: Path, output: Path, model: str, *extra: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "pipeline", "watch", "--input", str(input_dir), "--output", str(output)]
    command += ["--model", model, "--poll-interval", "0.1", "--window", "5", *extra]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_watch_end_to_end_slow_and_invalid_files_then_idle_exit(tmp_path, tiny_model):
    input_dir, output = tmp_path / "in", tmp_path / "out"
    input_dir.mkdir()
    (input_dir / "before.txt").write_text("Written before the start, in Geneva.", encoding="utf-8")
    process = _start_watch(input_dir, output, tiny_model, "--idle-timeout", "3")
    try:
        assert _wait_for(lambda: "before.txt" in _ids_written(output, "enriched"), 60), "pre-existing file"
        latencies = []
        for n in range(3):
            (input_dir / f"new{n}.txt").write_text(f"Story {n} from Budapest.", encoding="utf-8")
            written = time.monotonic()
            assert _wait_for(lambda n=n: f"new{n}.txt" in _ids_written(output, "enriched"), 10)
            latencies.append(time.monotonic() - written)
        with (input_dir / "slow.txt").open("w", encoding="utf-8") as handle:
            for part in ("Elena Ruiz ", "spoke slowly ", "in Geneva."):
                handle.write(part)
                handle.flush()
                time.sleep(0.3)
        (input_dir / "ignored.txt.tmp").write_text("a partial download", encoding="utf-8")
        (input_dir / "bad.json").write_text('{"text": ', encoding="utf-8")
        assert _wait_for(lambda: "slow.txt" in _ids_written(output, "enriched"), 10)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill() if process.poll() is None else None
    assert process.returncode == 0, stderr
    assert max(latencies) < 5, latencies
    enriched = _ids_written(output, "enriched")
    assert sorted(enriched) == ["before.txt", "new0.txt", "new1.txt", "new2.txt", "slow.txt"]
    records = [json.loads(line) for f in output.glob("enriched-*.jsonl") for line in f.open()]
    slow = next(record for record in records if record["source"]["path"] == "slow.txt")
    assert slow["text"] == "Elena Ruiz spoke slowly in Geneva."
    assert _ids_written(output, "dead-letter") == ["bad.json"]
    summary = json.loads((output / "run-summary.json").read_text(encoding="utf-8"))
    assert summary["stopped_by"] == "idle_timeout" and summary["counts"]["inputs"] == 6, summary
    assert "idle_timeout" in stdout


def test_watch_stops_on_sigterm_and_finishes_what_it_found(tmp_path, tiny_model):
    input_dir, output = tmp_path / "in", tmp_path / "out"
    input_dir.mkdir()
    process = _start_watch(input_dir, output, tiny_model)
    try:
        (input_dir / "one.txt").write_text("First from Geneva.", encoding="utf-8")
        assert _wait_for(lambda: "one.txt" in _ids_written(output, "enriched"), 60)
        # Dead letters are written per window while the watcher runs, like records (not when it stops).
        (input_dir / "bad.json").write_text('{"text": ', encoding="utf-8")
        (input_dir / "blank.txt").write_text("  \n", encoding="utf-8")
        assert _wait_for(lambda: sorted(_ids_written(output, "dead-letter")) == ["bad.json", "blank.txt"], 30)
        assert process.poll() is None
        (input_dir / "two.txt").write_text("Second from Budapest.", encoding="utf-8")
        time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill() if process.poll() is None else None
    assert process.returncode == 0, stderr
    assert sorted(_ids_written(output, "enriched")) == ["one.txt", "two.txt"]
    summary = json.loads((output / "run-summary.json").read_text(encoding="utf-8"))
    assert summary["stopped_by"] == "signal" and summary["invariant_ok"]
    assert summary["counts"]["dead_letter"] == 2

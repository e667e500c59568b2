"""Watch mode: which files have arrived whole (pure), and `article-enrich watch` end to end: batches committed
as incremental runs with the corpus state kept across them, clean stops, and kills."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

from pipeline.arrivals import Arrivals, is_watchable
from pipeline.cli import main
from pipeline.runs import committed_shards

from .conftest import ROOT, wait_until


def test_only_complete_article_names_are_watched():
    assert is_watchable("/in/a.txt") and is_watchable("/in/feed.jsonl.gz")
    for name in ("/in/.a.txt", "/in/a.txt.tmp", "/in/a.txt.part", "/in/a.txt~", "/in/_STOP", "/in/notes.md"):
        assert not is_watchable(name), name


def test_a_missing_folder_is_a_configuration_error_before_any_work(tmp_path, capsys):
    for given in (tmp_path / "typo", tmp_path / "typo" / "*.txt"):
        assert main(["watch", "--input", str(given), "--output", str(tmp_path / "out"), "--idle-timeout", "1"]) == 2
        assert f"--input: '{given}': no folder '{tmp_path / 'typo'}' to watch" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_file_arrives_once_its_listings_agree_and_again_when_it_changes():
    arrivals = Arrivals(settle=1.0, known={"old": (3, 0.5)})
    assert arrivals.observe({"a": (5, 1.0), "old": (3, 0.5)}, now=5) == []
    assert arrivals.observe({"a": (9, 2.0), "old": (3, 0.5)}, now=5) == []  # still growing
    assert arrivals.pending == ["a"]
    assert arrivals.observe({"a": (9, 2.0), "b": (1, 4.5)}, now=5) == ["a"]
    assert arrivals.observe({"a": (9, 2.0), "b": (1, 4.5)}, now=5) == []  # b changed 0.5 s ago: not settled
    assert arrivals.observe({"a": (9, 2.0), "b": (1, 4.5)}, now=6) == ["b"]
    assert arrivals.observe({"a": (9, 2.0), "b": (1, 4.5)}, now=7) == [] and arrivals.pending == []
    arrivals.forget(["b"])  # its batch was not committed
    assert arrivals.observe({"a": (9, 2.0), "b": (1, 4.5)}, now=8) == ["b"]
    assert arrivals.observe({"a": (12, 7.0), "b": (1, 4.5)}, now=8) == []
    assert arrivals.observe({"a": (12, 7.0), "b": (1, 4.5)}, now=8) == ["a"]  # changed, then settled


def _records(output: Path, prefix: str = "enriched") -> list[dict]:
    return [
        json.loads(line)
        for shard in committed_shards(str(output), prefix)
        for line in Path(shard).read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


def _paths(output: Path, prefix: str = "enriched") -> list[str]:
    return sorted(record["source"]["path"] for record in _records(output, prefix))


def _watch_in_process(input_dir: Path, output: Path, model: str, drop, *extra: str) -> int:
    """Run `article-enrich watch` in this process until idle, while `drop(output)` writes files in a thread."""
    failures: list[BaseException] = []

    def dropping() -> None:
        try:
            drop(output)
        except BaseException as error:  # noqa: BLE001 - reported by the test below
            failures.append(error)

    writer = threading.Thread(target=dropping)
    writer.start()
    args = ["watch", "--input", str(input_dir), "--output", str(output), "--model", model]
    code = main([*args, "--poll-interval", "0.1", "--idle-timeout", "4", "--set", "watch.settle_s=0.3", *extra])
    writer.join()
    assert not failures, failures
    return code


FOOTER = "Widgets Daily, 1 Market Street. All our news, every day."


def test_batches_share_the_corpus_state_copies_join_clusters_and_a_footer_is_learned(tmp_path, tiny_model):
    input_dir, output = tmp_path / "in", tmp_path / "out"
    (input_dir / "widgets").mkdir(parents=True)
    (input_dir / "before.txt").write_text("Written before the start, in Geneva.", encoding="utf-8")
    original = " ".join(f"Delegates in Geneva discussed item {n} of the harbour deal on day {n}." for n in range(12))

    def drop(out: Path) -> None:
        assert wait_until(lambda: "before.txt" in _paths(out), 60), "the file that was there first"
        for batch in range(3):  # the site's footer in 4 more articles each batch: 4, 8, then 12 >= 10
            for n in range(4):
                text = f"Widget sales, day {batch}-{n}\n\nStory {batch}-{n} from Budapest.\n\n{FOOTER}\n"
                (input_dir / "widgets" / f"{batch}-{n}.txt").write_text(text, encoding="utf-8")
            if batch == 0:
                (input_dir / "original.txt").write_text(original, encoding="utf-8")
            if batch == 1:
                (input_dir / "copy.txt").write_text(original, encoding="utf-8")
                (input_dir / "edited.txt").write_text(original.replace("item 5 ", "point 5 ", 1), encoding="utf-8")
                (input_dir / "bad.json").write_text('{"text": ', encoding="utf-8")
                (input_dir / "ignored.txt.tmp").write_text("a partial download", encoding="utf-8")
            count = 1 + 4 * (batch + 1) + (batch >= 0) + 2 * (batch >= 1)
            assert wait_until(lambda count=count: len(_paths(out)) == count, 60), (batch, _paths(out))

    assert _watch_in_process(input_dir, output, tiny_model, drop) == 0

    records = {record["source"]["path"]: record for record in _records(output)}
    assert _paths(output, "dead-letter") == ["bad.json"]
    assert len(records) == 16 and "ignored.txt.tmp" not in records
    cluster = records["original.txt"]["duplicate"]["cluster"]
    assert records["copy.txt"]["duplicate"] == {"cluster": cluster, "size": 3, "kind": "exact", "similarity": 1.0}
    assert records["edited.txt"]["duplicate"]["cluster"] == cluster
    assert records["edited.txt"]["duplicate"]["kind"] == "near"
    footers = {path: FOOTER in record["text"] for path, record in records.items() if path.startswith("widgets/")}
    assert footers == {f"widgets/{b}-{n}.txt": b < 2 for b in range(3) for n in range(4)}

    summary = json.loads((output / "watch-summary.json").read_text(encoding="utf-8"))
    assert summary["stopped_by"] == "idle_timeout" and summary["counts"]["inputs"] == 17
    assert summary["batches"] == len(list(output.glob("run=*/_manifest.json"))) >= 4
    index = [json.loads(line) for line in (output / "entities.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {(e["label"], e["name"]): e["articles"] for e in index} == {
        ("GPE", "Geneva"): 4,
        ("GPE", "Budapest"): 12,
    }
    report = (output / "run-report.html").read_text(encoding="utf-8")
    assert "inputs 17 = enriched 16 + dead letters 1" in report

    # A restart commits nothing again: every file already has its record.
    assert main(["watch", "--input", str(input_dir), "--output", str(output), "--model", tiny_model,
                 "--idle-timeout", "1"]) == 0  # fmt: skip
    assert Counter(_paths(output) + _paths(output, "dead-letter")) == Counter(
        str(path.relative_to(input_dir)) for path in input_dir.rglob("*") if path.is_file() and path.suffix != ".tmp"
    )
    assert json.loads((output / "watch-summary.json").read_text(encoding="utf-8"))["batches"] == 0


def _start_watch(input_dir: Path, output: Path, model: str, *extra: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "pipeline", "watch", "--input", str(input_dir), "--output", str(output)]
    command += ["--model", model, "--poll-interval", "0.1", *extra]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_sigterm_stops_the_watcher_cleanly_and_a_kill_loses_and_repeats_nothing(tmp_path, tiny_model):
    input_dir, output = tmp_path / "in", tmp_path / "out"
    input_dir.mkdir()
    process = _start_watch(input_dir, output, tiny_model)
    try:
        (input_dir / "one.txt").write_text("First from Geneva.", encoding="utf-8")
        assert wait_until(lambda: "one.txt" in _paths(output), 60)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill() if process.poll() is None else None
    assert process.returncode == 0, stderr
    assert "article-enrich: watch: run=" in stderr and "committed 1 inputs (1 enriched" in stderr
    summary = json.loads((output / "watch-summary.json").read_text(encoding="utf-8"))
    assert (summary["stopped_by"], summary["counts"]["inputs"]) == ("SIGTERM", 1)
    assert not (output / "_lock").exists()

    # Killed while a batch is in flight (its staging folder exists), then restarted: each input exactly once.
    # The batch is big enough to start worker processes, whose held files show it is in flight.
    for n in range(40):
        filler = " ".join(f"word{n}x{i}" for i in range(500))
        (input_dir / f"batch-{n}.txt").write_text(f"Story {n} from Budapest.\n\n{filler}.", encoding="utf-8")
    process = _start_watch(input_dir, output, tiny_model)
    try:
        assert wait_until(lambda: list(output.glob("_tmp-run=*/*")), 60), "no batch in flight"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        process.kill() if process.poll() is None else None
    (input_dir / "late.txt").write_text("Late word from Geneva.", encoding="utf-8")
    process = _start_watch(input_dir, output, tiny_model, "--idle-timeout", "3")
    try:
        _, stderr = process.communicate(timeout=120)
    finally:
        process.kill() if process.poll() is None else None
    assert process.returncode == 0, stderr
    paths = _paths(output)
    assert Counter(paths) == Counter(["one.txt", "late.txt"] + [f"batch-{n}.txt" for n in range(40)])
    assert not list(output.glob("_tmp-*"))

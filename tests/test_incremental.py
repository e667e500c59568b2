"""Incremental runs: the ledger diff, the lock, recovery after a kill, and nightly runs end to end."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.config import load_config
from pipeline.plan import InputFile, config_fingerprint, lock_is_stale, plan_run, run_name
from pipeline.runs import OutputLock, RunLocked, committed_shards, finish_staged, prune
from transforms.core.layout import LINE_KEYS

from .conftest import ROOT

VERSIONS = {"article_enrich": "0.1.0", "model": {"name": "en_tiny", "version": "1.0.0"}}


def manifest(run: str, sequence: int, inputs: dict[str, tuple[int, str]], fingerprint: str = "fp") -> dict:
    entries = {uri: {"size": size, "checksum": checksum} for uri, (size, checksum) in inputs.items()}
    return {"run": run, "sequence": sequence, "fingerprint": fingerprint, "inputs": entries, "shards": []}


def test_plan_processes_new_changed_and_reconfigured_inputs_only():
    ledger = {
        "/c/a.txt": {"size": 5, "checksum": "x2", "fingerprint": "new"},
        "/c/b.txt": {"size": 3, "checksum": "y", "fingerprint": "fp"},
        "/c/d.txt": {"size": 2, "checksum": "w", "fingerprint": "new"},
    }
    inputs = [
        InputFile("/c/a.txt", 5, "x2"),  # unchanged
        InputFile("/c/b.txt", 3, "y"),  # same content, but processed with fingerprint "fp"
        InputFile("/c/d.txt", 2, "w2"),  # content changed
        InputFile("/c/e.txt", 9, "v"),  # new
    ]
    plan = plan_run(inputs, ledger, "new", known=4)
    assert [f.uri for f in plan.process] == ["/c/b.txt", "/c/d.txt", "/c/e.txt"]
    assert plan.processed == {"reconfigured": 1, "changed": 1, "new": 1}
    assert (plan.skipped, plan.gone) == ({"unchanged": 1}, 1)
    assert plan_run(inputs[:1], ledger, "new").process == ()
    assert plan_run(inputs[:1], ledger, "new", reprocess=True).processed == {"reprocess": 1}


def test_fingerprint_changes_with_model_and_cleaning_but_not_batch_size():
    base = config_fingerprint(load_config(), VERSIONS)
    assert config_fingerprint(load_config(None, ["tag.batch_size=8"]), VERSIONS) == base
    assert config_fingerprint(load_config(None, ["clean.fix_mojibake=false"]), VERSIONS) != base
    assert config_fingerprint(load_config(None, ["tag.harmonise=false"]), VERSIONS) != base
    upgraded = {**VERSIONS, "model": {"name": "en_tiny", "version": "1.1.0"}}
    assert config_fingerprint(load_config(), upgraded) != base


def test_run_names_sort_by_time_and_never_collide():
    now = dt.datetime(2026, 11, 26, 2, 0, 0, tzinfo=dt.timezone.utc)
    assert run_name(now, []) == "run=2026-11-26T02-00-00Z"
    assert run_name(now, ["run=2026-11-26T02-00-00Z", "run=2026-11-26T02-00-00Z-2"]) == "run=2026-11-26T02-00-00Z-3"


def test_lock_is_stale_when_old_or_its_process_is_gone_from_this_host():
    lock = {"pid": 42, "host": "h1", "created": 1000.0}
    assert not lock_is_stale(lock, 1010.0, "h1", 60, alive=lambda pid: True)
    assert lock_is_stale(lock, 1010.0, "h1", 60, alive=lambda pid: False)
    assert not lock_is_stale(lock, 1010.0, "other-host", 60, alive=lambda pid: False)
    assert lock_is_stale(lock, 1061.0, "other-host", 60, alive=lambda pid: True)


def test_a_live_lock_refuses_and_a_dead_ones_is_taken_over(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    lock = tmp_path / "_lock"
    lock.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "created": time.time()}))
    with pytest.raises(RunLocked, match="another run holds"):
        OutputLock(str(tmp_path), 3600).__enter__()
    lock.write_text(json.dumps({"pid": int(dead.stdout), "host": socket.gethostname(), "created": time.time()}))
    with OutputLock(str(tmp_path), 3600):
        assert json.loads(lock.read_text())["pid"] == os.getpid()
    assert not lock.exists()


def test_staging_of_a_stopped_run_is_settled_whether_it_committed_or_not(tmp_path):
    committed, cut = tmp_path / "run=a", tmp_path / "run=b"
    for run in (committed, cut):
        run.mkdir()
        (run / "enriched-00000-of-00001.jsonl").write_text("{}\n")
        (tmp_path / f"_tmp-{run.name}" / "beam-temp-enriched-1").mkdir(parents=True)
    (committed / "_manifest.json").write_text(json.dumps(manifest("run=a", 1, {})))  # stopped after its commit point
    (tmp_path / "_tmp-latest").write_text("run=a")
    (tmp_path / "_tmp-run=c").mkdir()  # stopped before writing anything

    assert finish_staged(str(tmp_path)) is True

    assert sorted(p.name for p in tmp_path.iterdir()) == ["run=a"]
    assert sorted(p.name for p in committed.iterdir()) == ["_manifest.json", "enriched-00000-of-00001.jsonl"]
    assert finish_staged(str(tmp_path)) is False


def test_prune_drops_the_records_of_reprocessed_inputs_once(tmp_path):
    def record(uri: str) -> str:
        return json.dumps({"id": uri, "source": {"uri": uri}}) + "\n"

    run = tmp_path / "run=a"
    run.mkdir()
    (run / "enriched-00000-of-00001.jsonl").write_text(record("/c/x.txt") + record("/c/y.txt"))
    (run / "entities-00000-of-00001.jsonl").write_text('{"name": "Geneva"}\n')
    shards = ["enriched-00000-of-00001.jsonl", "entities-00000-of-00001.jsonl"]
    (run / "_manifest.json").write_text(
        json.dumps({**manifest("run=a", 1, {"/c/x.txt": (1, "1"), "/c/y.txt": (1, "1")}), "shards": shards})
    )

    assert prune(str(tmp_path), "run=a", {"/c/x.txt", "/c/elsewhere.txt"}) == 1
    assert prune(str(tmp_path), "run=a", {"/c/x.txt"}) == 0
    assert (run / "enriched-00000-of-00001.jsonl").read_text() == record("/c/y.txt")
    assert (run / "entities-00000-of-00001.jsonl").read_text() == '{"name": "Geneva"}\n'
    updated = json.loads((run / "_manifest.json").read_text())
    assert (set(updated["inputs"]), updated["superseded"]) == ({"/c/y.txt"}, 1)


# ---- end to end, with the tiny model ------------------------------------------------------------


def write_articles(folder: Path, names: range, text: str = "Talks in Geneva went on.", words: int = 0) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for n in names:
        body = f"{text} Number {n}."
        if words:
            body += "\n\n" + " ".join(f"word{n}x{i}" for i in range(words)) + "."
        (folder / f"a{n:03d}.txt").write_text(f"Story {n}\n\n{body}\n", encoding="utf-8")


def committed_records(output: Path) -> list[dict]:
    records = []
    for shard in committed_shards(str(output)) + committed_shards(str(output), "dead-letter"):
        with open(shard, encoding="utf-8") as handle:
            records.extend(json.loads(line) for line in handle if line.strip())
    return records


def assert_dataset_is_exact(output: Path, corpus: Path) -> list[dict]:
    """Every input's current record exactly once, and no shard visible that is not from a committed run."""
    records = committed_records(output)
    paths = Counter(r["source"]["path"] for r in records)
    assert paths == Counter(p.name for p in corpus.iterdir())
    visible = {str(p) for p in output.glob("**/*-*.jsonl")}
    prefixes = ("enriched", "dead-letter", "entities", LINE_KEYS, "signatures")
    assert visible == {shard for prefix in prefixes for shard in committed_shards(str(output), prefix)}
    return records


def incremental(corpus: Path, output: Path, model: str, *extra: str) -> int:
    return main(["run", "--incremental", "--input", str(corpus), "--output", str(output), "--model", model, *extra])


def last_summary(output: Path) -> dict:
    run = (output / "latest").read_text().strip()
    return json.loads((output / run / "run-summary.json").read_text())


def test_nightly_runs_process_exactly_what_is_new_changed_or_reconfigured(tmp_path, tiny_model):
    corpus, output = tmp_path / "corpus", tmp_path / "out"
    write_articles(corpus, range(8))
    (corpus / "empty.txt").write_text("")  # a dead letter: empty_input
    assert incremental(corpus, output, tiny_model) == 0
    assert last_summary(output)["incremental"]["processed"] == {"new": 9}
    assert_dataset_is_exact(output, corpus)

    first = (output / "latest").read_text()
    assert incremental(corpus, output, tiny_model) == 0
    assert (output / "latest").read_text() == first and len(list(output.glob("run=*"))) == 1

    write_articles(corpus, range(8, 11))
    write_articles(corpus, range(2), text="Talks moved to Budapest.")
    assert incremental(corpus, output, tiny_model) == 0
    summary = last_summary(output)
    assert summary["incremental"] | {"run": None} == {
        "processed": {"changed": 2, "new": 3},
        "skipped": {"unchanged": 7},
        "gone": 0,
        "run": None,
    }
    assert summary["counts"]["inputs"] == 5
    records = assert_dataset_is_exact(output, corpus)
    (changed,) = [r for r in records if r["source"]["path"] == "a000.txt"]
    assert [e["text"] for e in changed["entities"]] == ["Budapest"]

    other_model = str(tmp_path / "tiny_copy")
    shutil.copytree(tiny_model, other_model)
    assert incremental(corpus, output, other_model, "--set", "max_dead_letter_ratio=0.05") == 3
    summary = last_summary(output)
    assert summary["incremental"]["processed"] == {"reconfigured": 12}
    assert summary["dead_letter_ratio_exceeded"] is True
    assert_dataset_is_exact(output, corpus)


def test_site_boilerplate_is_counted_over_the_corpus_so_far(tmp_path, tiny_model):
    corpus, output = tmp_path / "corpus", tmp_path / "out"
    site = corpus / "widgets-daily"
    footer = "Widgets Daily, 1 Market Street. All our news, every day."

    def write(names: range) -> None:
        site.mkdir(parents=True, exist_ok=True)
        for n in names:
            (site / f"{n:03d}.txt").write_text(f"Widget sales, day {n}\n\nStory {n} in Geneva.\n\n{footer}\n")

    write(range(60))
    assert incremental(corpus, output, tiny_model) == 0
    write(range(60, 65))
    assert incremental(corpus, output, tiny_model) == 0
    assert last_summary(output)["incremental"]["processed"] == {"new": 5}
    records = committed_records(output)
    assert len(records) == 65
    assert all(footer not in r["text"] and r["cleaning"]["corpus_boilerplate"] == 1 for r in records)

    # A changed article counts once, in its new version: its earlier line keys are pruned with its record.
    (site / "000.txt").write_text("Widget sales, day 0\n\nA rewritten story.\n")
    assert incremental(corpus, output, tiny_model) == 0
    lines = [
        json.loads(line)["source"]["uri"]
        for shard in committed_shards(str(output), LINE_KEYS)
        for line in Path(shard).read_text(encoding="utf-8").splitlines()
    ]
    assert sorted(lines) == sorted(str(path) for path in site.iterdir())
    (changed,) = [r for r in committed_records(output) if r["source"]["path"] == "widgets-daily/000.txt"]
    assert changed["text"] == "A rewritten story."


def test_concurrent_run_is_refused(tmp_path, tiny_model, capsys):
    corpus, output = tmp_path / "corpus", tmp_path / "out"
    write_articles(corpus, range(2))
    output.mkdir()
    lock = {"pid": os.getpid(), "host": socket.gethostname(), "created": time.time(), "started_at": "now"}
    (output / "_lock").write_text(json.dumps(lock))
    assert incremental(corpus, output, tiny_model) == 1
    assert "refusing to run concurrently" in capsys.readouterr().err
    assert list(output.iterdir()) == [output / "_lock"]


def test_a_run_killed_mid_way_leaves_nothing_and_the_next_run_does_its_work(tmp_path, tiny_model):
    corpus, output = tmp_path / "corpus", tmp_path / "out"
    write_articles(corpus, range(6))
    assert incremental(corpus, output, tiny_model) == 0
    write_articles(corpus, range(6, 30), words=700)  # enough to start worker processes, and hold files
    write_articles(corpus, range(3), text="Talks moved to Budapest.")
    command = [sys.executable, "-m", "pipeline", "run", "--incremental", "--input", str(corpus)]
    process = subprocess.Popen([*command, "--output", str(output), "--model", tiny_model], cwd=ROOT)
    deadline = time.monotonic() + 60
    while not list(output.glob("_tmp-run=*/beam-temp-*")) and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL
    assert len(list(output.glob("run=*/_manifest.json"))) == 1  # killed before its commit
    assert len(committed_records(output)) == 6

    assert incremental(corpus, output, tiny_model) == 0
    assert last_summary(output)["incremental"]["processed"] == {"new": 24, "changed": 3}
    records = assert_dataset_is_exact(output, corpus)
    assert sorted(p.name for p in output.iterdir() if not p.name.startswith("run=")) == ["_state", "latest"]
    assert {e["text"] for r in records if r["source"]["path"] == "a001.txt" for e in r["entities"]} == {"Budapest"}

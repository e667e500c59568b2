"""End to end: the entity index, Parquet output, progress lines and run-report.html of a CLI run."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipeline.cli import main
from transforms.core.parse import article_format

from .conftest import SAMPLES, read_shards

HOSTILE_TXT = (
    "<script>document.title='PWNED'</script> Joe Biden <img src=x onerror=\"alert(1)\">\n\n"
    'Joe Biden<script>alert(2)</script> met Elena Ruiz in Geneva. <img src=x onerror="alert(3)">\n'
)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    shutil.copytree(SAMPLES, root, dirs_exist_ok=True)
    (root / "hostile.txt").write_text(HOSTILE_TXT, encoding="utf-8")
    (root / "<img src=x onerror=alert(4)>.txt").write_text("   \n", encoding="utf-8")  # a dead letter's path
    return root


@pytest.fixture(scope="module")
def parquet_run(corpus: Path, tiny_model: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("out")
    argv = ["run", "--input", str(corpus), "--output", str(output), "--model", tiny_model]
    # hostile.txt is mostly markup, too little text for a language (`und`): tag it with the default model anyway.
    assert main([*argv, "--set", "write.parquet=true", "--set", "tag.tag_undetermined=true"]) == 0
    return output


def test_parquet_holds_the_jsonl_records(parquet_run):
    output = parquet_run
    records = {r["id"]: r for r in read_shards(output, "enriched")}
    rows = [row for shard in sorted(output.glob("enriched-*.parquet")) for row in pq.read_table(shard).to_pylist()]
    assert sorted(row["id"] for row in rows) == sorted(records)
    for row in rows:
        assert row["entities"] == records[row["id"]]["entities"]
        assert row["entity_groups"] == records[row["id"]]["entity_groups"]
        assert row["source"]["path"] == records[row["id"]]["source"]["path"]


def test_entity_index_agrees_with_the_records(parquet_run):
    output = parquet_run
    expected_articles, expected_mentions = Counter(), Counter()
    for record in read_shards(output, "enriched"):
        for key in {(g["label"], g["name"]) for g in record["entity_groups"]}:
            expected_articles[key] += 1
        for group in record["entity_groups"]:
            expected_mentions[(group["label"], group["name"])] += group["count"]
    index = read_shards(output, "entities")
    assert {(e["label"], e["name"]): e["articles"] for e in index} == dict(expected_articles)
    assert {(e["label"], e["name"]): e["mentions"] for e in index} == dict(expected_mentions)
    assert any(e["articles"] >= 2 for e in index)
    assert all(e["examples"] == sorted(e["examples"]) and len(e["examples"]) == min(3, e["articles"]) for e in index)


def test_report_is_written_escaped_and_rebuilt_after_deletion(parquet_run, capsys):
    output = parquet_run
    report = output / "run-report.html"
    page = report.read_text(encoding="utf-8")
    summary = json.loads((output / "run-summary.json").read_text(encoding="utf-8"))
    assert f"inputs {summary['counts']['inputs']:,} = enriched" in page
    assert "<script" not in page.lower() and "<img" not in page.lower()
    assert "&lt;img src=x onerror=alert(4)&gt;.txt" in page
    assert page.count("<svg") >= 3
    report.unlink()
    assert main(["report", str(output)]) == 0
    assert report.read_text(encoding="utf-8").count("<svg") == page.count("<svg")
    assert main(["report", str(output / "missing")]) == 2


def test_progress_lines_on_stderr_and_quiet(corpus, tiny_model, tmp_path, capfd):
    argv = ["run", "--input", str(corpus), "--model", tiny_model, "--direct_running_mode=in_memory"]
    assert main([*argv, "--output", str(tmp_path / "a")]) == 0
    err = capfd.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("article-enrich: progress")]
    assert lines and "(100%)" in lines[-1] and "ETA" in lines[-1]
    summary = json.loads((tmp_path / "a" / "run-summary.json").read_text(encoding="utf-8"))
    assert summary["progress"]["totals"]["files"] == _article_files(corpus)
    assert summary["config"]["tag"]["model"] == tiny_model
    assert main([*argv, "--output", str(tmp_path / "b"), "--quiet"]) == 0
    assert "article-enrich: progress" not in capfd.readouterr().err


def _article_files(root: Path) -> int:
    return sum(1 for path in root.rglob("*") if path.is_file() and article_format(str(path)))


def test_report_of_incremental_runs(corpus, tiny_model, tmp_path):
    source = tmp_path / "in"
    shutil.copytree(corpus / "news", source)
    output = tmp_path / "out"
    argv = ["run", "--incremental", "--input", str(source), "--output", str(output), "--model", tiny_model]
    argv.append("--direct_running_mode=in_memory")
    assert main(argv) == 0
    (source / "extra.txt").write_text("Elena Ruiz landed in Budapest.\n", encoding="utf-8")
    assert main(argv) == 0
    runs = sorted(output.glob("run=*"))
    assert len(runs) == 2 and all((run / "run-report.html").exists() for run in runs)
    assert main(["report", str(output)]) == 0
    page = (output / "run-report.html").read_text(encoding="utf-8")
    inputs = sum(json.loads((run / "run-summary.json").read_text())["counts"]["inputs"] for run in runs)
    assert "2 committed runs" in page and f"inputs {inputs:,} = enriched" in page
    (runs[-1] / "run-report.html").unlink()
    assert main(["report", str(output), "--run", "latest"]) == 0
    assert (runs[-1] / "run-report.html").exists()


def test_optional_stages_turn_off(corpus, tiny_model, tmp_path):
    # What bench_throughput times as each stage's cost: the same run with the stage off.
    off = ["language.enabled=false", "write.entity_index=false", "write.report=false", "dedup.enabled=false"]
    argv = ["run", "--input", str(corpus), "--output", str(tmp_path), "--model", tiny_model, "--quiet"]
    assert main([*argv, *(flag for item in off for flag in ("--set", item))]) == 0
    records = read_shards(tmp_path, "enriched")
    assert records and all(r["language"] is None and r["duplicate"] is None for r in records)
    assert all(r["model"] is not None for r in records)  # every article went to tag.model
    assert not list(tmp_path.glob("entities-*")) and not (tmp_path / "run-report.html").exists()
    assert (tmp_path / "run-summary.json").exists()

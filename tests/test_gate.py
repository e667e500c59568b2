"""The quality gate's logic (benchmarks/gate.py) and its floors file; the evaluations themselves need ../shared."""

from __future__ import annotations

import json

import pytest

from benchmarks.eval_ner import on_original
from benchmarks.gate import EVALUATIONS, FLOORS, check, load_floors, main, raised, write_floors


def test_every_floor_belongs_to_an_evaluation_and_has_one_bound():
    floors = load_floors(FLOORS)
    names = {evaluation.name for evaluation in EVALUATIONS}
    assert floors
    assert {name.split(".")[0] for name in floors} <= names
    assert all(len(bound.keys() & {"min", "max"}) == 1 for bound in floors.values())
    assert all(isinstance(bound.get("min", bound.get("max")), (int, float)) for bound in floors.values())
    tolerant = [bound for bound in floors.values() if "tolerance" in bound]
    assert all(bound.get("why") for bound in tolerant)  # a tolerance says which noise it allows for


def test_a_drop_below_a_floor_or_above_a_ceiling_fails_with_the_figure_and_its_bound():
    floors = {"ner.f1": {"min": 0.6}, "dedup.false_merges": {"max": 0}, "cleaning.cases": {"min": 70}}
    assert check({"ner.f1": 0.61, "dedup.false_merges": 0, "cleaning.cases": 70}, floors) == []
    assert check({"ner.f1": 0.59, "dedup.false_merges": 2}, floors) == [
        "ner.f1 = 0.59, below its floor 0.6",
        "dedup.false_merges = 2, above its ceiling 0",
        "cleaning.cases: not produced (bound >= 70)",
    ]


def test_raising_floors_follows_improvements_less_their_tolerance_and_never_lowers():
    floors = {
        "a.up": {"min": 0.5},
        "a.down": {"min": 0.5},
        "a.noisy": {"min": 0.5, "tolerance": 0.01, "why": "noise"},
        "a.fewer": {"max": 3},
    }
    figures = {"a.up": 0.7, "a.down": 0.4, "a.noisy": 0.6, "a.fewer": 1}
    assert raised(figures, floors) == {
        "a.up": {"min": 0.7},
        "a.down": {"min": 0.5},
        "a.noisy": {"min": 0.59, "tolerance": 0.01, "why": "noise"},
        "a.fewer": {"max": 1},
    }


def test_a_floor_needs_exactly_one_bound(tmp_path):
    path = tmp_path / "floors.json"
    path.write_text(json.dumps({"figures": {"ner.f1": {"min": 1, "max": 2}}}), encoding="utf-8")
    with pytest.raises(SystemExit, match=r"ner\.f1"):
        load_floors(path)


def test_without_shared_data_the_gate_says_so_and_fails(tmp_path, capsys):
    assert main(["--shared", str(tmp_path / "nowhere")]) == 2
    assert "no shared data" in capsys.readouterr().out


def test_pipeline_entities_are_mapped_back_to_the_gold_text():
    original = "EU rejects German call .\nPeter Blackburn\nBRUSSELS 1996-08-22\nReuter"
    cleaned = "EU rejects German call . Peter Blackburn\n\nBRUSSELS 1996-08-22"  # reflowed, sign-off dropped
    entities = [
        {"text": "EU", "label": "ORG", "start": 0, "end": 2},
        {"text": "Peter Blackburn", "label": "PERSON", "start": 25, "end": 40},
        {"text": "BRUSSELS", "label": "GPE", "start": 42, "end": 50},
    ]
    mapped = on_original(original, cleaned, entities)
    assert [(e.text, e.start, e.end) for e in mapped] == [
        ("EU", 0, 2),
        ("Peter Blackburn", 25, 40),
        ("BRUSSELS", 41, 49),
    ]
    assert all(original[e.start : e.end] == e.text for e in mapped)


def test_floors_are_written_one_figure_a_line_keeping_the_rest(tmp_path):
    path = tmp_path / "floors.json"
    path.write_text(json.dumps({"about": "why", "figures": {"b.x": {"max": 1}}}), encoding="utf-8")
    write_floors(path, {"b.x": {"max": 0}, "a.y": {"min": 0.5, "tolerance": 0.01, "why": "noise"}})
    assert json.loads(path.read_text(encoding="utf-8")) == {
        "about": "why",
        "figures": {"a.y": {"min": 0.5, "tolerance": 0.01, "why": "noise"}, "b.x": {"max": 0}},
    }
    assert path.read_text(encoding="utf-8").splitlines()[3:5] == [
        '  "a.y": {"min": 0.5, "tolerance": 0.01, "why": "noise"},',
        '  "b.x": {"max": 0}',
    ]

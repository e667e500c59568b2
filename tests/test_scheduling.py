"""Scheduling recipes in examples/scheduling: parsed and checked against the real command line."""

from __future__ import annotations

import argparse
import ast
import configparser
import json
import runpy
import shlex
import sys

import pytest

from pipeline.cli import parser

from .conftest import ROOT

RECIPES = ROOT / "examples" / "scheduling"


def parse_run(argv: list[str]) -> argparse.Namespace:
    args, beam_args = parser().parse_known_args(argv)
    assert (args.command, args.incremental, beam_args) == ("run", True, [])
    return args


def test_airflow_dag_uses_the_beam_operator_daily_on_the_launcher():
    tree = ast.parse((RECIPES / "airflow_dag.py").read_text(encoding="utf-8"))
    imports = {
        alias.name: node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for alias in node.names
    }
    assert imports["BeamRunPythonPipelineOperator"] == "airflow.providers.apache.beam.operators.beam"
    calls = {
        node.func.id: node for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    dag = {kw.arg: kw.value for kw in calls["DAG"].keywords}
    assert ast.literal_eval(dag["schedule"]) == "0 2 * * *" and ast.literal_eval(dag["max_active_runs"]) == 1
    operator = {kw.arg: kw.value for kw in calls["BeamRunPythonPipelineOperator"].keywords}
    py_file = ast.unparse(operator["py_file"])
    assert py_file.endswith("/examples/scheduling/nightly.py'") and (RECIPES / "nightly.py").is_file()
    options = {
        ast.literal_eval(k): v
        for k, v in zip(operator["pipeline_options"].keys, operator["pipeline_options"].values, strict=True)
    }
    assert {"input", "output", "config"} <= set(options)


def test_launcher_runs_the_incremental_command(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["nightly.py", "--help"])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(RECIPES / "nightly.py"), run_name="__main__")
    assert exit_info.value.code == 0
    assert "--incremental" in capsys.readouterr().out


def test_cron_and_systemd_run_the_incremental_command_nightly():
    (line,) = [line for line in (RECIPES / "crontab").read_text().splitlines() if line and not line.startswith("#")]
    fields = line.split(None, 5)
    assert fields[:5] == ["0", "2", "*", "*", "*"]
    command = shlex.split(fields[5].split("&&", 1)[1].split(">>")[0])
    parse_run(command[command.index(".venv/bin/article-enrich") + 1 :])

    service = configparser.ConfigParser(strict=False, interpolation=None)
    service.read(RECIPES / "article-enrich.service")
    exec_start = shlex.split(service["Service"]["ExecStart"])
    args = parse_run(exec_start[1:])
    assert exec_start[0].endswith("/article-enrich") and args.input and args.output
    timer = configparser.ConfigParser(strict=False, interpolation=None)
    timer.read(RECIPES / "article-enrich.timer")
    assert timer["Timer"]["OnCalendar"] == "*-*-* 02:00:00" and timer["Timer"]["Persistent"] == "true"


def test_flex_template_parameters_are_command_line_options():
    spec = json.loads((RECIPES / "flex-template-metadata.json").read_text(encoding="utf-8"))
    argv = ["run", "--incremental"] + [f"--{p['name']}=x" for p in spec["parameters"]]
    args = parse_run(argv)
    assert args.input == args.output == "x"

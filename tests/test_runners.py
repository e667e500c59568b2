"""The same corpus through the CLI on every runner that runs here: identical records, or a refusal."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import apache_beam as beam
import pytest

from pipeline.build import Job, build_pipeline
from pipeline.cli import main
from pipeline.config import load_config
from pipeline.inputs import Inputs
from pipeline.job import pipeline_options

from .conftest import ROOT, SAMPLES, read_shards, sigterm_when_held, write_random_articles

VENV_BIN = str(Path(sys.executable).parent)
DASK = "apache_beam.runners.dask.dask_runner.DaskRunner"
RUN_TIMEOUT = 240
START_TIMEOUT = 60


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop(process: subprocess.Popen) -> None:
    """Stop a process started with start_new_session and everything it started, within a bounded time."""
    for sig, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def _start(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen:
    with log.open("wb") as handle:
        return subprocess.Popen(args, stdout=handle, stderr=subprocess.STDOUT, env=env, start_new_session=True)


def _wait_for_port(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"service exited with {process.returncode}: {log.read_text(errors='replace')[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"nothing listening on 127.0.0.1:{port} after {START_TIMEOUT}s: {log.read_text(errors='replace')}")


def _cli(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`python -m pipeline run ARGS` in its own process group, killed with its children when done or late."""
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "run", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        _stop(process)
        out, err = process.communicate(timeout=10)
        pytest.fail(f"the run did not finish in {RUN_TIMEOUT}s: {err[-3000:]}")
    finally:
        _stop(process)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def _canonical(folder: Path, prefix: str) -> list[str]:
    return sorted(json.dumps(record, sort_keys=True, ensure_ascii=False) for record in read_shards(folder, prefix))


def _results(folder: Path) -> tuple[list[str], list[str], dict[str, int]]:
    summary = json.loads((folder / "run-summary.json").read_text(encoding="utf-8"))
    return _canonical(folder, "enriched"), _canonical(folder, "dead-letter"), summary["counts"]


@pytest.fixture(scope="module")
def venv_env() -> dict[str, str]:
    """The environment with this venv's bin first on PATH: the worker pool starts workers as `python`."""
    env = dict(os.environ, PATH=os.pathsep.join([VENV_BIN, os.environ.get("PATH", "")]))
    assert str(Path(shutil.which("python", path=env["PATH"])).parent) == VENV_BIN
    return env


@pytest.fixture(scope="module")
def direct_run(tiny_model: str, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    output = tmp_path_factory.mktemp("direct")
    args = ["--input", str(SAMPLES), "--output", str(output), "--model", tiny_model]
    assert main(["run", *args, "--runner", "DirectRunner", "--direct_running_mode=in_memory"]) == 0
    enriched, dead, counts = _results(output)
    assert (len(enriched), len(dead), counts["inputs"]) == (11, 3, 14)
    assert counts["entities"] > 0
    return enriched, dead, counts


@pytest.fixture(scope="module")
def portable_services(venv_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """A job service and a separate EXTERNAL SDK worker pool, as Flink and Spark run them; their flags."""
    logs = tmp_path_factory.mktemp("portable-logs")
    job_port, pool_port = _free_port(), _free_port()
    services = []
    try:
        for name, module, flag, port in (
            ("job-service", "apache_beam.runners.portability.local_job_service_main", "--port", job_port),
            ("worker-pool", "apache_beam.runners.worker.worker_pool_main", "--service_port", pool_port),
        ):
            log = logs / f"{name}.log"
            services.append(_start([sys.executable, "-m", module, flag, str(port)], log, venv_env))
            _wait_for_port(port, services[-1], log)
        yield [
            "--runner=PortableRunner",
            f"--job_endpoint=localhost:{job_port}",
            "--environment_type=EXTERNAL",
            f"--environment_config=localhost:{pool_port}",
        ]
    finally:
        for service in services:
            _stop(service)


@pytest.mark.parametrize(
    "runner",
    [
        pytest.param("multi_processing", id="direct-multi-processing"),
        pytest.param("portable", id="portable-external-workers"),
    ],
)
def test_runner_gives_the_direct_runners_records(runner, request, direct_run, tiny_model, venv_env, tmp_path):
    flags = (
        ["--runner=DirectRunner", "--direct_running_mode=multi_processing", "--direct_num_workers=2"]
        if runner == "multi_processing"
        else request.getfixturevalue("portable_services")
    )
    args = ["--input", str(SAMPLES), "--output", str(tmp_path), "--model", tiny_model, *flags]
    completed = _cli(args, env=venv_env)
    assert completed.returncode == 0, completed.stderr[-3000:]
    enriched, dead, counts = _results(tmp_path)
    assert enriched == direct_run[0]
    assert dead == direct_run[1]
    assert counts == direct_run[2]


def test_sigterm_cancels_the_job_on_a_job_service(portable_services, tiny_model, venv_env, tmp_path):
    write_random_articles(tmp_path / "corpus", 400)
    output = tmp_path / "out"
    args = ["--input", str(tmp_path / "corpus"), "--output", str(output), "--model", tiny_model, "--quiet"]

    code, stderr = sigterm_when_held([*args, *portable_services], output, env=venv_env)

    assert code == 128 + signal.SIGTERM, stderr[-3000:]
    summary = json.loads((output / "run-summary.json").read_text(encoding="utf-8"))
    assert (summary["status"], summary["error"]) == ("interrupted", "SIGTERM")
    # Beam's local job service marks a job cancelled without stopping it (docs/runners.md): its bundles in
    # flight may still park a file after the run removed its folders, so only the run's own side is checked.


@pytest.mark.parametrize("name", [DASK, "DaskRunner", "dask"])
def test_dask_is_refused_before_any_work_starts(name, tiny_model, tmp_path, capsys):
    output = tmp_path / "out"
    # Nothing listens at this address: the refusal must come before any attempt to reach a cluster.
    args = ["run", "--input", str(SAMPLES), "--output", str(output), "--model", tiny_model, "--runner", name]
    assert main([*args, f"--dask_client_address=tcp://127.0.0.1:{_free_port()}"]) == 2
    error = capsys.readouterr().err
    for gap in ("WriteToText", "tagged outputs", "finish_bundle", "Metrics"):
        assert gap in error
    assert not output.exists()


@pytest.mark.parametrize("name", ["portable", "flink", "spark", "dataflow"])
def test_shipped_runner_config_passes_beams_validation_and_builds(name, tiny_model):
    config = load_config(str(ROOT / "configs" / f"{name}.yaml"), [f"tag.model={tiny_model}"])
    options = pipeline_options(config, [])
    known = options.get_all_options(drop_default=False)
    assert not set(config.beam) - set(known), "every beam key must be a Beam pipeline option"
    if name != "portable":
        assert {"setup_file", "sdk_container_image"} & set(config.beam), "how do the package and model ship?"
    pipeline = beam.Pipeline(options=options)  # the runner's own option validation runs here
    assert type(pipeline.runner).__name__ == config.beam["runner"]
    inputs = Inputs((f"{SAMPLES}/**",), str(SAMPLES), "samples")
    build_pipeline(pipeline, Job(config, inputs, "/nonexistent/out"))
    transforms = pipeline.to_runner_api().components.transforms
    assert any(transform.unique_name == "TagEntities" for transform in transforms.values())


def test_watch_batches_run_as_jobs_on_a_job_service_with_the_direct_runners_records(
    portable_services, tiny_model, venv_env, tmp_path
):
    inbox = tmp_path / "in"
    shutil.copytree(SAMPLES, inbox)
    outputs = {"direct": tmp_path / "direct", "portable": tmp_path / "portable"}

    def watch(output: Path, flags: list[str]) -> None:
        command = [sys.executable, "-m", "pipeline", "watch", "--input", str(inbox), "--output", str(output)]
        command += ["--model", tiny_model, "--idle-timeout", "2", "--quiet", *flags]
        completed = subprocess.run(command, env=venv_env, capture_output=True, text=True, timeout=RUN_TIMEOUT)
        assert completed.returncode == 0, completed.stderr[-3000:]

    for batch in range(2):  # the second batch looks the first one's articles up in the corpus store
        if batch:
            shutil.copy(next(inbox.glob("news/*.txt")), inbox / "copy.txt")
        watch(outputs["direct"], [])
        watch(outputs["portable"], portable_services)
    records = {
        name: sorted(
            line for shard in output.glob("run=*/enriched-*.jsonl") for line in shard.read_text().splitlines()
        )
        for name, output in outputs.items()
    }
    assert records["portable"] == records["direct"] and len(records["direct"]) == 12
    assert '"kind":"exact"' in next(line for line in records["portable"] if "copy.txt" in line)

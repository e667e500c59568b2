"""Every mode on s3:// against a local S3 server (moto's, on 127.0.0.1): records identical to the same mode on
local disk, the early checks (endpoint, bucket, credentials), the lock, a kill -9 and a server that stops."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("boto3", reason="the s3 extra is not installed: pip install -e '.[s3,test]' (make install)")
pytest.importorskip("moto.server", reason="moto[server] is not installed: pip install -e '.[test]' (make install)")

from pipeline.cli import main
from pipeline.runs import committed_shards
from pipeline.storage import read_bytes

from .conftest import ROOT, SAMPLES, wait_until, write_random_articles
from .s3_server import S3Server, keys, upload
from .test_incremental import write_articles


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    server = S3Server().start()
    _reading_from.append(server)
    yield server
    _reading_from.remove(server)
    server.stop()


_reading_from: list[S3Server] = []


def _read_through_beam(path: str) -> None:
    """Beam's filesystem options for this process's own reading (a command run in-process set its own)."""
    from apache_beam.options.pipeline_options import PipelineOptions

    from pipeline.buckets import open_storage

    if path.startswith("s3://"):
        open_storage(PipelineOptions(_reading_from[-1].flags()), {})


@pytest.fixture
def bucket(s3: S3Server) -> str:
    name = f"test-{uuid.uuid4().hex[:12]}"
    s3.client().create_bucket(Bucket=name)
    return name


def enrich(*args: str) -> int:
    return main(list(args))


def records(output: str | Path, prefix: str = "enriched") -> dict[str, dict]:
    """The committed records of an output (flat or incremental) by id, without `source.uri` (where it was)."""
    from pipeline.storage import matching

    output = str(output)
    _read_through_beam(output)
    if _manifests(output):
        shards = committed_shards(output, prefix)
    else:
        shards = sorted(meta.path for meta in matching(f"{output}/{prefix}-*.jsonl"))
    found = {}
    for shard in shards:
        for line in read_bytes(shard).decode("utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                if "source" in record:
                    record["source"].pop("uri")
                key = record.get("id") or (record["label"], record["name"])
                assert key not in found, key
                found[key] = record
    return found


def _manifests(output: str) -> list[str]:
    from pipeline.storage import matching

    _read_through_beam(output)
    return [meta.path for meta in matching(f"{output}/run=*/_manifest.json")]


def assert_same_records(s3_output: str, local_output: Path) -> None:
    for prefix in ("enriched", "dead-letter"):
        remote, local = records(s3_output, prefix), records(local_output, prefix)
        assert remote == local, prefix
        assert remote or prefix == "dead-letter"


def summary_of(path: str) -> dict:
    _read_through_beam(path)
    return json.loads(read_bytes(path).decode("utf-8"))


def test_run_with_parquet_and_report_on_s3_writes_the_records_of_the_same_run_on_disk(s3, bucket, tmp_path, tiny_model):
    upload(s3.client(), SAMPLES, bucket, "in")
    web = tmp_path / "web"
    web.mkdir()
    (web / "page.html").write_text(
        "<html><head><title>Talks in Geneva</title></head><body><article><h1>Talks in Geneva</h1>"
        + "<p>Joe Biden met Elena Ruiz in Geneva for talks on the harbour budget, Reuters reported.</p>" * 3
        + "</article></body></html>",
        encoding="utf-8",
    )
    upload(s3.client(), web, bucket, "in/web")
    local_in = tmp_path / "corpus"
    shutil.copytree(SAMPLES, local_in)
    shutil.copytree(web, local_in / "web")
    common = ["--model", tiny_model, "--set", "write.parquet=true", "--quiet"]
    output = f"s3://{bucket}/out"
    assert enrich("run", "--input", f"s3://{bucket}/in", "--output", output, *common, *s3.flags()) == 0
    assert enrich("run", "--input", str(local_in), "--output", str(tmp_path / "out"), *common) == 0

    assert_same_records(output, tmp_path / "out")
    assert records(output, "entities") == records(tmp_path / "out", "entities")
    written = keys(s3.client(), bucket, "out/")
    assert any(key.endswith(".parquet") for key in written)
    assert "out/run-report.html" in written and "out/run-summary.json" in written
    assert not any("beam-temp" in key for key in written)
    summary = summary_of(f"{output}/run-summary.json")
    local_summary = json.loads((tmp_path / "out" / "run-summary.json").read_text())
    assert summary["counts"] == local_summary["counts"] and summary["invariant_ok"]
    assert summary["languages"] == local_summary["languages"]
    assert summary["duplicates"] == local_summary["duplicates"]

    s3.client().delete_object(Bucket=bucket, Key="out/run-report.html")
    assert enrich("report", output, *s3.flags()) == 0
    report = s3.client().get_object(Bucket=bucket, Key="out/run-report.html")["Body"].read().decode("utf-8")
    counts = summary["counts"]
    assert f"inputs {counts['inputs']} = enriched {counts['enriched']} + dead letters {counts['dead_letter']}" in report


def test_worker_processes_read_and_write_the_bucket_and_an_empty_shard_is_written(s3, bucket, tmp_path, tiny_model):
    corpus = tmp_path / "corpus"
    write_random_articles(corpus, 40)
    upload(s3.client(), corpus, bucket, "in")
    args = ["--model", tiny_model, "--quiet", "--direct_num_workers=2", "--direct_running_mode=multi_processing"]
    output = f"s3://{bucket}/out"
    assert enrich("run", "--input", f"s3://{bucket}/in", "--output", output, *args, *s3.flags()) == 0
    assert len(records(output)) == 40
    sizes = {
        item["Key"]: item["Size"] for item in s3.client().list_objects_v2(Bucket=bucket, Prefix="out/")["Contents"]
    }
    (dead_letters,) = [key for key in sizes if key.startswith("out/dead-letter-")]
    assert sizes[dead_letters] == 0  # no dead letters: Beam's own S3 uploader could not write this empty shard


def incremental(s3: S3Server, corpus: str, output: str, model: str, *extra: str) -> int:
    flags = s3.flags() if corpus.startswith("s3://") else []
    return enrich("run", "--incremental", "--input", corpus, "--output", output, "--model", model, *extra, *flags)


def cli(module: str, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "AWS_MAX_ATTEMPTS": "1"}
    command = [sys.executable, "-m", module, *args]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_incremental_runs_with_a_kill_between_them_recover_and_match_disk(s3, bucket, tmp_path, tiny_model):
    client, local_in, local_out = s3.client(), tmp_path / "corpus", tmp_path / "out"
    corpus, output = f"s3://{bucket}/in", f"s3://{bucket}/out"
    write_articles(local_in, range(6))
    (local_in / "empty.txt").write_text("")
    upload(client, local_in, bucket, "in")
    assert incremental(s3, corpus, output, tiny_model, "--quiet") == 0
    assert incremental(s3, str(local_in), str(local_out), tiny_model, "--quiet") == 0

    write_articles(local_in, range(6, 20))
    write_articles(local_in, range(3), text="Talks moved to Budapest.")
    upload(client, local_in, bucket, "in")
    held = s3.hold("/out/_tmp-run=")
    process = cli("pipeline", "run", "--incremental", "--input", corpus, "--output", output, "--model", tiny_model,
                  "--quiet", *s3.flags())  # fmt: skip
    try:
        assert held.arrived.wait(120), process.communicate(timeout=5)
        process.send_signal(signal.SIGKILL)
        assert process.wait(30) == -signal.SIGKILL
    finally:
        held.release.set()
        if process.poll() is None:
            process.kill()
    assert len(_manifests(output)) == 1 and "out/_lock" in keys(client, bucket, "out/")

    served = len(s3.requests)
    assert incremental(s3, corpus, output, tiny_model, "--quiet") == 0
    requests = s3.requests[served:]
    assert incremental(s3, str(local_in), str(local_out), tiny_model, "--quiet") == 0
    of_inputs = [query for method, _, query in requests if method == "GET" and "prefix=in" in query]
    heads = [path for method, path, _ in requests if method == "HEAD" and path.startswith(f"/{bucket}/in/")]
    assert len(of_inputs) <= 4 and not any(".txt" in query for query in of_inputs), of_inputs  # none per file
    assert len(heads) <= 2 * 17, heads  # the metadata of each file read, and Beam's reader's own
    _read_through_beam(output)
    latest = read_bytes(f"{output}/latest").decode().strip()
    summary = summary_of(f"{output}/{latest}/run-summary.json")
    assert summary["incremental"]["processed"] == {"new": 14, "changed": 3}
    assert_same_records(output, local_out)
    assert len(records(output)) == 20
    left = [key for key in keys(client, bucket, "out/") if not key.startswith(("out/run=", "out/latest"))]
    assert left == []  # no lock, no staging, no temporary files
    assert f"out/{latest}/run-report.html" in keys(client, bucket, "out/")

    assert enrich("report", output, *s3.flags()) == 0  # the whole output: every committed run
    assert sorted(set(keys(client, bucket, "out/")) - set(keys(client, bucket, "out/run="))) == [
        "out/entities.jsonl",
        "out/latest",
        "out/run-report.html",
    ]
    assert enrich("report", str(local_out)) == 0
    _read_through_beam(output)
    assert read_bytes(f"{output}/entities.jsonl") == (local_out / "entities.jsonl").read_bytes()


def test_watch_on_s3_commits_batches_as_it_does_on_disk(s3, bucket, tmp_path, tiny_model):
    client = s3.client()
    first, second = tmp_path / "first", tmp_path / "second"
    write_articles(first, range(3))
    write_articles(second, range(3, 5), text="Elena Ruiz spoke in Budapest.")

    def watch(input_dir: str, output: str, arrive) -> int:
        dropper = threading.Thread(target=arrive)
        dropper.start()
        flags = s3.flags() if input_dir.startswith("s3://") else []
        args = ["watch", "--input", input_dir, "--output", output, "--model", tiny_model, "--quiet"]
        code = enrich(*args, "--poll-interval", "0.1", "--idle-timeout", "3", "--set", "watch.settle_s=0", *flags)
        dropper.join()
        return code

    def arrive_in_bucket() -> None:
        upload(client, first, bucket, "in")
        assert wait_until(lambda: "out/latest" in keys(client, bucket, "out/"))
        upload(client, second, bucket, "in")

    local_in = tmp_path / "in"

    def arrive_on_disk() -> None:
        shutil.copytree(first, local_in, dirs_exist_ok=True)
        assert wait_until(lambda: (tmp_path / "out" / "latest").exists())
        shutil.copytree(second, local_in, dirs_exist_ok=True)

    local_in.mkdir()
    assert watch(f"s3://{bucket}/in", f"s3://{bucket}/out", arrive_in_bucket) == 0
    assert watch(str(local_in), str(tmp_path / "out"), arrive_on_disk) == 0
    summary = summary_of(f"s3://{bucket}/out/watch-summary.json")
    assert summary["batches"] >= 2 and summary["counts"]["inputs"] == 5  # an upload may be listed in parts
    assert_same_records(f"s3://{bucket}/out", tmp_path / "out")


def test_a_wrong_endpoint_a_missing_bucket_or_credentials_stop_before_any_work(s3, bucket, capsys, monkeypatch):
    client = s3.client()
    client.put_object(Bucket=bucket, Key="in/a.txt", Body=b"Title\n\nTalks in Geneva.\n")
    closed = S3Server().start()
    closed.stop()  # a port where nothing answers
    run = ["run", "--input", f"s3://{bucket}/in", "--output", f"s3://{bucket}/out", "--quiet"]

    def error_of(*args: str) -> str:
        assert enrich(*args) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err
        return err

    wrong_endpoint = [flag for flag in s3.flags() if "endpoint" not in flag] + [f"--s3_endpoint_url={closed.endpoint}"]
    assert "--s3_endpoint_url" in error_of(*run, *wrong_endpoint)
    err = error_of(*run[:2], "s3://no-such-bucket/in", *run[3:], *s3.flags())
    assert "--input: the bucket 'no-such-bucket' does not exist" in err
    err = error_of(*run[:4], "s3://no-such-bucket/out", "--quiet", *s3.flags())
    assert "--output: the bucket 'no-such-bucket' does not exist" in err
    assert "--s3_endpoint_url" in error_of("report", f"s3://{bucket}/out", *wrong_endpoint)

    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    no_keys = [flag for flag in s3.flags() if "access_key" not in flag]
    assert "no AWS credentials found: pass --s3_access_key_id" in error_of(*run, *no_keys)

    from moto import settings

    monkeypatch.setattr(settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)  # moto checks keys against its IAM from now
    err = error_of(*run, *s3.flags())
    assert "refused the credentials" in err and "InvalidAccessKeyId" in err and "--s3_access_key_id" in err


def test_two_incremental_runs_on_one_bucket_one_runs_the_other_is_refused(s3, bucket, tmp_path, tiny_model, capsys):
    corpus, output = f"s3://{bucket}/in", f"s3://{bucket}/out"
    write_articles(tmp_path / "in", range(4))
    upload(s3.client(), tmp_path / "in", bucket, "in")
    held = s3.hold("/out/_tmp-run=")
    first = cli("pipeline", "run", "--incremental", "--input", corpus, "--output", output, "--model", tiny_model,
                "--quiet", *s3.flags())  # fmt: skip
    try:
        assert held.arrived.wait(120), first.communicate(timeout=5)
        assert incremental(s3, corpus, output, tiny_model, "--quiet") == 1
        assert "another run holds s3://" in capsys.readouterr().err
    finally:
        held.release.set()
    _, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert len(records(output)) == 4 and len(_manifests(output)) == 1


def test_the_conditional_create_lets_exactly_one_of_many_take_the_lock(s3, bucket):
    from pipeline.buckets import create_if_absent

    results: list[object] = []
    barrier = threading.Barrier(8)

    def take(n: int) -> None:
        barrier.wait()
        results.append(create_if_absent(f"s3://{bucket}/out/_lock", f"{n}".encode()))

    threads = [threading.Thread(target=take, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(isinstance(result, str) for result in results) == 1 and results.count(False) == 7


def test_a_server_that_stops_mid_run_fails_it_and_the_next_run_recovers(s3, bucket, tmp_path, tiny_model):
    client, local_in = s3.client(), tmp_path / "corpus"
    corpus, output = f"s3://{bucket}/in", f"s3://{bucket}/out"
    write_articles(local_in, range(5))
    upload(client, local_in, bucket, "in")
    assert incremental(s3, corpus, output, tiny_model, "--quiet") == 0
    write_articles(local_in, range(5, 12))
    upload(client, local_in, bucket, "in")

    stopped = s3.stop_at("/out/_tmp-run=")
    process = cli("tests.fast_retries", "run", "--incremental", "--input", corpus, "--output", output,
                  "--model", tiny_model, "--quiet", *s3.flags())  # fmt: skip
    try:
        _, err = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
        s3.start()  # the same port, the same buckets
    assert stopped.arrived.is_set()
    assert process.returncode == 1, err
    last = err.strip().splitlines()[-1]  # the command's own message, not a traceback (Beam logs its own above)
    assert last.startswith("article-enrich: the job failed: S3ClientError") and "does not answer" in last
    assert len(_manifests(output)) == 1 and len(records(output)) == 5  # nothing of the stopped run is visible

    assert incremental(s3, corpus, output, tiny_model, "--quiet") == 0
    assert len(_manifests(output)) == 2 and len(records(output)) == 12
    mirror, local_out = tmp_path / "mirror", tmp_path / "out"  # the same two runs on disk
    write_articles(mirror, range(5))
    assert incremental(s3, str(mirror), str(local_out), tiny_model, "--quiet") == 0
    write_articles(mirror, range(5, 12))
    assert incremental(s3, str(mirror), str(local_out), tiny_model, "--quiet") == 0
    assert_same_records(output, local_out)
    assert not [key for key in keys(client, bucket, "out/") if "_tmp-" in key or key.endswith("_lock")]


def test_boto3_errors_name_the_option_to_fix():
    from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

    from pipeline.buckets import s3_problem

    def answered(code: str, status: int) -> ClientError:
        return ClientError({"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "ListObjectsV2")

    endpoint = "http://127.0.0.1:9"
    cases = {
        EndpointConnectionError(endpoint_url=endpoint): "check --s3_endpoint_url",
        NoCredentialsError(): "pass --s3_access_key_id",
        answered("NoSuchBucket", 404): "the bucket 'b' does not exist",
        answered("InvalidAccessKeyId", 403): "refused the credentials for 's3://b/in' (InvalidAccessKeyId)",
        answered("SignatureDoesNotMatch", 403): "check --s3_access_key_id and --s3_secret_access_key",
        answered("AuthorizationHeaderMalformed", 400): "set --s3_region_name",
        answered("InternalError", 500): "answered InternalError",
    }
    for error, expected in cases.items():
        assert expected in s3_problem(error, "--input", "s3://b/in", endpoint), error


def test_only_an_unanswered_or_failing_store_fails_a_run_rather_than_the_file():
    from apache_beam.io.aws.clients.s3.messages import S3ClientError

    from transforms.object_stores import store_failure

    assert store_failure(S3ClientError("Could not connect to the endpoint URL", None))
    assert store_failure(S3ClientError("SlowDown", 503))
    assert not store_failure(S3ClientError("Forbidden", 403))
    assert not store_failure(S3ClientError("Not Found", 404))
    assert not store_failure(OSError("a local read error"))


def test_the_listing_gives_the_checksums_a_request_per_file_would(s3, bucket):
    from pipeline.inputs import checksum, listed_checksums

    client = s3.client()
    for n in range(3):
        client.put_object(Bucket=bucket, Key=f"in/{n}.txt", Body=f"Story {n}".encode())
    _read_through_beam(f"s3://{bucket}")
    listed = listed_checksums(f"s3://{bucket}/in/**")
    assert listed == {f"s3://{bucket}/in/{n}.txt": checksum(f"s3://{bucket}/in/{n}.txt") for n in range(3)}


def test_an_s3_lock_is_refreshed_only_while_held_and_taken_over_once_stale(s3, bucket):
    from pipeline.runs import OutputLock, RunLocked

    _read_through_beam(f"s3://{bucket}")
    output, client = f"s3://{bucket}/out", s3.client()
    with OutputLock(output, 3600) as lock:
        with pytest.raises(RunLocked, match="another run holds"):
            OutputLock(output, 3600).__enter__()
        lock.refresh()
        client.put_object(Bucket=bucket, Key="out/_lock", Body=b'{"pid": 1, "host": "elsewhere", "created": 0}')
        with pytest.raises(RunLocked, match="taken over by another run"):
            lock.refresh()
    assert keys(client, bucket, "out/") == ["out/_lock"]  # not ours any more: left alone
    with OutputLock(output, 3600):  # created at 0: stale, taken over
        holder = json.loads(client.get_object(Bucket=bucket, Key="out/_lock")["Body"].read())
        assert holder["pid"] == os.getpid()
    assert keys(client, bucket, "out/") == []

"""The cost of s3://: the same `article-enrich run` (or `run --incremental`) on local disk and on a local S3 server
(moto's, on 127.0.0.1, started here), alternated in one script run; prints each wall time, the ratio of the
medians, the S3 requests per run by kind, and whether the records are the same."""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from tests.s3_server import S3Server, keys, upload

REPO = Path(__file__).resolve().parent.parent
BUCKET = "bench"


def timed(command: list[str]) -> float:
    started = time.monotonic()
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {' '.join(command)}\n{done.stderr[-3000:]}")
    return time.monotonic() - started


def local_records(folder: Path) -> list[str]:
    lines = []
    for path in folder.rglob("*.jsonl"):
        if _is_record(path.name) and not any(part.startswith("_") for part in path.relative_to(folder).parts):
            lines.extend(_normal(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    return sorted(lines)


def s3_records(s3: Any, prefix: str) -> list[str]:
    lines = []
    for key in keys(s3, BUCKET, prefix):
        if _is_record(key.rsplit("/", 1)[-1]) and "/_" not in key:
            body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode("utf-8")
            lines.extend(_normal(line) for line in body.splitlines() if line.strip())
    return sorted(lines)


def _kind(method: str, path: str, query: str) -> str:
    """A request as the table counts it: its method, and a listing, a multipart upload or an object."""
    return f"{method} {'list' if 'list-type' in query else 'upload' if 'upload' in query else 'object'}"


def _is_record(name: str) -> bool:
    return re.match(r"(enriched|dead-letter)-\d+-of-\d+\.jsonl$", name) is not None


def _normal(line: str) -> str:
    record = json.loads(line)
    record["source"].pop("uri")
    return json.dumps(record, sort_keys=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("corpus", help="a folder of article files (uploaded to the bucket once)")
    parser.add_argument("--rounds", type=int, default=3, help="local and S3 runs each, alternated")
    parser.add_argument("--incremental", action="store_true", help="time `run --incremental` into a new output")
    parser.add_argument("extra", nargs="*", help="more article-enrich flags (after --)")
    args = parser.parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    corpus = Path(args.corpus).resolve()
    server = S3Server().start()
    s3 = server.client()
    s3.create_bucket(Bucket=BUCKET)
    files = sorted(p for p in corpus.rglob("*") if p.is_file())
    upload(s3, corpus, BUCKET, "in")
    print(f"{len(files)} files, {sum(p.stat().st_size for p in files):,} bytes, uploaded to {server.endpoint}")
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
    command = [sys.executable, "-m", "pipeline", "run", "--quiet", *(["--incremental"] if args.incremental else [])]
    walls: dict[str, list[float]] = {"local": [], "s3": []}
    requests: list[Counter[str]] = []
    with tempfile.TemporaryDirectory(prefix="bench-s3-") as temp:
        for n in range(args.rounds):
            order = ("local", "s3") if n % 2 == 0 else ("s3", "local")
            for where in order:
                if where == "local":
                    out = Path(temp) / f"local-{n}"
                    wall = timed([*command, "--input", str(corpus), "--output", str(out), *args.extra])
                else:
                    served = len(server.requests)
                    flags = [f"--s3_endpoint_url={server.endpoint}", "--input", f"s3://{BUCKET}/in"]
                    wall = timed([*command, *flags, "--output", f"s3://{BUCKET}/out-{n}", *args.extra])
                    requests.append(Counter(_kind(*request) for request in server.requests[served:]))
                walls[where].append(wall)
                load = os.getloadavg()[0]
                print(f"round {n + 1} {where:5s} {wall:7.2f} s  (load {load:.1f})", flush=True)
        same = local_records(Path(temp) / "local-0") == s3_records(s3, "out-0/")
    server.stop()
    local, remote = statistics.median(walls["local"]), statistics.median(walls["s3"])
    print(f"median local {local:.2f} s, s3 {remote:.2f} s: ratio s3/local {remote / local:.2f}")
    print(f"S3 requests per run: {dict(sorted(requests[0].items()))}")
    print(f"records identical (without source.uri): {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())

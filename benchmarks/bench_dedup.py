"""What duplicate detection costs a default run: wall time and peak memory, dedup on against off.

    PYTHONPATH=$PWD .venv/bin/python -m benchmarks.bench_dedup /tmp/corpora/reuters21578 --articles 3000 --rounds 3

Both variants run `article-enrich run` with the built-in config on the same first N `.txt` articles, the
one with `--set dedup.enabled=false`, interleaved (off on off on …); the median wall of the rounds counts.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

from benchmarks.bench_throughput import Run, measure, take_articles

VARIANTS = {"dedup off": ["--set", "dedup.enabled=false"], "dedup on (default)": []}
MIB = 2**20


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", help="a folder or .tar.gz of .txt articles (the first N are taken)")
    parser.add_argument("--articles", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-dedup-") as tmp:
        work = Path(tmp)
        take_articles(args.corpus, args.articles, work / "corpus")
        runs: dict[str, list[Run]] = {name: [] for name in VARIANTS}
        summaries = {}
        for round_ in range(args.rounds):
            for name, flags in VARIANTS.items():
                output = work / f"out-{round_}-{len(runs[name])}-{name.split()[1]}"
                argv_ = [sys.executable, "-m", "pipeline", "run", "--input", str(work / "corpus"), "--output"]
                run = measure([*argv_, str(output), *flags], work / f"{output.name}.log")
                if run.returncode != 0:
                    print((work / f"{output.name}.log").read_text()[-3000:])
                    raise SystemExit(f"{name} failed")
                runs[name].append(run)
                summaries[name] = json.loads((output / "run-summary.json").read_text())
                print(f"round {round_ + 1} {name}: {run.wall:.1f} s", flush=True)
    base = statistics.median(r.wall for r in runs["dedup off"])
    print(f"\n{args.articles} articles, {args.rounds} rounds (median wall)")
    print(f"{'variant':20} {'wall s':>8} {'÷off':>6} {'launcher MiB':>13} {'worker MiB':>11}  walls")
    for name, measured in runs.items():
        wall = statistics.median(r.wall for r in measured)
        launcher = statistics.median(r.peak_launcher for r in measured) / MIB
        worker = statistics.median(max(r.peak_children, default=0) for r in measured) / MIB
        walls = " ".join(f"{r.wall:.1f}" for r in measured)
        print(f"{name:20} {wall:8.1f} {wall / base:6.3f} {launcher:13.0f} {worker:11.0f}  {walls}")
    print("duplicates found (default run):", json.dumps(summaries["dedup on (default)"].get("duplicates")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

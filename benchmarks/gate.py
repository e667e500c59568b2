"""The quality gate (`make eval`): the evaluations on ../shared, every figure checked against its floor."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLOORS = ROOT / "benchmarks" / "floors.json"
LOG_TAIL_CHARS = 3000


@dataclass(frozen=True)
class Paths:
    """The shared data and where this run's corpora, logs and figures go."""

    shared: Path
    work: Path

    def corpus(self, name: str) -> Path:
        """Where a corpus of ../shared/corpora is extracted."""
        return self.work / "corpora" / name

    def extract(self, name: str) -> None:
        if not self.corpus(name).is_dir():
            with tarfile.open(self.shared / "corpora" / f"{name}.tar.gz") as archive:
                archive.extractall(self.work / "corpora", filter="data")


@dataclass(frozen=True)
class Evaluation:
    """One script of benchmarks/ run with `--json`; the names of its figures start with `<name>.`."""

    name: str
    module: str
    arguments: Callable[[Paths], list[str]]
    corpora: tuple[str, ...] = ()


# Subsets, where the whole set would not fit in the gate's ten minutes, are fixed (`--stride`, counts, seeds):
# a floor holds for the subset it was measured on. The longest come first: two run at a time.
EVALUATIONS = (
    Evaluation(
        "extraction",
        "benchmarks.eval_extraction",
        lambda p: [
            "--benchmark", str(p.shared / "eval/boilerplate/article_extraction_benchmark"),
            "--news-pages", str(p.shared / "eval/news-pages"),
            "--warc", str(p.shared / "eval/warc"),
            "--workdir", str(p.work / "extraction"), "--no-speed", "--no-ner",
        ],
    ),
    Evaluation(
        "news_pages",
        "benchmarks.eval_news_pages",
        lambda p: [
            "--pages", str(p.shared / "eval/news-pages"),
            "--scorer", str(p.shared / "eval/boilerplate/article_extraction_benchmark"),
        ],
    ),
    Evaluation(
        "cleaning",
        "benchmarks.eval_cleaning",
        lambda p: [
            "--seed", str(p.shared / "examples/seed-article.txt"),
            "--expected", str(p.shared / "examples/seed-article.expected-clean.txt"),
            "--ftfy-cases", str(p.shared / "eval/mojibake"),
            "--bbc", str(p.corpus("bbc-2225")), "--wp", str(p.corpus("wp-scraped-2016")), "--stride", "10",
        ],
        ("bbc-2225", "wp-scraped-2016"),
    ),
    Evaluation(
        "repair",
        "benchmarks.eval_cleaning_repair",
        lambda p: [
            "--seed", str(p.shared / "examples/seed-article.txt"),
            "--expected", str(p.shared / "examples/seed-article.expected-clean.txt"),
            "--ftfy-cases", str(p.shared / "eval/mojibake"),
            "--bbc", str(p.corpus("bbc-2225")), "--wp", str(p.corpus("wp-scraped-2016")),
            "--reuters", str(p.corpus("reuters21578")), "--stride", "5",
        ],
        ("bbc-2225", "wp-scraped-2016", "reuters21578"),
    ),
    Evaluation(
        "ner",
        "benchmarks.eval_ner",
        lambda p: [
            "--conll", str(p.shared / "eval/ner/conll2003-testb.iob2.txt"),
            "--ieer", str(p.shared / "eval/ner/ieer-newswire.jsonl"),
            "--pipeline", "--no-joined",
        ],
    ),
    Evaluation(
        "dedup",
        "benchmarks.eval_dedup",
        lambda p: [
            "--bbc", str(p.corpus("bbc-2225")), "--copies", "400", "--seed", "20261130",
            "--wp", str(p.corpus("wp-scraped-2016")),
        ],
        ("bbc-2225", "wp-scraped-2016"),
    ),
    Evaluation(
        "routing",
        "benchmarks.check_languages",
        lambda p: [
            str(p.shared / "eval/language"), str(p.corpus("bbc-2225")), str(p.work / "routing"),
            "--sentences", "5", "--bbc-count", "100",
        ],
        ("bbc-2225",),
    ),
    Evaluation(
        "language",
        "benchmarks.eval_language",
        lambda p: [str(p.shared / "eval/language"), "--half", "all", "--sentences", "1,3,5", "--no-cost"],
    ),
)  # fmt: skip


@dataclass(frozen=True)
class Outcome:
    """How one evaluation ended: exit code, wall seconds, its figures (none if it failed) and its log."""

    name: str
    code: int
    seconds: float
    figures: dict[str, float]
    log: Path


def run(evaluation: Evaluation, paths: Paths) -> Outcome:
    """Run one evaluation from the repository root; its output goes to `<name>.log`, its figures to `<name>.json`."""
    log, output = paths.work / f"{evaluation.name}.log", paths.work / f"{evaluation.name}.json"
    command = [sys.executable, "-m", evaluation.module, *evaluation.arguments(paths), "--json", str(output)]
    started = time.perf_counter()
    with log.open("w", encoding="utf-8") as handle:
        handle.write(" ".join(command) + "\n\n")
        handle.flush()
        code = subprocess.run(command, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT, check=False).returncode
    found = json.loads(output.read_text(encoding="utf-8")) if code == 0 and output.exists() else {}
    return Outcome(evaluation.name, code, time.perf_counter() - started, found, log)


def check(figures: dict[str, float], floors: dict[str, dict]) -> list[str]:
    """One message per figure that is missing or on the wrong side of its floor (`min`) or ceiling (`max`)."""
    failures = []
    for name, bound in floors.items():
        value = figures.get(name)
        if value is None:
            failures.append(f"{name}: not produced (bound {_bound(bound)})")
        elif "min" in bound and value < bound["min"]:
            failures.append(f"{name} = {value}, below its floor {bound['min']}")
        elif "max" in bound and value > bound["max"]:
            failures.append(f"{name} = {value}, above its ceiling {bound['max']}")
    return failures


def raised(figures: dict[str, float], floors: dict[str, dict]) -> dict[str, dict]:
    """The floors with every improved figure's bound moved to it (less its tolerance); none is ever lowered."""
    updated = {}
    for name, bound in floors.items():
        bound = dict(bound)
        value, tolerance = figures.get(name), bound.get("tolerance", 0)
        if value is not None and "min" in bound and value - tolerance > bound["min"]:
            bound["min"] = round(value - tolerance, 6)
        if value is not None and "max" in bound and value + tolerance < bound["max"]:
            bound["max"] = round(value + tolerance, 6)
        updated[name] = bound
    return updated


def write_floors(path: Path, floors: dict[str, dict]) -> None:
    """Rewrite the floors file's figures, one per line (sorted), keeping its other keys."""
    document = json.loads(path.read_text(encoding="utf-8"))
    kept = {key: value for key, value in document.items() if key != "figures"}
    head = "".join(f" {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)},\n" for key, value in kept.items())
    lines = [f"  {json.dumps(name)}: {json.dumps(bound, ensure_ascii=False)}" for name, bound in sorted(floors.items())]
    path.write_text("{\n" + head + ' "figures": {\n' + ",\n".join(lines) + "\n }\n}\n", encoding="utf-8")


def _bound(bound: dict) -> str:
    return f">= {bound['min']}" if "min" in bound else f"<= {bound['max']}"


def load_floors(path: Path) -> dict[str, dict]:
    floors = json.loads(path.read_text(encoding="utf-8"))["figures"]
    bad = [name for name, bound in floors.items() if ("min" in bound) == ("max" in bound)]
    if bad:
        raise SystemExit(f"{path}: each figure needs exactly one of 'min' and 'max': {', '.join(bad)}")
    return floors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared", help="the shared data (../shared)")
    parser.add_argument("--floors", type=Path, default=FLOORS)
    parser.add_argument("--only", help="comma-separated evaluations: " + ",".join(e.name for e in EVALUATIONS))
    parser.add_argument("--jobs", type=int, default=2, help="evaluations run at once")
    parser.add_argument("--workdir", type=Path, help="keep corpora, logs and figures here (default: a temporary one)")
    parser.add_argument("--raise-floors", action="store_true", help="move the floors of improved figures up to them")
    args = parser.parse_args(argv)
    if not (args.shared / "eval").is_dir():
        print(f"make eval: no shared data at {args.shared} (no eval/ folder in it): nothing evaluated")
        return 2
    floors = load_floors(args.floors)
    unknown = set(args.only.split(",")) - {e.name for e in EVALUATIONS} if args.only else set()
    if unknown:
        parser.error(f"--only: no evaluation named {', '.join(sorted(unknown))}")
    chosen = [e for e in EVALUATIONS if not args.only or e.name in args.only.split(",")]
    work = args.workdir or Path(tempfile.mkdtemp(prefix="article-enrich-eval-"))
    work.mkdir(parents=True, exist_ok=True)
    paths = Paths(args.shared.resolve(), work.resolve())
    started = time.perf_counter()
    for corpus in sorted({name for evaluation in chosen for name in evaluation.corpora}):
        paths.extract(corpus)
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        outcomes = list(pool.map(lambda evaluation: run(evaluation, paths), chosen))
    figures: dict[str, float] = {}
    for outcome in outcomes:
        figures |= outcome.figures
        print(f"{outcome.name:<12} exit {outcome.code}, {outcome.seconds:6.1f} s, {len(outcome.figures)} figures")
    crashed = [outcome for outcome in outcomes if outcome.code != 0]
    for outcome in crashed:
        tail = outcome.log.read_text(encoding="utf-8", errors="replace")[-LOG_TAIL_CHARS:]
        print(f"\n== {outcome.name} failed (exit {outcome.code}); the end of {outcome.log}:\n{tail}")
    names = {evaluation.name for evaluation in chosen}
    checked = {name: bound for name, bound in floors.items() if name.split(".")[0] in names}
    print(f"\n{'figure':<62}{'value':>10}  bound")
    for name in sorted(checked.keys() | figures.keys()):
        bound = checked.get(name)
        print(f"{name:<62}{figures.get(name, '-')!s:>10}  {_bound(bound) if bound else '(no floor)'}")
    failures = check(figures, checked)
    if args.raise_floors:
        write_floors(args.floors, {**floors, **raised(figures, checked)})
        print(f"\nthe bounds of improved figures were moved up to them in {args.floors}")
    kept = f"logs in {work}"
    if args.workdir is None and not failures and not crashed:
        shutil.rmtree(work, ignore_errors=True)
        kept = "logs removed (--workdir keeps them)"
    print(f"\n{len(checked)} of {len(figures)} figures have a bound; {time.perf_counter() - started:.0f} s; {kept}")
    if failures or crashed:
        print(f"FAILED: {len(crashed)} evaluation(s) failed, {len(failures)} figure(s) against {args.floors}:")
        for failure in failures:
            print(f"  {failure}")
        return 1
    print("every figure is within its bound")
    return 0


if __name__ == "__main__":
    sys.exit(main())

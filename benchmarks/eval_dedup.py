"""Evaluate duplicate detection: pair recall by kind of edit, natural duplicates, and false merges.

    python -m benchmarks.eval_dedup --bbc /tmp/corpora/bbc-2225 --copies 300 --seed 7 \
        --wp /tmp/corpora/wp-scraped-2016
    python -m benchmarks.eval_dedup --bbc /tmp/corpora/bbc-2225 --nightly 60 20 --seed 7

Edited copies of random BBC articles are written next to a copy of the corpus (under a temporary folder),
then the pipeline's read, clean, corpus-boilerplate and duplicate stages run over it (no tagging: the
`duplicate` of a record does not depend on it). Ground truth is the exact Jaccard of the word 5-gram sets
of the cleaned texts, over all pairs (an inverted index finds every pair that shares a 5-gram).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter, defaultdict
from itertools import combinations
from pathlib import Path

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from benchmarks import figures
from pipeline.config import load_config
from pipeline.inputs import resolve_input
from transforms import CleanArticles, ClusterDuplicates, ReadArticles, StripCorpusBoilerplate
from transforms.core.dedup import SHINGLE_WORDS, words
from transforms.core.types import Article

KINDS = ("exact", "rewrapped", "boilerplate", "words_2pct", "cut_end", "new_title")
MUST_FIND = {"exact", "rewrapped", "boilerplate", "new_title"}
BOILERPLATE = (
    "Share this article",
    "Advertisement",
    "Sign up for our newsletter",
    "Follow us on Twitter for the latest news",
    "Read more: the latest headlines from around the world",
    "Copyright 2005 BBC. All rights reserved.",
    "Click here to comment on this story",
)


def edit(text: str, kind: str, rng: random.Random, vocabulary: list[str]) -> str:
    """An edited copy of a BBC file (title line, blank line, one paragraph per line)."""
    title, _, body = text.partition("\n")
    paragraphs = [p for p in body.split("\n") if p.strip()]
    if kind == "exact":
        return text
    if kind == "new_title":
        return f"UPDATED: {title.strip()} - {rng.choice(vocabulary)}\n\n" + "\n\n".join(paragraphs) + "\n"
    if kind == "rewrapped":
        width = rng.randint(55, 75)
        wrapped = ["\n".join(textwrap.wrap(p, width)) for p in paragraphs]
        return f"{title}\n\n" + "\n\n".join(wrapped) + "\n"
    if kind == "boilerplate":
        lines = list(paragraphs)
        for line in rng.sample(BOILERPLATE, rng.randint(1, 3)):
            lines.insert(rng.choice([0, len(lines)]), line)
        return f"{title}\n\n" + "\n\n".join(lines) + "\n"
    if kind == "words_2pct":
        tokens = body.split(" ")
        for i in rng.sample(range(len(tokens)), max(1, round(len(tokens) * 0.02))):
            tokens[i] = rng.choice(vocabulary)
        return f"{title}\n" + " ".join(tokens)
    if kind == "cut_end":
        keep = max(1, len(paragraphs) - rng.randint(1, 2))
        return f"{title}\n\n" + "\n\n".join(paragraphs[:keep]) + "\n"
    raise ValueError(kind)


def make_copies(corpus: Path, folder: Path, copies: int, seed: int) -> dict[str, tuple[str, str]]:
    """Copy `corpus` into `folder/corpus` and add edited copies under `folder/corpus/copies`.

    Returns copy path -> (kind, original path), paths relative to `folder/corpus`.
    """
    target = folder / "corpus"
    shutil.copytree(corpus, target)
    originals = sorted(str(p.relative_to(target)) for p in target.rglob("*.txt"))
    rng = random.Random(seed)
    texts = {}
    for path in originals:
        texts[path] = (target / path).read_bytes().decode("utf-8", errors="replace")
    vocabulary = sorted({w for path in rng.sample(originals, 50) for w in texts[path].split() if w.isalpha()})
    (target / "copies").mkdir()
    truth = {}
    for n in range(copies):
        kind = KINDS[n % len(KINDS)]
        original = rng.choice(originals)
        name = f"copies/{n:04d}-{kind}.txt"
        (target / name).write_text(edit(texts[original], kind, rng, vocabulary), encoding="utf-8")
        truth[name] = (kind, original)
    return truth


def run_stages(corpus: Path, output: Path) -> list[dict]:
    """The pipeline's stages up to duplicate detection; (id, path, text, duplicate) of every article."""
    config = load_config(None, [])
    inputs = resolve_input(str(corpus))
    (pattern,), base = inputs.patterns, inputs.base
    options = PipelineOptions(["--direct_running_mode=in_memory", "--direct_num_workers=1"])
    with beam.Pipeline(options=options) as pipeline:
        articles, _ = pipeline | "Read" >> ReadArticles(pattern, base, config.read)
        cleaned, _ = articles | "Clean" >> CleanArticles(config.clean)
        cleaned, _ = cleaned | "Strip" >> StripCorpusBoilerplate(config.clean.corpus_boilerplate)
        annotated, _ = cleaned | "Dedup" >> ClusterDuplicates(config.dedup)
        _ = (
            annotated
            | "Json" >> beam.Map(_record)
            | "Write" >> beam.io.WriteToText(str(output / "records"), file_name_suffix=".jsonl")
        )
    records = []
    for shard in sorted(output.glob("records*.jsonl")):
        records.extend(json.loads(line) for line in shard.read_text(encoding="utf-8").splitlines() if line)
    return records


def _record(article: Article) -> str:
    duplicate = article.duplicate
    summary = {"cluster": duplicate.cluster, "kind": duplicate.kind, "similarity": duplicate.similarity}
    return json.dumps({"id": article.id, "path": article.source.path, "text": article.text, "duplicate": summary})


def shingle_set(text: str) -> frozenset[str]:
    tokens = words(text)
    width = min(SHINGLE_WORDS, len(tokens))
    return frozenset(" ".join(tokens[i : i + width]) for i in range(len(tokens) - width + 1)) if tokens else frozenset()


def similar_pairs(sets: dict[str, frozenset[str]], least: float) -> dict[tuple[str, str], float]:
    """Every pair of paths whose exact Jaccard is at least `least` (pairs found through shared 5-grams)."""
    index: dict[str, list[str]] = defaultdict(list)
    for path, shingles in sets.items():
        for shingle in shingles:
            index[shingle].append(path)
    shared: Counter = Counter()
    for paths in index.values():
        if 1 < len(paths) <= 500:  # a 5-gram in 500+ articles cannot make a pair at 0.5 on its own
            shared.update(combinations(sorted(paths), 2))
    pairs = {}
    for (a, b), n in shared.items():
        if n >= least * min(len(sets[a]), len(sets[b])):
            similarity = jaccard(sets[a], sets[b])
            if similarity >= least:
                pairs[(a, b)] = similarity
    return pairs


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def report(records: list[dict], truth: dict[str, tuple[str, str]], title: str) -> dict:
    sets = {r["path"]: shingle_set(r["text"]) for r in records}
    cluster = {r["path"]: r["duplicate"]["cluster"] for r in records}
    pairs = similar_pairs(sets, 0.8)
    found = {pair: cluster[pair[0]] == cluster[pair[1]] for pair in pairs}
    print(f"\n== {title}: {len(records)} articles, {len(pairs)} pairs with Jaccard >= 0.8")
    rows: dict[str, list[bool]] = defaultdict(list)
    for (a, b), hit in found.items():
        kinds = {truth[p][0] for p in (a, b) if p in truth and truth[p][1] in (a, b)}
        if kinds:
            rows[f"copy: {kinds.pop()}"].append(hit)
        elif a in truth or b in truth:
            rows["other pairs with a copy"].append(hit)
        else:
            rows["natural (corpus) pairs"].append(hit)
    recall = {}
    for name in sorted(rows):
        hits = rows[name]
        recall[name] = figures.share(sum(hits), len(hits))
        print(f"{name:32} recall {sum(hits):5d}/{len(hits):5d} = {sum(hits) / len(hits):.4f}")
    total = sum(found.values())
    print(f"{'all pairs >= 0.8':32} recall {total:5d}/{len(found):5d} = {total / max(1, len(found)):.4f}")
    made = Counter(kind for kind, _ in truth.values())
    for kind in KINDS:
        if made[kind]:
            copies = [(c, o) for c, (k, o) in truth.items() if k == kind]
            above = [(c, o) for c, o in copies if jaccard(sets.get(c, frozenset()), sets.get(o, frozenset())) >= 0.8]
            same = sum(cluster.get(c) == cluster.get(o) for c, o in copies)
            print(
                f"copies {kind:12} made {made[kind]:4d}, Jaccard>=0.8 to original {len(above):4d}, "
                f"clustered with it {same:4d}"
            )
    members: dict[str, list[str]] = defaultdict(list)
    for path, c in cluster.items():
        members[c].append(path)
    clusters = [m for m in members.values() if len(m) > 1]
    low, below = [], 0
    for m in clusters:
        for a, b in combinations(sorted(m), 2):
            similarity = jaccard(sets[a], sets[b])
            if similarity < 0.5:
                low.append((a, b, similarity))
            below += similarity < 0.8
    kinds = Counter(r["duplicate"]["kind"] for r in records)
    print(
        f"clusters of 2+: {len(clusters)}, largest {max(map(len, clusters), default=0)}; kinds {dict(kinds)}; "
        f"clustered pairs below 0.8: {below}; FALSE MERGES (clustered pairs below 0.5): {len(low)}"
    )
    for a, b, similarity in low[:10]:
        print(f"  false merge {a} ~ {b}: {similarity:.3f}")
    return {"pairs": len(found), "found": total, "false_merges": len(low), "recall": recall}


def nightly(corpus: Path, folder: Path, originals: int, copies: int, seed: int) -> None:
    """`article-enrich run --incremental` over `originals` random articles, then again with `copies` of them
    added (half exact, half with one word changed): does each copy's cluster name its original?"""
    rng = random.Random(seed)
    paths = rng.sample(sorted(corpus.rglob("*.txt")), originals)
    inputs, output = folder / "nightly-in", folder / "nightly-out"
    inputs.mkdir(parents=True)
    for n, path in enumerate(paths):
        (inputs / f"orig-{n:03d}.txt").write_bytes(path.read_bytes())
    command = [
        sys.executable,
        "-m",
        "pipeline",
        "run",
        "--incremental",
        "--input",
        str(inputs),
        "--output",
        str(output),
    ]
    subprocess.run(command, check=True, capture_output=True)
    first = _records(output)
    for n, index in enumerate(rng.sample(range(originals), copies)):
        text = paths[index].read_bytes().decode("utf-8", errors="replace")
        if n % 2:
            tokens = text.split(" ")
            tokens[rng.randrange(len(tokens) // 2, len(tokens))] = "zebra"
            text = " ".join(tokens)
        (inputs / f"copy-{n:03d}-of-{index:03d}.txt").write_text(text, encoding="utf-8")
    subprocess.run(command, check=True, capture_output=True)
    second = {p: r for p, r in _records(output).items() if p.startswith("copy-")}
    right = Counter()
    for path, record in sorted(second.items()):
        original = first[f"orig-{path.split('-of-')[1]}"]
        kind = "one word changed" if int(path[5:8]) % 2 else "exact"
        right[kind, record["duplicate"]["cluster"] == original["id"]] += 1
        if record["duplicate"]["cluster"] != original["id"]:
            print(f"  {path}: cluster {record['duplicate']} != {original['id']}")
    print(f"\n== nightly: {originals} articles, then {copies} copies in a second --incremental run")
    for kind in ("exact", "one word changed"):
        print(
            f"{kind:18} copies whose cluster is their original's id: "
            f"{right[kind, True]}/{right[kind, True] + right[kind, False]}"
        )


def _records(output: Path) -> dict[str, dict]:
    from pipeline.runs import committed_shards

    records = {}
    for shard in committed_shards(str(output)):
        for line in Path(shard).read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            records[record["source"]["path"]] = record
    return records


def _figures(key: str, result: dict) -> dict[str, float]:
    found = {
        f"dedup.{key}.recall": figures.share(result["found"], result["pairs"]),
        f"dedup.{key}.false_merges": result["false_merges"],
    }
    for row, share in result["recall"].items():
        name = row.removeprefix("copy: ").replace(" ", "_").replace("(", "").replace(")", "")
        found[f"dedup.{key}.recall.{name}"] = share
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bbc", type=Path, help="the extracted BBC corpus (bbc-2225)")
    parser.add_argument("--copies", type=int, default=300, help="edited copies of random BBC articles")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--wp", type=Path, help="the extracted wp-scraped-2016 corpus")
    parser.add_argument("--nightly", type=int, nargs=2, metavar=("ORIGINALS", "COPIES"), help="with --bbc: e.g. 60 20")
    figures.add_argument(parser)
    args = parser.parse_args(argv)
    found: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="eval-dedup-") as tmp:
        folder = Path(tmp)
        if args.bbc and args.nightly:
            nightly(args.bbc, folder, *args.nightly, args.seed)
        elif args.bbc:
            truth = make_copies(args.bbc, folder / "bbc", args.copies, args.seed)
            started = time.perf_counter()
            records = run_stages(folder / "bbc" / "corpus", folder / "bbc-out")
            print(f"BBC + {args.copies} copies (seed {args.seed}): stages ran in {time.perf_counter() - started:.1f} s")
            found |= _figures("bbc", report(records, truth, "BBC with edited copies"))
        if args.wp:
            records = run_stages(args.wp, folder / "wp-out")
            found |= _figures("wp", report(records, {}, "wp-scraped-2016"))
            texts = Counter(" ".join(words(r["text"])) for r in records)
            groups = [n for n in texts.values() if n > 1]
            clusters = Counter(r["duplicate"]["cluster"] for r in records)
            print(
                f"exact-text groups (same normalised text): {len(groups)} holding {sum(groups)} articles "
                f"(largest {max(groups, default=0)}); articles in clusters of 2+: "
                f"{sum(n for n in clusters.values() if n > 1)}"
            )
    figures.write(args.json, found)


if __name__ == "__main__":
    main()

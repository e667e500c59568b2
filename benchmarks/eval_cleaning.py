"""Evaluate the whole cleaner (repair, rules, corpus boilerplate, reflow) on the seed and real corpora."""

from __future__ import annotations

import argparse
import difflib
import html
import json
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import ftfy

from benchmarks import figures
from benchmarks.eval_cleaning_repair import (
    CORRUPTIONS,
    FTFY_CATEGORIES,
    comparable,
    read_articles,
    report_ftfy_cases,
    typographic,
)
from pipeline.config import load_config
from transforms.core.boilerplate import distinct_line_keys, line_key, site_of, strip_repeated
from transforms.core.clean import PARAGRAPH_BREAK, CleanConfig, clean_text, compile_rules
from transforms.core.parse import split_title
from transforms.core.types import Article, Source

MARKER = re.compile(r"\[ad_\d+\]|source(?: link)?", re.IGNORECASE)
# The site boilerplate named in the issue, as it appears in wp-scraped-2016.
SITE_BOILERPLATE = re.compile(
    r"go back to top\. skip to: start of article\.?|original story reprinted with permission.*"
    r"|continue reading the main story|(?:sign up|subscribe) .*newsletter.*|share (?:this|on) .*",
    re.IGNORECASE,
)
REAL_PARAGRAPH_CHARS = 80
# Control characters but tab and line breaks: the cleaner removes every one, ftfy most.
CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


class Cleaner:
    """The pipeline's cleaning as one function over a corpus: CleanArticles, then StripCorpusBoilerplate."""

    def __init__(self, config: CleanConfig) -> None:
        self.config = config
        self.rules = compile_rules((rule.name, rule.pattern) for rule in config.rules)

    def clean(self, text: str) -> str:
        return clean_text(text, self.rules, fix_mojibake=self.config.fix_mojibake, reflow_lines=self.config.reflow).text

    def corpus(self, articles: list[tuple[str, str]]) -> dict[str, str]:
        cleaned = [_article(path, self.clean(text)) for path, text in articles]
        if not self.config.corpus_boilerplate.enabled:
            return {a.id: a.text for a in cleaned}
        counts = Counter(key for article in cleaned for key in distinct_line_keys(article))
        repeated = {key for key, n in counts.items() if n >= self.config.corpus_boilerplate.min_articles}
        return {article.id: strip_repeated(article, repeated)[0] for article in cleaned}


def _article(path: str, text: str) -> Article:
    return Article(id=path, source=Source(uri=path, path=path, format="txt", bytes=0), text=text)


def _paragraphs(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.split("\n") if line.strip()]


def report_seed(cleaner: Cleaner, seed: str, expected: str) -> dict[str, float]:
    got = cleaner.clean(Path(seed).read_text(encoding="utf-8")).split(PARAGRAPH_BREAK)
    want = _paragraphs(Path(expected).read_text(encoding="utf-8"))
    print(f"\n== Seed article: cleaned paragraphs equal to expected: {'yes' if got == want else 'no'}")
    if got != want:
        print("\n".join(difflib.unified_diff(want, got, "expected", "cleaned", lineterm="")))
    return {"cleaning.seed.equal": int(got == want)}


def report_bbc(cleaner: Cleaner, articles: list[tuple[str, str]]) -> dict[str, float]:
    bodies = [(path, split_title(text.replace("\r\n", "\n"), 200)[1]) for path, text in articles]
    started = time.perf_counter()
    cleaned = cleaner.corpus(bodies)
    changed = [path for path, body in bodies if cleaned[path].split(PARAGRAPH_BREAK) != _paragraphs(body)]
    unchanged = len(bodies) - len(changed)
    entities_only = sum(
        cleaned[path].split(PARAGRAPH_BREAK) == _paragraphs(html.unescape(body)) for path, body in bodies
    )
    print(f"\n== BBC: {len(bodies)} articles [{time.perf_counter() - started:.1f}s]")
    print(f"  paragraphs unchanged by cleaning: {unchanged}/{len(bodies)} ({unchanged / len(bodies):.2%})")
    print(
        f"  unchanged apart from decoded HTML character references (&#233; -> é): {entities_only}/{len(bodies)} "
        f"({entities_only / len(bodies):.2%})"
    )
    for path in changed[:5]:
        body = dict(bodies)[path]
        diff = [d for d in difflib.ndiff(_paragraphs(body), cleaned[path].split(PARAGRAPH_BREAK)) if d[0] in "+-"]
        print(f"    {path}: {diff[:2]}")
    return {
        "cleaning.bbc.unchanged": figures.share(unchanged, len(bodies)),
        "cleaning.bbc.unchanged_apart_from_character_references": figures.share(entities_only, len(bodies)),
    }


def report_wp(cleaner: Cleaner, articles: list[tuple[str, str]]) -> dict[str, float]:
    started = time.perf_counter()
    cleaned = cleaner.corpus(articles)
    print(f"\n== wp-scraped: {len(articles)} articles [{time.perf_counter() - started:.1f}s]")
    # Articles left empty are dead letters (`empty_after_cleaning`) in the pipeline, not records.
    lines = [(path, line) for path, text in cleaned.items() if text for line in text.split(PARAGRAPH_BREAK)]
    markers = [line for _, line in lines if MARKER.fullmatch(line)]
    site = [line for _, line in lines if SITE_BOILERPLATE.fullmatch(line)]
    least = cleaner.config.corpus_boilerplate.min_articles
    counts = Counter(key for path, text in cleaned.items() for key in distinct_line_keys(_article(path, text)))
    repeated = [line for path, line in lines if counts[line_key(site_of(_article(path, "")), line)] >= least]
    print(f"  marker lines left ([ad_N], Source, Source link): {len(markers)}")
    print(f"  named site-boilerplate lines left: {len(site)} {Counter(site).most_common(3)}")
    print(f"  lines left that repeat in >= {least} articles: {len(repeated)} {Counter(repeated).most_common(3)}")
    raw_counts = Counter(line for _, text in articles for line in set(_paragraphs(text)))
    real = [
        (path, line)
        for path, text in articles
        for line in _paragraphs(text)
        if len(line) >= REAL_PARAGRAPH_CHARS and raw_counts[line] == 1
    ]
    kept = sum(line in cleaned[path] for path, line in real)
    print(
        f"  real paragraphs kept (>= {REAL_PARAGRAPH_CHARS} chars, in one article only, found verbatim in the "
        f"output): {kept}/{len(real)} ({kept / len(real):.2%})"
    )
    return {
        "cleaning.wp.marker_lines_left": len(markers),
        "cleaning.wp.site_boilerplate_lines_left": len(site),
        "cleaning.wp.repeated_lines_left": len(repeated),
        "cleaning.wp.real_paragraphs_kept": figures.share(kept, len(real)),
    }


def report_round_trips(
    cleaner: Cleaner, name: str, articles: list[tuple[str, str]], quotes: bool
) -> dict[str, float]:
    originals = [(path, typographic(text) if quotes else text) for path, text in articles]
    print(f"\n== {name}: corrupted as the seed was, then cleaned; exact = same text as the clean original's")
    references = {path: cleaner.clean(text) for path, text in originals}
    found = {}
    key = name.split()[0].lower().removesuffix("-scraped")
    for corruption, corrupt in CORRUPTIONS.items():
        exact = sum(cleaner.clean(corrupt(text)) == references[path] for path, text in originals)
        print(f"  {corruption:<11} exact {exact}/{len(originals)} ({exact / len(originals):.2%})")
        found[f"cleaning.{key}.round_trip.{corruption.replace(' ', '_')}"] = figures.share(exact, len(originals))
    return found


def report_negative_cases(cleaner: Cleaner, folder: str) -> dict[str, float]:
    """ftfy's `negative` cases through the whole cleaner: ftfy's expected text, paragraphs joined by spaces."""
    cases = json.loads((Path(folder) / "negative.json").read_text(encoding="utf-8"))
    failed = []
    for case in cases:
        expected = " ".join(case.get("fixed-encoding", case["fixed"]).split())
        got = " ".join(cleaner.clean(case["original"]).split(PARAGRAPH_BREAK))
        if got != expected:
            failed.append((case["original"], got))
    print(f"\n== ftfy's negative cases through the cleaner: {len(cases) - len(failed)}/{len(cases)} as ftfy expects")
    for original, got in failed[:5]:
        print(f"    {original!r} -> {got!r}")
    return {"cleaning.ftfy.negative.cleaner": len(cases) - len(failed)}


def pipeline_key(text: str) -> str:
    """Text as the pipeline's output is compared: controls removed, `comparable`, whitespace runs as one space
    (records hold paragraphs separated by blank lines, spaces collapsed, and no control characters)."""
    return " ".join(comparable(CONTROLS.sub("", text)).split())


def report_ftfy_pipeline(folder: str) -> dict[str, float]:
    """ftfy's cases through `article-enrich run`, one JSON Lines line each (as a scraper writes them, characters
    unescaped): dead letters, and records whose text is ftfy's `fixed`, against plain `ftfy.fix_text`."""
    cases = {
        category: json.loads(path.read_text(encoding="utf-8"))
        for category in FTFY_CATEGORIES
        if (path := Path(folder) / f"{category}.json").exists()
    }
    with tempfile.TemporaryDirectory(prefix="eval-cleaning-") as tmp:
        corpus, output = Path(tmp) / "in", Path(tmp) / "out"
        corpus.mkdir()
        lines = [
            json.dumps({"id": f"{category}/{i}", "text": case["original"]}, ensure_ascii=False)
            for category, items in cases.items()
            for i, case in enumerate(items)
        ]
        (corpus / "ftfy-cases.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        command = [sys.executable, "-m", "pipeline", "run", "--input", str(corpus), "--output", str(output), "--quiet"]
        subprocess.run(command, check=True)
        records = {record["source"]["record_id"]: record for record in _shards(output, "enriched")}
        dead = _shards(output, "dead-letter")
    print("\n== ftfy's test cases through the pipeline (`article-enrich run` on one JSON Lines file, a case a line)")
    print("   equal to `fixed`: ~ as above; ≈ also without control characters, whitespace runs as one space")
    print(f"{'category':<16}{'cases':>6}{'dead':>6}{'pipeline~':>11}{'pipeline≈':>11}{'ftfy≈':>7}")
    found: dict[str, float] = {}
    for category, items in cases.items():
        texts = [records.get(f"{category}/{i}", {}).get("text") for i in range(len(items))]
        expected = [case["fixed"] for case in items]
        plain = [ftfy.fix_text(case["original"]) for case in items]
        strict = sum(t is not None and comparable(t) == comparable(e) for t, e in zip(texts, expected, strict=True))
        ours = sum(t is not None and pipeline_key(t) == pipeline_key(e) for t, e in zip(texts, expected, strict=True))
        theirs = sum(pipeline_key(t) == pipeline_key(e) for t, e in zip(plain, expected, strict=True))
        missing = sum(t is None for t in texts)
        print(f"{category:<16}{len(items):>6}{missing:>6}{strict:>11}{ours:>11}{theirs:>7}")
        found[f"cleaning.ftfy.{category}.pipeline"] = ours
        found[f"cleaning.ftfy.{category}.pipeline_minus_plain_ftfy"] = ours - theirs
        found[f"cleaning.ftfy.{category}.not_enriched"] = missing
    print(f"   dead letters: {Counter(record['reason'] for record in dead) or 'none'}")
    found["cleaning.ftfy.dead_letters"] = len(dead)
    return found


def _shards(folder: Path, prefix: str) -> list[dict]:
    return [json.loads(line) for shard in sorted(folder.glob(f"{prefix}-*.jsonl")) for line in shard.open()]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", help="a config file (default: the built-in configs/local.yaml values)")
    parser.add_argument("--seed", help="seed-article.txt")
    parser.add_argument("--expected", help="seed-article.expected-clean.txt")
    parser.add_argument("--ftfy-cases", help="folder of ftfy's test-case JSON files")
    parser.add_argument("--bbc", help="folder of BBC .txt articles (bbc-2225)")
    parser.add_argument("--wp", help="folder of wp-scraped .txt articles")
    parser.add_argument("--limit", type=int, help="at most this many articles per corpus")
    parser.add_argument("--stride", type=int, default=1, help="every STRIDE-th article of each corpus (sorted)")
    parser.add_argument(
        "--no-pipeline", action="store_true", help="skip ftfy's cases through `article-enrich run` (a few seconds)"
    )
    figures.add_argument(parser)
    args = parser.parse_args(argv)
    cleaner = Cleaner(load_config(args.config).clean)
    found: dict[str, float] = {}
    if args.seed and args.expected:
        found |= report_seed(cleaner, args.seed, args.expected)
    if args.ftfy_cases:
        report_ftfy_cases(args.ftfy_cases)
        found |= report_negative_cases(cleaner, args.ftfy_cases)
        if not args.no_pipeline:
            found |= report_ftfy_pipeline(args.ftfy_cases)
    if args.bbc:
        bbc = read_articles(args.bbc, args.limit, args.stride)
        found |= report_bbc(cleaner, bbc)
        found |= report_round_trips(cleaner, "BBC (quotes made typographic)", bbc, quotes=True)
    if args.wp:
        wp = read_articles(args.wp, args.limit, args.stride)
        found |= report_wp(cleaner, wp)
        found |= report_round_trips(cleaner, "wp-scraped", wp, quotes=False)
    figures.write(args.json, found)


if __name__ == "__main__":
    main()

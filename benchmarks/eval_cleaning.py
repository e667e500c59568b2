"""Evaluate the whole cleaner (repair, rules, corpus boilerplate, reflow) on the seed and real corpora."""

from __future__ import annotations

import argparse
import difflib
import html
import json
import re
import time
from collections import Counter
from pathlib import Path

from benchmarks.eval_cleaning_repair import CORRUPTIONS, read_articles, report_ftfy_cases, typographic
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


def report_seed(cleaner: Cleaner, seed: str, expected: str) -> None:
    got = cleaner.clean(Path(seed).read_text(encoding="utf-8")).split(PARAGRAPH_BREAK)
    want = _paragraphs(Path(expected).read_text(encoding="utf-8"))
    print(f"\n== Seed article: cleaned paragraphs equal to expected: {'yes' if got == want else 'no'}")
    if got != want:
        print("\n".join(difflib.unified_diff(want, got, "expected", "cleaned", lineterm="")))


def report_bbc(cleaner: Cleaner, articles: list[tuple[str, str]]) -> None:
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


def report_wp(cleaner: Cleaner, articles: list[tuple[str, str]]) -> None:
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


def report_round_trips(cleaner: Cleaner, name: str, articles: list[tuple[str, str]], quotes: bool) -> None:
    originals = [(path, typographic(text) if quotes else text) for path, text in articles]
    print(f"\n== {name}: corrupted as the seed was, then cleaned; exact = same text as the clean original's")
    references = {path: cleaner.clean(text) for path, text in originals}
    for corruption, corrupt in CORRUPTIONS.items():
        exact = sum(cleaner.clean(corrupt(text)) == references[path] for path, text in originals)
        print(f"  {corruption:<11} exact {exact}/{len(originals)} ({exact / len(originals):.2%})")


def report_negative_cases(cleaner: Cleaner, folder: str) -> None:
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", help="a config file (default: the built-in configs/local.yaml values)")
    parser.add_argument("--seed", help="seed-article.txt")
    parser.add_argument("--expected", help="seed-article.expected-clean.txt")
    parser.add_argument("--ftfy-cases", help="folder of ftfy's test-case JSON files")
    parser.add_argument("--bbc", help="folder of BBC .txt articles (bbc-2225)")
    parser.add_argument("--wp", help="folder of wp-scraped .txt articles")
    parser.add_argument("--limit", type=int, help="at most this many articles per corpus")
    args = parser.parse_args(argv)
    cleaner = Cleaner(load_config(args.config).clean)
    if args.seed and args.expected:
        report_seed(cleaner, args.seed, args.expected)
    if args.ftfy_cases:
        report_ftfy_cases(args.ftfy_cases)
        report_negative_cases(cleaner, args.ftfy_cases)
    if args.bbc:
        bbc = read_articles(args.bbc, args.limit)
        report_bbc(cleaner, bbc)
        report_round_trips(cleaner, "BBC (quotes made typographic)", bbc, quotes=True)
    if args.wp:
        wp = read_articles(args.wp, args.limit)
        report_wp(cleaner, wp)
        report_round_trips(cleaner, "wp-scraped", wp, quotes=False)


if __name__ == "__main__":
    main()

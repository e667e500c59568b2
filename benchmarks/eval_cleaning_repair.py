"""Measure the cleaner's text repairs: the seed article, ftfy's test cases, mojibake round trips, reflow."""

from __future__ import annotations

import argparse
import difflib
import html
import json
import re
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path

import ftfy
from ftfy.fixes import fix_line_breaks, uncurl_quotes

from benchmarks import figures
from transforms.core.mojibake import FTFY_CONFIG, fix_mojibake
from transforms.core.reflow import reflow

MARKERS = {"[ad_1]", "[ad_2]", "Source link"}
FTFY_CATEGORIES = ("in-the-wild", "synthetic", "negative", "language-names", "known-failures")
SHOWN_FAILURES = 5
SAMPLE_CHARS = 700


def lose_bytes(text: str) -> str:
    """UTF-8 read as Windows-1252 by a decoder that drops the five bytes Windows-1252 leaves undefined."""
    return text.encode("utf-8", "surrogatepass").decode("cp1252", errors="ignore")


def lose_bytes_twice(text: str) -> str:
    """The seed's lossy round trip done twice: `—` becomes `Ã¢â‚¬â€` (the inner `”` lost its 0x9D)."""
    return lose_bytes(lose_bytes(text))


def html_entities(text: str) -> str:
    """Text served as HTML-escaped ASCII: `&amp;`, `&lt;`, and `&#233;` for every non-ASCII character."""
    return html.escape(text, quote=False).encode("ascii", "xmlcharrefreplace").decode("ascii")


def half_fixed(text: str) -> str:
    """The seed's history: lost bytes, then ftfy, which fixes what it can and makes `†` of `” `."""
    return ftfy.fix_text(lose_bytes(text), uncurl_quotes=False)


def line_by_line(text: str) -> str:
    """Every other line half-fixed, the rest left as raw mojibake."""
    lines = lose_bytes(text).split("\n")
    return "\n".join(
        ftfy.fix_text(line, uncurl_quotes=False) if i % 2 else line for i, line in enumerate(lines)
    )


CORRUPTIONS: dict[str, Callable[[str], str]] = {
    "raw": lose_bytes,
    "raw twice": lose_bytes_twice,
    "half-fixed": half_fixed,
    "mixed": line_by_line,
    "entities": html_entities,
}


def typographic(text: str) -> str:
    """Straight double quotes become “…” pairs within each line, apostrophes become ’."""
    lines = []
    for line in text.split("\n"):
        parts = line.split('"')
        lines.append("".join(part + "“”"[i % 2] for i, part in enumerate(parts[:-1])) + parts[-1])
    return "\n".join(lines).replace("'", "’")


def paragraphs(text: str) -> list[str]:
    return [line.strip() for line in text.split("\n") if line.strip() and line.strip() not in MARKERS]


def first_difference(expected: str, got: str) -> str:
    matcher = difflib.SequenceMatcher(None, expected, got, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op != "equal":
            return f"{expected[max(0, i1 - 30) : i2 + 20]!r} -> {got[j1:j2]!r}"
    return ""


def read_articles(folder: str, limit: int | None, stride: int = 1) -> list[tuple[str, str]]:
    """(path, text) of every `stride`-th `.txt` file of `folder` (sorted), at most `limit` of them."""
    articles = []
    for path in sorted(Path(folder).rglob("*.txt"))[::stride][:limit]:
        data = path.read_bytes()
        try:
            articles.append((str(path.relative_to(folder)), data.decode("utf-8")))
        except UnicodeDecodeError:
            articles.append((str(path.relative_to(folder)), data.decode("cp1252")))
    return articles


def report_seed(seed_path: str, expected_path: str) -> dict[str, float]:
    got = paragraphs(fix_mojibake(Path(seed_path).read_text(encoding="utf-8"))[0])
    expected = paragraphs(Path(expected_path).read_text(encoding="utf-8"))
    print(f"\n== Seed article\nparagraphs equal: {'yes' if got == expected else 'no'}", end=" ")
    print(f"({len(got)} paragraphs, {len(expected)} expected)")
    if got != expected:
        print("\n".join(difflib.unified_diff(expected, got, "expected", "fix_mojibake", lineterm="")))
    return {"repair.seed.equal": int(got == expected)}


def comparable(text: str) -> str:
    # fix_mojibake keeps the curly quotes, line breaks and normalisation form that ftfy's defaults change.
    return unicodedata.normalize("NFC", fix_line_breaks(uncurl_quotes(text)))


def report_ftfy_cases(folder: str) -> dict[str, float]:
    print("\n== ftfy's test cases: outputs equal to `fixed` (~: once both have straight quotes, \\n, NFC)")
    print(f"{'category':<16}{'cases':>6}{'ftfy':>7}{'ftfy~':>7}{'fix_mojibake~':>15}{'unchanged':>11}")
    found: dict[str, float] = {}
    for category in FTFY_CATEGORIES:
        path = Path(folder) / f"{category}.json"
        if not path.exists():
            continue
        cases = json.loads(path.read_text(encoding="utf-8"))
        originals = [case["original"] for case in cases]
        expected = [case["fixed"] for case in cases]
        plain = [ftfy.fix_text(text) for text in originals]
        ours = [fix_mojibake(text)[0] for text in originals]
        print(
            f"{category:<16}{len(cases):>6}{_equal(plain, expected):>7}"
            f"{_equal(plain, expected, comparable):>7}{_equal(ours, expected, comparable):>15}"
            f"{_equal(ours, originals):>11}"
        )
        found[f"repair.ftfy.{category}.fix_mojibake"] = _equal(ours, expected, comparable)
        found[f"repair.ftfy.{category}.plain_ftfy"] = _equal(plain, expected, comparable)
    return found


def _equal(got: list[str], expected: list[str], key: Callable[[str], str] = str) -> int:
    return sum(key(a) == key(b) for a, b in zip(got, expected, strict=True))


def report_corpus(name: str, articles: list[tuple[str, str]], synthesise_quotes: bool) -> dict[str, float]:
    print(f"\n== {name}: {len(articles)} articles")
    changed = [(path, text, fixed) for path, text in articles if (fixed := fix_mojibake(text)[0]) != text]
    _share("unchanged by fix_mojibake", len(articles) - len(changed), len(articles))
    for path, text, fixed in changed[:SHOWN_FAILURES]:
        print(f"    {path}: {first_difference(text, fixed)}")
    reflowed = [(path, joins) for path, text in articles if (joins := reflow(text)[1])]
    _share("unchanged by reflow", len(articles) - len(reflowed), len(articles))
    for path, joins in reflowed[:SHOWN_FAILURES]:
        print(f"    {path}: {joins} lines joined")
    skipped = {path for path, _, _ in changed}
    originals = [(path, typographic(text) if synthesise_quotes else text) for path, text in articles]
    print(
        f"  round trips of the {len(articles) - len(skipped)} articles fix_mojibake leaves unchanged"
        + (", with typographic quotes:" if synthesise_quotes else ":")
    )
    key = name.split()[0].lower()
    found = {
        f"repair.{key}.unchanged_by_fix_mojibake": figures.share(len(articles) - len(changed), len(articles)),
        f"repair.{key}.unchanged_by_reflow": figures.share(len(articles) - len(reflowed), len(articles)),
    }
    for corruption, corrupt in CORRUPTIONS.items():
        exact = report_round_trip(corruption, corrupt, [item for item in originals if item[0] not in skipped])
        found[f"repair.{key}.round_trip.{corruption.replace(' ', '_')}"] = exact
    return found


def report_round_trip(name: str, corrupt: Callable[[str], str], originals: list[tuple[str, str]]) -> float:
    """The share of `originals` that `fix_mojibake` gives back exactly after `corrupt`."""
    started = time.perf_counter()
    corrupted = [(path, text, corrupt(text)) for path, text in originals]
    failures = [(path, text, out) for path, text, bad in corrupted if (out := fix_mojibake(bad)[0]) != text]
    by_ftfy = sum(ftfy.fix_text(bad, FTFY_CONFIG) == text for _, text, bad in corrupted)
    touched = sum(bad != text for _, text, bad in corrupted)
    exact = len(corrupted) - len(failures)
    print(
        f"  {name:<11} exact {exact}/{len(corrupted)} ({exact / max(len(corrupted), 1):.2%}); "
        f"ftfy alone {by_ftfy}; corrupted {touched} [{time.perf_counter() - started:.1f}s]"
    )
    for path, text, out in failures[:SHOWN_FAILURES]:
        print(f"    {path}: {first_difference(text, out)}")
    return figures.share(exact, len(corrupted))


def _share(what: str, count: int, total: int) -> None:
    print(f"  {what}: {count}/{total} ({count / max(total, 1):.2%})")


def report_reuters(articles: list[tuple[str, str]], samples: int = 2) -> dict[str, float]:
    started = time.perf_counter()
    results = [(path, text, *reflow(text)) for path, text in articles]
    joined = [item for item in results if item[3]]
    lines = sum(text.count("\n") + 1 for _, text, _, _ in results)
    stable = sum(reflow(out)[0] == out for _, _, out, _ in results)
    print(f"\n== Reuters: {len(articles)} articles, {lines} lines [{time.perf_counter() - started:.1f}s]")
    print(f"  lines joined: {sum(item[3] for item in results)}, in {len(joined)} articles")
    _share("idempotent", stable, len(results))
    for path, text, out, joins in joined[:samples]:
        print(
            f"--- {path}, {joins} joins; before:\n{text[:SAMPLE_CHARS]}…\n--- after:\n{out[:SAMPLE_CHARS]}…"
        )
    for path, text, out, _ in joined:
        if hyphen := re.search(r"[^\n]*\w-\n\w+", text):
            word = re.sub(r"-\n", "-", hyphen.group().split()[-1])
            print(f"--- {path}, a hyphen at a line end; before:\n{hyphen.group()}\n--- after:")
            print(next(line for line in out.split("\n") if word in line))
            break
    return {"repair.reuters.reflow_idempotent": figures.share(stable, len(results))}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", help="seed-article.txt")
    parser.add_argument("--expected", help="seed-article.expected-clean.txt")
    parser.add_argument("--ftfy-cases", help="folder of ftfy's test-case JSON files")
    parser.add_argument("--bbc", help="folder of BBC .txt articles")
    parser.add_argument("--wp", help="folder of wp-scraped .txt articles")
    parser.add_argument("--reuters", help="folder of Reuters-21578 .txt articles")
    parser.add_argument("--limit", type=int, help="at most this many articles per corpus")
    parser.add_argument("--stride", type=int, default=1, help="every STRIDE-th article of each corpus (sorted)")
    figures.add_argument(parser)
    args = parser.parse_args(argv)
    found: dict[str, float] = {}
    if args.seed and args.expected:
        found |= report_seed(args.seed, args.expected)
    if args.ftfy_cases:
        found |= report_ftfy_cases(args.ftfy_cases)
    if args.bbc:
        found |= report_corpus("BBC", read_articles(args.bbc, args.limit, args.stride), synthesise_quotes=True)
    if args.wp:
        wp = read_articles(args.wp, args.limit, args.stride)
        found |= report_corpus("wp-scraped", wp, synthesise_quotes=False)
    if args.reuters:
        found |= report_reuters(read_articles(args.reuters, args.limit, args.stride))
    figures.write(args.json, found)


if __name__ == "__main__":
    main()

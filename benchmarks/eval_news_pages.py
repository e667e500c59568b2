"""News pages with ground truth: exact titles, dates and authors, and body F1, of the pipeline's records."""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import re
import subprocess
import sys
import tempfile
import time
import unicodedata
from pathlib import Path
from types import ModuleType

from benchmarks import figures
from benchmarks.eval_extraction import run_cli, score
from transforms.core import html as current_html
from transforms.core.html import decode_page

_AUTHOR_SEPARATORS = re.compile(r"\s*(?:[,;&]|\band\b)\s*", re.IGNORECASE)


def exact(text: str | None) -> str:
    """A title as compared: Unicode NFC, runs of whitespace as one space, ends stripped; case and quotes kept."""
    return " ".join(unicodedata.normalize("NFC", text or "").split())


def author_names(authors: str | list[str]) -> frozenset[str]:
    """A set of names, case and spacing aside; "A, B and C" and ["A", "B; C"] split alike."""
    joined = authors if isinstance(authors, str) else ";".join(authors)
    names = (" ".join(name.split()).casefold() for name in _AUTHOR_SEPARATORS.split(joined))
    return frozenset(name for name in names if name)


def load_pages(folder: Path) -> dict[str, str]:
    """Each page decoded the way the pipeline decodes it (charset from the page)."""
    return {
        path.name.removesuffix(".html.gz"): decode_page(gzip.decompress(path.read_bytes()))[0]
        for path in sorted((folder / "html").glob("*.html.gz"))
    }


def plain_trafilatura(pages: dict[str, str]) -> dict[str, dict]:
    """bare_extraction(page, with_metadata=True, favor_precision=True) of every page: title, date, authors, text."""
    import trafilatura

    results = {}
    for key, page in pages.items():
        document = trafilatura.bare_extraction(page, with_metadata=True, favor_precision=True)
        results[key] = {
            "title": document.title if document else None,
            "date": document.date if document else None,
            "authors": (document.author or "").split(";") if document else [],
            "text": (document.text or "") if document else "",
        }
    return results


def accuracy(truth: dict, records: dict[str, dict]) -> tuple[dict[str, float], dict[str, list[str]]]:
    """(shares of exact titles, dates and author sets, and the keys of the titles that differ)."""
    titles = [key for key, page in truth.items() if exact(records.get(key, {}).get("title")) == exact(page["title"])]
    dates = [key for key, page in truth.items() if (records.get(key, {}).get("date") or "")[:10] == page["date"]]
    authors = [
        key
        for key, page in truth.items()
        if author_names(records.get(key, {}).get("authors") or []) == author_names(page["authors"])
    ]
    named = [key for key, page in truth.items() if author_names(page["authors"])]
    share = len(truth)
    figures = {
        "title_exact": round(len(titles) / share, 4),
        "date_exact": round(len(dates) / share, 4),
        "authors_exact": round(len(authors) / share, 4),
        "authors_exact_named": round(len(set(authors) & set(named)) / len(named), 4),
    }
    return figures, {"title": sorted(set(truth) - set(titles))}


def module_at(ref: str, path: str, workdir: Path) -> ModuleType:
    """The module `path` as it was at git commit `ref`, loaded under a private name."""
    source = subprocess.run(["git", "show", f"{ref}:{path}"], capture_output=True, text=True, check=True).stdout
    target = workdir / f"at_{ref[:12]}_{Path(path).name}"
    target.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(target.stem, target)
    module = importlib.util.module_from_spec(spec)
    sys.modules[target.stem] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def cost_ratio(ref: str, pages: dict[str, str], workdir: Path, rounds: int) -> dict[str, float]:
    """Seconds of `html.extract` over all pages, here and at `ref`, in this process: best of `rounds`.

    The two versions alternate page by page (in turn first), so a change in the machine's load falls on both.
    """
    base = module_at(ref, "transforms/core/html.py", workdir)
    totals: dict[ModuleType, list[float]] = {current_html: [], base: []}
    for round_ in range(rounds + 1):  # the first round warms both up (caches, lazy imports) and is not counted
        seconds = dict.fromkeys(totals, 0.0)
        for index, page in enumerate(pages.values()):
            for module in (current_html, base) if (index + round_) % 2 == 0 else (base, current_html):
                started = time.perf_counter()
                module.extract(page, None, favor_precision=True)
                seconds[module] += time.perf_counter() - started
        if round_:
            for module, total in seconds.items():
                totals[module].append(total)
    best, base_best = min(totals[current_html]), min(totals[base])
    return {"seconds": round(best, 2), "base_seconds": round(base_best, 2), "ratio": round(best / base_best, 3)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=Path, required=True, help="news-pages folder (html/*.html.gz, truth.json)")
    parser.add_argument("--scorer", type=Path, required=True, help="folder of the boilerplate benchmark's evaluate.py")
    parser.add_argument("--workdir", type=Path, default=None, help="where the CLI writes (default: a temporary one)")
    parser.add_argument("--against", default=None, help="a git commit: also time html.extract against its version")
    parser.add_argument("--rounds", type=int, default=3, help="timing rounds for --against")
    parser.add_argument("--misses", action="store_true", help="print each title that differs from the truth")
    figures.add_argument(parser)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(args.scorer))
    import evaluate as scorer

    truth = json.loads((args.pages / "truth.json").read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as temporary:
        workdir = args.workdir or Path(temporary)
        code, _, _, enriched, dead = run_cli(args.pages / "html", workdir / "out-news-pages")
        records = {Path(record["source"]["path"]).name.removesuffix(".html.gz"): record for record in enriched}
        pages = load_pages(args.pages)
        plain = plain_trafilatura(pages)
        cost = cost_ratio(args.against, pages, workdir, args.rounds) if args.against else None

    pipeline, misses = accuracy(truth, records)
    baseline, _ = accuracy(truth, plain)
    pipeline["body_f1"] = round(score(scorer, truth, {k: r["text"] for k, r in records.items()})["f1"], 4)
    baseline["body_f1"] = round(score(scorer, truth, {k: r["text"] for k, r in plain.items()})["f1"], 4)
    print(f"== {len(truth)} news pages: exit {code}, {len(records)} records, {len(dead)} dead letters")
    print(f"   {'':<38} {'title':>7} {'date':>7} {'authors':>8} {'(named)':>8} {'body F1':>8}")
    for name, result in (("pipeline records", pipeline), ("trafilatura favor_precision", baseline)):
        print(
            f"   {name:<38} {result['title_exact']:>7.1%} {result['date_exact']:>7.1%} "
            f"{result['authors_exact']:>8.1%} {result['authors_exact_named']:>8.1%} {result['body_f1']:>8.3f}"
        )
    if cost:
        print(
            f"== html.extract on {len(pages)} pages, alternating page by page, best of {args.rounds} rounds: "
            f"{cost['seconds']} s, at {args.against}: {cost['base_seconds']} s, ratio {cost['ratio']:.3f}"
        )
    if args.misses:
        for key in misses["title"]:
            print(
                f"{key[:8]} {truth[key]['site']}\n   truth:  {truth[key]['title']!r}\n   record: "
                f"{records.get(key, {}).get('title')!r}"
            )
    found = {"news_pages.enriched": len(records), "news_pages.dead_letters": len(dead), "news_pages.exit": code}
    for source, result in (("pipeline", pipeline), ("trafilatura", baseline)):
        found |= {f"news_pages.{source}.{key}": value for key, value in result.items()}
    figures.write(args.json, found)
    return 0


if __name__ == "__main__":
    sys.exit(main())

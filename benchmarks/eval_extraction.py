"""Web-page extraction: body P/R/F1 of the pipeline's records against plain trafilatura, encodings, WARC, speed."""

from __future__ import annotations

import argparse
import gzip
import html as html_lib
import io
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from benchmarks import figures
from transforms.core.html import Page, decode_page, page_article, page_text
from transforms.core.page_worker import PageWorker
from transforms.core.types import Source

_META_CHARSET = re.compile(
    rb"<meta[^>]+charset\s*=[^>]*>|<meta[^>]+http-equiv\s*=\s*[\"']?content-type[^>]*>", re.IGNORECASE
)
_MOJIBAKE = re.compile("[ÃÂâ][\x80-\xbf€™œ“”˜]|\ufffd")


def load_pages(benchmark: Path) -> dict[str, str]:
    """Each page of the benchmark decoded the way the pipeline decodes it (charset from the page)."""
    pages = {}
    for path in sorted((benchmark / "html").glob("*.html.gz")):
        pages[path.name.removesuffix(".html.gz")] = decode_page(gzip.decompress(path.read_bytes()))[0]
    return pages


def cp1252_bytes(page: str, meta: bool) -> bytes:
    """The page re-encoded to Windows-1252: declared in a <meta charset> only, or not at all (HTTP header)."""
    data = _META_CHARSET.sub(b"", page.encode("utf-8"))
    text = data.decode("utf-8").encode("cp1252", errors="xmlcharrefreplace")
    if meta:
        text = re.sub(rb"(<head[^>]*>)", rb'\1<meta charset="windows-1252">', text, count=1, flags=re.IGNORECASE)
    return text


def build(workdir: Path, pages: dict[str, str], urls: dict[str, str]) -> dict[str, Path]:
    """Three corpora of the same pages: UTF-8 HTML files, cp1252 HTML files, one WARC (half cp1252)."""
    shutil.rmtree(workdir, ignore_errors=True)
    folders = {name: workdir / name for name in ("html", "cp1252", "warc")}
    for folder in folders.values():
        folder.mkdir(parents=True)
    for key, page in pages.items():
        (folders["html"] / f"{key}.html").write_text(page, encoding="utf-8")
        (folders["cp1252"] / f"{key}.html").write_bytes(cp1252_bytes(page, meta=True))
    with open(folders["warc"] / "pages.warc.gz", "wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        for index, (key, page) in enumerate(pages.items()):
            legacy = index % 2 == 1
            body = cp1252_bytes(page, meta=False) if legacy else page.encode("utf-8")
            charset = "windows-1252" if legacy else "utf-8"
            request = StatusAndHeaders("GET / HTTP/1.1", [("Host", "example.org")], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(urls[key], "request", http_headers=request))
            headers = StatusAndHeaders("200 OK", [("Content-Type", f"text/html; charset={charset}")], "HTTP/1.1")
            record = writer.create_warc_record(urls[key], "response", payload=io.BytesIO(body), http_headers=headers)
            writer.write_record(record)
    return folders


def run_cli(corpus: Path, output: Path, model: str | None = None) -> tuple[int, float, dict, list[dict], list[dict]]:
    """(exit code, wall seconds, summary, enriched records, dead letters) of one CLI run (`model`: the config's)."""
    shutil.rmtree(output, ignore_errors=True)
    started = time.perf_counter()
    command = [sys.executable, "-m", "pipeline", "run", "--input", str(corpus), "--output", str(output)]
    command += ["--model", model] if model else []
    code = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False).returncode
    wall = time.perf_counter() - started
    summary_path = output / "run-summary.json"
    summary = json.loads(summary_path.read_text(encoding="utf-8")) if summary_path.exists() else {}
    return code, wall, summary, _records(output, "enriched"), _records(output, "dead-letter")


def _records(folder: Path, prefix: str) -> list[dict]:
    return [json.loads(line) for shard in sorted(folder.glob(f"{prefix}-*.jsonl")) for line in shard.open()]


def score(scorer, truth: dict, bodies: dict[str, str]) -> dict:
    prediction = {key: {"articleBody": bodies.get(key, "")} for key in truth}
    return scorer.evaluate(truth, prediction, n_bootstrap=200)


def plain_trafilatura(pages: dict[str, str], **options) -> tuple[dict[str, str], float]:
    """trafilatura.bare_extraction with metadata on every page in this process: (bodies, seconds)."""
    import trafilatura

    bodies, started = {}, time.perf_counter()
    for key, page in pages.items():
        document = trafilatura.bare_extraction(page, with_metadata=True, **options)
        bodies[key] = document.text if document is not None and document.text else ""
    return bodies, time.perf_counter() - started


def blank_model(workdir: Path) -> str:
    """A blank English spaCy pipeline saved in `workdir`: the runs' texts, titles and dates without NER's cost."""
    import spacy

    path = workdir / "blank_en"
    spacy.blank("en").to_disk(path)
    return str(path)


def pipeline_extraction_seconds(pages: dict[str, str]) -> float:
    """The pipeline's own extraction path (decode, child process, article) on every page, on one core."""
    worker = PageWorker(timeout_s=60, reset_every=1000, memory_mb=0)
    worker.extract("<html><body><p>warm up</p></body></html>", None, True)
    started = time.perf_counter()
    for key, page in pages.items():
        source = Source(uri=key, path=key, format="html", bytes=0)
        item = Page(key, source, page.encode("utf-8"))
        text, encoding = page_text(item)
        extracted = worker.extract(text, None, True)
        if extracted is not None:
            page_article(item, extracted, encoding)
    seconds = time.perf_counter() - started
    worker.close()
    return seconds


def plain_cp1252_broken(pages: dict[str, str], meta: bool) -> int:
    """How many cp1252 pages plain trafilatura, given their bytes, turns into text with U+FFFD or mojibake.

    `meta`: the charset is declared in a <meta charset>; else it is not in the page (as in a WARC whose HTTP
    header names it, which trafilatura never sees).
    """
    import trafilatura

    broken = 0
    for page in pages.values():
        text = trafilatura.extract(cp1252_bytes(page, meta=meta), favor_precision=True) or ""
        broken += bool(_MOJIBAKE.search(text))
    return broken


def declared_metadata(page: str) -> tuple[str | None, str | None]:
    """(title, date) the page states for itself: og:title/JSON-LD headline, published_time/datePublished."""
    title = _first(
        page,
        r'<meta[^>]+property=["\']og:title["\'][^>]+content="([^"]+)"',
        r"<meta[^>]+property=[\"']og:title[\"'][^>]+content='([^']+)'",
        r'"headline"\s*:\s*"((?:[^"\\]|\\.)+)"',
    )
    date = _first(
        page,
        r'<meta[^>]+(?:property|name|itemprop)=["\'](?:article:published_time|datePublished|pubdate|publishdate'
        r'|date|dc\.date|sailthru\.date|parsely-pub-date)["\'][^>]+content=["\'](\d{4}-\d\d-\d\d)',
        r'"datePublished"\s*:\s*"(\d{4}-\d\d-\d\d)',
    )
    return (html_lib.unescape(title) if title else None), date


def _h1s(page: str) -> list[str]:
    from lxml import html as lxml_html

    tree = lxml_html.fromstring(page.encode("utf-8"), parser=lxml_html.HTMLParser(encoding="utf-8"))
    return [text for h1 in tree.xpath("//h1") if (text := h1.text_content()).strip()]


def _first(page: str, *patterns: str) -> str | None:
    for pattern in patterns:
        match = re.search(pattern, page, re.IGNORECASE)
        if match:
            return match.group(1)
    return None


def _norm(text: str | None) -> str:
    return " ".join((text or "").split()).casefold()


def report_news_pages(scorer, folder: Path, workdir: Path, model: str | None) -> dict[str, float]:
    """The news-pages dev set (its own `truth.json`, the benchmark's scorer) as UTF-8 `.html` files through the
    CLI, against plain trafilatura on the same decoded pages."""
    truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
    pages = load_pages(folder)
    corpus = workdir / "news-pages"
    shutil.rmtree(corpus, ignore_errors=True)
    corpus.mkdir(parents=True)
    for key, page in pages.items():
        (corpus / f"{key}.html").write_text(page, encoding="utf-8")
    code, wall, summary, records, dead = run_cli(corpus, workdir / "out-news-pages", model)
    by_key = {Path(r["source"]["path"]).stem: r for r in records}
    ours = score(scorer, truth, {key: r["text"] for key, r in by_key.items()})
    plain = score(scorer, truth, plain_trafilatura(pages, favor_precision=True)[0])
    counts = summary.get("counts", {})
    print(f"== news-pages ({folder}): exit {code}, {counts.get('inputs')} inputs = ", end="")
    print(f"{counts.get('enriched')} enriched + {counts.get('dead_letter')} dead letters, wall {wall:.1f} s")
    print(f"   body, {len(truth)} pages: pipeline F1 {ours['f1']:.3f}  P {ours['precision']:.3f}  ", end="")
    print(f"R {ours['recall']:.3f}; plain trafilatura favor_precision F1 {plain['f1']:.3f}")
    return {
        "extraction.news_pages.body_f1": round(ours["f1"], 4),
        "extraction.news_pages.body_f1_minus_trafilatura": round(ours["f1"] - plain["f1"], 4),
        "extraction.news_pages.dead_letters": len(dead),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--benchmark", type=Path, required=True, help="article_extraction_benchmark folder")
    parser.add_argument("--warc", type=Path, help="folder of sample WARC/WET files")
    parser.add_argument("--news-pages", type=Path, help="the news-pages dev set (html/*.html.gz, truth.json)")
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--no-speed", action="store_true", help="skip the speed rounds (quality figures only)")
    parser.add_argument(
        "--no-ner",
        action="store_true",
        help="runs tag with a blank English pipeline: no entities, ~40%% less time, the same extraction figures",
    )
    figures.add_argument(parser)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(args.benchmark))
    import evaluate as scorer

    found: dict[str, float] = {}

    truth = json.loads((args.benchmark / "ground-truth.json").read_text(encoding="utf-8"))
    pages = load_pages(args.benchmark)
    urls = {key: truth[key]["url"] for key in pages}
    folders = build(args.workdir, pages, urls)
    model = blank_model(args.workdir) if args.no_ner else None
    runs = {name: run_cli(folder, args.workdir / f"out-{name}", model) for name, folder in folders.items()}
    by_key = {
        name: {Path(r["source"]["path"]).stem if name != "warc" else _warc_key(r, urls): r for r in run[3]}
        for name, run in runs.items()
    }

    print(f"== body, {len(truth)} pages (benchmark scorer: 4-gram shingles)")
    results = {"pipeline (UTF-8 HTML files)": {k: r["text"] for k, r in by_key["html"].items()}}
    favor, favor_s = plain_trafilatura(pages, favor_precision=True)
    default, default_s = plain_trafilatura(pages)
    results["trafilatura favor_precision"] = favor
    results["trafilatura default"] = default
    f1s = {}
    for name, bodies in results.items():
        metrics = score(scorer, truth, bodies)
        f1s[name] = metrics["f1"]
        print(f"   {name:<30} F1 {metrics['f1']:.3f}  P {metrics['precision']:.3f}  R {metrics['recall']:.3f}")
    found["extraction.benchmark.body_f1"] = round(f1s["pipeline (UTF-8 HTML files)"], 4)
    found["extraction.benchmark.body_f1_minus_trafilatura"] = round(
        f1s["pipeline (UTF-8 HTML files)"] - f1s["trafilatura favor_precision"], 4
    )

    titles = h1_titles = dates = title_refs = h1_refs = date_refs = 0
    for key, page in pages.items():
        title, date = declared_metadata(page)
        headlines = [_norm(h1) for h1 in _h1s(page)]
        record = by_key["html"].get(key, {})
        if title or headlines:
            title_refs += 1
            titles += _norm(record.get("title")) in {_norm(title), *headlines}
        if headlines:
            h1_refs += 1
            h1_titles += _norm(record.get("title")) in headlines
        if date:
            date_refs += 1
            dates += (record.get("date") or "")[:10] == date
    print("== metadata (no ground truth here: compared with what each page declares)")
    print(f"   title equals the page's <h1>, og:title or JSON-LD headline: {titles}/{title_refs}; its <h1>: ", end="")
    print(f"{h1_titles}/{h1_refs}; date equals the declared publication date: {dates}/{date_refs}")
    found["extraction.benchmark.title_as_declared"] = figures.share(titles, title_refs)
    found["extraction.benchmark.title_as_h1"] = figures.share(h1_titles, h1_refs)
    found["extraction.benchmark.date_as_declared"] = figures.share(dates, date_refs)

    legacy = by_key["cp1252"]
    same = sum(legacy.get(k, {}).get("text") == r["text"] for k, r in by_key["html"].items())
    broken = sum(bool(_MOJIBAKE.search(r["text"] + (r["title"] or ""))) for r in legacy.values())
    broken_utf8 = sum(bool(_MOJIBAKE.search(r["text"] + (r["title"] or ""))) for r in by_key["html"].values())
    print(f"== cp1252 copies (<meta charset> only): {len(legacy)} records, text identical to the UTF-8 page's ", end="")
    print(f"record: {same}/{len(by_key['html'])}; with U+FFFD or mojibake: {broken} (UTF-8 originals: {broken_utf8})")
    found["extraction.cp1252.same_text_as_utf8"] = figures.share(same, len(by_key["html"]))
    found["extraction.cp1252.records_with_mojibake"] = broken

    with_meta, without = plain_cp1252_broken(pages, meta=True), plain_cp1252_broken(pages, meta=False)
    print(f"   plain trafilatura.extract given cp1252 bytes: {with_meta} pages with U+FFFD or mojibake when ", end="")
    print(f"<meta charset> declares it, {without} when only an HTTP header would")

    code, _, summary, warc_records, warc_dead = runs["warc"]
    same = sum(by_key["warc"].get(k, {}).get("text") == r["text"] for k, r in by_key["html"].items())
    located = sum(
        bool(r["source"].get("warc_record_id")) and r["url"] == urls[_warc_key(r, urls)] for r in warc_records
    )
    print(
        f"== the same pages in one WARC (half cp1252 in the HTTP header only, with request records): exit {code}, ",
        end="",
    )
    print(
        f"{len(warc_records)} records + {len(warc_dead)} dead letters for {len(pages)} responses; text identical ",
        end="",
    )
    print(
        f"to the HTML file's record: {same}/{len(by_key['html'])}; url = WARC-Target-URI and warc_record_id set: ",
        end="",
    )
    print(f"{located}; skipped {summary.get('skipped_records')}")
    found["extraction.warc.same_text_as_html"] = figures.share(same, len(by_key["html"]))
    found["extraction.warc.located"] = figures.share(located, len(pages))
    found["extraction.warc.dead_letters"] = len(warc_dead)
    for name, run in runs.items():
        counts = run[2].get("counts", {})
        print(
            f"   run {name}: exit {run[0]}, {counts.get('inputs')} inputs = {counts.get('enriched')} enriched + ",
            end="",
        )
        print(f"{counts.get('dead_letter')} dead letters, wall {run[1]:.1f} s")

    if args.news_pages:
        found |= report_news_pages(scorer, args.news_pages, args.workdir, model)
    if not args.no_speed:
        report_speed(pages, favor_s, default_s)
    if args.warc:
        found |= report_warc_samples(args.warc, args.workdir, model)
    figures.write(args.json, found)
    return 0


def report_speed(pages: dict[str, str], favor_s: float, default_s: float) -> None:
    print("== speed, one core, same pages, best of 3 interleaved rounds")
    plain_s, ours_s = [favor_s], []
    for _ in range(3):
        ours_s.append(pipeline_extraction_seconds(pages))
        plain_s.append(plain_trafilatura(pages, favor_precision=True)[1])
    favor_s, ours = min(plain_s), min(ours_s)
    print(f"   plain bare_extraction(with_metadata, favor_precision): {len(pages) / favor_s:.1f} pages/s")
    print(f"   plain bare_extraction(with_metadata):                  {len(pages) / default_s:.1f} pages/s (one round)")
    print(f"   pipeline extraction (decode + child process):          {len(pages) / ours:.1f} pages/s ", end="")
    print(f"({favor_s / ours:.2f}x plain favor_precision)")


def report_warc_samples(folder: Path, workdir: Path, model: str | None) -> dict[str, float]:
    code, _, summary, records, dead = run_cli(folder, workdir / "out-samples", model)
    counts = summary.get("counts", {})
    print(f"== {folder}: exit {code}, {counts.get('inputs')} inputs = {counts.get('enriched')} enriched + ", end="")
    print(f"{counts.get('dead_letter')} dead letters (invariant {summary.get('invariant_ok')}), ", end="")
    print(f"skipped {summary.get('skipped_records')}")
    for path in sorted(p.name for p in folder.iterdir()):
        mine = [r for r in records if r["source"]["path"] == path]
        reasons = sorted(r["reason"] for r in dead if r["source"]["path"] == path)
        print(f"   {path}: {len(mine)} articles, dead letters {reasons}")
    return {
        "extraction.warc_samples.enriched": len(records),
        "extraction.warc_samples.dead_letters": len(dead),
        "extraction.warc_samples.invariant_ok": int(bool(summary.get("invariant_ok"))),
    }


def _warc_key(record: dict, urls: dict[str, str]) -> str:
    by_url = {url: key for key, url in urls.items()}
    return by_url.get(record.get("url"), "?")


if __name__ == "__main__":
    sys.exit(main())

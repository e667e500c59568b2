"""Web pages: charset handling, extraction, WARC/WET reading, the time limit, and the CLI end to end."""

from __future__ import annotations

import gzip
import io
import json
import re
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from pipeline.cli import main
from transforms.core.decode import UndecodableError
from transforms.core.html import ExtractionError, Page, decode_page, extract, page_article
from transforms.core.page_worker import PageWorker
from transforms.core.types import Source
from transforms.core.warc import RecordError, Skipped, warc_items

from .conftest import read_shards

PARAGRAPHS = [
    "Joe Biden met Elena Ruiz in Geneva on Monday – the first meeting since the summit – and both sides "
    "called the talks “frank and useful”, according to officials who were in the room.",
    "The two leaders spoke for more than an hour about trade, energy and the war, and agreed to meet again "
    "in Budapest before the end of the year, Reuters reported on Tuesday evening.",
    "Officials said a joint statement would follow later this week, once both delegations had checked the "
    "wording line by line with their capitals and their lawyers.",
]
TITLE = "Biden and Ruiz meet in Geneva – “frank” talks"


def article_page(charset_tag: str = '<meta charset="utf-8">', lang: str = "en") -> str:
    body = "".join(f"<p>{text}</p>" for text in PARAGRAPHS)
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head>{charset_tag}<title>{TITLE} | Daily Planet</title>'
        f'<meta property="og:title" content="{TITLE}">'
        '<meta property="article:published_time" content="2024-03-05T10:00:00Z">'
        '<meta name="author" content="Lois Lane; Clark Kent">'
        '<link rel="canonical" href="/world/geneva-talks">'
        '</head><body><nav><a href="/">Home</a> <a href="/world">World</a></nav>'
        f"<article><h1>{TITLE}</h1>{body}</article>"
        "<footer>Copyright Daily Planet. All rights reserved.</footer></body></html>"
    )


SOURCE = Source(uri="/c/a.warc.gz", path="a.warc.gz", format="warc", bytes=0)


@pytest.mark.parametrize(
    ("data", "declared", "encoding"),
    [
        (article_page('<meta charset="windows-1252">').encode("cp1252"), None, "cp1252"),
        (
            article_page('<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">').encode("cp1252"),
            None,
            "cp1252",
        ),
        (article_page("").encode("cp1252"), "windows-1252", "cp1252"),
        (article_page('<meta charset="utf-8">').encode("cp1252"), "windows-1252", "cp1252"),  # HTTP header wins
        (article_page('<meta charset="iso-8859-1">').encode("utf-8"), None, "utf-8"),  # UTF-8 that says Latin-1
        (article_page("").encode("cp1252"), None, "cp1252"),  # nothing declared: detection
        (b"\xef\xbb\xbf" + article_page("").encode("utf-8"), "windows-1252", "utf-8-sig"),  # a BOM wins
    ],
)
def test_pages_decode_by_their_declared_charset(data, declared, encoding):
    text, used = decode_page(data, declared)
    assert used == encoding
    assert all(paragraph in text for paragraph in PARAGRAPHS)


def test_binary_bytes_are_not_a_page():
    with pytest.raises(UndecodableError):
        decode_page(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40)


def test_extraction_gives_paragraphs_and_metadata():
    extracted = extract(article_page(), "https://planet.example/world/geneva-talks?ref=rss", favor_precision=True)
    assert extracted["text"].split("\n\n")[-3:] == PARAGRAPHS
    assert extracted["title"] == TITLE
    assert extracted["date"] == "2024-03-05"
    assert extracted["authors"] == ["Lois Lane", "Clark Kent"]
    assert extracted["canonical_url"] == "https://planet.example/world/geneva-talks"
    assert extracted["language"] == "en"
    source = Source(uri="/c/p.warc", path="p.warc", format="warc", bytes=0)
    article = page_article(Page("x", source, b"", "https://planet.example/a?ref=rss"), extracted, "utf-8")
    assert article.url == "https://planet.example/a?ref=rss"  # WARC: the target URI, the canonical in metadata
    assert article.metadata["canonical_url"] == "https://planet.example/world/geneva-talks"
    assert article.source.encoding == "utf-8"
    assert extract(article_page(), None, favor_precision=True) == extract(article_page(), None, favor_precision=True)


def test_pages_without_article_text_or_too_deep_give_nothing():
    assert (
        extract(
            "<html><head><title>Home</title></head><body><script>x()</script></body></html>", None, favor_precision=True
        )
        is None
    )
    deep = "<html><body>" + "<div>" * 100_000 + "text" + "</div>" * 100_000 + "</body></html>"
    assert extract(deep, None, favor_precision=True) is None


def warc_bytes(records: list[tuple], gzip_records: bool = True) -> bytes:
    """A WARC from (type, url, status, content type, body) tuples, written with warcio."""
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=gzip_records)
    for kind, url, status, content_type, body in records:
        if kind == "request":
            headers = StatusAndHeaders("GET / HTTP/1.1", [("Host", "planet.example")], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(url, "request", http_headers=headers))
        elif kind == "response":
            headers = StatusAndHeaders(status, [("Content-Type", content_type)], protocol="HTTP/1.1")
            payload = io.BytesIO(body)
            writer.write_record(writer.create_warc_record(url, "response", payload=payload, http_headers=headers))
        else:
            writer.write_record(writer.create_warc_record(url, kind, payload=io.BytesIO(body)))
    return out.getvalue()


PAGE = article_page("").encode("cp1252")
CRAWL = [
    ("warcinfo", None, None, None, b"software: test\r\n"),
    ("request", "https://planet.example/a", None, None, None),
    ("response", "https://planet.example/a", "200 OK", "text/html; charset=windows-1252", PAGE),
    ("metadata", "https://planet.example/a", None, None, b"fetchTimeMs: 12\r\n"),
    ("response", "https://planet.example/logo.png", "200 OK", "image/png", b"\x89PNG"),
    ("response", "https://planet.example/gone", "404 Not Found", "text/html", b"<html>gone</html>"),
    ("response", "https://planet.example/b", "200 OK", "application/xhtml+xml", article_page().encode()),
]


def _items(data: bytes, uri: str = "/c/a.warc.gz", **limits) -> list:
    source = Source(uri=uri, path=uri.rsplit("/", 1)[-1], format="warc", bytes=len(data))
    limits = {"max_page_bytes": 1_000_000, "max_text_bytes": 1_000_000, **limits}
    return list(warc_items(io.BytesIO(data), source, **limits))


def _kinds(items: list) -> list[str]:
    return [type(i).__name__ + ":" + (i.kind if isinstance(i, Skipped) else getattr(i, "reason", "")) for i in items]


@pytest.mark.parametrize("gzip_records", [True, False])
def test_warc_html_responses_become_pages_and_the_rest_is_counted(gzip_records):
    data = warc_bytes(CRAWL, gzip_records)
    items = _items(data, "/c/a.warc.gz" if gzip_records else "/c/a.warc")
    assert _kinds(items) == [
        "Skipped:warcinfo", "Skipped:request", "Page:", "Skipped:metadata",
        "Skipped:non_html_response", "Skipped:non_2xx_response", "Page:",
    ]  # fmt: skip
    first, second = (item for item in items if isinstance(item, Page))
    assert (first.url, first.http_charset, first.data) == ("https://planet.example/a", "windows-1252", PAGE)
    assert first.source.warc_record_id.startswith("<urn:uuid:") and first.source.warc_date
    assert data[first.source.offset :].startswith(b"\x1f\x8b" if gzip_records else b"WARC/1.")
    assert first.id != second.id


def test_whole_file_gzip_and_bz2_warcs_read_the_same():
    import bz2

    plain = warc_bytes(CRAWL, gzip_records=False)
    expected = _kinds(_items(plain, "/c/a.warc"))
    assert _kinds(_items(gzip.compress(plain), "/c/a.warc.gz")) == expected
    assert _kinds(_items(bz2.compress(plain), "/c/a.warc.bz2")) == expected


@pytest.mark.parametrize("gzip_records", [True, False])
def test_a_corrupt_record_costs_only_itself(gzip_records):
    records = [CRAWL[2], CRAWL[2], CRAWL[2]]
    parts = [warc_bytes([record], gzip_records) for record in records]
    damaged = parts[1][:20] + b"\x00garbage" * 50 + parts[1][400:]
    items = _items(parts[0] + damaged + parts[2], "/c/a.warc.gz" if gzip_records else "/c/a.warc")
    pages = [item for item in items if isinstance(item, Page)]
    errors = [item for item in items if isinstance(item, RecordError)]
    assert pages[0].source.offset == 0 and pages[-1].source.offset == len(parts[0]) + len(damaged)
    assert errors and all(error.reason == "corrupt_record" for error in errors)


def test_truncated_and_lying_warcs_end_in_a_dead_letter_not_an_exception():
    data = warc_bytes([CRAWL[2], CRAWL[2]], gzip_records=False)
    truncated = _items(data[: len(data) - 200], "/c/a.warc")
    assert isinstance(truncated[0], Page)
    for factor in (0.5, 10):  # the first record's Content-Length claims half, or ten times, its real length
        length = int(re.search(rb"Content-Length: (\d+)", data)[1])
        lying = data.replace(b"Content-Length: %d" % length, b"Content-Length: %d" % (length * factor), 1)
        items = _items(lying, "/c/a.warc")
        assert items and all(isinstance(item, (Page, RecordError)) for item in items)


def test_too_large_page_is_a_dead_letter_and_the_next_record_still_comes_out():
    data = warc_bytes([CRAWL[2], ("response", "https://x/big", "200 OK", "text/html", b"<p>x</p>" * 200_000), CRAWL[2]])
    items = _items(data, max_page_bytes=500_000)
    assert [type(item).__name__ for item in items] == ["Page", "RecordError", "Page"]
    assert items[1].reason == "too_large"


def test_wet_conversion_records_are_articles():
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=True)
    text = "\n".join(PARAGRAPHS).encode()
    headers = {"WARC-Identified-Content-Language": "eng"}
    record = writer.create_warc_record(
        "https://planet.example/a",
        "conversion",
        payload=io.BytesIO(text),
        warc_content_type="text/plain",
        warc_headers_dict=headers,
    )
    writer.write_record(record)
    (article,) = _items(out.getvalue(), "/c/a.warc.wet.gz")
    assert article.text == "\n\n".join(PARAGRAPHS)
    assert (article.url, article.metadata) == ("https://planet.example/a", {"language": "eng"})


def test_a_page_over_the_time_limit_kills_the_worker_and_the_next_page_is_extracted():
    worker = PageWorker(timeout_s=30, reset_every=1, memory_mb=0)
    try:
        assert worker.extract(article_page(), None, True)["title"] == TITLE
        slow = PageWorker.__new__(PageWorker)
        slow.__dict__.update(worker.__dict__, _timeout_s=0.000001)
        big = article_page().replace("</article>", "<p>more words here</p>" * 50_000 + "</article>")
        with pytest.raises(ExtractionError) as raised:
            slow.extract(big, None, True)
        assert raised.value.reason == "extraction_timeout"
        worker._process = slow._process  # the killed child is gone: the next call starts a new one
        assert worker.extract(article_page(), None, True)["title"] == TITLE
    finally:
        worker.close()


def test_cli_reads_html_and_warc_files(tmp_path, tiny_model, record_validators):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "utf8.html").write_text(article_page(), encoding="utf-8")
    (corpus / "legacy.htm").write_bytes(article_page('<meta charset="windows-1252">').encode("cp1252"))
    (corpus / "crawl.warc.gz").write_bytes(warc_bytes(CRAWL))
    (corpus / "empty.html.gz").write_bytes(gzip.compress(b"<html><body></body></html>"))
    output = tmp_path / "out"
    assert main(["run", "--input", str(corpus), "--output", str(output), "--model", tiny_model]) == 0
    enriched, dead = read_shards(output, "enriched"), read_shards(output, "dead-letter")
    for record in enriched:
        record_validators[0].validate(record)
    for record in dead:
        record_validators[1].validate(record)
    texts = {record["text"] for record in enriched}
    assert texts == {"\n\n".join(PARAGRAPHS)}, texts  # every copy, every encoding: the same text
    by_path = {}
    for record in enriched:
        by_path.setdefault(record["source"]["path"], []).append(record)
    assert sorted(by_path) == ["crawl.warc.gz", "legacy.htm", "utf8.html"]
    assert by_path["legacy.htm"][0]["source"]["encoding"] == "cp1252"
    assert sorted(r["url"] for r in by_path["crawl.warc.gz"]) == [
        "https://planet.example/a",
        "https://planet.example/b",
    ]
    assert all(r["source"]["warc_record_id"] for r in by_path["crawl.warc.gz"])
    assert by_path["utf8.html"][0]["authors"] == ["Lois Lane", "Clark Kent"]
    assert [(r["source"]["path"], r["reason"]) for r in dead] == [("empty.html.gz", "no_article_text")]
    summary = json.loads((output / "run-summary.json").read_text(encoding="utf-8"))
    assert summary["counts"]["inputs"] == 5 and summary["invariant_ok"]
    assert summary["skipped_records"] == {
        "metadata": 1, "non_2xx_response": 1, "non_html_response": 1, "request": 1, "warcinfo": 1,
    }  # fmt: skip


def test_web_formats_are_recognised():
    from transforms.core.parse import article_format

    names = ["a.html", "a.HTM", "a.html.gz", "a.warc", "a.warc.gz", "a.warc.bz2", "a.warc.wet.gz", "a.txt"]
    assert [article_format(Path(name).name) for name in names] == [
        "html", "html", "html", "warc", "warc", "warc", "wet", "txt",
    ]  # fmt: skip


def test_watch_extracts_web_pages_where_it_reads_them(tmp_path):
    from apache_beam.io import fileio
    from apache_beam.io.filesystem import FileMetadata

    from transforms.core.parse import ReadConfig
    from transforms.core.types import Article
    from transforms.read_articles import _ReadFileFn

    path = tmp_path / "crawl.warc.gz"
    path.write_bytes(warc_bytes(CRAWL))
    reader = _ReadFileFn(str(tmp_path), ReadConfig())
    reader.extract_inline = True
    reader.setup()
    try:
        outputs = list(reader.process(fileio.ReadableFile(FileMetadata(str(path), path.stat().st_size))))
    finally:
        reader.teardown()
    assert all(isinstance(output, Article) for output in outputs)
    assert sorted(output.url for output in outputs) == ["https://planet.example/a", "https://planet.example/b"]


def test_only_inputs_holding_warc_archives_get_a_stage_to_extract_pages(tmp_path):
    from pipeline.inputs import holds_archives

    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "page.html").write_text(article_page(), encoding="utf-8")
    (tmp_path / "text.warc.wet.gz").write_bytes(b"")
    assert not holds_archives([f"{tmp_path}/**"])
    (tmp_path / "a" / "crawl.warc.gz").write_bytes(warc_bytes(CRAWL))
    assert holds_archives([f"{tmp_path}/**"])
    assert not holds_archives([f"{tmp_path}/*.txt", f"{tmp_path}/a/page.html"])  # named: nothing is listed
    assert holds_archives([f"{tmp_path}/a/page.html", "gs://bucket/x.warc.gz"])


@pytest.mark.parametrize("archives", [True, False])
def test_pages_give_the_same_articles_extracted_where_read_or_in_their_own_stage(tmp_path, archives):
    import apache_beam as beam
    from apache_beam.testing.test_pipeline import TestPipeline
    from apache_beam.testing.util import assert_that, equal_to

    from transforms.core.parse import ReadConfig
    from transforms.read_articles import ReadArticles

    (tmp_path / "page.html").write_text(article_page(), encoding="utf-8")
    (tmp_path / "empty.html").write_text("<html><body></body></html>", encoding="utf-8")
    (tmp_path / "note.txt").write_text("Note\n\nA short note.", encoding="utf-8")
    with TestPipeline() as p:
        articles, dead = p | ReadArticles(f"{tmp_path}/**", str(tmp_path), ReadConfig(), archives=archives)
        assert_that(
            articles | beam.Map(lambda a: (a.source.path, a.title, a.text.count("\n\n"), tuple(a.authors))),
            equal_to([("page.html", TITLE, 2, ("Lois Lane", "Clark Kent")), ("note.txt", "Note", 0, ())]),
            label="Articles",
        )
        dead_letters = dead | beam.Map(lambda d: (d.source.path, d.reason))
        assert_that(dead_letters, equal_to([("empty.html", "no_article_text")]), label="DeadLetters")
        labels = [t.unique_name for t in p.to_runner_api().components.transforms.values()]
        assert any(label.endswith("/ExtractPages") for label in labels) == archives

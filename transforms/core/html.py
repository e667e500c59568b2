"""Web pages: decode HTML bytes by their declared charset, extract the main text and metadata with trafilatura."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urljoin

from transforms.core.decode import UndecodableError, check_text, decode_bytes
from transforms.core.headline import headline
from transforms.core.types import Article, Source

HTML_TYPES = ("text/html", "application/xhtml+xml")
# How far into a page a <meta charset> is looked for (the HTML standard says 1024 bytes; real pages put
# long <script>/<style> blocks first, so look further).
META_SCAN_BYTES = 16_384
_META_CHARSET = re.compile(rb"""<meta[^>]+?charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.IGNORECASE)
_HTTP_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.IGNORECASE)
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*")
_VALID_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xf4][\x80-\xbf]")
# The WHATWG encoding standard decodes these labels as Windows-1252, as every browser does.
_AS_CP1252 = {"latin_1", "iso8859_1", "ascii", "cp1252"}
_SINGLE_BYTE_LATIN = _AS_CP1252 | {"iso8859_15", "cp1250", "iso8859_2"}


@dataclass(frozen=True)
class WebConfig:
    """`read.web`: how web pages are extracted (configs/local.yaml documents each key)."""

    favor_precision: bool = True
    page_timeout_s: float = 30.0
    max_page_bytes: int = 10_000_000
    worker_memory_mb: int = 2048
    reset_caches_every: int = 1000


@dataclass(frozen=True, slots=True)
class Page:
    """The raw bytes of one web page on its way from the reader to extraction."""

    id: str
    source: Source
    data: bytes
    url: str | None = None
    http_charset: str | None = None


class ExtractionError(ValueError):
    """A page that cannot become an article; `reason` is a stable dead-letter code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def http_charset(content_type: str | None) -> str | None:
    """The charset parameter of an HTTP Content-Type header, or None."""
    match = _HTTP_CHARSET.search(content_type or "")
    return match.group(1) if match else None


def is_html_type(content_type: str | None) -> bool:
    return (content_type or "").split(";", 1)[0].strip().lower() in HTML_TYPES


def decode_page(data: bytes, declared: str | None = None) -> tuple[str, str]:
    """(text, encoding): the HTTP charset, else a <meta> charset, else detection; a BOM overrides both.

    Raises UndecodableError for binary content.
    """
    if data.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return decode_bytes(data)
    for label in (declared, meta_charset(data)):
        codec = _codec(label)
        if codec is None:
            continue
        if codec in _SINGLE_BYTE_LATIN and _is_utf8_text(data):
            return check_text(data.decode("utf-8"), "utf-8")  # a UTF-8 page that says it is Latin-1
        if codec == "utf_8":
            return decode_bytes(data)  # keeps stray Windows-1252 bytes in a UTF-8 page
        codec = "cp1252" if codec in _AS_CP1252 else codec
        return check_text(data.decode(codec, errors="replace"), codec.replace("_", "-"))
    return decode_bytes(data)


def meta_charset(data: bytes) -> str | None:
    """The charset a page declares in `<meta charset>` or `<meta http-equiv="Content-Type">`, or None."""
    match = _META_CHARSET.search(data[:META_SCAN_BYTES])
    return match.group(1).decode("ascii") if match else None


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    try:
        name = codecs.lookup(label).name.replace("-", "_")
    except LookupError:
        return None
    return "utf_8" if name.startswith("utf_16") else name  # bytes that decoded as ASCII cannot be UTF-16


def _is_utf8_text(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return _VALID_UTF8_MULTIBYTE.search(data) is not None


def extract(html: str, url: str | None, *, favor_precision: bool) -> dict[str, Any] | None:
    """The main text and metadata of a page as a plain dict (None when there is no article text).

    Runs in the extraction worker process. `deduplicate` stays off: it keeps state across calls, so the same
    page could come out differently on a retry.
    """
    import trafilatura
    from trafilatura.utils import load_html

    tree = load_html(html)
    if tree is None:
        return None
    declared = _declared(tree)
    document = trafilatura.bare_extraction(
        tree,
        url=url,
        with_metadata=True,
        favor_precision=favor_precision,
        include_comments=False,
        deduplicate=False,
    )
    if document is None or not (document.text or "").strip():
        return None
    canonical = declared["canonical_url"]
    return {
        "text": paragraphs(document.text),
        "title": headline(tree, document.title, document.sitename, url or document.url, document.text) or None,
        "date": document.date or None,
        "authors": [name.strip() for name in (document.author or "").split(";") if name.strip()],
        "url": document.url or None,
        "canonical_url": canonical and urljoin(url or document.url or "", canonical),
        "site": document.sitename or document.hostname or None,
        "language": declared["language"] or document.language or None,
    }


def _declared(tree: Any) -> dict[str, str | None]:
    """What the page itself declares before trafilatura prunes its tree: canonical URL and language."""
    canonical = tree.xpath('//link[@rel="canonical"]/@href') or tree.xpath('//meta[@property="og:url"]/@content')
    language = tree.get("lang") or tree.get("xml:lang")
    if not language:
        values = tree.xpath(
            '//meta[translate(@http-equiv, "CONTENT-LANGUAGE", "content-language")="content-language"]/@content'
        )
        language = values[0] if values else None
    return {
        "canonical_url": canonical[0].strip() or None if canonical else None,
        "language": language.strip() if language and _LANGUAGE_TAG.fullmatch(language.strip()) else None,
    }


def paragraphs(text: str) -> str:
    """trafilatura's one-block-per-line text as the record's `\\n\\n`-separated paragraphs."""
    return "\n\n".join(line.strip() for line in text.splitlines() if line.strip())


def without_headline(text: str, title: str | None) -> str:
    """The text without a first paragraph that only repeats the title (the page's <h1>): it is in `title`."""
    first, _, rest = text.partition("\n\n")
    if title and rest and " ".join(first.split()).casefold() == " ".join(title.split()).casefold():
        return rest
    return text


def page_article(page: Page, extracted: dict[str, Any], encoding: str) -> Article:
    """The article of an extracted page: WARC pages keep their target URI as `url`."""
    metadata = {key: extracted[key] for key in ("canonical_url", "site", "language") if extracted.get(key) is not None}
    source = page.source if page.source.encoding else replace(page.source, encoding=encoding)
    return Article(
        id=page.id,
        source=source,
        text=without_headline(extracted["text"], extracted["title"]),
        title=extracted["title"],
        url=page.url or extracted["url"] or extracted["canonical_url"],
        date=extracted["date"],
        metadata=metadata,
        authors=list(extracted["authors"]),
    )


def page_text(page: Page) -> tuple[str, str]:
    """The decoded page; raises ExtractionError(`binary_content`) for bytes that are not text."""
    try:
        return decode_page(page.data, page.http_charset)
    except UndecodableError as error:
        raise ExtractionError("binary_content", str(error)) from error

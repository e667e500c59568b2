"""WARC and WET files: HTML responses as pages, WET conversions as articles, everything else counted by kind."""

from __future__ import annotations

import bz2
import gzip
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import IO

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.recordloader import ArcWarcRecord

from transforms.core.decode import UndecodableError
from transforms.core.html import Page, http_charset, is_html_type, paragraphs
from transforms.core.parse import (
    READ_CHUNK_BYTES,
    InputError,
    LimitedStream,
    article_id,
    open_decompressed,
    read_limited,
)
from transforms.core.types import Article, Source

GZIP_MAGIC = b"\x1f\x8b\x08"
WARC_MAGIC = b"WARC/1."
WARC_TYPES = {"warcinfo", "response", "resource", "request", "metadata", "revisit", "conversion", "continuation"}
SKIPPED_PREFIX = "skipped:"  # counters of records that are not articles, by kind (run-summary.json)
# warcio raises whatever its parsing meets on damaged bytes (AttributeError for a header without a URI…):
# any error while parsing a record is that record's, never the whole file's.
_READ_ERRORS = (Exception,)


@dataclass(frozen=True, slots=True)
class Skipped:
    """A record that is not an article (request, metadata, non-HTML response…): counted, never a dead letter."""

    kind: str


class RecordError(InputError):
    """A record, or the rest of a file from `offset` on, that cannot become an article."""

    def __init__(self, reason: str, message: str, offset: int | None) -> None:
        super().__init__(reason, message)
        self.offset = offset


def warc_items(
    raw: IO[bytes], source: Source, *, max_page_bytes: int, max_text_bytes: int
) -> Iterator[Page | Article | Skipped | RecordError]:
    """Every record of a WARC or WET file, in file order.

    gzip per record or over the whole file, bz2 over the whole file, or uncompressed. A record that cannot be
    parsed, or whose `Content-Length` does not end where the next record begins, is a RecordError at its
    offset; reading then resumes at the next record that can be found (a new gzip member, or a `WARC/1.` header
    line after the damaged record's start), so a corrupt record costs only itself.
    """
    stream, whole_file = (bz2.BZ2File(raw), True) if source.uri.lower().endswith(".bz2") else (raw, False)
    seekable = not whole_file and _seekable(raw)
    compressed = seekable and _starts_with(raw, GZIP_MAGIC)
    done = skip = 0
    while True:
        iterator = ArchiveIterator(stream)
        records = iter(iterator)
        pending: list = []  # the current record's items, held until the next record shows where it ended
        offset = iterator.offset
        resume_after = None
        while True:
            errors = iterator.err_count
            try:
                record = next(records, None)
                if record is not None and record.rec_type not in WARC_TYPES:  # a damaged header that parsed
                    raise ArchiveLoadFailed(f"unknown WARC-Type {str(record.rec_type)[:40]!r}")
            except _READ_ERRORS as error:
                if not whole_file and "non-chunked" in str(error):  # gzip over the whole file, not per record
                    yield from pending
                    break
                failed_at = iterator.offset
                if pending and failed_at != offset:
                    yield from pending
                elif pending:
                    yield from _broken(pending, offset, "its end cannot be read")
                if failed_at != offset or not pending:
                    yield RecordError(
                        "corrupt_record", f"unreadable WARC record at byte {failed_at}: {error}", failed_at
                    )
                resume_after = failed_at
                break
            if iterator.err_count > errors and not compressed:  # the previous record's Content-Length lied
                yield from _broken(pending, offset, "its Content-Length does not end where the next record starts")
                resume_after = offset
                break
            yield from pending
            if record is None:
                end = _size(raw) if seekable else None
                if end is not None and iterator.offset < end:  # a last record cut off inside its header
                    at = iterator.offset
                    yield RecordError("corrupt_record", f"the file ends inside the WARC record at byte {at}", at)
                return
            offset = iterator.offset
            done += 1
            if skip:
                skip -= 1
                pending = []
                continue
            pending = list(_record_items(record, source, offset, max_page_bytes, max_text_bytes))
        if resume_after is None:  # gzip over the whole file: read it again, decompressed, past what came out
            raw.seek(0)
            stream, whole_file, seekable, skip, done = gzip.GzipFile(fileobj=raw), True, False, done, 0
            continue
        resume = _next_record_start(raw, resume_after + 1, compressed) if seekable else None
        if resume is None:
            return
        raw.seek(resume)


def _broken(items: list, offset: int, why: str) -> Iterator[Skipped | RecordError]:
    """A damaged record's items: one RecordError instead of its page or article (skipped kinds stay counted)."""
    if all(isinstance(item, Skipped) for item in items):
        yield from items
    else:
        yield RecordError("corrupt_record", f"the WARC record at byte {offset} is damaged: {why}", offset)


def _record_items(
    record: ArcWarcRecord, source: Source, offset: int, max_page_bytes: int, max_text_bytes: int
) -> Iterator[Page | Article | Skipped | RecordError]:
    kind = record.rec_type or "unknown"
    if kind not in ("response", "conversion"):
        yield Skipped(kind)
        return
    headers = record.rec_headers
    url = (headers.get_header("WARC-Target-URI") or "").strip("<> ") or None
    located = replace(
        source,
        warc_record_id=headers.get_header("WARC-Record-ID"),
        warc_date=headers.get_header("WARC-Date"),
        offset=offset,
    )
    record_id = article_id(source.path, offset)
    if headers.get_header("Content-Length") is None:  # a header cut short: the file was truncated inside it
        yield RecordError("corrupt_record", f"the WARC record at byte {offset} has an incomplete header", offset)
        return
    try:
        if kind == "conversion":
            yield _wet_article(record, located, record_id, url, max_text_bytes)
            return
        content_type, skipped = _response_kind(record)
        if skipped is not None:
            if _cut_short(record):  # the file ends inside it: it may have been an HTML page
                yield RecordError("corrupt_record", f"the file ends inside the WARC record at byte {offset}", offset)
            else:
                yield Skipped(skipped)
            return
        data = read_limited(record.content_stream(), max_page_bytes, "the page")
        yield Page(record_id, located, data, url, http_charset(content_type))
    except InputError as error:
        yield RecordError(error.reason, str(error), offset)
    except (OSError, EOFError, zlib.error, ValueError) as error:  # a broken chunked or Content-Encoding body
        yield RecordError("corrupt_record", f"unreadable payload of the WARC record at byte {offset}: {error}", offset)


def _response_kind(record: ArcWarcRecord) -> tuple[str | None, str | None]:
    """(content type, None) for an HTML page with a 2xx status, else (None, the kind of response it is)."""
    if record.http_headers is None:
        return None, "non_http_response"
    if not (record.http_headers.get_statuscode() or "").startswith("2"):
        return None, "non_2xx_response"
    content_type = record.http_headers.get_header("Content-Type") or record.rec_headers.get_header(
        "WARC-Identified-Payload-Type"
    )
    return (content_type, None) if is_html_type(content_type) else (None, "non_html_response")


def _cut_short(record: ArcWarcRecord) -> bool:
    """Whether the record's block ends before its Content-Length (reads the rest of it, as warcio would)."""
    while record.raw_stream.read(READ_CHUNK_BYTES):
        pass
    return getattr(record.raw_stream, "limit", 0) > 0


def _wet_article(record: ArcWarcRecord, source: Source, record_id: str, url: str | None, limit: int) -> Article:
    data = read_limited(record.content_stream(), limit, "the text")
    try:
        text = data.decode("utf-8")
        encoding = "utf-8"
    except UnicodeDecodeError:
        from transforms.core.decode import decode_bytes

        try:
            text, encoding = decode_bytes(data)
        except UndecodableError as error:
            raise InputError("binary_content", str(error)) from error
    language = record.rec_headers.get_header("WARC-Identified-Content-Language")
    return Article(
        id=record_id,
        source=replace(source, encoding=encoding),
        text=paragraphs(text),
        url=url,
        metadata={"language": language} if language else {},
    )


def _next_record_start(raw: IO[bytes], start: int, compressed: bool) -> int | None:
    """The offset of the next gzip member (or `WARC/1.` line) at or after `start`, or None."""
    magic = GZIP_MAGIC if compressed else WARC_MAGIC
    raw.seek(start)
    position, tail = start, b""
    while chunk := raw.read(READ_CHUNK_BYTES):
        data = tail + chunk
        found = data.find(magic)
        while found > 0 and not compressed and data[found - 1 : found] != b"\n":
            found = data.find(magic, found + 1)
        if found >= 0:
            return position - len(tail) + found
        tail = data[-(len(magic)) :]
        position += len(chunk)
    return None


def _size(raw: IO[bytes]) -> int | None:
    try:
        position = raw.tell()
        size = raw.seek(0, 2)
        raw.seek(position)
    except OSError:
        return None
    return size


def _seekable(raw: IO[bytes]) -> bool:
    try:
        return bool(raw.seekable()) and raw.tell() == 0
    except (AttributeError, OSError):
        return False


def _starts_with(raw: IO[bytes], magic: bytes) -> bool:
    head = raw.read(len(magic))
    raw.seek(0)
    return head == magic


def web_items(
    raw: IO[bytes], source: Source, *, max_page_bytes: int, max_text_bytes: int, max_decompressed_bytes: int
) -> Iterator[Page | Article | Skipped | InputError]:
    """The pages, WET articles, skipped records and record errors of one web file (`html`, `warc` or `wet`)."""
    if source.format != "html":
        yield from warc_items(raw, source, max_page_bytes=max_page_bytes, max_text_bytes=max_text_bytes)
        return
    with open_decompressed(raw, source.uri) as stream:
        data = read_limited(LimitedStream(stream, max_decompressed_bytes), max_page_bytes, "the page")
    yield Page(article_id(source.path), source, data)

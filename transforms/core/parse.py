"""Turn the bytes of one input file into articles: plain text, JSON Lines or a JSON array."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import IO, Any

from transforms.core.decode import UndecodableError, decode_bytes
from transforms.core.html import WebConfig
from transforms.core.types import Article, Source

COMPRESSIONS = (".gz", ".bz2")
READ_CHUNK_BYTES = 1 << 16
FORMATS = {".txt": "txt", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json"}
WEB_FORMATS = {".html": "html", ".htm": "html", ".warc": "warc", ".wet": "wet"}
_SENTENCE_END = re.compile(r"[.;,]$")
# Deeper records cannot be pickled between Beam workers or written back as JSON (recursion limits).
MAX_JSON_DEPTH = 100


class InputError(ValueError):
    """An input that cannot become an article; `reason` is a stable dead-letter code."""

    def __init__(self, reason: str, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.line = line


@dataclass(frozen=True)
class ReadConfig:
    """`read`: which JSON fields hold an article's parts (every other field is kept as metadata), the size
    limits, and web-page extraction (configs/local.yaml documents each key)."""

    id_field: str = "id"
    title_field: str = "title"
    text_field: str = "text"
    url_field: str = "url"
    date_field: str = "date"
    title_max_chars: int = 200
    max_article_bytes: int = 20_000_000
    max_file_bytes: int = 100_000_000
    max_decompressed_bytes: int = 4_000_000_000
    web: WebConfig = field(default_factory=WebConfig)


def article_format(path: str) -> str | None:
    """The article format of a path from its extension (after any compression suffix), or None."""
    name = path.rsplit("/", 1)[-1].lower()
    for suffix in COMPRESSIONS:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    dot = name.rfind(".")
    return (FORMATS.get(name[dot:]) or WEB_FORMATS.get(name[dot:])) if dot > 0 else None


def relative_path(uri: str, base: str) -> str:
    """The path of `uri` below the input's base folder: what makes ids independent of where data lives."""
    base = base.rstrip("/") + "/"
    return uri[len(base) :] if uri.startswith(base) else uri.rsplit("/", 1)[-1]


def article_id(path: str, line: int | None = None) -> str:
    """A stable id: the same input location gives the same id on every run and runner."""
    key = path if line is None else f"{path}#{line}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:20]


def split_title(text: str, max_chars: int) -> tuple[str | None, str]:
    """Split off a first line that is followed by a blank line and looks like a headline."""
    first, newline, rest = text.lstrip("\ufeff").partition("\n")
    head = first.strip()
    if not newline or not head or len(head) > max_chars or _SENTENCE_END.search(head):
        return None, text
    blank, newline, body = rest.partition("\n")
    if not newline or blank.strip():
        return None, text
    return head, body


def open_decompressed(raw: IO[bytes], path: str) -> IO[bytes]:
    """Wrap a raw stream in the decompressor its suffix names; truncated data then raises EOFError."""
    name = path.lower()
    if name.endswith(".gz"):
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if name.endswith(".bz2"):
        return bz2.BZ2File(raw, mode="rb")
    return raw


class LimitedStream:
    """A read-only byte stream that raises `too_large` once more than `limit` bytes have been read."""

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        self._stream = stream
        self._limit = limit
        self._read = 0

    def read(self, size: int = -1) -> bytes:
        return self._count(self._stream.read(self._bounded(size)))

    def readline(self, size: int = -1) -> bytes:
        return self._count(self._stream.readline(self._bounded(size)))

    def _bounded(self, size: int) -> int:
        room = self._limit - self._read + 1
        return room if size is None or size < 0 else min(size, room)

    def _count(self, data: bytes) -> bytes:
        self._read += len(data)
        if self._read > self._limit:
            raise InputError("too_large", f"the file is larger than {self._limit} bytes (after decompression)")
        return data


def read_limited(stream: IO[bytes], limit: int, what: str) -> bytes:
    """Read at most `limit` bytes; a larger input is refused without reading further.

    The stream is read in chunks: `read(n)` allocates n bytes up front, so one `read(limit + 1)` per file
    cost every 6 KB article a 20 MB allocation.
    """
    chunks = []
    size = 0
    while chunk := stream.read(min(READ_CHUNK_BYTES, limit + 1 - size)):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise InputError("too_large", f"{what} is larger than the limit of {limit} bytes")
    return b"".join(chunks)


def text_article(data: bytes, source: Source, *, title_max_chars: int) -> Article:
    """One article from the bytes of a plain-text file."""
    text, encoding = _decode(data)
    title, body = split_title(text.replace("\r\n", "\n"), title_max_chars) if title_max_chars else (None, text)
    return Article(id=article_id(source.path), source=replace(source, encoding=encoding), text=body, title=title)


def jsonl_articles(stream: IO[bytes], source: Source, config: ReadConfig) -> Iterator[Article | InputError]:
    """Articles from a JSON Lines stream, one per non-blank line; a bad line (or one above
    `max_article_bytes`) yields an InputError."""
    limit = config.max_article_bytes
    line_no = 0
    while True:
        raw = stream.readline(limit + 1)
        if not raw:
            return
        line_no += 1
        if len(raw) > limit and not raw.endswith(b"\n"):
            _skip_line(stream)
            yield InputError("too_large", f"line {line_no} is larger than the limit of {limit} bytes", line_no)
            continue
        if not raw.strip():
            continue
        try:
            text, encoding = _decode(raw)
            yield record_article(_load_json(text), replace(source, encoding=encoding, line=line_no), config)
        except InputError as error:
            error.line = line_no
            yield error


def json_articles(data: bytes, source: Source, config: ReadConfig) -> Iterator[Article | InputError]:
    """Articles from a JSON file holding one object or an array of objects."""
    text, encoding = _decode(data)
    document = _load_json(text)
    records = document if isinstance(document, list) else [document]
    for index, record in enumerate(records, start=1):
        try:
            yield record_article(record, replace(source, encoding=encoding, line=index), config)
        except InputError as error:
            error.line = index
            yield error


def record_article(record: Any, source: Source, config: ReadConfig) -> Article:
    """One article from a decoded JSON record."""
    if not isinstance(record, dict):
        raise InputError("not_an_object", f"record is a JSON {type(record).__name__}, not an object")
    text = record.get(config.text_field)
    if text is None:
        raise InputError("missing_text", f"record has no {config.text_field!r} field")
    if not isinstance(text, str):
        raise InputError("invalid_text", f"field {config.text_field!r} is a {type(text).__name__}, not a string")
    if _too_deep(record, MAX_JSON_DEPTH):
        raise InputError("too_deep", f"record is nested more than {MAX_JSON_DEPTH} levels deep")
    record_id = record.get(config.id_field)
    known = {config.id_field, config.title_field, config.text_field, config.url_field, config.date_field}
    return Article(
        id=article_id(source.path, source.line),
        source=replace(source, record_id=None if record_id is None else str(record_id)),
        text=text,
        title=_optional_str(record.get(config.title_field)),
        url=_optional_str(record.get(config.url_field)),
        date=_optional_str(record.get(config.date_field)),
        metadata={key: value for key, value in record.items() if key not in known},
    )


def _decode(data: bytes) -> tuple[str, str]:
    try:
        return decode_bytes(data)
    except UndecodableError as error:
        raise InputError("binary_content", str(error)) from error


def _load_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError("invalid_json", f"invalid JSON: {error}") from error
    except RecursionError as error:
        raise InputError("invalid_json", "JSON nested too deeply") from error


def _too_deep(value: Any, limit: int) -> bool:
    """Whether containers nest more than `limit` levels (checked without recursion)."""
    level = [value]
    for _ in range(limit):
        level = [
            child
            for item in level
            if isinstance(item, (dict, list))
            for child in (item.values() if isinstance(item, dict) else item)
            if isinstance(child, (dict, list))
        ]
        if not level:
            return False
    return True


def _skip_line(stream: IO[bytes]) -> None:
    while True:
        chunk = stream.readline(1 << 20)
        if not chunk or chunk.endswith(b"\n"):
            return


def _optional_str(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    return str(value)

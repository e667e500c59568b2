"""Bytes to text: UTF-8 first, Windows-1252 for stray legacy bytes, detection for other encodings."""

from __future__ import annotations

import codecs
import functools
import re

from ftfy.fixes import fix_c1_controls

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_VALID_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xf4][\x80-\xbf]")
_HANDLER = "article_enrich.cp1252_bytes"
# Above this share of non-ASCII bytes, invalid UTF-8 is more likely a non-Latin legacy encoding
# (Shift-JIS, GBK, KOI8-R…) than Windows-1252 text with a few accented letters or symbols.
_LEGACY_SHARE = 0.3
_BINARY_SHARE = 0.05
# Control characters (Unicode category Cc) other than tab, line feed, form feed and carriage return, and U+FFFD.
_CONTROL_OR_REPLACEMENT = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ufffd]")
_BINARY_SAMPLE_CHARS = 65_536
# Double mojibake needs one repair per round trip.
_REPAIR_ROUNDS = 3


# Well-formed UTF-8 (RFC 3629), and surrogates encoded one by one (CESU-8, which ftfy decodes too): the range
# of the lead byte, then of each byte after it.
_UTF8_FORMS = (
    ((0xC2, 0xDF), (0x80, 0xBF)),
    ((0xE0, 0xE0), (0xA0, 0xBF), (0x80, 0xBF)),
    ((0xE1, 0xEF), (0x80, 0xBF), (0x80, 0xBF)),
    ((0xF0, 0xF0), (0x90, 0xBF), (0x80, 0xBF), (0x80, 0xBF)),
    ((0xF1, 0xF3), (0x80, 0xBF), (0x80, 0xBF), (0x80, 0xBF)),
    ((0xF4, 0xF4), (0x80, 0x8F), (0x80, 0xBF), (0x80, 0xBF)),
)


def _read_as_latin(low: int, high: int) -> str:
    """A regex class of the bytes low..high as Latin-1 (C1 controls below 0xA0) or Windows-1252 shows them."""
    chars = {chr(byte) for byte in range(low, high + 1)}
    chars |= {ch for byte in range(low, min(high, 0x9F) + 1) if (ch := bytes([byte]).decode("cp1252", "ignore"))}
    return "[" + "".join(re.escape(ch) for ch in sorted(chars)) + "]"


# A UTF-8 sequence read as Latin-1 or Windows-1252, such as `â\x80\x99` for `’` or `×\x90` for `א`: mojibake
# that ftfy decodes back into the character it was.
_UTF8_READ_AS_LATIN = re.compile("|".join("".join(_read_as_latin(*r) for r in form) for form in _UTF8_FORMS))


class UndecodableError(ValueError):
    """The bytes are not text in any encoding we can recognise (binary content)."""


@functools.cache
def _register_cp1252_fallback() -> str:
    def cp1252_bytes(error: UnicodeError) -> tuple[str, int]:
        assert isinstance(error, UnicodeDecodeError)
        bad = error.object[error.start : error.end]
        return bad.decode("cp1252", errors="replace").replace("\ufffd", ""), error.end

    codecs.register_error(_HANDLER, cp1252_bytes)
    return _HANDLER


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Decode article bytes; returns (text, encoding name). Raises UndecodableError for binary data."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _checked(data.decode(encoding, errors="replace"), encoding)
    try:
        return _checked(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    high = sum(1 for byte in data if byte >= 0x80)
    if b"\x00" in data or high > _LEGACY_SHARE * len(data):
        detected = _detect(data)
        if detected is not None:
            return _checked(data.decode(detected, errors="replace"), detected)
    encoding = "utf-8+cp1252" if _VALID_UTF8_MULTIBYTE.search(data) else "cp1252"
    return _checked(data.decode("utf-8", errors=_register_cp1252_fallback()), encoding)


def check_text(text: str, encoding: str) -> tuple[str, str]:
    """(text, encoding) of bytes decoded elsewhere; raises UndecodableError if the text looks binary."""
    return _checked(text, encoding)


def _detect(data: bytes) -> str | None:
    from charset_normalizer import from_bytes

    best = from_bytes(data[:262_144]).best()
    return None if best is None else best.encoding


def _checked(text: str, encoding: str) -> tuple[str, str]:
    if text and _control_share(text) > _BINARY_SHARE and _control_share(_repaired(text)) > _BINARY_SHARE:
        raise UndecodableError(f"content looks binary (decoded as {encoding}, too many control characters)")
    return text, encoding


def _control_share(text: str) -> float:
    sample = text[:_BINARY_SAMPLE_CHARS]
    return len(_CONTROL_OR_REPLACEMENT.findall(sample)) / max(len(sample), 1)


def _repaired(text: str) -> str:
    """The start of `text` after the repairs that turn C1 controls back into text: UTF-8 read as Latin-1 or
    Windows-1252 decoded, then Windows-1252 characters read as Latin-1 mapped back (ftfy's `fix_c1_controls`).

    What is left are the other control characters and the five C1 controls Windows-1252 leaves undefined:
    what binary data decoded as text is full of.
    """
    sample = text[:_BINARY_SAMPLE_CHARS]
    for _ in range(_REPAIR_ROUNDS):
        repaired = _UTF8_READ_AS_LATIN.sub(_utf8_character, sample)
        if repaired == sample:
            break
        sample = repaired
    return fix_c1_controls(sample)


def _utf8_character(match: re.Match[str]) -> str:
    data = bytes(ord(ch) if ord(ch) < 0x100 else ch.encode("cp1252")[0] for ch in match.group())
    return data.decode("utf-8", errors="surrogatepass")

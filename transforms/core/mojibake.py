"""Mojibake repair: ftfy, plus the lossy UTF-8-read-as-Windows-1252 cases that ftfy cannot undo."""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

import ftfy
from ftfy.badness import is_bad

# Typographic quotes, line breaks and the normalisation form of the text are kept: no BBC or wp-scraped
# article changes under NFC, so NFC could only ever rewrite text that is not broken.
FTFY_CONFIG = ftfy.TextFixerConfig(
    uncurl_quotes=False, fix_line_breaks=False, normalization=None, explain=False
)
KINDS = (
    "ftfy",
    "double_round_trip",
    "lost_byte_quote",
    "lost_byte_other",
    "dagger_quote",
    "replacement_quote",
    "leftover_mojibake",
)
_MAX_ROUNDS = 4

# Windows-1252 leaves these bytes undefined; a strict decoder drops them from UTF-8 sequences.
_LOST_BYTES = (0x81, 0x8D, 0x8F, 0x90, 0x9D)
# ftfy's sloppy codec maps every byte 0x80-0xFF to one character (the undefined ones to C1 controls).
_HIGH_CHARS = bytes(range(0x80, 0x100)).decode("sloppy-windows-1252")
_BYTE_OF = {ch: 0x80 + i for i, ch in enumerate(_HIGH_CHARS)}
_RUN_RE = re.compile(f"[{re.escape(_HIGH_CHARS)}]+")
_LINE_RE = re.compile("[^\n]*\n|[^\n]+")
# Printable ASCII but `&`, with tab and newline: nothing ftfy (as configured) could change, so not worth a call.
_FTFY_INERT_RE = re.compile("[\t\n\x20-\x25\x27-\x7e]*")
# Lead bytes of the sequences worth restoring: Latin letters (Ã, Ä, Å), punctuation and symbols (â),
# variation selectors (ï) and emoji (ð). Other scripts' mojibake is ftfy's alone.
_TRUNCATED_LEADS = b"\xc3\xc4\xc5\xe2\xef\xf0"

# The Windows-1252 characters whose UTF-8 holds one of the lost bytes, in the order a second round trip
# most likely took them: `”` (byte 0x94, common in `—` and `”`), then the lead bytes of Cyrillic, Greek,
# combining marks and Arabic letters; `Á` (0xC1) never starts UTF-8.
_OUTER_LOST = "”ÐÏÍÝÁ"
_RDQUO, _LDQUO, _DAGGER, _REPLACEMENT = "\u201d", "\u201c", "\u2020", "\ufffd"
_HYPHEN, _ZWJ, _RLM, _VS16 = "\u2010", "\u200d", "\u200f", "\ufe0f"
# What ftfy's restore_byte_a0 makes of "E2 xx <lost byte> <space>": the character E2 xx A0.
_A0_ARTEFACTS = "".join(chr(0x2020 + 64 * i) for i in range(64) if i not in (5, 32))
# The most likely of the characters a truncated sequence could have been, in order: the closing quote
# (by far the most common victim), emoji joiners and selectors, then letters and symbols of news text.
_PREFERRED = _RDQUO + _VS16 + _ZWJ + _HYPHEN + _RLM + "ÁÍÝčĐŁōŐā●❤❄⭐❌❓❗☝☀☁✍✏❯"
_EMOJI = ("\U0001f300", "\U0001faff")
_LEFTOVER_CATEGORIES = ("Lu", "Ll", "Lm", "Sk", "So", "Sm", "No", "Pd", "Po")
_OPENERS = "([{" + _LDQUO + "\u2018"
_TYPOGRAPHIC = "\u2018\u2019\u201c\u201d\u2013\u2014\u2026"
_CLOSING_PUNCT = ".,!?;:)'\"\u2026\u2019"
_QUOTE_EVENTS_RE = re.compile(f"[{_LDQUO}{_RDQUO}{_DAGGER}{_REPLACEMENT}\n]")
_GLUED_A0_RE = re.compile(f"[{_A0_ARTEFACTS[1:]}](?=\\S)")


class _Piece(NamedTuple):
    source: str
    candidates: tuple[str, ...]
    kind: str  # plain, mojibake (a whole UTF-8 sequence) or truncated (one that lost a byte)


def fix_mojibake(text: str) -> tuple[str, dict[str, int]]:
    """ftfy plus repair of the lossy cases ftfy leaves; returns fixed text and counts per kind.

    Counts (every key of `KINDS` is always present):
    - ``ftfy``: lines (``\\n``-separated segments, as ftfy splits them) that ftfy changed.
    - ``double_round_trip``: runs that went through the lossy round trip twice (``Ã¢â‚¬â€`` for ``—``),
      peeled back to one round trip, which the other repairs then undo.
    - ``lost_byte_quote``: ``”`` restored where its last byte (0x9D) had been dropped, e.g. ``â€.``.
    - ``lost_byte_other``: another character restored from a UTF-8 sequence that lost one of the bytes
      Windows-1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D), e.g. ``ï¸`` -> U+FE0F, ``Ãlvarez``.
    - ``dagger_quote``: ``†`` that ftfy's ``restore_byte_a0`` made of a truncated ``”`` and the space after
      it, turned back into ``” `` where the quote context says it closes a quotation.
    - ``replacement_quote``: ``�`` that ftfy's ``replace_lossy_sequences`` made of a truncated ``”?``,
      turned back into ``”?`` where it closes a quotation.
    - ``leftover_mojibake``: whole UTF-8 sequences ftfy judged harmless (``â…›``, ``Ï€``), decoded only
      in text that also needed one of the repairs above.
    """
    counts = dict.fromkeys(KINDS, 0)
    # A repair can let ftfy see mojibake it passed over, so rounds go on until nothing changes.
    for _ in range(_MAX_ROUNDS):
        fixed = _peel_second_round_trip(text, counts)
        fixed = _restore_quotes(_restore_lost_bytes(_fix_lines(fixed, counts), counts), counts)
        if any(counts[kind] for kind in KINDS[1:]):
            fixed = _decode_leftovers(fixed, counts)
        if fixed == text:
            break
        text = fixed
    return text, counts


def _peel_second_round_trip(text: str, counts: dict[str, int]) -> str:
    """Undo the outer of two lossy round trips: a run of mojibake whose decoding is mojibake again.

    The outer layer's lost bytes are put back where exactly the characters of `_OUTER_LOST` make the
    decoded run whole UTF-8 again, e.g. ``Ã¢â‚¬â€`` -> ``â€”`` (then ``—``); one layer of mojibake is
    left for the repairs that follow.
    """

    def peel(match: re.Match[str], whole: bool = False) -> str:
        # Next to `�` a decoder replaced bytes instead of dropping them: that is ftfy's to repair.
        if _REPLACEMENT in text[max(match.start() - 1, 0) : match.end() + 1]:
            return match.group()
        pieces = _parse(match.group())
        out: list[str] = []
        start = 0
        for end in range(len(pieces) + 1):
            if end < len(pieces) and pieces[end].kind != "plain":
                continue
            group = pieces[start:end]
            out.append(_peeled(group, whole) if len(group) > 1 else _joined(group))
            if end < len(pieces):
                out.append(pieces[end].source)
            start = end + 1
        peeled = "".join(out)
        counts["double_round_trip"] += peeled != match.group()
        return peeled

    before = counts["double_round_trip"]
    text = _RUN_RE.sub(peel, text)
    # Once the text shows lossy double trips, its whole double mojibake is peeled as well: ftfy would
    # otherwise see lines of mixed layers and undo only one of them.
    return _RUN_RE.sub(lambda match: peel(match, whole=True), text) if counts["double_round_trip"] > before else text


def _joined(pieces: list[_Piece]) -> str:
    return "".join(piece.source for piece in pieces)


def _peeled(pieces: list[_Piece], whole: bool) -> str:
    """The inner mojibake of consecutive outer sequences, or their source if it is not mojibake itself."""
    inner = []
    for piece in pieces:
        if piece.kind == "mojibake":
            choices = piece.candidates if piece.candidates[0] in _BYTE_OF else ()
        else:
            choices = _outer_candidates(bytes(_BYTE_OF[ch] for ch in piece.source))
        if not choices:
            return _joined(pieces)
        inner.append(choices)
    for i, choices in enumerate(inner[:-1]):
        # Before 0x80-0x8F, Greek π-ώ (after Ï) are far more common than Cyrillic Ѐ-Џ (after Ð).
        if "Ï" in choices and _BYTE_OF[inner[i + 1][0]] < 0x90:
            inner[i] = ("Ï", *(ch for ch in choices if ch != "Ï"))
    options = [""]
    for choices in inner:
        options = [done + ch for done in options for ch in choices][:64]
    outer_lossy = any(piece.kind == "truncated" for piece in pieces)
    for option in options:
        parsed = _parse(option)
        # Whole double mojibake, with no byte lost in either trip, is ftfy's: it undoes both at once.
        lossy = whole or outer_lossy or any(piece.kind == "truncated" for piece in parsed)
        if lossy and all(piece.kind != "plain" for piece in parsed) and not is_bad(_inner_text(parsed)):
            return option
    return _joined(pieces)


def _inner_text(pieces: list[_Piece]) -> str:
    return "".join(piece.candidates[0] for piece in pieces)


def _outer_candidates(truncated: bytes) -> tuple[str, ...]:
    """The characters of `_OUTER_LOST` whose UTF-8 is `truncated` with one lost byte put back."""
    found = {
        ch
        for at in range(1, len(truncated) + 1)
        for byte in _LOST_BYTES
        if (ch := _decode(truncated[:at] + bytes([byte]) + truncated[at:])) and ch in _OUTER_LOST
    }
    return tuple(sorted(found, key=_OUTER_LOST.index))


def _fix_lines(text: str, counts: dict[str, int]) -> str:
    # Segment by segment, as ftfy.fix_text does, so that changed lines can be counted.
    config = FTFY_CONFIG
    out = []
    for line in _LINE_RE.findall(text):
        if _FTFY_INERT_RE.fullmatch(line):
            out.append(line)
            continue
        if "<" in line:
            config = config._replace(unescape_html=False)
        fixed = ftfy.fix_text(line, config)
        counts["ftfy"] += fixed != line
        out.append(fixed)
    return "".join(out)


def _restore_lost_bytes(text: str, counts: dict[str, int]) -> str:
    def repair(match: re.Match[str]) -> str:
        pieces = _parse(match.group())
        if not any(piece.kind == "truncated" for piece in pieces):
            return match.group()
        out: list[str] = []
        prev = text[match.start() - 1 : match.start()]
        after = text[match.end() : match.end() + 1]
        alone = sum(piece.kind != "plain" for piece in pieces) == 1
        for i, piece in enumerate(pieces):
            nxt = pieces[i + 1].candidates[0][0] if i + 1 < len(pieces) else after
            choice = _pick(piece, prev, nxt, alone) if piece.kind == "truncated" else piece.candidates[0]
            if choice is None:
                return match.group()
            out.append(choice)
            prev = choice[-1]
        # Leave garbled runs to ftfy: they would still read as mojibake once repaired.
        if is_bad("".join(out)):
            return match.group()
        for piece, choice in zip(pieces, out, strict=True):
            if piece.kind == "truncated":
                counts["lost_byte_quote" if choice == _RDQUO else "lost_byte_other"] += 1
        return "".join(out)

    return _RUN_RE.sub(repair, text)


def _parse(run: str) -> list[_Piece]:
    """Split a run of Windows-1252 high characters into UTF-8 sequences, truncated ones and the rest."""
    data = bytes(_BYTE_OF[ch] for ch in run)
    pieces = []
    i = 0
    while i < len(data):
        size = _sequence_length(data[i])
        tail = 0
        while tail < size - 1 and i + 1 + tail < len(data) and 0x80 <= data[i + 1 + tail] <= 0xBF:
            tail += 1
        piece = _Piece(run[i], (run[i],), "plain")
        head = data[i : i + size - 1]
        if size and tail == size - 1 and (decoded := _decode(data[i : i + size])):
            piece = _Piece(run[i : i + size], (decoded,), "mojibake")
        elif tail == size - 2 and data[i] in _TRUNCATED_LEADS and (found := _candidates(head)):
            piece = _Piece(run[i : i + size - 1], found, "truncated")
        pieces.append(piece)
        i += len(piece.source)
    return pieces


def _sequence_length(lead: int) -> int:
    if 0xC2 <= lead <= 0xDF:
        return 2
    if 0xE0 <= lead <= 0xEF:
        return 3
    return 4 if 0xF0 <= lead <= 0xF4 else 0


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return ""


def _candidates(truncated: bytes) -> tuple[str, ...]:
    """The likely characters whose UTF-8 is `truncated` with one undefined byte put back after the lead."""
    found = set()
    for at in range(1, len(truncated) + 1):
        for byte in _LOST_BYTES:
            ch = _decode(truncated[:at] + bytes([byte]) + truncated[at:])
            if ch and (ch in _PREFERRED or _EMOJI[0] <= ch <= _EMOJI[1]):
                found.add(ch)
    return tuple(sorted(found, key=lambda ch: (_PREFERRED + ch).index(ch)))


def _pick(piece: _Piece, prev: str, nxt: str, alone: bool) -> str | None:
    """Choose what a truncated sequence was from its neighbours; None leaves it alone."""
    if _RDQUO in piece.candidates:
        if prev.islower() and nxt.islower():
            return _HYPHEN
        if _pictographic(prev) and _pictographic(nxt):
            return _ZWJ
        if (prev.strip() == "" or prev in _OPENERS) and nxt in ("@", "("):
            return _RLM
        return _RDQUO
    if len(piece.source) > 1:
        return piece.candidates[0]
    # A lone Ã, Ä or Å is also a letter in its own right, unless its case cannot fit between its neighbours.
    upper = not prev.isalpha() or prev.isupper()
    if not alone or not (prev.islower() or (upper and nxt.islower() and piece.source == "Ã")):
        return None
    return next((ch for ch in piece.candidates if ch.isupper() == upper), None)


def _pictographic(ch: str) -> bool:
    return ch != "" and (ch == _VS16 or ord(ch) >= 0x1F000 or unicodedata.category(ch) == "So")


def _restore_quotes(text: str, counts: dict[str, int]) -> str:
    """Turn ftfy's `†` (from `” `) and `�` (from `”?`) back where they close an open quotation."""
    if _DAGGER not in text and _REPLACEMENT not in text:
        return text
    # `�` is also what ftfy makes of `â€�`, the same quote after a decoder replaced its byte: only a text
    # that lost other bytes outright gives it away as a lost question mark.
    lossy = counts["lost_byte_quote"] + counts["lost_byte_other"] + counts["dagger_quote"] > 0
    out = []
    depth = start = 0
    for match in _QUOTE_EVENTS_RE.finditer(text):
        mark, at = match.group(), match.start()
        if mark == "\n":
            depth = 0
        elif mark == _LDQUO:
            depth += 1
        elif mark == _RDQUO:
            depth = max(depth - 1, 0)
        elif _closes_quote(mark, depth, lossy, text[at - 1 : at], text[at + 1 : at + 2]):
            out.append(text[start:at] + _RDQUO + (" " if mark == _DAGGER else "?"))
            start = at + 1
            depth = max(depth - 1, 0)
            counts["dagger_quote" if mark == _DAGGER else "replacement_quote"] += 1
    out.append(text[start:])
    return "".join(out)


def _closes_quote(mark: str, depth: int, lossy: bool, prev: str, nxt: str) -> bool:
    after_text = prev.isalnum() or (prev != "" and prev in _CLOSING_PUNCT)
    if mark == _REPLACEMENT:
        return lossy and depth > 0 and after_text
    # ftfy took the space after the quote, so a dagger with a space after it is a real one.
    if nxt in ("", "\n"):
        return depth > 0 or (after_text and not prev.isalnum())
    if nxt.isspace():
        return False
    # Outside a quotation, only when glued to a word, and not next to mojibake (then it is likely part of a
    # garble); at the start of a line or after a space, a closing quote used as an opening one, but only in
    # text that lost bytes elsewhere, as a footnote dagger could stand there too.
    opens_word = (nxt.isalnum() or nxt in _OPENERS) and _not_mojibake(prev) and _not_mojibake(nxt)
    return depth > 0 or (opens_word and (after_text or (lossy and prev.strip() == "")))


def _not_mojibake(ch: str) -> bool:
    return ch not in _BYTE_OF or ch in _TYPOGRAPHIC


def _decode_leftovers(text: str, counts: dict[str, int]) -> str:
    """In text known to have made the lossy trip, decode the mojibake ftfy judged too harmless to touch."""

    def decode_run(match: re.Match[str]) -> str:
        pieces = _parse(match.group())
        if any(piece.kind != "mojibake" or not _plausible(piece.candidates[0]) for piece in pieces):
            return match.group()
        counts["leftover_mojibake"] += 1
        return "".join(piece.candidates[0] for piece in pieces)

    def unglue(match: re.Match[str]) -> str:
        candidates = _candidates(match.group().encode("utf-8")[:-1])
        if not candidates or candidates[0] not in _PREFERRED:
            return match.group()
        counts["lost_byte_other"] += 1
        return candidates[0] + " "

    return _GLUED_A0_RE.sub(unglue, _RUN_RE.sub(decode_run, text))


def _plausible(ch: str) -> bool:
    return unicodedata.category(ch) in _LEFTOVER_CATEGORIES and "FORM" not in unicodedata.name(ch, "FORM")

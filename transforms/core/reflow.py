"""Reflow: join the lines of hard-wrapped text (newswire, e-mail) back into one line per paragraph."""

from __future__ import annotations

import re
import unicodedata

# Reuters-21578 wraps at 65 columns, e-mail at 72-78; one-paragraph-per-line text has far longer lines, and
# narrower text is a list, a poem or an address rather than wrapped prose.
_WRAP_WIDTHS = range(30, 101)
# Start of a list item: a bullet or dash always; `1.`, `2)`, `a)`, `(iv)` after the end of a sentence
# (elsewhere they are likelier to be an initial or a date: `Charles` / `B. Gates`, `on March` / `30.`).
_BULLET_RE = re.compile(r"[-*+•·–—>](?:\s|$)")
_NUMBERED_RE = re.compile(r"\(?(?:\d{1,3}|[A-Za-z]|[ivxIVX]{1,4})[.)](?:\s|$)")
# Columns: runs of spaces that do not follow the end of a sentence, one of three or more, or two of two.
_GAP_RE = re.compile(r"(?<=[^\s.!?:;,])( {2,}|\t)(?=\S)")
_NUMBER_RE = re.compile(r"[-+(]?[$£€]?\d[\d.,/:%]*\)?[%,.]?")
_SENTENCE_END = tuple(".!?:;\"'”’)") + tuple("。！？：；」』）")
_HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]")


def reflow(text: str) -> tuple[str, int]:
    """Join hard-wrapped lines into paragraphs; returns the text and the number of line joins.

    Text counts as hard-wrapped when its longest line has 30 to 100 columns and most of the breaks a greedy
    wrapper at that width would make (the next line's first word would not have fitted) fall mid-sentence.
    Then those breaks are joined, and so are breaks after a line that stops mid-sentence (Reuters' first
    lines, shortened by the removed dateline). Joins use one space, or none after a hyphen between word
    characters (`co-` + `operation` stays `co-operation`) or between two Chinese or Japanese characters
    (written without spaces). Blank lines, indented lines (paragraph starts), list items, table rows and
    upper-case headings among mixed-case lines keep their breaks; nothing else in the text changes.
    """
    joins = 0
    # A joined line can become the widest one and make the next break look like a wrap, so passes go on until
    # no break is left: few, as nothing is joined once a line is wider than a wrap width.
    while wraps := _wraps(lines := text.split("\n")):
        out = [lines[0]]
        for i in range(1, len(lines)):
            if i - 1 in wraps:
                out[-1] = _join(out[-1], lines[i])
            else:
                out.append(lines[i])
        text = "\n".join(out)
        joins += len(wraps)
    return text, joins


def _wraps(lines: list[str]) -> set[int]:
    """The indexes of the lines whose break is a wrap, or none if the lines do not look hard-wrapped."""
    if max(map(len, lines)) < _WRAP_WIDTHS.start:
        return set()
    tables = [_is_table(line) for line in lines]
    width = max((len(line.rstrip()) for line, table in zip(lines, tables, strict=True) if not table), default=0)
    if width not in _WRAP_WIDTHS:
        return set()
    breaks = [
        i for i in range(len(lines) - 1) if not (tables[i] or tables[i + 1]) and _may_continue(lines[i], lines[i + 1])
    ]
    greedy = [i for i in breaks if _is_greedy_wrap(lines[i], lines[i + 1], width)]
    mid_sentence = [i for i in greedy if not lines[i].rstrip().endswith(_SENTENCE_END)]
    if not mid_sentence or 2 * len(mid_sentence) < len(greedy):
        return set()
    return set(greedy).union(i for i in breaks if _continues_sentence(lines[i], lines[i + 1]))


def _may_continue(line: str, following: str) -> bool:
    """Whether `following` could continue `line`'s paragraph (neither being a table row), whatever the widths."""
    return (
        line.strip() != ""
        and following.strip() != ""
        and not following[0].isspace()
        and _BULLET_RE.match(following) is None
        and (_NUMBERED_RE.match(following) is None or not line.rstrip().endswith(_SENTENCE_END))
        and _is_upper(line) == _is_upper(following)
    )


def _is_greedy_wrap(line: str, following: str, width: int) -> bool:
    # A greedy wrapper breaks a line only where the next word no longer fits on it.
    return len(line.rstrip()) + 1 + len(following.split(None, 1)[0]) > width


def _continues_sentence(line: str, following: str) -> bool:
    return (following[0].isalnum() or following[0] in '(<"“‘$') and not line.rstrip().endswith(_SENTENCE_END)


def _is_table(line: str) -> bool:
    gaps = _GAP_RE.findall(line.strip())
    if len(gaps) >= 2 or (gaps and len(gaps[0]) >= 3):
        return True
    words = line.split()
    if len(words) < 3:
        return False
    # At least 3 words and two thirds of them numbers: stop at the first word too many that is not one.
    others = 0
    for word in words:
        if not (_may_be_number(word) and _NUMBER_RE.fullmatch(word) is not None):
            others += 1
            if 3 * others > len(words):
                return False
    return len(words) - others >= 3


def _may_be_number(word: str) -> bool:
    # What _NUMBER_RE can start with, checked first because the regex costs more.
    return word[0].isdecimal() or word[0] in "-+($£€"


def _is_upper(line: str) -> bool:
    # An upper-case line among mixed-case ones is a heading; a text all in capitals is just that.
    return line.upper() == line and line.lower() != line


def _join(line: str, following: str) -> str:
    line = line.rstrip()
    if line.endswith("-") and line[-2:-1].isalnum() and following[:1].isalnum():
        return line + following
    if _unspaced(line[-1:]) and _unspaced(following[:1]):
        return line + following
    return line + " " + following


def _unspaced(char: str) -> bool:
    """A wide character of a script written without spaces (Chinese, Japanese; Korean spaces its words)."""
    return bool(char) and unicodedata.east_asian_width(char) in ("W", "F") and _HANGUL.match(char) is None

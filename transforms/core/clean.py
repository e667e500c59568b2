"""Text cleaning: control characters, mojibake, boilerplate lines by rule, reflow, whitespace."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from transforms.core import mojibake
from transforms.core.boilerplate import CorpusBoilerplateConfig
from transforms.core.reflow import reflow

_C0_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\ufeff]")
# C1 controls carry mojibake that the repair can still use, so they go only after it has run.
_C1_CONTROLS = re.compile(r"[\x80-\x9f]")
_NEWLINES = re.compile(r"\r\n?|[\u2028\u2029\x85]")
# U+0085 with text before or after it on its line is Windows-1252's `…` (byte 0x85) decoded as Latin-1;
# alone on a line, or between line breaks, it is a line break (NEL).
_NEL = re.compile(r"(\S[ \t]*)?\x85(?=([ \t]*\S)?)")
# Removing a control character, joining lines or collapsing spaces can expose mojibake that a repair then
# fixes: repairs, and cleaning passes, repeat until nothing changes (at most this many times).
_MAX_REPAIR_PASSES = 3
_INLINE_SPACE = re.compile(r"[ \t\u00a0\u3000]+")
PARAGRAPH_BREAK = "\n\n"
DEFAULT_RULES: tuple[tuple[str, str], ...] = (
    ("ad_marker", r"\[ad_\d+\]"),
    ("source_link", r"source(?: link)?:?"),
    ("advertisement", r"advertisements?"),
    ("share_line", r"(?:click to )?share(?: this(?: article| story)?)?(?: on [\w, ]{1,60})?:?"),
    ("newsletter", r"(?:sign up|subscribe) (?:to|for) (?:our|the) .{0,60}newsletters?\W{0,3}"),
    ("read_more", r"(?:read more|related(?: articles| stories| coverage)?|see also)(?::.{0,100})?"),
    ("reuters_signoff", r"reuter"),
    ("skip_links", r"go back to top\. skip to: start of article\.?"),
    ("continue_reading", r"continue reading the main story"),
    ("reprint_notice", r"\(?original story reprinted with permission from .{0,400}"),
    ("copyright_notice", r"(?:copyright|©) .{0,80}all rights reserved\..{0,200}"),
    (
        "ad_blocker_appeal",
        r"(?:we get it: ads aren.t what you.re here for|here.s the thing with ad blockers"
        r"|so, add us to your ad blocker.s whitelist).{0,300}",
    ),
)


@dataclass(frozen=True)
class Rule:
    """A named boilerplate rule as configured: a line whose stripped text fully matches `pattern` is dropped."""

    name: str
    pattern: str


@dataclass(frozen=True)
class CleanConfig:
    """`clean`: mojibake repair, reflow, the boilerplate rules and corpus evidence (configs/local.yaml)."""

    fix_mojibake: bool = True
    reflow: bool = True
    rules: tuple[Rule, ...] = tuple(Rule(name, pattern) for name, pattern in DEFAULT_RULES)
    corpus_boilerplate: CorpusBoilerplateConfig = field(default_factory=CorpusBoilerplateConfig)


@dataclass(frozen=True, slots=True)
class LineRule:
    """A named boilerplate rule: a line whose stripped text fully matches `pattern` is removed."""

    name: str
    pattern: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class Cleaned:
    """Cleaned text and the counts of what each cleaning step changed."""

    text: str
    changes: dict[str, int]


def compile_rules(rules: Iterable[tuple[str, str]]) -> tuple[LineRule, ...]:
    """Compile (name, regex) pairs; regexes match a whole stripped line, case-insensitively."""
    return tuple(LineRule(name, re.compile(pattern, re.IGNORECASE)) for name, pattern in rules)


def clean_text(
    text: str, rules: tuple[LineRule, ...] = (), *, fix_mojibake: bool = True, reflow_lines: bool = True
) -> Cleaned:
    """Clean one article body; paragraphs come out as non-empty lines separated by a blank line.

    Steps, each counted in `changes`: control characters removed (`control_chars_removed`), mojibake
    repaired (`mojibake:<kind>`, see transforms.core.mojibake, and `mojibake:c1_ellipsis`: a U+0085 with
    text on its line is Windows-1252's `…` read as Latin-1, alone on a line it is a line break), lines
    removed by a boilerplate rule (`rule:<name>`), hard-wrapped lines joined (`reflow_joins`); then runs of
    spaces collapse to one.
    """
    changes: Counter[str] = Counter()
    for _ in range(_MAX_REPAIR_PASSES):
        text, settled = _clean_pass(text, rules, fix_mojibake, reflow_lines, changes)
        if settled:
            break
    return Cleaned(text, {k: v for k, v in sorted(changes.items()) if v})


def _clean_pass(
    text: str, rules: tuple[LineRule, ...], fix_mojibake: bool, reflow_lines: bool, changes: Counter[str]
) -> tuple[str, bool]:
    """One pass of `clean_text`, and whether it settled: not if its last repair changed the text (mojibake
    that joining lines or collapsing spaces brought together, like `Â` + tab), which another pass cleans."""
    if fix_mojibake:
        text, restored = _restore_ellipses(text)
        changes["mojibake:c1_ellipsis"] += restored
    text = _NEWLINES.sub("\n", text)
    text, removed = _C0_CONTROLS.subn("", text)
    changes["control_chars_removed"] += removed
    for _ in range(_MAX_REPAIR_PASSES):
        # A repair can make a line break of another kind (`â€¨` is U+2028 read as Windows-1252).
        repaired = _NEWLINES.sub("\n", _repair(text, fix_mojibake, changes))
        if repaired == text:
            break
        text = repaired
    kept = []
    for line in text.split("\n"):
        stripped = line.strip()
        rule = next((r for r in rules if r.pattern.fullmatch(stripped)), None) if stripped else None
        if rule is None:
            kept.append(line)
        else:
            changes[f"rule:{rule.name}"] += 1
    text = "\n".join(kept)
    if reflow_lines:
        text, joins = reflow(text)
        changes["reflow_joins"] += joins
    text = _collapse_spaces(text)
    if not fix_mojibake:
        return text, True
    repaired = _collapse_spaces(_repair(text, fix_mojibake, changes))
    return repaired, repaired == text


def _collapse_spaces(text: str) -> str:
    paragraphs = (_INLINE_SPACE.sub(" ", line).strip() for line in text.split("\n"))
    return PARAGRAPH_BREAK.join(p for p in paragraphs if p)


def _restore_ellipses(text: str) -> tuple[str, int]:
    if "\x85" not in text:  # the regex would try its optional group at every character
        return text, 0
    restored = 0

    def ellipsis(match: re.Match[str]) -> str:
        nonlocal restored
        if match.group(1) is None and match.group(2) is None:
            return match.group()
        restored += 1
        return (match.group(1) or "") + "\u2026"

    return _NEL.sub(ellipsis, text), restored


def _repair(text: str, fix: bool, changes: Counter[str]) -> str:
    if fix:
        text, counts = mojibake.fix_mojibake(text)
        changes.update({f"mojibake:{kind}": n for kind, n in counts.items()})
    text, c1_removed = _C1_CONTROLS.subn("", text)
    # A repair can also produce the other controls (`â€\x8b` is a zero-width space).
    text, c0_removed = _C0_CONTROLS.subn("", text)
    changes["control_chars_removed"] += c1_removed + c0_removed
    return text


def clean_title(title: str, *, fix_mojibake: bool = True) -> str:
    """Clean a one-line title: control characters, mojibake, line breaks and runs of spaces."""
    changes: Counter[str] = Counter()
    for _ in range(_MAX_REPAIR_PASSES):
        cleaned = _NEWLINES.sub(" ", _repair(_C0_CONTROLS.sub("", title), fix_mojibake, changes))
        cleaned = _INLINE_SPACE.sub(" ", cleaned.replace("\n", " ")).strip()
        if cleaned == title:
            break
        title = cleaned
    return title

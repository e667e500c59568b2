"""Text cleaning: control characters, mojibake, boilerplate lines by rule, reflow, whitespace."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import ftfy

_FTFY_CONFIG = ftfy.TextFixerConfig(uncurl_quotes=False, fix_line_breaks=False, explain=False)
_C0_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\ufeff]")
# C1 controls carry mojibake that ftfy can still repair, so they go only after it has run.
_C1_CONTROLS = re.compile(r"[\x80-\x9f]")
_NEWLINES = re.compile(r"\r\n?|[\u2028\u2029\x85]")
# Removing a control character can expose mojibake that ftfy then repairs: repeat until nothing changes.
_MAX_REPAIR_PASSES = 3
_INLINE_SPACE = re.compile(r"[ \t\u00a0\u3000]+")


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


def clean_text(text: str, rules: tuple[LineRule, ...] = (), *, fix_mojibake: bool = True) -> Cleaned:
    """Clean one article body; paragraphs come out as non-empty lines joined by a blank line."""
    changes: Counter[str] = Counter()
    text = _NEWLINES.sub("\n", text)
    text, changes["control_chars_removed"] = _C0_CONTROLS.subn("", text)
    for _ in range(_MAX_REPAIR_PASSES):
        repaired = _repair(text, fix_mojibake, changes)
        if repaired == text:
            break
        text = repaired
    paragraphs = []
    for line in text.split("\n"):
        line = _INLINE_SPACE.sub(" ", line).strip()
        if not line:
            continue
        rule = next((r for r in rules if r.pattern.fullmatch(line)), None)
        if rule is not None:
            changes[f"rule:{rule.name}"] += 1
            continue
        paragraphs.append(line)
    return Cleaned("\n\n".join(paragraphs), {k: v for k, v in sorted(changes.items()) if v})


def _repair(text: str, fix_mojibake: bool, changes: Counter[str]) -> str:
    if fix_mojibake:
        fixed = ftfy.fix_text(text, _FTFY_CONFIG)
        changes["mojibake_fixed"] += int(fixed != text)
        text = fixed
    text, c1_removed = _C1_CONTROLS.subn("", text)
    changes["control_chars_removed"] += c1_removed
    return text


def clean_title(title: str, *, fix_mojibake: bool = True) -> str:
    """Clean a one-line title: control characters, mojibake and whitespace."""
    title = _C0_CONTROLS.sub("", title)
    if fix_mojibake:
        title = ftfy.fix_text(title, _FTFY_CONFIG)
    title = _C1_CONTROLS.sub("", title)
    return _INLINE_SPACE.sub(" ", title.replace("\n", " ")).strip()

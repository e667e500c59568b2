"""Language identification with py3langid's bundled model, and routing of languages to spaCy pipelines."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from py3langid.langid import LanguageIdentifier

UNDETERMINED = "und"
# The language of `tag.model`, which tags an article when the evidence for another language does not hold.
FALLBACK = "en"
# What the identifier cannot weigh: digits, punctuation, symbols and space carry no language.
_NO_LANGUAGE = re.compile(r"[\W\d_]+")
_WORD = re.compile(r"[^\W\d_]+")


@dataclass(frozen=True)
class LanguageConfig:
    """`language`: identification of each article's language (configs/local.yaml documents each key)."""

    enabled: bool = True
    prefix_chars: int = 2_000
    min_chars: int = 10
    min_score: float = 0.3
    candidates: tuple[str, ...] = ()
    keep: tuple[str, ...] = ()
    route_min_score: float = 0.5
    route_min_running_share: float = 0.5
    fallback_min_score: float = 0.01
    fallback_min_ratio: float = 0.5


@dataclass(frozen=True, slots=True)
class Identified:
    """An article's language (ISO 639-1, or `und`), the identifier's confidence in it (0-1), and its
    probability that the text is English (0-1; 0 for a text too short to try)."""

    language: str
    score: float
    english: float = 0.0


def load_identifier(candidates: Iterable[str] = ()) -> LanguageIdentifier:
    """py3langid's bundled model (no download), restricted to `candidates` or else to its ISO 639-1 languages.

    The model also knows some languages by three-letter codes only (`yue`, `ace`…) and `zxx` (no language);
    the record promises ISO 639-1, so those are left out unless named. Raises ValueError for an unknown code.
    """
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    languages = set(candidates) or {code for code in identifier.labels if len(code) == 2}
    identifier.set_languages(sorted(languages))
    # Restricting the languages leaves the feature table in column order, and every text gathers a few
    # hundred of its rows: in row order `classify` takes about 200 instead of 350 µs per Reuters article.
    identifier.nb_ptc = np.ascontiguousarray(identifier.nb_ptc)
    return identifier


def identify(
    identifier: LanguageIdentifier, text: str, *, prefix_chars: int, min_chars: int, min_score: float
) -> Identified:
    """The language of the first `prefix_chars` characters of `text` (the cost stays flat for huge articles).

    `und` when those hold fewer than `min_chars` letters (digits, punctuation and spaces do not count) or
    when the identifier's confidence is below `min_score`; the score is reported either way.
    """
    prefix = text[:prefix_chars]
    if len(_NO_LANGUAGE.sub("", prefix)) < min_chars:
        return Identified(UNDETERMINED, 0.0)
    ranked = identifier.rank(prefix)
    language, score = ranked[0]
    score = round(float(score), 4)
    english = round(float(dict(ranked).get(FALLBACK, 0.0)), 4)
    return Identified(language if score >= min_score else UNDETERMINED, score, english)


def running_share(text: str) -> float:
    """The share of `text`'s letters that are in lines of running text: lines where at least half the words
    do not begin with a capital letter (prose, in any script; a row of a results table or a list of names and
    places has mostly capitalised words). 0 for a text without letters."""
    letters = running = 0
    for line in text.splitlines():
        words = _WORD.findall(line)
        size = sum(map(len, words))
        letters += size
        if 2 * sum(not word[0].isupper() for word in words) >= len(words):
            running += size
    return running / letters if letters else 0.0


def routed_language(found: Identified, running: float, config: LanguageConfig) -> str:
    """The language whose pipeline tags the text: its identified language when that evidence holds (a score
    of at least `route_min_score` on a text with at least `route_min_running_share` of its letters in running
    text), when the identifier all but rules English out (a probability below `fallback_min_score`), or when,
    unsure of running text, it finds English far less likely than that language (below `fallback_min_ratio`
    of its score: a short Italian or Swedish sentence); otherwise English, `tag.model`'s language: names and
    numbers belong to no language, and a table of them, or prose as likely English as anything, stays with the
    default model."""
    prose = running >= config.route_min_running_share
    if prose and found.score >= config.route_min_score:
        return found.language
    if found.english < config.fallback_min_score:
        return found.language
    if prose and found.english < config.fallback_min_ratio * found.score:
        return found.language
    return FALLBACK


def route(language: str, default_model: str, models: Mapping[str, str], tag_undetermined: bool) -> str | None:
    """The spaCy pipeline that tags an article in `language`, or None if none should.

    English goes to `default_model` unless `models` names another; `und` goes to `default_model` only if
    `tag_undetermined`.
    """
    if language in models:
        return models[language]
    if language == FALLBACK or (language == UNDETERMINED and tag_undetermined):
        return default_model
    return None

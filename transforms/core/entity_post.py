"""Document-level entity post-processing: one label per name, missed mentions tagged, mentions grouped."""

from __future__ import annotations

import bisect
import functools
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from transforms.core.types import Entity, EntityGroup

# OntoNotes' names, and MISC: the other names of pipelines with CoNLL labels (transforms.core.entities.RECORD_LABELS).
NAME_LABELS = frozenset(
    {"PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "EVENT", "PRODUCT", "WORK_OF_ART", "LAW", "LANGUAGE", "MISC"}
)
_NAME_SUFFIXES = frozenset({"jr", "jr.", "sr", "sr.", "ii", "iii", "iv"})
# Names of these kinds never end in a bare number ("Andrew Park 72" is a name and a score) or a possessive;
# organisations may ("Schalke 04", "Moody's").
_TRIM_NUMBER_LABELS = frozenset({"PERSON", "GPE", "NORP"})
_TRIM_POSSESSIVE_LABELS = frozenset({"PERSON", "GPE", "LOC", "NORP"})
_TRAILING_NUMBERS = re.compile(r"(?:\s+\d+)+\Z")
_TRAILING_POSSESSIVE = re.compile(r"\s*['’]+s?\Z")
# French: a name does not begin with the elided article ("l'Assemblée nationale"; "L'Oréal" keeps its own), and
# an elided word alone ("qu'", "C'") is none.
_LEADING_ELISION = re.compile(r"\Al['’](?=\w)")
_ELIDED_WORD = re.compile(r"[^\W\d_]+['’]")
_LOWER_WORD = re.compile(r"\b[^\W\d_]+\b")
_ACRONYM_SKIPPED = frozenset({"of", "and", "&", "for", "the", "de"})
_OPENERS = " \t\"'“‘«‹„([`"
_SENTENCE_END = ".!?\n"


@dataclass(frozen=True)
class _Rules:
    """What differs between languages: English has possessives and "of"-acronyms, French elided articles; the
    stop words (never propagated alone) and the words an acronym skips come from spaCy's list for the language."""

    stop_words: frozenset[str]
    acronym_skipped: frozenset[str]
    possessives: bool
    elisions: bool


@functools.cache
def _rules(language: str) -> _Rules:
    stop_words = _stop_words(language)
    if language == "en":
        return _Rules(stop_words, _ACRONYM_SKIPPED, possessives=True, elisions=False)
    return _Rules(stop_words, stop_words | {"&"}, possessives=False, elisions=language == "fr")


def harmonise(text: str, entities: list[Entity], *, propagate: bool = True, language: str = "en") -> list[Entity]:
    """Entities with one label per name across the article and, if `propagate`, its missed mentions tagged.

    Mentions of a name (compared ignoring case, spacing, a leading "the" and a possessive) take their
    majority label, but the surname of a full PERSON name is always PERSON. Propagation tags untagged
    whole-word occurrences of a tagged name, of its upper-case form (headlines) and, after the full name,
    of a person's surname. It skips lowercase forms, stop words, a sentence-initial word the article also
    uses in lower case, a word followed by another capitalised word, and anything overlapping an entity.
    Names of kinds that cannot end in a score ("Park 72") or, in English, a possessive lose it; in French a
    name loses a leading elided article ("l'Élysée"), and an elided word alone ("qu'") is no name. `language`
    is the tagging pipeline's: it chooses the stop words and those rules (`_rules`). Of overlapping input
    entities the earlier, then longer, stays. The result is sorted by start.

    Raises ValueError for an entity whose offsets do not slice `text` to its `text`.
    """
    rules = _rules(language)
    kept = _without_overlaps(_checked(text, entities))
    if rules.elisions:
        kept = [trimmed for e in kept if (trimmed := _without_elision(e)) is not None]
    labels = _vote(kept)
    result = [_trimmed(_relabelled(e, labels), rules.possessives) for e in kept]
    if propagate:
        result = sorted([*result, *_propagated(text, result, rules.stop_words)], key=lambda e: e.start)
    return result


def _relabelled(e: Entity, labels: dict[str, str]) -> Entity:
    label = labels.get(_key(e.text), e.label) if e.label in NAME_LABELS else e.label
    return e if label == e.label else Entity(e.text, label, e.start, e.end)


def _checked(text: str, entities: Iterable[Entity]) -> Iterator[Entity]:
    for e in entities:
        if not (0 <= e.start < e.end <= len(text) and text[e.start : e.end] == e.text):
            raise ValueError(f"entity {e!r} does not slice the text")
        yield e


def _trimmed(e: Entity, possessives: bool) -> Entity:
    end = len(e.text)
    if e.label in _TRIM_NUMBER_LABELS and (m := _TRAILING_NUMBERS.search(e.text)):
        end = m.start()
    if possessives and e.label in _TRIM_POSSESSIVE_LABELS and (m := _TRAILING_POSSESSIVE.search(e.text, 0, end)):
        end = m.start()
    if end == len(e.text) or not e.text[:end].strip():
        return e
    return Entity(e.text[:end], e.label, e.start, e.start + end)


def _without_elision(e: Entity) -> Entity | None:
    if e.label not in NAME_LABELS:
        return e
    if _ELIDED_WORD.fullmatch(e.text):
        return None
    if not (m := _LEADING_ELISION.match(e.text)):
        return e
    return Entity(e.text[m.end() :], e.label, e.start + m.end(), e.end)


def _without_overlaps(entities: Iterable[Entity]) -> list[Entity]:
    """Entities sorted by start; of two that overlap, the one starting first (then the longer) stays."""
    kept: list[Entity] = []
    for e in sorted(entities, key=lambda e: (e.start, e.start - e.end)):
        if not kept or e.start >= kept[-1].end:
            kept.append(e)
    return kept


def _key(surface: str) -> str:
    """What makes two mentions the same name: spacing, case, a leading "the" and a possessive don't count."""
    return _bare(surface).casefold()


def _bare(surface: str) -> str:
    """A name as it would be cited: single spaces, no leading "the", no possessive."""
    form = " ".join(surface.split())
    form = form[4:] if form.startswith(("the ", "The ", "THE ")) else form
    return form.removesuffix("'s").removesuffix("’s").removesuffix("'").removesuffix("’")


def _vote(entities: list[Entity]) -> dict[str, str]:
    """The label for each name key: a full name's surname is PERSON, other keys go to the majority."""
    votes: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for e in entities:
        if e.label in NAME_LABELS:
            votes[_key(e.text)][e.label] += 1
    surnames = set()
    for e in entities:
        if e.label == "PERSON" and (tokens := _full_name(e.text)):
            first, last = _key(tokens[0]), _key(tokens[-1])
            surnames.add(last)
            if first in votes:
                votes[first]["PERSON"] += 1
    labels = {key: label for key, counter in votes.items() if (label := _majority(counter))}
    labels.update((surname, "PERSON") for surname in surnames if surname in votes)
    return labels


def _majority(counter: Counter[str]) -> str | None:
    (label, top), *rest = counter.most_common(2)
    return None if rest and rest[0][1] == top else label


def _full_name(surface: str) -> list[str]:
    """The tokens of a plausible multi-token personal name, without "Jr."-like suffixes; else []."""
    if "\n" in surface:
        return []
    tokens = [t for t in surface.split() if t.casefold() not in _NAME_SUFFIXES]
    if len(tokens) < 2 or not (tokens[0][:1].isupper() and tokens[-1][:1].isupper()):
        return []
    if tokens[-1].isupper() and not tokens[0].isupper():
        return []
    return tokens


def _propagated(text: str, entities: list[Entity], stop_words: frozenset[str]) -> list[Entity]:
    """New entities for untagged occurrences of names the article has tagged, longer names first."""
    taken = _Spans(entities)
    tagged = Counter(e.text for e in entities)
    ambiguous = _ambiguous_keys(entities)
    lower_words = _LowerWords(text)
    found = []
    for form, (label, since) in sorted(_forms(entities, stop_words).items(), key=lambda item: -len(item[0])):
        # As many occurrences as exact-match entities: every occurrence is tagged already.
        if text.count(form) == tagged[form] or _key(form) in ambiguous:
            continue
        for start in _occurrences(text, form, since):
            end = start + len(form)
            if taken.overlaps(start, end) or _inside_longer_name(text, end):
                continue
            if _sentence_initial(text, start) and form.casefold() in lower_words:
                continue
            taken.add(start, end)
            found.append(Entity(form, label, start, end))
    return found


def _ambiguous_keys(entities: list[Entity]) -> set[str]:
    """Name keys still tagged with more than one label (the vote was a tie): their label is unknown."""
    labels: dict[str, str] = {}
    ambiguous = set()
    for e in entities:
        if e.label in NAME_LABELS and labels.setdefault(_key(e.text), e.label) != e.label:
            ambiguous.add(_key(e.text))
    return ambiguous


def _forms(entities: list[Entity], stop_words: frozenset[str]) -> dict[str, tuple[str, int]]:
    """Surface form -> (label, offset from which it may be tagged): names, their capitals, surnames."""
    forms: dict[str, tuple[str, int]] = {}
    for e in entities:
        if e.label not in NAME_LABELS:
            continue
        surface = e.text[4:] if e.text.startswith(("the ", "The ")) else e.text
        candidates = [(surface, 0), (surface.upper(), 0)]
        if e.label == "PERSON" and (tokens := _full_name(surface)):
            candidates.append((tokens[-1], e.start))
        for form, since in candidates:
            if (form not in forms or since < forms[form][1]) and _propagatable(form, stop_words):
                forms[form] = (e.label, since)
    return forms


def _propagatable(form: str, stop_words: frozenset[str]) -> bool:
    return (
        len(form) > 1
        and form[0].isupper()
        and "\n" not in form
        and not all(word in stop_words for word in form.casefold().split())
    )


def _occurrences(text: str, form: str, since: int) -> Iterator[int]:
    """Starts of `form` as a whole word from `since` on; a hyphenated compound ("Biden-Putin") is one word."""
    start = text.find(form, since)
    while start >= 0:
        end = start + len(form)
        before = text[start - 1] if start else " "
        after = text[end : end + 2]
        joined_after = after[:1].isalnum() or after[:1] == "_" or (after[:1] == "-" and after[1:].isalnum())
        if not (before.isalnum() or before in "_-" or joined_after):
            yield start
        start = text.find(form, start + 1)


class _Spans:
    """Non-overlapping taken spans, for asking whether a new span would overlap one."""

    def __init__(self, entities: list[Entity]) -> None:
        self._starts = [e.start for e in entities]
        self._ends = [e.end for e in entities]

    def overlaps(self, start: int, end: int) -> bool:
        i = bisect.bisect_left(self._starts, end)
        return i > 0 and self._ends[i - 1] > start

    def add(self, start: int, end: int) -> None:
        i = bisect.bisect_left(self._starts, start)
        self._starts.insert(i, start)
        self._ends.insert(i, end)


def _sentence_initial(text: str, start: int) -> bool:
    i = start - 1
    while i >= 0 and text[i] in _OPENERS:
        i -= 1
    return i < 0 or text[i] in _SENTENCE_END


def _inside_longer_name(text: str, end: int) -> bool:
    """Whether a capitalised word follows, making the match likely part of a longer name."""
    if text[end : end + 1] != " ":
        return False
    following = text[end + 1 : end + 2]
    return following.isupper() and text[end + 2 : end + 3].islower()


class _LowerWords:
    """The lowercase words of a text, found on first use."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._words: set[str] | None = None

    def __contains__(self, word: str) -> bool:
        if self._words is None:
            self._words = {word for word in _LOWER_WORD.findall(self._text) if word.islower()}
        return word in self._words


def _stop_words(language: str) -> frozenset[str]:
    """spaCy's stop words for `language` (none for a language spaCy does not know)."""
    import spacy.util

    try:
        return frozenset(spacy.util.get_lang_class(language).Defaults.stop_words)
    except ImportError:
        return frozenset()


def group_entities(entities: list[Entity], *, language: str = "en") -> list[EntityGroup]:
    """One group per real-world entity, in order of first mention.

    Mentions group by label and name key. A one-token PERSON mention joins the full name it is the last
    (or first) token of, the nearest preceding one if several. An ORG acronym joins the ORG it abbreviates
    if that came first (the initials of its words but "of", "and"…: in another language, its stop words).
    Only names of real-world things are grouped, not dates or numbers.
    """
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, e in enumerate(entities):
        if e.label in NAME_LABELS:
            groups[(e.label, _key(e.text))].append(i)
    _join_short_names(entities, groups)
    _join_acronyms(entities, groups, _rules(language).acronym_skipped)
    ordered = sorted((sorted(mentions) for mentions in groups.values() if mentions), key=lambda m: m[0])
    return [EntityGroup(_canonical(entities, m), entities[m[0]].label, tuple(m)) for m in ordered]


def _join_short_names(entities: list[Entity], groups: dict[tuple[str, str], list[int]]) -> None:
    """Move each one-token PERSON mention into the group of a full name it is part of."""
    full_names: defaultdict[str, list[tuple[str, str]]] = defaultdict(list)
    for (label, key), mentions in groups.items():
        if label == "PERSON" and (tokens := _full_name(entities[mentions[0]].text)):
            for part in {_key(tokens[0]), _key(tokens[-1])}:
                full_names[part].append((label, key))
    for group_key in [k for k in groups if k[0] == "PERSON" and k[1] in full_names]:
        # A name whose own key is one of its tokens ("The Hive" is "hive") is no short form of itself.
        candidates = [c for c in full_names[group_key[1]] if c != group_key and groups.get(c)]
        if not candidates:
            continue
        for i in groups.pop(group_key):
            groups[min(candidates, key=lambda c: _distance(entities, groups[c], i))].append(i)


def _distance(entities: list[Entity], mentions: list[int], i: int) -> tuple[int, int]:
    """How far back the group was last mentioned before mention `i`; groups mentioned only later come last."""
    here = entities[i].start
    before = [here - entities[m].start for m in mentions if entities[m].start < here]
    return (0, min(before)) if before else (1, _first_start(entities, mentions))


def _join_acronyms(entities: list[Entity], groups: dict[tuple[str, str], list[int]], skipped: frozenset[str]) -> None:
    """Move the mentions of an ORG acronym ("IMF") into the group of the one earlier ORG it abbreviates."""
    initials: defaultdict[str, list[tuple[str, str]]] = defaultdict(list)
    for label, key in groups:
        words = [w for w in key.split() if w not in skipped]
        if label == "ORG" and len(words) > 1:
            initials["".join(w[0] for w in words)].append((label, key))
    for label, key in list(groups):
        if label != "ORG" or len(targets := initials.get(key, [])) != 1 or targets[0] not in groups:
            continue
        # News spells a name out before abbreviating it; an acronym seen first is likely something else.
        if _first_start(entities, groups[targets[0]]) < _first_start(entities, groups[(label, key)]):
            groups[targets[0]].extend(groups.pop((label, key)))


def _first_start(entities: list[Entity], mentions: list[int]) -> int:
    return min(entities[i].start for i in mentions)


def _canonical(entities: list[Entity], mentions: list[int]) -> str:
    """The longest full form among the mentions, without a leading "the" or a possessive."""
    forms = [_bare(entities[i].text) for i in mentions]
    return max(forms, key=lambda form: (len(form.split()), len(form), not form.isupper()))


TITLE_SEPARATOR = "\n\n"


def harmonise_title(
    text: str,
    entities: list[Entity],
    title: str,
    title_entities: list[Entity],
    *,
    propagate: bool = True,
    language: str = "en",
) -> list[Entity]:
    """The title's entities harmonised with the article's (already harmonised) `entities`; offsets index `title`.

    The title is read as a last paragraph after the text: its mentions vote with the text's, a name the
    text labels keeps that label in the title ("Blair" is PERSON where the text has "Tony Blair"), and, if
    `propagate`, names the text tagged are tagged where the title has them untagged. Then the text corrects
    the headline's mistakes (see `_fitted_to_text`). The text's entities are not changed. `language` as for
    `harmonise`.
    """
    offset = len(text) + len(TITLE_SEPARATOR)
    shifted = [Entity(e.text, e.label, e.start + offset, e.end + offset) for e in _checked(title, title_entities)]
    combined = harmonise(
        text + TITLE_SEPARATOR + title, [*entities, *shifted], propagate=propagate, language=language
    )
    text_labels = {_key(e.text): e.label for e in entities if e.label in NAME_LABELS}
    labels = {**_vote(combined), **text_labels}
    title_entities = [
        _relabelled(Entity(e.text, e.label, e.start - offset, e.end - offset), labels)
        for e in combined
        if e.start >= offset
    ]
    return _fitted_to_text(text, entities, title_entities, _rules(language).stop_words)


_LEADING_NON_WORD = re.compile(r"\A[\W_]+")
_WORD = re.compile(r"[^\W\d_]+")


def _fitted_to_text(
    text: str, entities: list[Entity], title_entities: list[Entity], stop_words: frozenset[str]
) -> list[Entity]:
    """Headline mistakes corrected by what the text says: a name-like title entity the text does not name
    loses leading punctuation ("- Blair"); if it holds names the text tagged and otherwise only words the
    text writes in lower case, it becomes those names ("Actress Roberts" after "Julia Roberts", "Blair
    Labour" after "Tony Blair" and "Labour", but "De Niro" stays); if every word of it is written in lower
    case in the text, it was a common word capitalised by the headline ("Tsunami"), and goes."""
    names = _text_names(entities, stop_words)
    labels = {_key(form): label for form, label in names.items()}
    lower_words = _LowerWords(text)
    fitted = []
    for e in title_entities:
        if e.label in NAME_LABELS and _key(e.text) not in labels:
            e = _without_leading_punctuation(e)
        if e.label not in NAME_LABELS or _key(e.text) in labels:
            fitted.append(_relabelled(e, labels))
        elif (parts := _known_parts(e, names)) and _common_words_between(e, parts, lower_words):
            fitted.extend(parts)
        elif not _common_words(e.text, lower_words):
            fitted.append(e)
    return fitted


def _without_leading_punctuation(e: Entity) -> Entity:
    lead = _LEADING_NON_WORD.match(e.text)
    if lead is None or lead.end() == len(e.text):
        return e
    return Entity(e.text[lead.end() :], e.label, e.start + lead.end(), e.end)


def _common_words(surface: str, lower_words: _LowerWords) -> bool:
    """Whether every word of `surface` is written in lower case somewhere in the text."""
    words = _WORD.findall(surface)
    return bool(words) and all(word.casefold() in lower_words for word in words)


def _common_words_between(e: Entity, parts: list[Entity], lower_words: _LowerWords) -> bool:
    """Whether every word of `e` outside `parts` is a common word of the text ("Actress" but not "De")."""
    bounds = [e.start, *(i for part in parts for i in (part.start, part.end)), e.end]
    rest = " ".join(e.text[a - e.start : b - e.start] for a, b in zip(bounds[::2], bounds[1::2], strict=True))
    return all(word.casefold() in lower_words for word in _WORD.findall(rest))


def _text_names(entities: list[Entity], stop_words: frozenset[str]) -> dict[str, str]:
    """Surface form -> label of the text's names: each name-like entity as cited, and full names' surnames."""
    names: dict[str, str] = {}
    for e in entities:
        if e.label not in NAME_LABELS:
            continue
        forms = [_bare(e.text)]
        if e.label == "PERSON" and (tokens := _full_name(e.text)):
            forms.append(tokens[-1])
        for form in forms:
            if _propagatable(form, stop_words):
                names.setdefault(form, e.label)
    return names


def _known_parts(e: Entity, names: dict[str, str]) -> list[Entity]:
    """The text's names found as whole words inside `e`, longer names first, without overlaps."""
    taken = _Spans([])
    parts = []
    for form in sorted(names, key=len, reverse=True):
        for start in _occurrences(e.text, form, 0):
            end = start + len(form)
            if not taken.overlaps(start, end):
                taken.add(start, end)
                parts.append(Entity(form, names[form], e.start + start, e.start + end))
    return sorted(parts, key=lambda part: part.start)


def group_article_entities(
    entities: list[Entity], title_entities: list[Entity], *, language: str = "en"
) -> list[EntityGroup]:
    """`group_entities` over the text's and the title's mentions together ("Blair" in the title joins
    "Tony Blair" in the text); a group's `title_mentions` index `title_entities`. The title counts as
    coming after the text, so groups are in order of first mention in the text, title-only ones last."""
    offset = max((e.end for e in entities), default=0) + len(TITLE_SEPARATOR)
    shifted = [Entity(e.text, e.label, e.start + offset, e.end + offset) for e in title_entities]
    count = len(entities)
    return [
        EntityGroup(
            group.name,
            group.label,
            tuple(i for i in group.mentions if i < count),
            tuple(i - count for i in group.mentions if i >= count),
        )
        for group in group_entities([*entities, *shifted], language=language)
    ]

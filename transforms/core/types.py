"""The element types that flow between the pipeline's transforms."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Source:
    """Where an article came from."""

    uri: str
    path: str
    format: str
    bytes: int
    encoding: str | None = None
    line: int | None = None
    record_id: str | None = None
    warc_record_id: str | None = None
    warc_date: str | None = None
    offset: int | None = None


@dataclass(frozen=True, slots=True)
class Entity:
    """A named-entity mention; `start`/`end` are code-point offsets into the cleaned text."""

    text: str
    label: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class EntityGroup:
    """The mentions of one real-world entity in an article; `mentions` index the article's entities."""

    name: str
    label: str
    mentions: tuple[int, ...]
    # Its mentions in the article's title: indices into the article's `title_entities`.
    title_mentions: tuple[int, ...] = ()


@dataclass(slots=True)
class Article:
    """One article on its way through the pipeline: read, then cleaned, then tagged."""

    id: str
    source: Source
    text: str
    title: str | None = None
    url: str | None = None
    date: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    cleaning: dict[str, int] = field(default_factory=dict)
    entities: list[Entity] = field(default_factory=list)
    entity_groups: list[EntityGroup] = field(default_factory=list)
    model: dict[str, str] | None = None
    language: str | None = None
    language_score: float | None = None
    # The language whose pipeline tags it: `language`, or English when the evidence for `language` is too weak
    # (transforms.core.language.routed_language); None without language identification.
    route_language: str | None = None
    title_entities: list[Entity] = field(default_factory=list)
    # Why the article was not tagged (e.g. `no_model_for_language`), or None.
    ner_skipped: str | None = None
    duplicate: Duplicate | None = None
    authors: list[str] = field(default_factory=list)

    def replace(self, **changes: Any) -> Article:
        return dataclasses.replace(self, **changes)


# The tagged output of a stage's dead letters.
DEAD_LETTER = "dead_letter"


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An input that could not be enriched, with the stage and a stable reason code."""

    source: Source
    stage: str
    reason: str
    error: str
    article_id: str | None = None


@dataclass(frozen=True, slots=True)
class Duplicate:
    """An article's duplicate cluster: its representative's id, its size, how it copies it, and how closely."""

    cluster: str
    size: int
    kind: str | None
    similarity: float

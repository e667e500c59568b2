"""The corpus entity index: per entity group, the articles that name it, its mentions and a few example ids."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

EXAMPLES = 3

Key = tuple[str, str]  # (label, name)


@dataclass(slots=True)
class EntityStats:
    """What the corpus says about one entity group: articles naming it, mentions, the smallest article ids."""

    articles: int = 0
    mentions: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, article_id: str, mentions: int) -> None:
        self.articles += 1
        self.mentions += mentions
        self.examples = _smallest(self.examples, [article_id])

    def merge(self, other: EntityStats) -> None:
        self.articles += other.articles
        self.mentions += other.mentions
        self.examples = _smallest(self.examples, other.examples)


def distinct_groups(groups: Iterable[tuple[str, str, int]]) -> Iterator[tuple[Key, int]]:
    """((label, name), mentions) once per distinct group of one article, from (label, name, mentions)."""
    mentions: dict[Key, int] = {}
    for label, name, count in groups:
        mentions[(label, name)] = mentions.get((label, name), 0) + count
    yield from mentions.items()


def record_groups(record: dict[str, Any]) -> Iterator[tuple[Key, int]]:
    """((label, name), mentions) for each distinct entity group of an enriched record."""
    groups = record.get("entity_groups") or ()
    return distinct_groups((group["label"], group["name"], int(group["count"])) for group in groups)


def index_line(key: Key, stats: EntityStats) -> dict[str, Any]:
    """One line of `entities-*.jsonl`."""
    label, name = key
    return {
        "name": name,
        "label": label,
        "articles": stats.articles,
        "mentions": stats.mentions,
        "examples": list(stats.examples),
    }


def build_index(records: Iterable[dict[str, Any]]) -> dict[Key, EntityStats]:
    """The entity index of some enriched records, without Beam (the report of several runs uses it)."""
    index: dict[Key, EntityStats] = {}
    for record in records:
        for key, mentions in record_groups(record):
            index.setdefault(key, EntityStats()).add(record["id"], mentions)
    return index


def _smallest(a: list[str], b: list[str]) -> list[str]:
    return heapq.nsmallest(EXAMPLES, set(a) | set(b))

"""The output records: the one place where articles and dead letters become JSON."""

from __future__ import annotations

import dataclasses
import json
import traceback
from typing import Any

from transforms.core.types import Article, DeadLetter, Source

SCHEMA_VERSION = "1.1"


def enriched_record(article: Article) -> dict[str, Any]:
    """The enriched-output record of a tagged article (see docs/schema.md)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "id": article.id,
        "source": source_record(article.source),
        "title": article.title,
        "url": article.url,
        "date": article.date,
        "text": article.text,
        "metadata": article.metadata,
        "cleaning": article.cleaning,
        "entities": [
            {"text": entity.text, "label": entity.label, "start": entity.start, "end": entity.end}
            for entity in article.entities
        ],
        "entity_groups": [
            {"name": group.name, "label": group.label, "count": len(group.mentions), "mentions": list(group.mentions)}
            for group in article.entity_groups
        ],
        "model": article.model,
        "authors": article.authors,
    }


def dead_letter_record(dead: DeadLetter) -> dict[str, Any]:
    """The dead-letter record of an input that could not be enriched."""
    return {
        "schema_version": SCHEMA_VERSION,
        "id": dead.article_id,
        "source": source_record(dead.source),
        "stage": dead.stage,
        "reason": dead.reason,
        "error": dead.error,
    }


def source_record(source: Source) -> dict[str, Any]:
    return {key: value for key, value in dataclasses.asdict(source).items() if value is not None}


def to_json_line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def describe_exception(exc_type: type, exc_repr: str, trace: list[str] | None = None) -> str:
    """A one-line error description from what Beam's exception handling hands over."""
    last = trace[-1].strip() if trace else ""
    return last or f"{exc_type.__name__}: {exc_repr}"


def error_text(error: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(error), error)).strip()

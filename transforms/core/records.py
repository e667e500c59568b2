"""The output records: the one place where articles and dead letters become JSON."""

from __future__ import annotations

import dataclasses
import json
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from transforms.core.dedup import Node, Signature, decode_shingles, encode_shingles
from transforms.core.types import Article, DeadLetter, Duplicate, Entity, Source

SCHEMA_VERSION = "1.1"


@dataclass(frozen=True)
class WriteConfig:
    """`write`: output shards, Parquet, the entity index and the report (configs/local.yaml)."""

    num_shards: int = 0
    parquet: bool = False
    entity_index: bool = True
    report: bool = True


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
        "entities": [_entity_record(entity) for entity in article.entities],
        "entity_groups": [
            {
                "name": group.name,
                "label": group.label,
                "count": len(group.mentions) + len(group.title_mentions),
                "mentions": list(group.mentions),
                "title_mentions": list(group.title_mentions),
            }
            for group in article.entity_groups
        ],
        "model": article.model,
        **_language_fields(article),
        "duplicate": duplicate_record(article.duplicate),
        "authors": article.authors,
    }


def _entity_record(entity: Entity) -> dict[str, Any]:
    return {"text": entity.text, "label": entity.label, "start": entity.start, "end": entity.end}


def _language_fields(article: Article) -> dict[str, Any]:
    """Schema 1.1: the article's language, its title's entities, and why it was not tagged, if it was not."""
    return {
        "language": article.language,
        "language_score": article.language_score,
        "title_entities": [_entity_record(entity) for entity in article.title_entities],
        "ner": {"skipped": article.ner_skipped} if article.ner_skipped else None,
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


def duplicate_record(duplicate: Duplicate | None) -> dict[str, Any] | None:
    """`duplicate` of a record: null only when duplicate detection was off (`dedup.enabled: false`, watch)."""
    if duplicate is None:
        return None
    return {
        "cluster": duplicate.cluster,
        "size": duplicate.size,
        "kind": duplicate.kind,
        "similarity": duplicate.similarity,
    }


def dropped_record(article: Article) -> dict[str, Any]:
    """The `duplicates-*.jsonl` record of an article left out by `dedup.drop` (its cluster was written)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "id": article.id,
        "source": source_record(article.source),
        "title": article.title,
        "duplicate": duplicate_record(article.duplicate),
    }


def signature_record(signature: Signature, duplicate: Duplicate, params: dict[str, Any]) -> dict[str, Any]:
    """A `signatures-*.jsonl` record: what an incremental run keeps of an article to compare later runs with."""
    return {
        "id": signature.node.id,
        "source": {"uri": signature.uri},
        "length": signature.node.length,
        "text_key": signature.text_key,
        "bands": list(signature.bands),
        "shingles": encode_shingles(signature.shingles),
        "duplicate": duplicate_record(duplicate),
        "params": params,
    }


def line_keys_record(uri: str, keys: Iterable[str]) -> dict[str, Any]:
    """A `corpus-lines-*.jsonl` record: an article's line keys, the corpus evidence later runs count with theirs."""
    return {"source": {"uri": uri}, "lines": sorted(keys)}


def signature_from_record(record: dict[str, Any]) -> Signature:
    """The signature of an earlier run's article, with the duplicate its record was written with."""
    earlier = Duplicate(**record["duplicate"])
    node = Node(record["id"], record["length"], earlier)
    shingles = decode_shingles(record["shingles"])
    return Signature(node, record["source"]["uri"], record["text_key"], tuple(record["bands"]), shingles)


def source_record(source: Source) -> dict[str, Any]:
    return {key: value for key, value in dataclasses.asdict(source).items() if value is not None}


def to_json_line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def describe_exception(exc_type: type, exc_repr: str, trace: list[str] | None = None) -> str:
    """A one-line error description from what Beam's exception handling hands over."""
    last = trace[-1].strip() if trace else ""
    return last or f"{exc_type.__name__}: {exc_repr}"


def as_dead_letter(item: DeadLetter | tuple, describe: Callable[[tuple], DeadLetter]) -> DeadLetter:
    """A dead letter as it is, or `describe`d from the (input, error) that Beam's exception handling caught."""
    return item if isinstance(item, DeadLetter) else describe(item)


def error_text(error: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(error), error)).strip()

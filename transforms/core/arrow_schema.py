"""The Arrow schema of enriched records, mirroring docs/schema/records.schema.json, for the Parquet output."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

SOURCE = pa.struct(
    [
        pa.field("uri", pa.string(), nullable=False),
        pa.field("path", pa.string(), nullable=False),
        pa.field("format", pa.string(), nullable=False),
        pa.field("bytes", pa.int64(), nullable=False),
        pa.field("encoding", pa.string()),
        pa.field("line", pa.int64()),
        pa.field("record_id", pa.string()),
        pa.field("warc_record_id", pa.string()),
        pa.field("warc_date", pa.string()),
        pa.field("offset", pa.int64()),
    ]
)
ENTITY = pa.struct(
    [
        pa.field("text", pa.string(), nullable=False),
        pa.field("label", pa.string(), nullable=False),
        pa.field("start", pa.int64(), nullable=False),
        pa.field("end", pa.int64(), nullable=False),
    ]
)
ENTITY_GROUP = pa.struct(
    [
        pa.field("name", pa.string(), nullable=False),
        pa.field("label", pa.string(), nullable=False),
        pa.field("count", pa.int64(), nullable=False),
        pa.field("mentions", pa.list_(pa.int64()), nullable=False),
        pa.field("title_mentions", pa.list_(pa.int64())),
    ]
)
DUPLICATE = pa.struct(
    [
        pa.field("cluster", pa.string()),
        pa.field("size", pa.int64()),
        pa.field("kind", pa.string()),
        pa.field("similarity", pa.float64()),
    ]
)
MODEL = pa.struct([pa.field("name", pa.string()), pa.field("version", pa.string())])

# `metadata` holds any JSON object a source record carried, so it is kept as its JSON text.
ENRICHED = pa.schema(
    [
        pa.field("schema_version", pa.string(), nullable=False),
        pa.field("id", pa.string(), nullable=False),
        pa.field("source", SOURCE, nullable=False),
        pa.field("title", pa.string()),
        pa.field("url", pa.string()),
        pa.field("date", pa.string()),
        pa.field("text", pa.string(), nullable=False),
        pa.field("metadata", pa.string(), metadata={"format": "json"}),
        pa.field("cleaning", pa.map_(pa.string(), pa.int64())),
        pa.field("entities", pa.list_(ENTITY), nullable=False),
        pa.field("entity_groups", pa.list_(ENTITY_GROUP), nullable=False),
        pa.field("model", MODEL),
        pa.field("language", pa.string()),
        pa.field("language_score", pa.float64()),
        pa.field("title_entities", pa.list_(ENTITY)),
        pa.field("ner", pa.struct([pa.field("skipped", pa.string())])),
        pa.field("duplicate", DUPLICATE),
        pa.field("authors", pa.list_(pa.string())),
    ]
)
JSON_COLUMNS = frozenset({"metadata"})


def parquet_row(record: dict[str, Any]) -> dict[str, Any]:
    """An enriched record (records.py) as a row of `ENRICHED`: JSON columns as text, maps as (key, value) pairs."""
    row = {name: record.get(name) for name in ENRICHED.names}
    for name in JSON_COLUMNS:
        row[name] = json.dumps(row[name], ensure_ascii=False, separators=(",", ":"))
    row["cleaning"] = list((row["cleaning"] or {}).items())
    row["source"] = {name: record["source"].get(name) for name in SOURCE.names}
    return row

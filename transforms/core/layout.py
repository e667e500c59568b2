"""The output folder's layout: the name of every file and folder a run writes, in one place."""

from __future__ import annotations

# Shards, `<prefix>-SSSSS-of-NNNNN<suffix>`, in a run's output folder.
ENRICHED = "enriched"
DEAD_LETTER = "dead-letter"
ENTITIES = "entities"  # the corpus entity index
DUPLICATES = "duplicates"  # with dedup.drop: the copies left out
SIGNATURES = "signatures"  # incremental: what later runs compare their articles with
LINE_KEYS = "corpus-lines"  # incremental: the corpus-boilerplate evidence of the run's articles
SHARD_TEMPLATE = "-SSSSS-of-NNNNN"
JSONL = ".jsonl"
PARQUET = ".parquet"
# Shards whose lines each carry `source.uri`: pruned by input when a later run processes that input again.
RECORD_SHARDS = (ENRICHED, DEAD_LETTER, DUPLICATES, SIGNATURES, LINE_KEYS)

SUMMARY = "run-summary.json"
REPORT = "run-report.html"
WATCH_SUMMARY = "watch-summary.json"  # beside the runs of a watched output: the whole watch
CORPUS_ENTITIES = "entities.jsonl"  # beside the runs of an incremental output: the index of every committed record

# Temporary folders of a job: Beam's file sinks and HoldArticles (removed at its end, or when it fails).
BEAM_TEMP = "beam-temp-"
HELD = BEAM_TEMP + "held-"

# An incremental output folder: committed runs, each in a folder of its own, and what commits them.
RUN = "run="  # run=<UTC time>/
STAGING = "_tmp-"  # _tmp-run=…/: a run being written; _tmp-<name>: a file being replaced
MANIFEST = "_manifest.json"  # written last into run=…/: the commit point
LATEST = "latest"
LOCK = "_lock"
STATE = "_state"  # the corpus store of a local output (transforms/core/store.py)


def shard_prefix(folder: str, prefix: str) -> str:
    """What Beam's file sinks are given to write `prefix` shards into `folder`."""
    return f"{folder.rstrip('/')}/{prefix}"


def shard_glob(folder: str, prefix: str, suffix: str = JSONL) -> str:
    return f"{folder.rstrip('/')}/{prefix}-*{suffix}"


def is_shard_of(name: str, prefix: str, suffix: str = JSONL) -> bool:
    return name.startswith(prefix + "-") and name.endswith(suffix)


def is_record_shard(name: str) -> bool:
    """A JSON Lines shard whose lines carry `source.uri` (an entity index line does not)."""
    return any(is_shard_of(name, prefix) for prefix in RECORD_SHARDS)


def is_shard(name: str) -> bool:
    """Any shard a run writes: records, the entity index, Parquet."""
    return is_record_shard(name) or is_shard_of(name, ENTITIES) or name.endswith(PARQUET)

"""The corpus state of an incremental output in SQLite: the ledger, line counts and duplicate signatures.

The committed runs' shards are the record of truth; the store is their index, so that a run looks up only what
its own articles need (the counts of their lines, the earlier articles sharing a band with them) instead of
re-reading every committed run. The launcher writes it after each commit (`CorpusStore.apply_run`) and can
rebuild it from the runs' shards at any time; workers read it (`StoreReader`), never write it.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from transforms.core.dedup import Node, Signature
from transforms.core.records import signature_from_record
from transforms.core.types import Duplicate

FORMAT = 1
_CHUNK = 900  # values per `IN (…)` query, below SQLite's oldest limit on bound parameters
_SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;
CREATE TABLE runs(name TEXT PRIMARY KEY, sequence INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE inputs(
    uri TEXT PRIMARY KEY, size INTEGER, mtime REAL, checksum TEXT, fingerprint TEXT, run TEXT
) WITHOUT ROWID;
CREATE TABLE line_keys(uri TEXT NOT NULL, keys BLOB NOT NULL);
CREATE INDEX line_keys_uri ON line_keys(uri);
CREATE TABLE line_counts(key BLOB PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE signatures(
    id TEXT PRIMARY KEY, uri TEXT NOT NULL, length INTEGER, text_key BLOB, bands BLOB, shingles BLOB,
    cluster TEXT, size INTEGER, kind TEXT, similarity REAL
) WITHOUT ROWID;
CREATE INDEX signatures_uri ON signatures(uri);
CREATE INDEX signatures_text ON signatures(text_key);
CREATE TABLE bands(band INTEGER NOT NULL, id TEXT NOT NULL, PRIMARY KEY(band, id)) WITHOUT ROWID;
CREATE TABLE pending_prunes(run TEXT NOT NULL, uri TEXT NOT NULL, PRIMARY KEY(run, uri)) WITHOUT ROWID;
"""
_LINE_KEY_BYTES = 12


@dataclass(frozen=True)
class History:
    """What a job knows of the runs committed before it: the store to look its articles up in, and the inputs
    it processes again (their committed evidence is left out)."""

    store: str
    replaced: frozenset[str]


class CorpusStore:
    """The launcher's read-write handle on the store at `path` (created if missing)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None)
        if self._db.execute("PRAGMA user_version").fetchone()[0] != FORMAT:
            self._create()

    def close(self) -> None:
        self._db.close()

    def reset(self) -> None:
        """Forget everything (the store is then rebuilt from the committed runs)."""
        tables = [row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        with self._transaction():
            for table in tables:
                self._db.execute(f"DROP TABLE {table}")
            self._db.execute("PRAGMA user_version = 0")
        self._create()

    # ---- what was applied -----------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def runs(self) -> dict[str, int]:
        """run name -> sequence of every run applied."""
        return dict(self._db.execute("SELECT name, sequence FROM runs"))

    def last_run(self) -> str | None:
        row = self._db.execute("SELECT name FROM runs ORDER BY sequence DESC LIMIT 1").fetchone()
        return None if row is None else row[0]

    # ---- the ledger -----------------------------------------------------------------------------

    def ledger(self, uris: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
        """uri -> {size, mtime, checksum, fingerprint, run} of the latest committed run that processed it (of
        `uris`, or of every input)."""
        columns = "uri, size, mtime, checksum, fingerprint, run"
        if uris is None:
            rows = self._db.execute(f"SELECT {columns} FROM inputs")
        else:
            rows = _chunked(self._db, f"SELECT {columns} FROM inputs WHERE uri IN ({{}})", list(uris))
        return {
            uri: {"size": size, "mtime": mtime, "checksum": checksum, "fingerprint": fingerprint, "run": run}
            for uri, size, mtime, checksum, fingerprint, run in rows
        }

    def known_inputs(self) -> int:
        return self._db.execute("SELECT count(*) FROM inputs").fetchone()[0]

    def touch(self, mtimes: dict[str, float]) -> None:
        """Record the modification time of inputs found unchanged by their checksum (skips hashing them again)."""
        with self._transaction():
            self._db.executemany("UPDATE inputs SET mtime = ? WHERE uri = ?", [(t, u) for u, t in mtimes.items()])

    # ---- applying a committed run ---------------------------------------------------------------

    def apply_run(
        self, manifest: dict[str, Any], line_key_lines: Iterable[str | bytes], signature_lines: Iterable[str | bytes]
    ) -> None:
        """Add a committed run: its inputs to the ledger, its articles' line keys and signatures to the
        evidence, replacing what earlier runs had of the same inputs; those runs' records become pending
        prunes. Applying a run twice changes nothing."""
        name = manifest["run"]
        if name in self.runs():
            return
        with self._transaction():
            inputs = manifest["inputs"]
            owners = self.ledger(inputs)
            self._db.executemany(
                "INSERT OR IGNORE INTO pending_prunes(run, uri) VALUES (?, ?)",
                [(entry["run"], uri) for uri, entry in owners.items() if entry["run"] != name],
            )
            self._forget(list(owners))
            self._db.executemany(
                "INSERT OR REPLACE INTO inputs(uri, size, mtime, checksum, fingerprint, run) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (uri, e["size"], e.get("mtime"), e["checksum"], manifest["fingerprint"], name)
                    for uri, e in inputs.items()
                ],
            )
            self._add_line_keys(line_key_lines, set(inputs))
            self._add_signatures(signature_lines, set(inputs))
            self._db.execute("INSERT INTO runs(name, sequence) VALUES (?, ?)", (name, manifest["sequence"]))

    def pending_prunes(self) -> dict[str, set[str]]:
        """run -> its inputs whose records a later run replaced, not yet removed from its shards."""
        pending: dict[str, set[str]] = {}
        for run, uri in self._db.execute("SELECT run, uri FROM pending_prunes"):
            pending.setdefault(run, set()).add(uri)
        return pending

    def pruned(self, runs: Iterable[str]) -> None:
        with self._transaction():
            self._db.executemany("DELETE FROM pending_prunes WHERE run = ?", [(run,) for run in runs])

    def _forget(self, uris: list[str]) -> None:
        """Take the evidence of `uris` out: their line keys from the counts, their signatures and bands."""
        lost: Counter[bytes] = Counter()
        for (keys,) in _chunked(self._db, "SELECT keys FROM line_keys WHERE uri IN ({})", uris):
            lost.update(_split_keys(keys))
        self._db.executemany("UPDATE line_counts SET n = n - ? WHERE key = ?", [(n, k) for k, n in lost.items()])
        self._db.execute("DELETE FROM line_counts WHERE n <= 0")
        for chunk in _chunks(uris):
            marks = ", ".join("?" * len(chunk))
            self._db.execute(f"DELETE FROM line_keys WHERE uri IN ({marks})", chunk)
            self._db.execute(
                f"DELETE FROM bands WHERE id IN (SELECT id FROM signatures WHERE uri IN ({marks}))", chunk
            )
            self._db.execute(f"DELETE FROM signatures WHERE uri IN ({marks})", chunk)

    def _add_line_keys(self, lines: Iterable[str | bytes], uris: set[str]) -> None:
        rows, added = [], Counter()
        for line in lines:
            if not line.strip():
                continue
            record = json.loads(line)
            uri = record["source"]["uri"]
            if uri not in uris:  # pruned since: a later run has this input
                continue
            keys = b"".join(sorted({bytes.fromhex(key) for key in record["lines"]}))
            rows.append((uri, keys))
            added.update(_split_keys(keys))
        self._db.executemany("INSERT INTO line_keys(uri, keys) VALUES (?, ?)", rows)
        self._db.executemany(
            "INSERT INTO line_counts(key, n) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET n = n + excluded.n",
            list(added.items()),
        )

    def _add_signatures(self, lines: Iterable[str | bytes], uris: set[str]) -> None:
        rows, bands = [], []
        for line in lines:
            if not line.strip():
                continue
            sig = signature_from_record(json.loads(line))
            if sig.uri not in uris:
                continue
            earlier = sig.node.earlier
            rows.append((
                sig.node.id, sig.uri, sig.node.length, bytes.fromhex(sig.text_key), _pack_bands(sig.bands),
                sig.shingles, earlier.cluster, earlier.size, earlier.kind, earlier.similarity,
            ))  # fmt: skip
            bands.extend((_signed(band), sig.node.id) for band in sig.bands)
        self._db.executemany(f"INSERT OR REPLACE INTO signatures VALUES ({', '.join('?' * 10)})", rows)
        self._db.executemany("INSERT OR IGNORE INTO bands(band, id) VALUES (?, ?)", bands)

    def _create(self) -> None:
        self._db.executescript(f"BEGIN;\n{_SCHEMA}PRAGMA user_version = {FORMAT};\nCOMMIT;")

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class StoreReader:
    """A worker's read-only lookups in the store: only what the articles of its job need."""

    def __init__(self, path: str) -> None:
        self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)

    def close(self) -> None:
        self._db.close()

    def line_counts(self, keys: Sequence[str]) -> dict[str, int]:
        """How many committed articles of their site hold each of the line keys `keys` (hex), where any do."""
        blobs = [bytes.fromhex(key) for key in keys]
        rows = _chunked(self._db, "SELECT key, n FROM line_counts WHERE key IN ({})", blobs)
        return {key.hex(): n for key, n in rows}

    def line_keys_of(self, uris: Iterable[str]) -> Counter[str]:
        """The line keys the committed articles of `uris` hold, counted once per article."""
        found: Counter[str] = Counter()
        for (keys,) in _chunked(self._db, "SELECT keys FROM line_keys WHERE uri IN ({})", list(uris)):
            found.update(key.hex() for key in _split_keys(keys))
        return found

    def signatures_sharing(
        self, text_keys: Iterable[str], bands: Iterable[int], excluding: frozenset[str] = frozenset()
    ) -> Iterator[Signature]:
        """The committed articles that share a text key or a band key with the given ones (except those of the
        inputs `excluding`), each once, with the cluster their record was written with."""
        ids = {row[0] for row in _chunked(
            self._db, "SELECT id FROM signatures WHERE text_key IN ({})", [bytes.fromhex(k) for k in set(text_keys)]
        )}  # fmt: skip
        ids.update(row[0] for row in _chunked(
            self._db, "SELECT id FROM bands WHERE band IN ({})", [_signed(band) for band in set(bands)]
        ))  # fmt: skip
        columns = "id, uri, length, text_key, bands, shingles, cluster, size, kind, similarity"
        for row in _chunked(self._db, f"SELECT {columns} FROM signatures WHERE id IN ({{}})", sorted(ids)):
            ident, uri, length, text_key, packed, shingles, cluster, size, kind, similarity = row
            if uri in excluding:
                continue
            node = Node(ident, length, Duplicate(cluster, size, kind, similarity))
            yield Signature(node, uri, text_key.hex(), _unpack_bands(packed), shingles)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, *_: object) -> None:
        self._db.execute("ROLLBACK" if kind is not None else "COMMIT")


def _chunks(values: Sequence[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield list(values[start : start + _CHUNK])


def _chunked(db: sqlite3.Connection, query: str, values: Sequence[Any]) -> Iterator[tuple]:
    """The rows of `query` (whose `{}` takes the placeholders) for every chunk of `values`."""
    for chunk in _chunks(values):
        yield from db.execute(query.format(", ".join("?" * len(chunk))), chunk)


def _split_keys(packed: bytes) -> list[bytes]:
    return [packed[i : i + _LINE_KEY_BYTES] for i in range(0, len(packed), _LINE_KEY_BYTES)]


def _signed(band: int) -> int:
    """A 64-bit band key as SQLite's signed integer."""
    return band - (1 << 64) if band >= 1 << 63 else band


def _pack_bands(bands: Sequence[int]) -> bytes:
    return np.array(bands, dtype="<u8").tobytes()


def _unpack_bands(packed: bytes) -> tuple[int, ...]:
    return tuple(np.frombuffer(packed, dtype="<u8").tolist())

"""Duplicate detection: word 5-gram sets, MinHash band keys, verified pairs, and clusters around a centre."""

from __future__ import annotations

import base64
import functools
import hashlib
import itertools
import pickle
import re
import struct
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import rensa

from transforms.core.types import Duplicate

SHINGLE_WORDS = 5
MAX_BUCKET_NODES = 100  # above this a band bucket pairs each node with the first and the next, not all pairs
_WORD = re.compile(r"\w+")
_RENSA_VERSION = rensa.RMinHash.ALGORITHM_VERSION
_MIX_SEED = 20261130
_BAND_MIX = np.uint64(0x9E3779B97F4A7C15)


@dataclass(frozen=True)
class DedupConfig:
    """`dedup`: exact and MinHash near-duplicate clusters (configs/local.yaml and docs/dedup.md)."""

    enabled: bool = True
    threshold: float = 0.8
    bands: int = 20
    rows: int = 6
    seed: int = 1
    drop: bool = False


@dataclass(frozen=True, slots=True)
class Node:
    """An article as the clustering sees it; `earlier` is what an earlier run's record says about it."""

    id: str
    length: int
    earlier: Duplicate | None = None

    def rank(self) -> tuple[bool, bool, int, str]:
        """Smaller ranks first: earlier runs' articles, earlier representatives, the longest text, the smallest id."""
        earlier_rep = self.earlier is not None and self.earlier.cluster == self.id
        return self.earlier is None, not earlier_rep, -self.length, self.id


@dataclass(frozen=True, slots=True)
class Signature:
    """What duplicate detection keeps of an article: text key, band keys and its 5-gram hash set."""

    node: Node
    uri: str
    text_key: str
    bands: tuple[int, ...]
    shingles: bytes


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def text_key(text: str, tokens: list[str]) -> str:
    """The hash of the normalised text (lower-cased words, single-spaced): equal for exact duplicates."""
    normalised = " ".join(tokens) if tokens else text.strip()
    return hashlib.blake2b(normalised.encode("utf-8"), digest_size=16).hexdigest()


def shingle_hashes(tokens: list[str]) -> np.ndarray:
    """The 64-bit hashes of the word 5-grams (a shorter text is one shingle of all its words)."""
    (hashes,) = shingle_hashes_of([tokens])
    return hashes


def shingle_hashes_of(token_lists: Sequence[list[str]]) -> list[np.ndarray]:
    """`shingle_hashes` of many texts, in one call to rensa."""
    shingle_sets = [_shingles(tokens) for tokens in token_lists]
    present = [i for i, shingles in enumerate(shingle_sets) if shingles]
    hashes = [np.empty(0, dtype=np.uint64) for _ in token_lists]
    if present:
        for i, values in zip(present, rensa.RMinHash.hash_token_sets([shingle_sets[i] for i in present]), strict=True):
            hashes[i] = np.array(values, dtype=np.uint64)
    return hashes


def _shingles(tokens: list[str]) -> list[str]:
    if not tokens:
        return []
    width = min(SHINGLE_WORDS, len(tokens))
    return [" ".join(tokens[i : i + width]) for i in range(len(tokens) - width + 1)]


def packed_set(hashes: np.ndarray) -> bytes:
    """The shingle set as sorted distinct 32-bit values: half the bytes to shuffle and keep, and a chance of
    about 1 in 17,000 that two 500-word articles share one 5-gram by accident (no visible change to Jaccard)."""
    folded = (hashes ^ (hashes >> np.uint64(32))).astype(np.uint32)
    return np.unique(folded).astype("<u4").tobytes()


def band_keys(hashes: np.ndarray, bands: int, rows: int, seed: int) -> tuple[int, ...]:
    """One key per LSH band: two sets share a band's key when their MinHash rows in that band all agree.

    A band's rows are mixed into 64 bits by fixed odd multipliers (a stray collision only adds a candidate
    pair, which verification drops).
    """
    (keys,) = band_keys_of([hashes], bands, rows, seed)
    return keys


def band_keys_of(hash_sets: Sequence[np.ndarray], bands: int, rows: int, seed: int) -> list[tuple[int, ...]]:
    """`band_keys` of many sets, in one MinHash call: one call per article costs about five times as much on
    a busy machine, where every call into rensa waits for the CPU again."""
    keys: list[tuple[int, ...]] = [() for _ in hash_sets]
    present = [i for i, hashes in enumerate(hash_sets) if hashes.size]
    if not present:
        return keys
    digests = rensa.RMinHash.digest_matrix_from_token_hash_sets(
        [hash_sets[i].tolist() for i in present], bands * rows, seed
    ).to_rows()
    values = np.array(digests, dtype=np.uint64).reshape(len(present), bands, rows)
    mixed = (values * _multipliers(rows)).sum(axis=2) ^ (np.arange(bands, dtype=np.uint64) * _BAND_MIX)
    for i, row in zip(present, mixed.tolist(), strict=True):
        keys[i] = tuple(row)
    return keys


@functools.cache
def _multipliers(rows: int) -> np.ndarray:
    return np.random.default_rng(_MIX_SEED).integers(1, 2**63, size=rows, dtype=np.uint64) * np.uint64(2) + np.uint64(1)


def signature(node: Node, uri: str, text: str, bands: int, rows: int, seed: int) -> Signature:
    (found,) = signatures([(node, uri, text)], bands, rows, seed)
    return found


def signatures(items: Sequence[tuple[Node, str, str]], bands: int, rows: int, seed: int) -> list[Signature]:
    """The signatures of (node, uri, text) items, computed together (see `band_keys_of`)."""
    tokens = [words(text) for _, _, text in items]
    hashes = shingle_hashes_of(tokens)
    keys = band_keys_of(hashes, bands, rows, seed)
    return [
        Signature(node, uri, text_key(text, item_tokens), item_keys, packed_set(item_hashes))
        for (node, uri, text), item_tokens, item_hashes, item_keys in zip(items, tokens, hashes, keys, strict=True)
    ]


def jaccard(a: bytes, b: bytes) -> float:
    """The exact Jaccard similarity of two packed shingle-hash sets."""
    left, right = np.frombuffer(a, dtype="<u4"), np.frombuffer(b, dtype="<u4")
    if left.size == 0 and right.size == 0:
        return 1.0
    shared = np.intersect1d(left, right, assume_unique=True).size
    return shared / (left.size + right.size - shared)


def find_probability(similarity: float, bands: int, rows: int) -> float:
    """The chance that LSH makes two sets of this Jaccard similarity a candidate pair."""
    return 1.0 - (1.0 - similarity**rows) ** bands


def algorithm() -> str:
    """Names what must match for two runs' signatures to be comparable (with the bands, rows and seed)."""
    return f"rensa-minhash-{_RENSA_VERSION}:words-{SHINGLE_WORDS}"


def encode_shingles(shingles: bytes) -> str:
    return base64.b64encode(shingles).decode("ascii")


def decode_shingles(text: str) -> bytes:
    return base64.b64decode(text)


# ---- candidate pairs ------------------------------------------------------------------------------


def bucket_pairs(entries: Iterable[tuple[str | int, Node]]) -> Iterator[tuple[Node, Node]]:
    """Candidate pairs among one bucket's (text key, node) entries, one node per distinct text.

    Exact copies share every band, so per text the best-ranked copy stands for all of them (the same one in
    every bucket). Pairs of two earlier-run articles were compared by their own run and are skipped.
    """
    best: dict[str, Node] = {}
    for key, node in entries:
        if key not in best or node.rank() < best[key].rank():
            best[key] = node
    nodes = sorted(best.values(), key=Node.rank)
    if len(nodes) <= MAX_BUCKET_NODES:
        pairs = ((a, b) for i, a in enumerate(nodes) for b in nodes[i + 1 :])
    else:
        pairs = [(nodes[0], b) for b in nodes[1:]] + list(itertools.pairwise(nodes[1:]))
    for a, b in pairs:
        if a.earlier is None or b.earlier is None:
            yield (a, b) if a.id < b.id else (b, a)


def packed_bands(sigs: Iterable[Signature], shards: int) -> Iterator[tuple[int, bytes]]:
    """The band entries of `sigs` as (shard, packed entries), a shard being a band key modulo `shards`.

    One value per shard and batch, not one per article and band (20 per article): a runner that groups in
    memory (the DirectRunner) holds one bytes object instead of 20 tuples, and `shard_pairs` reads the band
    keys without unpacking the entries. An entry is its band key and the first 64 bits of its text key as
    arrays, then the node's fields pickled: 44 bytes on Reuters and BBC, against 71 with the text key pickled.
    """
    by_shard: dict[int, tuple[list[int], list[int], list[tuple]]] = {}
    for sig in sigs:
        text, entry = int(sig.text_key[:16], 16), (sig.node.id, sig.node.length, sig.node.earlier)
        for band in sig.bands:
            bands, texts, entries = by_shard.setdefault(band % shards, ([], [], []))
            bands.append(band)
            texts.append(text)
            entries.append(entry)
    for shard, (bands, texts, entries) in by_shard.items():
        columns = np.array([bands, texts], dtype="<u8").tobytes()
        yield shard, struct.pack("<I", len(bands)) + columns + pickle.dumps(entries, protocol=pickle.HIGHEST_PROTOCOL)


def shard_pairs(packed: Iterable[bytes]) -> Iterator[tuple[Node, Node]]:
    """The distinct candidate pairs of one shard's packed band entries (see `bucket_pairs`).

    Two passes over `packed` (Beam's grouped values can be iterated again): the band keys, then only the
    entries of keys found more than once. A shard's memory is then 8 bytes per entry, not a Python tuple per
    entry, whose buckets almost all hold one article.
    """
    # Copies: a view would keep its whole packed value alive until all are read.
    keys = np.concatenate([_packed_column(one, 0).copy() for one in packed] or [np.empty(0, dtype="<u8")])
    values, counts = np.unique(keys, return_counts=True)
    shared = values[counts > 1]
    buckets: dict[int, list[tuple]] = defaultdict(list)
    for one in packed:
        bands = _packed_column(one, 0)
        found = np.flatnonzero(np.isin(bands, shared))
        if found.size:
            texts = _packed_column(one, 1)
            entries = pickle.loads(memoryview(one)[4 + 16 * bands.size :])
            for i in found.tolist():
                buckets[int(bands[i])].append((int(texts[i]), *entries[i]))
    seen: set[tuple[str, str]] = set()
    for bucket in buckets.values():
        for a, b in bucket_pairs((text, Node(ident, length, earlier)) for text, ident, length, earlier in bucket):
            if (a.id, b.id) not in seen:
                seen.add((a.id, b.id))
                yield a, b


def _packed_column(packed: bytes, column: int) -> np.ndarray:
    """Band keys (column 0) or text keys (column 1) of a value of `packed_bands`."""
    (count,) = struct.unpack_from("<I", packed)
    return np.frombuffer(packed, dtype="<u8", count=count, offset=4 + 8 * count * column)


def exact_group(members: Iterable[Node]) -> tuple[Node, list[Node]]:
    """(representative, all members) of a group of articles with the same normalised text."""
    members = sorted(members, key=Node.rank)
    return members[0], members


# ---- clusters ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Edge:
    """A verified near-duplicate pair of exact-group representatives."""

    a: Node
    b: Node
    similarity: float


def assign(edges: Iterable[Edge], groups: Iterable[list[Node]]) -> Iterator[tuple[str, Duplicate]]:
    """The `Duplicate` of every article of this run in a cluster of two or more articles.

    `groups` are exact-duplicate groups (representative first), `edges` verified pairs of representatives.
    Clusters are stars: representatives are visited by (earlier run first, most articles they duplicate,
    most exact copies, longest, smallest id); each unclaimed one becomes a centre and claims its unclaimed
    neighbours. So every member is at least `threshold` similar to its centre, and any two members at least
    2·threshold − 1 (Jaccard distance is a metric): chains of near-duplicates are never merged. Articles of
    earlier runs keep the clusters their records have.
    """
    members: dict[str, list[Node]] = {}
    nodes: dict[str, Node] = {}
    for group in groups:
        members[group[0].id] = group
        nodes[group[0].id] = group[0]
    neighbours: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for edge in edges:
        for one, other in ((edge.a, edge.b), (edge.b, edge.a)):
            nodes.setdefault(one.id, one)
            neighbours[one.id].append((other.id, edge.similarity))

    def weight(node_id: str) -> int:
        return len(members.get(node_id, ())) or 1

    def order(node_id: str) -> tuple:
        node = nodes[node_id]
        duplicated = weight(node_id) - 1 + sum(weight(other) for other, _ in neighbours[node_id])
        first, second, length, ident = node.rank()
        return first, second, -duplicated, -weight(node_id), length, ident

    centre_of: dict[str, tuple[str, float]] = {}
    for node_id in sorted(nodes, key=order):
        if node_id in centre_of:
            continue
        earlier = nodes[node_id].earlier
        if earlier is not None and earlier.cluster != node_id:
            centre_of[node_id] = (earlier.cluster, earlier.similarity)  # a member in an earlier run's cluster
            continue
        centre_of[node_id] = (node_id, 1.0)
        for other, similarity in sorted(neighbours[node_id]):
            if other not in centre_of and nodes[other].earlier is None:
                centre_of[other] = (node_id, similarity)

    sizes: dict[str, int] = defaultdict(int)
    for node_id, (centre, _) in centre_of.items():
        sizes[centre] += weight(node_id)
    for node_id, (centre, similarity) in centre_of.items():
        if sizes[centre] < 2:
            continue
        earlier = nodes[node_id].earlier
        for member in members.get(node_id, [nodes[node_id]]):
            if member.earlier is not None:
                continue
            if member.id == centre:
                yield member.id, Duplicate(centre, sizes[centre], None, 1.0)
            elif node_id == centre:
                yield member.id, Duplicate(centre, sizes[centre], "exact", 1.0)
            else:
                kind = earlier.kind if earlier is not None and earlier.kind else "near"
                yield member.id, Duplicate(centre, sizes[centre], kind, round(similarity, 4))


def cluster_together(sigs: Sequence[Signature], threshold: float) -> tuple[list[tuple[str, Duplicate]], int]:
    """The same clusters as the distributed steps give, found in memory (a small job's articles): exact groups by
    text key, candidate pairs per band bucket, pairs verified on exact 5-gram Jaccard, then `assign`.

    Returns the assignments and the number of pairs verified.
    """
    by_text: dict[str, list[Node]] = defaultdict(list)
    buckets: dict[int, list[tuple[int, Node]]] = defaultdict(list)
    shingles: dict[str, bytes] = {}
    for sig in sigs:
        by_text[sig.text_key].append(sig.node)
        shingles[sig.node.id] = sig.shingles
        for band in sig.bands:
            buckets[band].append((int(sig.text_key[:16], 16), sig.node))
    groups = [members for _, members in map(exact_group, by_text.values()) if len(members) > 1]
    pairs: dict[tuple[str, str], tuple[Node, Node]] = {}
    for bucket in buckets.values():
        if len(bucket) > 1:
            for a, b in bucket_pairs(bucket):
                pairs.setdefault((a.id, b.id), (a, b))
    edges = []
    for a, b in pairs.values():
        similarity = jaccard(shingles[a.id], shingles[b.id])
        if similarity >= threshold:
            edges.append(Edge(a, b, similarity))
    return list(assign(edges, groups)), len(pairs)


def cluster_kinds(assignments: Iterable[tuple[str, Duplicate]]) -> dict[str, str]:
    """cluster id -> `exact` if every member is an exact copy of the representative, else `near`."""
    kinds: dict[str, str] = {}
    for _, duplicate in assignments:
        if duplicate.kind == "near" or kinds.get(duplicate.cluster) == "near":
            kinds[duplicate.cluster] = "near"
        elif duplicate.kind == "exact":
            kinds[duplicate.cluster] = "exact"
    return kinds

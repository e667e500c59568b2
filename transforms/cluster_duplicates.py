"""ClusterDuplicates: exact and near-duplicate clusters, and each article's `duplicate`, before tagging."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam

from transforms.core import layout
from transforms.core.dedup import (
    DedupConfig,
    Edge,
    Node,
    Signature,
    algorithm,
    assign,
    cluster_kinds,
    cluster_together,
    exact_group,
    jaccard,
    packed_bands,
    shard_pairs,
    signatures,
)
from transforms.core.records import dropped_record, signature_record, to_json_line
from transforms.core.store import History, StoreReader
from transforms.core.types import Article, Duplicate
from transforms.hold_articles import HoldArticles
from transforms.metrics import count

# Articles whose MinHash signatures are computed in one call (see transforms.core.dedup.band_keys_of).
SIGNATURE_BATCH = 64
# Band entries are shuffled packed, per shard and batch of articles (see transforms.core.dedup.packed_bands).
BAND_SHARDS = 256
BAND_BATCH = 512


class ClusterDuplicates(beam.PTransform):
    """Give every article its `duplicate`; returns (articles, {file prefix: JSON lines}).

    Articles wait for the cluster map, a side input holding only the articles that have duplicates, built
    from their signatures by group-by-key steps: exact groups by text key, candidate pairs by LSH band,
    pairs verified on exact 5-gram Jaccard, then clusters over the verified pairs in one step whose memory
    grows with the duplicates, not the corpus (docs/dedup.md). With `drop`, copies go to `duplicates-*.jsonl`
    instead of on; with a `history` (incremental runs), new articles are also compared with the committed
    articles that share a key with them (looked up in its store), and this job's signatures are written to
    `signatures-*.jsonl` for later runs. With `temp_root`, the articles wait in files there (HoldArticles)
    instead of in the runner. A `compact` job (a few articles, one worker) finds the same clusters in one step.
    """

    def __init__(
        self,
        config: DedupConfig,
        history: History | None = None,
        temp_root: str | None = None,
        compact: bool = False,
    ) -> None:
        super().__init__()
        self._config = config
        self._history = history
        self._temp_root = temp_root
        self._compact = compact

    def expand(self, articles):
        if not self._config.enabled:
            return articles, {}
        signatures = (
            articles
            | "Batch" >> beam.BatchElements(min_batch_size=SIGNATURE_BATCH, max_batch_size=SIGNATURE_BATCH)
            | "Signatures" >> beam.FlatMap(_signatures, self._config)
        )
        if self._compact:
            clusters = (
                signatures
                | "AllSignatures" >> beam.Map(lambda sig: (None, sig))
                | "Together" >> beam.GroupByKey()
                | "Clusters" >> beam.ParDo(_ClusterTogetherFn(self._config.threshold, self._history))
            )
        else:
            clusters = self._clusters(articles.pipeline, signatures)
        keep = self._history is not None
        if self._temp_root is not None:
            articles = articles | "HoldArticles" >> HoldArticles(self._temp_root, until=clusters)
        annotated = (
            articles
            | "AnnotateBatch" >> beam.BatchElements(min_batch_size=SIGNATURE_BATCH, max_batch_size=SIGNATURE_BATCH)
            | "Annotate"
            >> beam.ParDo(_AnnotateFn(self._config, keep), clusters=beam.pvalue.AsDict(clusters)).with_outputs(
                layout.DUPLICATES, layout.SIGNATURES, main="articles"
            )
        )
        files = {layout.DUPLICATES: annotated[layout.DUPLICATES]} if self._config.drop else {}
        if keep:
            files[layout.SIGNATURES] = annotated[layout.SIGNATURES]
        return annotated["articles"], files

    def _clusters(self, pipeline: beam.Pipeline, signatures: beam.PCollection) -> beam.PCollection:
        """(id, Duplicate) of the articles in clusters, by group-by-key steps whose memory grows with the
        duplicates, not the corpus."""
        if self._history is not None:
            keys = signatures | "NewKeys" >> beam.FlatMap(lambda sig: (sig.text_key, *sig.bands))
            earlier = (
                pipeline
                | "Store" >> beam.Create([self._history.store])
                | "EarlierSignatures"
                >> beam.ParDo(_EarlierSignaturesFn(self._history.replaced), keys=beam.pvalue.AsIter(keys))
            )
            signatures = (signatures, earlier) | "WithEarlierRuns" >> beam.Flatten()
        groups = (
            signatures
            | "ByText" >> beam.Map(lambda sig: (sig.text_key, _fields(sig.node)))
            | "GroupByText" >> beam.GroupByKey()
            | "ExactGroups" >> beam.FlatMap(_exact_groups)
        )
        candidates = (
            signatures
            | "BandBatch" >> beam.BatchElements(min_batch_size=BAND_BATCH, max_batch_size=BAND_BATCH)
            | "BandKeys" >> beam.FlatMap(packed_bands, BAND_SHARDS)
            | "GroupByBand" >> beam.GroupByKey()
            | "CandidatePairs" >> beam.FlatMap(lambda shard: shard_pairs(shard[1]))
        )
        edges = (signatures, candidates) | "VerifyPairs" >> _VerifyPairs(self._config.threshold)
        return (edges, groups) | "Clusters" >> _Clusters()


def _signatures(batch: list[Article], config: DedupConfig) -> list[Signature]:
    items = [(Node(article.id, len(article.text)), article.source.uri, article.text) for article in batch]
    return signatures(items, config.bands, config.rows, config.seed)


def _fields(node: Node) -> tuple:
    """A node as a plain tuple: shuffled once per article by text key, half the bytes of the pickled class."""
    return node.id, node.length, node.earlier


def _exact_groups(text_nodes: tuple[str, Iterable[tuple]]) -> Iterator[list[Node]]:
    _, members = exact_group(Node(*fields) for fields in text_nodes[1])
    if len(members) > 1:
        yield members


class _ClusterTogetherFn(beam.DoFn):
    """A compact job's clusters in one step: its signatures with the committed articles sharing a key with them."""

    def __init__(self, threshold: float, history: History | None) -> None:
        self._threshold = threshold
        self._history = history

    def process(self, keyed: tuple[None, Iterable[Signature]]) -> Iterator[tuple[str, Duplicate]]:
        sigs = list(keyed[1])
        if self._history is not None:
            reader = StoreReader(self._history.store)
            try:
                text_keys, bands = [sig.text_key for sig in sigs], [band for sig in sigs for band in sig.bands]
                sigs += reader.signatures_sharing(text_keys, bands, excluding=self._history.replaced)
            finally:
                reader.close()
        assignments, verified = cluster_together(sigs, self._threshold)
        if verified:
            count(None, "dedup_pairs_verified", verified)
        for kind in cluster_kinds(assignments).values():
            count(kind, f"duplicate_clusters_{kind}")
        yield from assignments


class _EarlierSignaturesFn(beam.DoFn):
    """The committed articles sharing the text key or a band key with one of this job's (`keys`): the rest cannot
    pair with any. Read once, on one worker, for all of the job's keys (a few dozen per article)."""

    def __init__(self, replaced: frozenset[str]) -> None:
        self._replaced = replaced

    def process(self, store: str, keys: Iterable[str | int]) -> Iterator[Signature]:
        text_keys, bands = [], []
        for key in keys:
            (text_keys if isinstance(key, str) else bands).append(key)
        reader = StoreReader(store)
        try:
            yield from reader.signatures_sharing(text_keys, bands, excluding=self._replaced)
        finally:
            reader.close()


@beam.ptransform_fn
def _VerifyPairs(signatures_and_candidates, threshold: float):
    """Candidate pairs whose exact 5-gram Jaccard reaches `threshold`, as edges.

    Each side's shingle set travels once per distinct pair it is in: joined by id, then grouped by pair.
    """
    signatures, candidates = signatures_and_candidates
    shingles = signatures | "ShinglesById" >> beam.Map(lambda sig: (sig.node.id, sig.shingles))
    endpoints = candidates | "PairsById" >> beam.FlatMap(lambda pair: ((pair[0].id, pair), (pair[1].id, pair)))
    return (
        {"shingles": shingles, "pairs": endpoints}
        | "JoinShingles" >> beam.CoGroupByKey()
        | "HalfPairs" >> beam.FlatMap(_half_pairs)
        | "GroupByPair" >> beam.GroupByKey()
        | "Verify" >> beam.FlatMap(_verified, threshold)
    )


def _half_pairs(joined: tuple[str, dict[str, list]]) -> Iterator[tuple[tuple[str, str], tuple[Node, Node, bytes]]]:
    _, sides = joined
    shingles = next(iter(sides["shingles"]), None)
    if shingles is None:
        return
    pairs = {(a.id, b.id): (a, b) for a, b in sides["pairs"]}
    for key, (a, b) in pairs.items():
        yield key, (a, b, shingles)


def _verified(pair_halves: tuple[tuple[str, str], Iterable[tuple[Node, Node, bytes]]], threshold: float):
    halves = list(pair_halves[1])
    if len(halves) < 2:
        return
    (a, b, left), (_, _, right) = halves[0], halves[1]
    similarity = jaccard(left, right)
    count(a, "dedup_pairs_verified")
    if similarity >= threshold:
        yield Edge(a, b, similarity)


@beam.ptransform_fn
def _Clusters(edges_and_groups):
    """(id, Duplicate) of this run's articles that have duplicates; one step over all edges and groups."""
    edges, groups = edges_and_groups
    return (
        (
            edges | "EdgeItems" >> beam.Map(lambda edge: (None, edge)),
            groups | "GroupItems" >> beam.Map(lambda group: (None, group)),
        )
        | "AllDuplicates" >> beam.Flatten()
        | "Together" >> beam.GroupByKey()
        | "Assign" >> beam.FlatMap(_assign_all)
    )


def _assign_all(keyed: tuple[None, Iterable[Edge | list[Node]]]) -> Iterator[tuple[str, Duplicate]]:
    edges, groups = [], []
    for item in keyed[1]:
        (edges if isinstance(item, Edge) else groups).append(item)
    assignments = list(assign(edges, groups))
    for kind in cluster_kinds(assignments).values():
        count(kind, f"duplicate_clusters_{kind}")
    yield from assignments


class _AnnotateFn(beam.DoFn):
    """A batch of articles with their `duplicate`; with `keep_signatures`, their signatures computed together."""

    def __init__(self, config: DedupConfig, keep_signatures: bool) -> None:
        self._config = config
        self._keep = keep_signatures

    def process(self, batch: list[Article], clusters: dict[str, Duplicate]) -> Iterator[Any]:
        sigs = _signatures(batch, self._config) if self._keep else [None] * len(batch)
        for article, sig in zip(batch, sigs, strict=True):
            yield from self._annotated(article, sig, clusters)

    def _annotated(self, article: Article, sig: Signature | None, clusters: dict[str, Duplicate]) -> Iterator[Any]:
        duplicate = clusters.get(article.id) or Duplicate(article.id, 1, None, 1.0)
        article = article.replace(duplicate=duplicate)
        if duplicate.kind is not None:
            count(article, f"duplicate_articles_{duplicate.kind}")
        if sig is not None:
            record = signature_record(sig, duplicate, _params(self._config))
            yield beam.pvalue.TaggedOutput(layout.SIGNATURES, to_json_line(record))
        if self._config.drop and duplicate.cluster != article.id:
            count(article, "duplicates_dropped")
            yield beam.pvalue.TaggedOutput(layout.DUPLICATES, to_json_line(dropped_record(article)))
            return
        yield article


def _params(config: DedupConfig) -> dict[str, Any]:
    return {"algorithm": algorithm(), "bands": config.bands, "rows": config.rows, "seed": config.seed}

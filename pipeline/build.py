"""The whole pipeline in one screen: read, clean, tag, write."""

from __future__ import annotations

from collections.abc import Sequence

import apache_beam as beam

from pipeline.config import CleanConfig, Config
from transforms import CleanArticles, ReadArticles, StripCorpusBoilerplate, TagEntities, WriteEnriched
from transforms.cluster_duplicates import ClusterDuplicates, EarlierRuns
from transforms.watch_articles import WatchArticles
from transforms.write_windowed_enriched import WriteWindowedEnriched

CORPUS_EVIDENCE = "CorpusEvidence"  # a second read; its counters are not the run's (see run.py)


def build_pipeline(
    pipeline: beam.Pipeline,
    config: Config,
    patterns: str | Sequence[str],
    base: str,
    output: str,
    earlier: EarlierRuns | None = None,
) -> None:
    """Add the article-enrich transforms to `pipeline`, reading `patterns` and writing under `output`.

    `earlier`: in incremental runs, the earlier runs that duplicate detection compares new articles with.
    """
    read, write = ReadArticles(patterns, base, config.read), WriteEnriched(output, config.write)
    enrich(pipeline, config, read, write, earlier)


def build_watch_pipeline(pipeline: beam.Pipeline, config: Config, source: WatchArticles, output: str) -> None:
    """The same transforms on an unbounded stream: `source` is windowed, the output is written per window."""
    enrich(pipeline, config, source, WriteWindowedEnriched(output, source.window_seconds))


def enrich(
    pipeline: beam.Pipeline,
    config: Config,
    source: beam.PTransform,
    sink: beam.PTransform,
    earlier: EarlierRuns | None = None,
) -> None:
    """Read from `source` (articles, dead letters), clean, cluster duplicates, tag, and write with `sink`."""
    articles, read_dead = pipeline | "ReadArticles" >> source
    cleaned, clean_dead = articles | "CleanArticles" >> CleanArticles(config.clean)
    boilerplate = config.clean.corpus_boilerplate
    evidence = (pipeline | CORPUS_EVIDENCE >> _CorpusEvidence(source, config.clean)) if boilerplate.enabled else None
    cleaned = cleaned | "StripCorpusBoilerplate" >> StripCorpusBoilerplate(boilerplate, evidence)
    cleaned, duplicate_files = cleaned | "ClusterDuplicates" >> ClusterDuplicates(config.dedup, earlier)
    tagged, tag_dead = cleaned | "TagEntities" >> TagEntities(config.tag)
    dead_letters = (read_dead, clean_dead, tag_dead) | "CollectDeadLetters" >> beam.Flatten()
    _ = (tagged, dead_letters, duplicate_files) | "WriteEnriched" >> sink


@beam.ptransform_fn
def _CorpusEvidence(pbegin: beam.pvalue.PBegin, source: beam.PTransform, clean: CleanConfig):
    """The cleaned articles of a second read of `source`; its dead letters are the first read's too."""
    articles, _ = pbegin | "Read" >> source
    cleaned, _ = articles | "Clean" >> CleanArticles(clean)
    return cleaned

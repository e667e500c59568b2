"""The whole pipeline in one screen: read, clean, tag, write."""

from __future__ import annotations

from collections.abc import Sequence

import apache_beam as beam

from pipeline.config import Config
from transforms import CleanArticles, ReadArticles, StripCorpusBoilerplate, TagEntities, WriteEnriched
from transforms.cluster_duplicates import ClusterDuplicates, EarlierRuns
from transforms.identify_language import IdentifyLanguage
from transforms.strip_corpus_boilerplate import LineLedger
from transforms.watch_articles import WatchArticles
from transforms.write_windowed_enriched import WriteWindowedEnriched


def build_pipeline(
    pipeline: beam.Pipeline,
    config: Config,
    patterns: str | Sequence[str],
    base: str,
    output: str,
    line_ledger: LineLedger | None = None,
    small_input: bool = False,
    progress: str | None = None,
    earlier: EarlierRuns | None = None,
    archives: bool = True,
) -> None:
    """Add the article-enrich transforms to `pipeline`, reading `patterns` and writing under `output`.

    Articles waiting for a corpus-wide result are parked in temporary files under `output`, unless the input
    is small (the runner holds them; fewer stages to start). In incremental runs, `line_ledger` adds earlier
    runs' lines to the corpus-boilerplate evidence and `earlier` their articles to duplicate detection.
    `progress`: a local folder where readers report how far they are (pipeline/progress.py), or None.
    `archives`: whether the input may hold WARC archives (see ReadArticles).
    """
    source = ReadArticles(patterns, base, config.read, progress, archives)
    sink = WriteEnriched(output, config.write, progress)
    temp_root = None if small_input else output
    enrich(pipeline, config, source, sink, temp_root=temp_root, line_ledger=line_ledger, earlier=earlier)


def build_watch_pipeline(pipeline: beam.Pipeline, config: Config, source: WatchArticles, output: str) -> None:
    """The same transforms on an unbounded stream: `source` is windowed, the output is written per window."""
    enrich(pipeline, config, source, WriteWindowedEnriched(output, source.window_seconds))


def enrich(
    pipeline: beam.Pipeline,
    config: Config,
    source: beam.PTransform,
    sink: beam.PTransform,
    temp_root: str | None = None,
    line_ledger: LineLedger | None = None,
    earlier: EarlierRuns | None = None,
) -> None:
    """Read from `source` (articles, dead letters), clean, cluster duplicates, tag, and write with `sink`.

    The sink gets (articles, a tuple of each stage's dead letters, {file prefix: extra JSON lines}).
    """
    articles, read_dead = pipeline | "ReadArticles" >> source
    cleaned, clean_dead = articles | "CleanArticles" >> CleanArticles(config.clean)
    boilerplate = StripCorpusBoilerplate(config.clean.corpus_boilerplate, temp_root, line_ledger)
    cleaned = cleaned | "StripCorpusBoilerplate" >> boilerplate
    duplicates = ClusterDuplicates(config.dedup, earlier, temp_root)
    cleaned, duplicate_files = cleaned | "ClusterDuplicates" >> duplicates
    cleaned, language_dead = cleaned | "IdentifyLanguage" >> IdentifyLanguage(config.language)
    tagged, tag_dead = cleaned | "TagEntities" >> TagEntities(config.tag)
    # Each stage's dead letters go to the sink on their own: a streaming sink writes them where they arise.
    dead_letters = (read_dead, clean_dead, language_dead, tag_dead)
    _ = (tagged, dead_letters, duplicate_files) | "WriteEnriched" >> sink

"""The whole pipeline in one screen: read, clean, tag, write."""

from __future__ import annotations

from collections.abc import Sequence

import apache_beam as beam

from pipeline.config import CleanConfig, Config
from transforms import CleanArticles, ReadArticles, StripCorpusBoilerplate, TagEntities, WriteEnriched
from transforms.identify_language import IdentifyLanguage
from transforms.watch_articles import WatchArticles
from transforms.write_windowed_enriched import WriteWindowedEnriched

CORPUS_EVIDENCE = "CorpusEvidence"  # a second read; its counters are not the run's (see run.py)


def build_pipeline(
    pipeline: beam.Pipeline, config: Config, patterns: str | Sequence[str], base: str, output: str
) -> None:
    """Add the article-enrich transforms to `pipeline`, reading `patterns` and writing under `output`."""
    enrich(pipeline, config, ReadArticles(patterns, base, config.read), WriteEnriched(output, config.write))


def build_watch_pipeline(pipeline: beam.Pipeline, config: Config, source: WatchArticles, output: str) -> None:
    """The same transforms on an unbounded stream: `source` is windowed, the output is written per window."""
    enrich(pipeline, config, source, WriteWindowedEnriched(output, source.window_seconds))


def enrich(pipeline: beam.Pipeline, config: Config, source: beam.PTransform, sink: beam.PTransform) -> None:
    """Read from `source` (articles, dead letters), clean, tag, and write both outputs with `sink`."""
    articles, read_dead = pipeline | "ReadArticles" >> source
    cleaned, clean_dead = articles | "CleanArticles" >> CleanArticles(config.clean)
    boilerplate = config.clean.corpus_boilerplate
    evidence = (pipeline | CORPUS_EVIDENCE >> _CorpusEvidence(source, config.clean)) if boilerplate.enabled else None
    cleaned = cleaned | "StripCorpusBoilerplate" >> StripCorpusBoilerplate(boilerplate, evidence)
    cleaned, language_dead = cleaned | "IdentifyLanguage" >> IdentifyLanguage(config.language)
    tagged, tag_dead = cleaned | "TagEntities" >> TagEntities(config.tag)
    dead_letters = (read_dead, clean_dead, language_dead, tag_dead) | "CollectDeadLetters" >> beam.Flatten()
    _ = (tagged, dead_letters) | "WriteEnriched" >> sink


@beam.ptransform_fn
def _CorpusEvidence(pbegin: beam.pvalue.PBegin, source: beam.PTransform, clean: CleanConfig):
    """The cleaned articles of a second read of `source`; its dead letters are the first read's too."""
    articles, _ = pbegin | "Read" >> source
    cleaned, _ = articles | "Clean" >> CleanArticles(clean)
    return cleaned

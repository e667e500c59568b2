"""The whole pipeline in one screen: read, clean, know the corpus, tag, write; and what one job is."""

from __future__ import annotations

from dataclasses import dataclass

import apache_beam as beam

from pipeline.config import Config
from pipeline.inputs import Inputs
from transforms import (
    CleanArticles,
    ClusterDuplicates,
    IdentifyLanguage,
    ReadArticles,
    StripCorpusBoilerplate,
    TagEntities,
    WriteEnriched,
)
from transforms.core.store import History


@dataclass(frozen=True)
class Job:
    """One Beam job: the articles of `inputs` enriched into `output`.

    `small`: few enough articles that one in-process worker beats starting workers, and the runner can hold
    waiting articles itself. In incremental runs and watch batches, `history` adds the committed articles to
    the corpus-boilerplate evidence and to duplicate detection.
    """

    config: Config
    inputs: Inputs
    output: str
    small: bool = False
    history: History | None = None


def build_pipeline(pipeline: beam.Pipeline, job: Job, progress: str | None = None) -> None:
    """Add the article-enrich transforms to `pipeline`: read `job.inputs`, clean, know the corpus, tag, and write
    under `job.output` the records, the dead letters and {file prefix: JSON lines} of the stages that keep some.

    Articles waiting for a corpus-wide result are parked in temporary files under the output, unless the job
    is small: then the runner holds them, and each stage takes its compact form (fewer steps to start).
    `progress`: a local folder where readers report how far they are (pipeline/progress.py), or None.
    """
    config, inputs, small = job.config, job.inputs, job.small
    temp_root = None if small else job.output
    source = ReadArticles(inputs.patterns, inputs.base, config.read, progress, inputs.holds_archives, small)
    articles, read_dead = pipeline | "ReadArticles" >> source
    cleaned, clean_dead = articles | "CleanArticles" >> CleanArticles(config.clean)
    boilerplate = StripCorpusBoilerplate(config.clean.corpus_boilerplate, temp_root, job.history)
    cleaned, line_files = cleaned | "StripCorpusBoilerplate" >> boilerplate
    duplicates = ClusterDuplicates(config.dedup, job.history, temp_root, small)
    cleaned, duplicate_files = cleaned | "ClusterDuplicates" >> duplicates
    cleaned, language_dead = cleaned | "IdentifyLanguage" >> IdentifyLanguage(config.language)
    tagged, tag_dead = cleaned | "TagEntities" >> TagEntities(config.tag)
    dead_letters = (read_dead, clean_dead, language_dead, tag_dead) | "CollectDeadLetters" >> beam.Flatten()
    sink = WriteEnriched(job.output, config.write, progress, small)
    _ = (tagged, dead_letters, line_files | duplicate_files) | "WriteEnriched" >> sink

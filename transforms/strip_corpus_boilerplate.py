"""StripCorpusBoilerplate: remove lines that repeat verbatim in many articles of the same site."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import apache_beam as beam

from transforms.core.boilerplate import distinct_line_keys, strip_repeated
from transforms.core.types import Article
from transforms.metrics import count

if TYPE_CHECKING:
    from pipeline.config import CorpusBoilerplateConfig


class StripCorpusBoilerplate(beam.PTransform):
    """Count each normalised line once per article per site; drop lines seen in `min_articles` or more.

    Lines are counted over `evidence`, the same articles from a second read of the inputs, if given: counted
    over the articles themselves, every article would wait, held by the runner, until all were counted.
    """

    def __init__(self, config: CorpusBoilerplateConfig, evidence: beam.PCollection | None = None) -> None:
        super().__init__()
        self._config = config
        self._evidence = evidence

    def expand(self, articles):
        if not self._config.enabled:
            return articles
        repeated = (
            (articles if self._evidence is None else self._evidence)
            | "DistinctLines" >> beam.FlatMap(distinct_line_keys)
            | "CountArticlesPerLine" >> beam.combiners.Count.PerElement()
            | "KeepRepeated" >> beam.Filter(lambda key_count, least: key_count[1] >= least, self._config.min_articles)
            | "LineKeys" >> beam.Keys()
        )
        return articles | "StripRepeatedLines" >> beam.ParDo(_StripFn(), repeated=beam.pvalue.AsIter(repeated))


class _StripFn(beam.DoFn):
    def start_bundle(self) -> None:
        self._repeated: frozenset[str] | None = None

    def process(self, article: Article, repeated: Iterable[str]) -> Iterable[Article]:
        if self._repeated is None:
            self._repeated = frozenset(repeated)
        text, removed = strip_repeated(article, self._repeated)
        if not removed:
            yield article
            return
        count(article, "corpus_boilerplate_lines", removed)
        yield article.replace(text=text, cleaning={**article.cleaning, "corpus_boilerplate": removed})

"""TagEntities: spaCy named-entity recognition over batches of articles, one model per worker."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import apache_beam as beam
from apache_beam.utils import shared

from transforms.core.entities import Tagger
from transforms.core.entity_post import group_entities, harmonise
from transforms.core.nlp import load_ner_pipeline, model_info
from transforms.core.records import error_text
from transforms.core.types import Article, DeadLetter, Entity
from transforms.metrics import count

if TYPE_CHECKING:
    from pipeline.config import TagConfig

DEAD_LETTER = "dead_letter"


class TagEntities(beam.PTransform):
    """Tag every article's entities; returns (tagged articles, dead letters)."""

    def __init__(self, config: TagConfig) -> None:
        super().__init__()
        self._config = config

    def expand(self, articles):
        tagged = (
            articles
            | "Batch"
            >> beam.BatchElements(min_batch_size=self._config.batch_size, max_batch_size=self._config.batch_size)
            | "Tag" >> beam.ParDo(_TagBatchFn(self._config)).with_outputs(DEAD_LETTER, main="articles")
        )
        return tagged["articles"] | "CountTagged" >> beam.Map(count, "tagged"), tagged[DEAD_LETTER]


class _LoadedModel:
    """A weak-referenceable holder, as `shared.Shared` requires, for one loaded pipeline per process."""

    def __init__(self, config: TagConfig) -> None:
        nlp = load_ner_pipeline(config.model, config.keep_components)
        self.tagger = Tagger(nlp, zone_chars=config.vocab_zone_chars)
        self.info = model_info(config.model)


class _TagBatchFn(beam.DoFn):
    def __init__(self, config: TagConfig) -> None:
        self._config = config
        self._shared = shared.Shared()

    def setup(self) -> None:
        config = self._config
        key = f"spacy:{config.model}:{config.keep_components}:{config.vocab_zone_chars}"
        self._model = self._shared.acquire(lambda: _LoadedModel(config), tag=key)
        self._labels = frozenset(config.labels)

    def process(self, batch: list[Article]) -> Iterator[Article | beam.pvalue.TaggedOutput]:
        try:
            tagged = self._tag(batch)
        except Exception:  # noqa: BLE001 - retried one by one below, where each failure becomes a dead letter
            # One bad document must not cost the others in its batch: isolate it by tagging one by one.
            yield from self._tag_one_by_one(batch)
            return
        yield from tagged

    def _tag(self, batch: list[Article]) -> list[Article]:
        results = self._model.tagger.tag(
            [article.text for article in batch],
            max_chunk_chars=self._config.max_chunk_chars,
            batch_size=self._config.batch_size,
            labels=self._labels,
        )
        return [self._with_entities(article, entities) for article, entities in zip(batch, results, strict=True)]

    def _with_entities(self, article: Article, entities: list[Entity]) -> Article:
        if self._config.harmonise:
            entities = harmonise(article.text, entities)
        return article.replace(entities=entities, entity_groups=group_entities(entities), model=self._model.info)

    def _tag_one_by_one(self, batch: list[Article]) -> Iterator[Article | beam.pvalue.TaggedOutput]:
        for article in batch:
            try:
                (tagged,) = self._tag([article])
            except Exception as error:  # noqa: BLE001 - every failure becomes a dead letter with its reason
                dead = DeadLetter(article.source, "tag", "tagging_failed", error_text(error), article.id)
                yield beam.pvalue.TaggedOutput(DEAD_LETTER, dead)
                continue
            yield tagged

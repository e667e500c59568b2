"""TagEntities: spaCy named-entity recognition over batches of articles, each with its language's model."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterator

import apache_beam as beam

from transforms.core.entities import TagConfig, Tagger
from transforms.core.entity_post import group_article_entities, harmonise, harmonise_title
from transforms.core.language import FALLBACK, UNDETERMINED, route
from transforms.core.nlp import load_ner_pipeline, model_info
from transforms.core.records import error_text
from transforms.core.types import DEAD_LETTER, Article, DeadLetter, Entity
from transforms.metrics import count
from transforms.shared_objects import acquire

NO_MODEL = "no_model_for_language"
UNDETERMINED_LANGUAGE = "language_undetermined"


class TagEntities(beam.PTransform):
    """Tag every article's entities (and its title's) with its language's model; returns (articles, dead
    letters). Articles whose language has no model pass untagged, saying why."""

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
        return tagged["articles"] | "CountTagged" >> beam.Map(_count_tagged), tagged[DEAD_LETTER]


def _count_tagged(article: Article) -> Article:
    return count(article, "tagged", 0 if article.ner_skipped else 1)


class _LoadedModel:
    def __init__(self, name: str, config: TagConfig) -> None:
        nlp = load_ner_pipeline(name, config.keep_components)
        self.tagger = Tagger(nlp, zone_chars=config.vocab_zone_chars)
        self.info = model_info(name)
        # Post-processing follows the pipeline's language (a table that fell back to English is English's).
        self.language = nlp.lang


class _Models:
    """The pipelines of one worker process (one `shared.Shared` object), each loaded when first needed."""

    def __init__(self, config: TagConfig) -> None:
        self._config = config
        self._loaded: dict[str, _LoadedModel] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> _LoadedModel:
        with self._lock:
            if name not in self._loaded:
                self._loaded[name] = _LoadedModel(name, self._config)
            return self._loaded[name]


def shared_models(config: TagConfig) -> _Models:
    """This process's pipelines for `config` (each loaded when first needed), shared by its DoFns and jobs."""
    models = sorted(config.models.items())
    key = f"spacy:{config.model}:{models}:{config.keep_components}:{config.vocab_zone_chars}"
    return acquire(key, lambda: _Models(config))


class _TagBatchFn(beam.DoFn):
    def __init__(self, config: TagConfig) -> None:
        self._config = config

    def setup(self) -> None:
        self._models = shared_models(self._config)
        self._labels = frozenset(self._config.labels)

    def process(self, batch: list[Article]) -> Iterator[Article | beam.pvalue.TaggedOutput]:
        by_model: defaultdict[str, list[Article]] = defaultdict(list)
        for article in batch:
            model = self._route(article)
            if model is None:
                yield self._skipped(article)
            else:
                by_model[model].append(article)
        for model, articles in by_model.items():
            try:
                tagged = self._tag(model, articles)
            except Exception:  # noqa: BLE001 - retried one by one below, where each failure becomes a dead letter
                # One bad document must not cost the others in its batch: isolate it by tagging one by one.
                yield from self._tag_one_by_one(model, articles)
                continue
            yield from tagged

    def _route(self, article: Article) -> str | None:
        # An article that went through no language identification is the default model's.
        language = article.route_language or article.language or FALLBACK
        return route(language, self._config.model, self._config.models, self._config.tag_undetermined)

    def _skipped(self, article: Article) -> Article:
        reason = UNDETERMINED_LANGUAGE if article.language == UNDETERMINED else NO_MODEL
        count(article, f"ner_skipped:{article.language}")
        return article.replace(entities=[], title_entities=[], entity_groups=[], model=None, ner_skipped=reason)

    def _tag(self, model: str, batch: list[Article]) -> list[Article]:
        loaded = self._models.get(model)
        titled = [i for i, article in enumerate(batch) if article.title and self._config.titles]
        # Titles go through the same nlp.pipe batches as the texts.
        results = loaded.tagger.tag(
            [article.text for article in batch] + [batch[i].title or "" for i in titled],
            max_chunk_chars=self._config.max_chunk_chars,
            batch_size=self._config.batch_size,
            labels=self._labels,
        )
        titles = dict(zip(titled, results[len(batch) :], strict=True))
        return [
            self._with_entities(article, entities, titles.get(i, []), loaded)
            for i, (article, entities) in enumerate(zip(batch, results[: len(batch)], strict=True))
        ]

    def _with_entities(
        self, article: Article, entities: list[Entity], title_entities: list[Entity], loaded: _LoadedModel
    ) -> Article:
        language = loaded.language
        if self._config.harmonise:
            entities = harmonise(article.text, entities, language=language)
            if article.title and self._config.titles:
                title_entities = harmonise_title(
                    article.text, entities, article.title, title_entities, language=language
                )
        return article.replace(
            entities=entities,
            title_entities=title_entities,
            entity_groups=group_article_entities(entities, title_entities, language=language),
            model=loaded.info,
        )

    def _tag_one_by_one(self, model: str, batch: list[Article]) -> Iterator[Article | beam.pvalue.TaggedOutput]:
        for article in batch:
            try:
                (tagged,) = self._tag(model, [article])
            except Exception as error:  # noqa: BLE001 - every failure becomes a dead letter with its reason
                dead = DeadLetter(article.source, "tag", "tagging_failed", error_text(error), article.id)
                yield beam.pvalue.TaggedOutput(DEAD_LETTER, dead)
                continue
            yield tagged

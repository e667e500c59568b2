"""IdentifyLanguage: each article's language from a prefix of its cleaned text; unwanted languages dead-lettered."""

from __future__ import annotations

from collections.abc import Iterator

import apache_beam as beam

from transforms.core.language import LanguageConfig, identify, load_identifier, routed_language, running_share
from transforms.core.types import DEAD_LETTER, Article, DeadLetter
from transforms.metrics import count
from transforms.shared_objects import acquire


class IdentifyLanguage(beam.PTransform):
    """Set every article's `language`, `language_score` and `route_language` (the language whose pipeline tags
    it); returns (articles, dead letters), the dead letters being the articles in a language outside
    `language.keep` (`language_filtered`) when that list is given."""

    def __init__(self, config: LanguageConfig) -> None:
        super().__init__()
        self._config = config

    def expand(self, articles):
        identified = articles | "Identify" >> beam.ParDo(_IdentifyFn(self._config)).with_outputs(
            DEAD_LETTER, main="articles"
        )
        return identified["articles"], identified[DEAD_LETTER]


class _Identifier:
    """A weak-referenceable holder, as `shared.Shared` requires, for the identifier of one process."""

    def __init__(self, candidates: tuple[str, ...]) -> None:
        self.identifier = load_identifier(candidates)


def shared_identifier(config: LanguageConfig) -> _Identifier:
    """This process's identifier for `config`, shared by its DoFns and jobs."""
    candidates = config.candidates
    return acquire(f"py3langid:{candidates}", lambda: _Identifier(candidates))


class _IdentifyFn(beam.DoFn):
    def __init__(self, config: LanguageConfig) -> None:
        self._config = config

    def setup(self) -> None:
        if self._config.enabled:
            self._identifier = shared_identifier(self._config)

    def process(self, article: Article) -> Iterator[Article | beam.pvalue.TaggedOutput]:
        config = self._config
        if not config.enabled:
            yield article
            return
        prefix = article.text[: config.prefix_chars]
        found = identify(
            self._identifier.identifier,
            prefix,
            prefix_chars=config.prefix_chars,
            min_chars=config.min_chars,
            min_score=config.min_score,
        )
        count(article, f"language:{found.language}")
        if config.keep and found.language not in config.keep:
            message = f"language {found.language!r} (score {found.score}) is not in language.keep"
            dead = DeadLetter(article.source, "language", "language_filtered", message, article.id)
            yield beam.pvalue.TaggedOutput(DEAD_LETTER, dead)
            return
        route = routed_language(found, running_share(prefix), config)
        count(article, "language_fallback", int(route != found.language))
        yield article.replace(language=found.language, language_score=found.score, route_language=route)

"""CleanArticles: repair, de-boilerplate and normalise each article's title and text."""

from __future__ import annotations

from collections.abc import Iterator

import apache_beam as beam
from apache_beam import typehints

from transforms.core.clean import CleanConfig, clean_text, clean_title, compile_rules
from transforms.core.records import as_dead_letter, describe_exception
from transforms.core.types import DEAD_LETTER, Article, DeadLetter
from transforms.metrics import count


class CleanArticles(beam.PTransform):
    """Clean every article; returns (cleaned articles, dead letters)."""

    def __init__(self, config: CleanConfig) -> None:
        super().__init__()
        self._config = config

    def expand(self, articles):
        cleaned = articles | "Clean" >> beam.ParDo(_CleanFn(self._config)).with_output_types(
            Article, dead_letter=DeadLetter
        ).with_exception_handling(dead_letter_tag=DEAD_LETTER).with_outputs(DEAD_LETTER, main="articles")
        # As in ReadArticles: one dead-letter output, no Flatten.
        cleaned[DEAD_LETTER].element_type = typehints.Union[DeadLetter, typehints.Any]
        dead = cleaned[DEAD_LETTER] | "DescribeFailures" >> beam.Map(as_dead_letter, _failed)
        return cleaned["articles"] | "CountCleaned" >> beam.Map(count, "cleaned"), dead


class _CleanFn(beam.DoFn):
    def __init__(self, config: CleanConfig) -> None:
        self._config = config

    def setup(self) -> None:
        self._rules = compile_rules((rule.name, rule.pattern) for rule in self._config.rules)

    def process(self, article: Article) -> Iterator[Article | beam.pvalue.TaggedOutput]:
        fix = self._config.fix_mojibake
        cleaned = clean_text(article.text, self._rules, fix_mojibake=fix, reflow_lines=self._config.reflow)
        if not cleaned.text:
            reason = "empty_input" if not article.text.strip() else "empty_after_cleaning"
            message = "the article has no text" if reason == "empty_input" else "nothing left after cleaning"
            yield beam.pvalue.TaggedOutput(
                DEAD_LETTER, DeadLetter(article.source, "clean", reason, message, article.id)
            )
            return
        title = clean_title(article.title, fix_mojibake=fix) if article.title else None
        yield article.replace(text=cleaned.text, title=title or None, cleaning=cleaned.changes)


def _failed(failure: tuple) -> DeadLetter:
    article, (exc_type, exc_repr, trace) = failure
    return DeadLetter(
        article.source, "clean", "clean_failed", describe_exception(exc_type, exc_repr, trace), article.id
    )

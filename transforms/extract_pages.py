"""ExtractPages: web pages (raw bytes) to articles, spread over all workers, each page under a time limit."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import apache_beam as beam

from transforms.core.html import ExtractionError, Page, WebConfig, page_article, page_text
from transforms.core.page_worker import PageWorker
from transforms.core.records import describe_exception
from transforms.core.types import DEAD_LETTER, Article, DeadLetter


class ExtractPages(beam.PTransform):
    """Extract the main text and metadata of every page; returns (articles, dead letters).

    Pages are reshuffled first: the records of one large WARC file are read on one worker, and extraction,
    the expensive step, must not stay there.
    """

    def __init__(self, config: WebConfig) -> None:
        super().__init__()
        self._config = config

    def expand(self, pages):
        spread = pages | "SpreadPages" >> beam.Reshuffle()
        extracted = spread | "Extract" >> beam.ParDo(ExtractPageFn(self._config)).with_output_types(
            Article, dead_letter=DeadLetter
        ).with_exception_handling(dead_letter_tag="failed").with_outputs(DEAD_LETTER, main="articles")
        crashed = extracted["failed"] | "DescribeFailures" >> beam.Map(_failed)
        dead = (extracted[DEAD_LETTER], crashed) | "MergeDeadLetters" >> beam.Flatten()
        return extracted["articles"], dead


class ExtractPageFn(beam.DoFn):
    """One page to an article or a dead letter (tagged `dead_letter`), extracted in a killable child process."""

    def __init__(self, config: WebConfig) -> None:
        self._config = config
        self._worker: PageWorker | None = None

    def setup(self) -> None:
        config = self._config
        self._worker = PageWorker(config.page_timeout_s, config.reset_caches_every, config.worker_memory_mb)

    def process(self, page: Page) -> Iterator[Article | beam.pvalue.TaggedOutput]:
        source = page.source
        try:
            html, encoding = page_text(page)
            source = replace(source, encoding=encoding)
            extracted = self._worker.extract(html, page.url, self._config.favor_precision)
            if extracted is None:
                raise ExtractionError("no_article_text", "the page has no main text that could be extracted")
        except ExtractionError as error:
            dead = DeadLetter(source, "read", error.reason, str(error), page.id)
            yield beam.pvalue.TaggedOutput(DEAD_LETTER, dead)
            return
        yield page_article(page, extracted, encoding)

    def teardown(self) -> None:
        if self._worker is not None:
            self._worker.close()


def _failed(failure: tuple) -> DeadLetter:
    page, (exc_type, exc_repr, trace) = failure
    error = describe_exception(exc_type, exc_repr, trace)
    return DeadLetter(page.source, "read", "extraction_failed", error, page.id)

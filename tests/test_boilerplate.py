"""Corpus-evidence boilerplate: repeated lines per site, counted once per article, never emptying one."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from pipeline.config import CorpusBoilerplateConfig
from transforms import StripCorpusBoilerplate
from transforms.core.boilerplate import distinct_line_keys, line_key, site_of, strip_repeated
from transforms.core.types import Article, Source


def _article(name: str, text: str, url: str | None = None) -> Article:
    source = Source(uri=f"/c/{name}", path=name, format="txt", bytes=len(text))
    return Article(id=name, source=source, text=text, url=url)


def test_site_is_the_url_host_else_the_top_folder():
    assert site_of(_article("a.txt", "x", url="https://www.wired.com/story/1")) == "wired.com"
    assert site_of(_article("sport/1.txt", "x")) == "sport"
    assert site_of(_article("1.txt", "x")) == ""


def test_lines_are_compared_ignoring_case_and_spacing_and_counted_once_per_article():
    assert line_key("", "Go Back to Top.  Skip To:") == line_key("", "go back to top. skip to:")
    assert len(distinct_line_keys(_article("a.txt", "Same.\n\nSame.\n\nOther."))) == 2


def test_strip_keeps_the_only_content():
    article = _article("a.txt", "Boiler.\n\nReal news.")
    assert strip_repeated(article, {line_key("", "Boiler.")}) == ("Real news.", 1)
    assert strip_repeated(article, {line_key("", "Boiler."), line_key("", "Real news.")}) == (article.text, 0)


def test_repeated_lines_are_removed_within_a_site():
    articles = [_article(f"blog/{i}.txt", f"Story number {i} is unique.\n\nGo Back to Top.") for i in range(3)]
    articles.append(_article("other/1.txt", "An unrelated story.\n\nGo Back to Top."))
    with TestPipeline() as p:
        stripped = p | beam.Create(articles) | StripCorpusBoilerplate(CorpusBoilerplateConfig(min_articles=3))
        assert_that(
            stripped | beam.Map(lambda a: (a.id, a.text, a.cleaning)),
            equal_to(
                [(f"blog/{i}.txt", f"Story number {i} is unique.", {"corpus_boilerplate": 1}) for i in range(3)]
                + [("other/1.txt", "An unrelated story.\n\nGo Back to Top.", {})]
            ),
            label="RepeatedLinesStripped",
        )


def test_lines_are_counted_over_the_evidence_when_given():
    evidence = [_article(f"blog/{i}.txt", f"Old story {i}.\n\nGo Back to Top.") for i in range(3)]
    articles = [_article("blog/new.txt", "A new story.\n\nGo Back to Top."), _article("blog/x.txt", "Only this.")]
    with TestPipeline() as p:
        config = CorpusBoilerplateConfig(min_articles=3)
        stripped = p | "Articles" >> beam.Create(articles) | StripCorpusBoilerplate(
            config, evidence=p | "Evidence" >> beam.Create(evidence)
        )
        assert_that(
            stripped | beam.Map(lambda a: (a.id, a.text)),
            equal_to([("blog/new.txt", "A new story."), ("blog/x.txt", "Only this.")]),
            label="StrippedByEvidence",
        )


def test_disabled_passes_articles_through():
    articles = [_article(f"{i}.txt", "Same line.\n\nSame line two.") for i in range(3)]
    with TestPipeline() as p:
        out = p | beam.Create(articles) | StripCorpusBoilerplate(CorpusBoilerplateConfig(enabled=False))
        assert_that(out | beam.Map(lambda a: a.text), equal_to(["Same line.\n\nSame line two."] * 3), label="Unchanged")

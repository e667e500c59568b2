"""Corpus-evidence boilerplate: repeated lines per site, counted once per article, never emptying one."""

from __future__ import annotations

import json
from collections import Counter

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from transforms import StripCorpusBoilerplate
from transforms.core.boilerplate import (
    CorpusBoilerplateConfig,
    bucket_of,
    distinct_line_keys,
    line_key,
    partial_counts,
    repeated_keys,
    site_of,
    strip_repeated,
    unpacked_counts,
)
from transforms.core.store import CorpusStore, History
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
        stripped, _ = p | beam.Create(articles) | StripCorpusBoilerplate(CorpusBoilerplateConfig(min_articles=3))
        assert_that(
            stripped | beam.Map(lambda a: (a.id, a.text, a.cleaning)),
            equal_to(
                [(f"blog/{i}.txt", f"Story number {i} is unique.", {"corpus_boilerplate": 1}) for i in range(3)]
                + [("other/1.txt", "An unrelated story.\n\nGo Back to Top.", {})]
            ),
            label="RepeatedLinesStripped",
        )


def test_partial_counts_add_up_per_bucket():
    keys = [line_key("", f"line {i}") for i in range(50)]
    counts = Counter({key: i + 1 for i, key in enumerate(keys)})
    parts = partial_counts(counts, 4)
    assert all(bucket_of(key, 4) == bucket for bucket, part in parts for key, _ in unpacked_counts(part))
    assert dict(pair for _, part in parts for pair in unpacked_counts(part)) == counts
    buckets = {bucket: [part] for bucket, part in parts}
    assert sorted(key for b in buckets.values() for key in repeated_keys(b + b, 20)) == sorted(keys[9:])


def test_articles_are_held_in_files_until_counted_then_the_files_are_deleted(tmp_path):
    articles = [_article(f"blog/{i}.txt", f"Story number {i} is unique.\n\nGo Back to Top.") for i in range(600)]
    with TestPipeline() as p:
        stripped, _ = (
            p
            | beam.Create(articles)
            | StripCorpusBoilerplate(CorpusBoilerplateConfig(min_articles=3), temp_root=str(tmp_path))
        )
        assert_that(
            stripped | beam.Map(lambda a: (a.id, a.text)),
            equal_to([(f"blog/{i}.txt", f"Story number {i} is unique.") for i in range(600)]),
            label="StrippedAfterHolding",
        )
    assert list(tmp_path.iterdir()) == []


def test_committed_articles_line_keys_are_evidence_and_this_jobs_are_written(tmp_path):
    earlier = [_article(f"blog/{i}.txt", f"Old story {i}.\n\nGo Back to Top.") for i in range(3)]
    lines = [json.dumps({"source": {"uri": a.source.uri}, "lines": sorted(distinct_line_keys(a))}) for a in earlier]
    store = CorpusStore(str(tmp_path / "corpus.sqlite"))
    inputs = {a.source.uri: {"size": 1, "checksum": "x"} for a in earlier}
    store.apply_run({"run": "run=a", "sequence": 1, "fingerprint": "f", "inputs": inputs}, lines, [])
    store.close()
    articles = [_article("blog/new.txt", "A new story.\n\nGo Back to Top."), _article("blog/x.txt", "Only this.")]
    # blog/2.txt is processed again by this job: its committed keys are not evidence, so the line is in 3 articles.
    history = History(str(tmp_path / "corpus.sqlite"), frozenset({"/c/blog/2.txt"}))
    with TestPipeline() as p:
        config = CorpusBoilerplateConfig(min_articles=4)
        stripped, _ = p | beam.Create(articles) | StripCorpusBoilerplate(config, str(tmp_path), history)
        expected = ["A new story.\n\nGo Back to Top.", "Only this."]
        assert_that(stripped | beam.Map(lambda a: a.text), equal_to(expected), label="BelowTheThreshold")
    with TestPipeline() as p:
        config = CorpusBoilerplateConfig(min_articles=3)
        stripped, files = p | beam.Create(articles) | StripCorpusBoilerplate(config, str(tmp_path), history)
        expected = ["A new story.", "Only this."]
        assert_that(stripped | beam.Map(lambda a: a.text), equal_to(expected), label="AtTheThreshold")
        keys = files["corpus-lines"] | beam.Map(json.loads) | beam.Map(lambda r: (r["source"]["uri"], r["lines"]))
        written = [(a.source.uri, sorted(distinct_line_keys(a))) for a in articles]
        assert_that(keys, equal_to(written), label="LineKeysForLaterRuns")


def test_disabled_passes_articles_through():
    articles = [_article(f"{i}.txt", "Same line.\n\nSame line two.") for i in range(3)]
    with TestPipeline() as p:
        out, _ = p | beam.Create(articles) | StripCorpusBoilerplate(CorpusBoilerplateConfig(enabled=False))
        assert_that(out | beam.Map(lambda a: a.text), equal_to(["Same line.\n\nSame line two."] * 3), label="Unchanged")

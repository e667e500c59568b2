"""Parsing files into articles: titles, JSON Lines, JSON arrays, ids, limits."""

import io

import pytest

from transforms.core.parse import (
    READ_CHUNK_BYTES,
    InputError,
    ReadConfig,
    article_format,
    article_id,
    json_articles,
    jsonl_articles,
    read_limited,
    relative_path,
    split_title,
    text_article,
)
from transforms.core.types import Article, Source

SOURCE = Source(uri="/data/feeds/a.jsonl", path="feeds/a.jsonl", format="jsonl", bytes=100)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("a/b.txt", "txt"),
        ("b.TXT.gz", "txt"),
        ("c.jsonl.bz2", "jsonl"),
        ("d.json", "json"),
        ("e.html", "html"),
        ("e.png", None),
        ("README", None),
        (".txt", None),
    ],
)
def test_article_format(path, expected):
    assert article_format(path) == expected


def test_ids_are_stable_and_depend_on_location_and_line():
    assert article_id("feeds/a.jsonl", 3) == article_id("feeds/a.jsonl", 3)
    assert len({article_id("feeds/a.jsonl", 3), article_id("feeds/a.jsonl", 4), article_id("feeds/a.jsonl")}) == 3
    assert relative_path("/data/corpus/sport/1.txt", "/data/corpus") == "sport/1.txt"


def test_title_is_a_short_first_line_followed_by_a_blank_line():
    assert split_title("US duo in first spam conviction\n\nA brother and sister", 200) == (
        "US duo in first spam conviction",
        "A brother and sister",
    )
    assert split_title("[ad_1]\nBody starts here.", 200) == (None, "[ad_1]\nBody starts here.")
    assert split_title("A whole first paragraph that ends like a sentence.\n\nMore.", 200)[0] is None
    assert split_title("Title\n\nBody", 3) == (None, "Title\n\nBody")


def test_text_article_decodes_and_splits_the_title():
    source = Source(uri="/c/sport/199.txt", path="sport/199.txt", format="txt", bytes=30)
    article = text_article(b"Mutu fee\n\nA fee of \xa315.8m.", source, title_max_chars=200)
    assert (article.title, article.text, article.source.encoding) == ("Mutu fee", "A fee of £15.8m.", "cp1252")
    assert article.id == article_id("sport/199.txt")


def test_jsonl_keeps_good_lines_and_reports_bad_ones():
    lines = [
        b'{"id": 7, "title": "T", "text": "Body one", "url": "u", "date": "2024-01-01", "extra": {"a": [1]}}',
        b"",
        b'{"text": "cut off',
        b"[1, 2]",
        b'{"title": "no text"}',
        b'{"text": 42}',
        b'{"text": "Body two"}',
    ]
    items = list(jsonl_articles(io.BytesIO(b"\n".join(lines) + b"\n"), SOURCE, ReadConfig(max_article_bytes=1000)))
    articles = [item for item in items if isinstance(item, Article)]
    errors = [item for item in items if isinstance(item, InputError)]
    assert [a.text for a in articles] == ["Body one", "Body two"]
    first = articles[0]
    assert (first.title, first.url, first.date, first.metadata) == ("T", "u", "2024-01-01", {"extra": {"a": [1]}})
    assert (first.source.line, first.source.record_id, articles[1].source.line) == (1, "7", 7)
    assert [(e.reason, e.line) for e in errors] == [
        ("invalid_json", 3),
        ("not_an_object", 4),
        ("missing_text", 5),
        ("invalid_text", 6),
    ]


def test_jsonl_line_over_the_limit_is_refused_and_the_next_line_read():
    data = b'{"text": "' + b"x" * 500 + b'"}\n{"text": "short"}\n'
    items = list(jsonl_articles(io.BytesIO(data), SOURCE, ReadConfig(max_article_bytes=100)))
    assert isinstance(items[0], InputError) and items[0].reason == "too_large"
    assert isinstance(items[1], Article) and items[1].text == "short" and items[1].source.line == 2


def test_json_array_and_configurable_fields():
    data = b'[{"headline": "H", "body": "B1", "id": "x"}, {"body": "B2"}, "oops"]'
    items = list(json_articles(data, SOURCE, ReadConfig(title_field="headline", text_field="body")))
    assert [(i.title, i.text) for i in items[:2]] == [("H", "B1"), (None, "B2")]
    assert items[2].reason == "not_an_object" and items[2].line == 3


def test_read_limited_stops_at_the_limit():
    with pytest.raises(InputError) as error:
        read_limited(io.BytesIO(b"x" * 101), 100, "article")
    assert error.value.reason == "too_large"
    assert read_limited(io.BytesIO(b"x" * 100), 100, "article") == b"x" * 100


def test_read_limited_reads_in_chunks_whatever_the_limit():
    asked = []

    class Recording(io.BytesIO):
        def read(self, size=-1):
            asked.append(size)
            return super().read(size)

    data = bytes(range(256)) * 1000
    assert read_limited(Recording(data), 20_000_000, "article") == data
    assert max(asked) == READ_CHUNK_BYTES and min(asked) > 0

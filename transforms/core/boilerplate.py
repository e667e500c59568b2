"""Corpus-evidence boilerplate: lines that repeat verbatim across many articles of one site."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable
from urllib.parse import urlsplit

from transforms.core.types import Article

_SPACE = re.compile(r"\s+")
PARAGRAPH_BREAK = "\n\n"


def site_of(article: Article) -> str:
    """The group an article's lines are counted in: its URL's host, else its top-level input folder."""
    if article.url:
        host = urlsplit(article.url).hostname
        if host:
            return host.removeprefix("www.")
    folder, slash, _ = article.source.path.partition("/")
    return folder if slash else ""


def line_key(site: str, line: str) -> str:
    """A short stable key for a normalised line within a site (hashing keeps the shuffle small)."""
    normalised = _SPACE.sub(" ", line).strip().casefold()
    return hashlib.blake2b(f"{site}\n{normalised}".encode(), digest_size=12).hexdigest()


def distinct_line_keys(article: Article) -> set[str]:
    """Each distinct paragraph of the article once, so a line counts once per article."""
    site = site_of(article)
    return {line_key(site, line) for line in article.text.split(PARAGRAPH_BREAK)}


def strip_repeated(article: Article, repeated: set[str] | frozenset[str]) -> tuple[str, int]:
    """The text without paragraphs whose key is in `repeated`; never removes every paragraph."""
    site = site_of(article)
    paragraphs = article.text.split(PARAGRAPH_BREAK)
    kept = [line for line in paragraphs if line_key(site, line) not in repeated]
    if not kept:
        return article.text, 0
    return PARAGRAPH_BREAK.join(kept), len(paragraphs) - len(kept)


def bucket_of(key: str, buckets: int) -> int:
    """The count bucket of a line key: counts travel as one {key: count} mapping per bucket, not per key."""
    return int(key[:8], 16) % buckets


def partial_counts(counts: Counter[str], buckets: int) -> list[tuple[int, dict[str, int]]]:
    """`counts` split into (bucket, {key: count}) parts, one per bucket that has keys."""
    parts: dict[int, dict[str, int]] = {}
    for key, n in counts.items():
        parts.setdefault(bucket_of(key, buckets), {})[key] = n
    return sorted(parts.items())


def repeated_keys(parts: Iterable[dict[str, int]], least: int) -> list[str]:
    """The keys whose summed count over `parts` is at least `least`."""
    total: Counter[str] = Counter()
    for part in parts:
        total.update(part)
    return [key for key, n in total.items() if n >= least]

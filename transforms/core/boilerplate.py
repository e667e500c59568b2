"""Corpus-evidence boilerplate: lines that repeat verbatim across many articles of one site."""

from __future__ import annotations

import hashlib
import re
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

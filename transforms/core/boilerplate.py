"""Corpus-evidence boilerplate: lines that repeat verbatim across many articles of one site."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from transforms.core.types import Article

_SPACE = re.compile(r"\s+")
_KEY_BYTES = 12
_PACKED = _KEY_BYTES + 4
PARAGRAPH_BREAK = "\n\n"


@dataclass(frozen=True)
class CorpusBoilerplateConfig:
    """`clean.corpus_boilerplate`: drop lines found in at least `min_articles` articles of one site."""

    enabled: bool = True
    min_articles: int = 10


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
    return hashlib.blake2b(f"{site}\n{normalised}".encode(), digest_size=_KEY_BYTES).hexdigest()


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


def partial_counts(counts: Counter[str], buckets: int) -> list[tuple[int, bytes]]:
    """`counts` split into (bucket, packed {key: count}) parts, one per bucket that has keys.

    Packed as 12 key bytes + 4 count bytes per key: a runner that holds a shuffle in memory (the
    DirectRunner's launcher) keeps 16 bytes per key instead of a dict entry of about 150.
    """
    parts: dict[int, list[bytes]] = {}
    for key, n in counts.items():
        parts.setdefault(bucket_of(key, buckets), []).append(bytes.fromhex(key) + n.to_bytes(4, "little"))
    return [(bucket, b"".join(packed)) for bucket, packed in sorted(parts.items())]


def unpacked_counts(part: bytes) -> Iterator[tuple[str, int]]:
    """The (key, count) pairs of one packed part."""
    for start in range(0, len(part), _PACKED):
        count = int.from_bytes(part[start + _KEY_BYTES : start + _PACKED], "little")
        yield part[start : start + _KEY_BYTES].hex(), count


def repeated_keys(
    parts: Iterable[bytes], least: int, earlier: Callable[[list[str]], Mapping[str, int]] | None = None
) -> list[str]:
    """The keys whose summed count over the packed `parts` is at least `least`, counting for the keys below it
    what `earlier(keys)` says committed articles hold too (incremental runs)."""
    total: Counter[str] = Counter()
    for part in parts:
        for key, n in unpacked_counts(part):
            total[key] += n
    if earlier is not None:
        below = [key for key, n in total.items() if n < least]
        total.update(earlier(below) if below else {})
    return [key for key, n in total.items() if n >= least]

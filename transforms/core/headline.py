"""The headline a reader sees: the page's own <h1> reconciled with the titles its metadata declares."""

from __future__ import annotations

import html
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

# Separators between a headline and a site or section name in a <title> or og:title ("Headline | Site").
_SEPARATOR = re.compile(r"(\s+(?:[|–—·•»~/]|::|//|-{1,2})\s+)")
_PREFIX_COLON = re.compile(r"([^:]{1,40}):\s+")
# A word: a run of letters and digits, or one Chinese or Japanese character (those scripts have no spaces).
_WORD = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|\w+")
_ENTITY = re.compile(r"&(?:#\d+|#x[0-9a-f]+|[a-z]+\d*);", re.IGNORECASE)
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_HIDDEN_CLASSES = frozenset(
    ("hidden", "hide", "sr-only", "visually-hidden", "visuallyhidden", "screen-reader-text", "element-invisible")
)
_INVISIBLE_TAGS = frozenset(("script", "style", "noscript", "template", "svg", "button"))
_CHROME_TAGS = frozenset(("nav", "footer", "aside", "menu"))
_CHROME_ROLES = frozenset(("navigation", "banner", "contentinfo", "complementary", "menu", "menubar"))
_HOST_LABELS_SKIPPED = frozenset(("www", "m", "amp", "mobile", "com", "co", "org", "net", "gov", "ac", "edu"))
# What a page declares about itself, and which <meta> names and properties say what.
_DECLARING = '//meta[@content] | //link[@rel="canonical"][@href] | //head/title'
_META_KINDS = {
    "og:title": "titles",
    "twitter:title": "titles",
    "headline": "titles",
    "og:site_name": "names",
    "application-name": "names",
    "apple-mobile-web-app-title": "names",
    "twitter:site": "names",
    "article:section": "sections",
    "og:url": "addresses",
}
# Links to a front page: "/", "./", "https://host/", "//host" (the filter runs in lxml: pages have many links).
_HOME_LINKS = (
    './/a[@href="/" or @href="./" or (contains(@href, "//") and not(contains(@href, "?"))'
    ' and substring-after(substring-after(@href, "//"), "/") = "")]'
)
_SITE_HEADER = './/nav | .//*[@role="navigation"] | ' + _HOME_LINKS
# A headline is one line: a longer "heading" is a paragraph, or a whole page wrapped in a heading.
MAX_HEADLINE_CHARS = 300
# Word overlap (Dice) at which an <h1> and a declared title count as the same headline.
AGREEMENT = 0.6
# An <h1> that no declared title confirms needs this many words (between spaces) to be taken as the article's
# heading.
PLAIN_HEADING_WORDS = 3


@dataclass(frozen=True, slots=True)
class _Heading:
    text: str
    element: Any
    chrome: bool  # in navigation, a page header, footer or sidebar, or a teaser linking to another page


@dataclass(frozen=True, slots=True)
class _Declared:
    """What the page says about itself: its titles, and its site's and sections' names as keys."""

    titles: list[str]
    names: frozenset[str]
    sections: frozenset[str]
    base: str  # the page's address, for links relative to it ("" when unknown)
    addresses: frozenset[tuple[str, str]]  # (host, path) of its url, canonical link and og:url


def headline(tree: Any, declared: str | None, site: str | None, url: str | None, body: str = "") -> str | None:
    """The article's headline as the page shows it, or None.

    `tree` is the page's lxml tree, unpruned; `declared` the title trafilatura's metadata gives (JSON-LD
    headline, og:title, …); `site` its site name; `url` the page's address; `body` the extracted main text.
    1. The page's <h1> that agrees with a declared title (`declared`, og:title, twitter:title, the <title>),
       site and section names aside: in its own characters, quotes and case.
    2. Else the first <h1> that plainly is the article's heading: visible, outside navigation, page header,
       footer and sidebars, not a link elsewhere or home, not the site's name, at least PLAIN_HEADING_WORDS
       words, and not after the start of the main text.
    3. Else the declared title without the site and section names around it, in the characters of a heading
       on the page that has the same words.
    """
    page = _declared(tree, declared, site, url)
    bare = [_without_names(title, page) for title in page.titles]
    candidates = [heading for heading in _h1s(tree, page) if not _is_name(heading.text, page.names)]
    scored = [
        (max((_agreement(heading.text, title) for title in page.titles + bare), default=0.0), -index, heading)
        for index, heading in enumerate(candidates)
    ]
    agreeing = [item for item in scored if item[0] >= AGREEMENT]
    if agreeing:
        return max(agreeing, key=lambda item: item[:2])[2].text
    for heading in candidates:
        plain = not heading.chrome and len(heading.text.split()) >= PLAIN_HEADING_WORDS
        if plain and _before_text(heading, tree, body):
            return heading.text
    if not bare:
        return None
    return _as_shown(tree, bare[0]) or bare[0]


def _declared(tree: Any, title: str | None, site: str | None, url: str | None) -> _Declared:
    found: dict[str, list[str]] = {"titles": [title or ""], "names": [site or ""], "sections": [], "addresses": []}
    head_titles = []
    for element in tree.xpath(_DECLARING):
        if element.tag == "title":
            head_titles.append(element.text_content())
        elif element.tag == "link":
            found["addresses"].append(element.get("href"))
        else:
            kind = element.get("property") or element.get("name") or element.get("itemprop") or ""
            if kind := _META_KINDS.get(kind.strip().lower()):
                found[kind].append(element.get("content"))
    titles = [" ".join(_unescaped(value).split()) for value in found["titles"] + head_titles]
    hrefs = [href.strip() for href in [url or "", *found["addresses"]] if href.strip()]
    base = next((href for href in hrefs if urlsplit(href).netloc), "")
    addresses = [urlsplit(urljoin(base, href)) for href in hrefs]
    hosts = {_host(address.netloc) for address in addresses if address.netloc}
    names = {_key(value.lstrip("@")) for value in found["names"] + _home_links(tree, hosts)}
    for host in hosts:
        labels = [label for label in host.split(".") if label not in _HOST_LABELS_SKIPPED]
        names.update(_key(label) for label in labels[:-1] or labels)
        names.add(_key(host))
    folders = [folder for address in addresses for folder in address.path.split("/")[1:-1]]
    sections = {_key(value) for value in found["sections"] + folders}
    return _Declared(
        titles=[title for title in dict.fromkeys(titles) if title],
        names=frozenset(name for name in names if len(name) >= 3),
        sections=frozenset(key for key in sections if len(key) >= 3 and not key.isdigit()),
        base=base,
        addresses=frozenset(_place(address) for address in addresses if address.netloc),
    )


def _home_links(tree: Any, hosts: set[str]) -> list[str]:
    """The words of the links to the site's front page (a logo's, "Home"), short ones only."""
    names = []
    for link in tree.xpath(_HOME_LINKS):
        target = urlsplit(link.get("href").strip())
        if not target.netloc or _host(target.netloc) in hosts:
            text = " ".join(link.text_content().split()) or link.xpath("string(.//img/@alt)")
            if 0 < len(_words(text)) <= 4:
                names.append(text)
    return names


def _h1s(tree: Any, page: _Declared) -> list[_Heading]:
    """The page's visible <h1>s that are not a link to its front page (a logo), in document order."""
    title_words = {word for title in page.titles for word in _words(title)}
    hosts = {host for host, _ in page.addresses}
    headings = []
    for element in tree.iter("h1"):
        if any(_hidden(node) for node in (element, *element.iterancestors())):
            continue
        text = _heading_text(element, page.names | page.sections, title_words)
        if not text or len(text) > MAX_HEADLINE_CHARS:
            continue
        target = _link_target(element, text, page.base)
        if target is not None and target[1] == "/" and (not target[0] or target[0] in hosts):
            continue
        teaser = target is not None and bool(target[0]) and bool(page.addresses) and target not in page.addresses
        headings.append(_Heading(text, element, teaser or _in_chrome(element)))
    return headings


def _link_target(element: Any, text: str, base: str) -> tuple[str, str] | None:
    """Where the heading links to when all of it is one link: (host, path), the host empty when unknown."""
    links = element.xpath(".//a[@href]")
    if len(links) != 1 or " ".join(links[0].text_content().split()) != text:
        return None
    return _place(urlsplit(urljoin(base, links[0].get("href", "").strip())))


def _heading_text(element: Any, known: frozenset[str], title_words: set[str]) -> str:
    """A heading's visible text without a section label at its start or end ("<div>Politics |</div> Headline")."""
    pieces = [(False, element.text or "")]
    for child in element:
        if isinstance(child.tag, str) and not _hidden(child):
            pieces.append((True, " " if child.tag == "br" else _visible_text(child)))
        pieces.append((False, child.tail or ""))
    filled = [index for index, (_, text) in enumerate(pieces) if text.strip()]
    if len(filled) > 1:
        for index in (filled[0], filled[-1]):
            is_child, text = pieces[index]
            if is_child and _is_label(text, known, title_words):
                pieces[index] = (True, " ")
    return " ".join("".join(text for _, text in pieces).split())


def _is_label(text: str, known: frozenset[str], title_words: set[str]) -> bool:
    """A short section or site name: a known one, or words that none of the declared titles has."""
    words = _words(text)
    if not 1 <= len(words) <= 3:
        return False
    return _key(text) in known or (bool(title_words) and title_words.isdisjoint(words))


def _visible_text(element: Any) -> str:
    parts = [element.text or ""]
    for child in element:
        if isinstance(child.tag, str) and not _hidden(child):
            parts.append(" " if child.tag == "br" else _visible_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _hidden(element: Any) -> bool:
    if element.tag in _INVISIBLE_TAGS or element.get("hidden") is not None:
        return True
    if element.get("aria-hidden", "").strip().lower() == "true" or _HIDDEN_STYLE.search(element.get("style", "")):
        return True
    return not _HIDDEN_CLASSES.isdisjoint(element.get("class", "").lower().split())


def _in_chrome(element: Any) -> bool:
    """Inside navigation, a footer, a sidebar, or the site's header: one with navigation or a link home, not in an
    article or the main content."""
    ancestors = list(element.iterancestors())
    for index, node in enumerate(ancestors):
        if node.tag in _CHROME_TAGS or node.get("role", "").strip().lower() in _CHROME_ROLES:
            return True
        outermost = not any(outer.tag in ("article", "main") for outer in ancestors[index + 1 :])
        if node.tag == "header" and outermost and node.xpath(_SITE_HEADER):
            return True
    return False


def _before_text(heading: _Heading, tree: Any, body: str) -> bool:
    """The heading is not after the start of the main text in the page (True when that start is not found)."""
    first = "".join(next((line for line in body.splitlines() if line.strip()), "").split())[:40]
    if len(first) < 20:
        return True
    inside, page, heading_at = set(heading.element.iter()), [], None
    for node in tree.xpath("//body//text()[not(ancestor::script or ancestor::style)]"):
        owner = node.getparent()
        if heading_at is None and owner in inside and not (node.is_tail and owner is heading.element):
            heading_at = sum(map(len, page))
        page.append("".join(node.split()))
    text_at = "".join(page).find(first)
    return text_at < 0 or heading_at is None or heading_at <= text_at


def _without_names(title: str, page: _Declared) -> str:
    """The title without site and section names before or after a separator ("Opinion | Headline | Site")."""
    pieces = _SEPARATOR.split(title)  # segments at even indices, the separators between them at odd ones
    segments = pieces[::2]
    known = page.names | page.sections

    def named(segment: str) -> bool:
        return _key(segment) in known or _is_name(segment, page.names)

    end = next((index for index in range(1, len(segments)) if named(segments[index])), len(segments))
    start = 0
    while start < end - 1 and named(segments[start]):
        start += 1
    text = "".join(pieces[2 * start : 2 * end - 1]).strip()
    prefix = _PREFIX_COLON.match(text)
    if prefix and _key(prefix.group(1)) in known and len(text) > prefix.end():
        text = text[prefix.end() :]
    return text


def _is_name(text: str, names: frozenset[str]) -> bool:
    """The site's name, or the start of one ("Sci.News" of "Sci.News: Breaking Science News")."""
    key = _key(text)
    return bool(key) and (key in names or (len(key) >= 4 and any(name.startswith(key) for name in names)))


def _as_shown(tree: Any, title: str) -> str | None:
    """A visible heading on the page with the title's words (case, quotes and dashes aside), as it shows them."""
    words = _words(title)
    for element in tree.iter("h1", "h2", "h3"):
        text = " ".join(_visible_text(element).split())
        if _words(text) == words and not any(_hidden(node) for node in (element, *element.iterancestors())):
            return text
    return None


def _agreement(heading: str, title: str) -> float:
    """Dice overlap of the two texts' words (case, quotes and punctuation aside)."""
    ours, theirs = Counter(_words(heading)), Counter(_words(title))
    total = sum(ours.values()) + sum(theirs.values())
    return 2 * sum((ours & theirs).values()) / total if total else 0.0


def _words(text: str) -> list[str]:
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def _key(text: str) -> str:
    """Letters and digits only, case aside: "Sci.News" and "sci-news" are both "scinews"."""
    return "".join(_words(text)).replace("_", "")


def _unescaped(text: str) -> str:
    """Metadata that escaped its HTML twice ("Won&rsquo;t") as the characters it means."""
    return html.unescape(text) if _ENTITY.search(text) else text


def _host(netloc: str) -> str:
    host = netloc.rsplit("@", 1)[-1].split(":", 1)[0].lower()
    return host.removeprefix("www.")


def _place(address: Any) -> tuple[str, str]:
    """(host, path) of a split URL, for comparing addresses: no www., no trailing slash."""
    return _host(address.netloc), address.path.rstrip("/") or "/"

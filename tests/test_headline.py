"""The headline: the page's <h1> reconciled with og:title, the <title> and the site's and sections' names."""

from __future__ import annotations

from lxml import html as lxml_html

from transforms.core.headline import headline
from transforms.core.html import extract

BODY = (
    "<p>The council voted on Tuesday evening to close the old bridge to cars from next spring, after an "
    "engineers' report found cracks in two of its three piers.</p>"
    "<p>Cyclists and pedestrians will keep using it while the city looks for the money to repair it, "
    "the mayor said, adding that a decision would come before the summer.</p>"
)
FIRST_PARAGRAPH = "The council voted on Tuesday evening to close the old bridge to cars from next spring"


def page(head: str = "", body: str = "") -> str:
    return f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">{head}</head><body>{body}</body></html>'


def title_of(html: str, declared: str | None = None, site: str | None = None, url: str | None = None) -> str | None:
    tree = lxml_html.fromstring(html)
    return headline(tree, declared, site, url, FIRST_PARAGRAPH)


def test_the_site_name_after_or_before_a_separator_is_removed():
    head = (
        '<title>Old bridge to close to cars | Daily Planet</title><meta property="og:site_name" content="Daily Planet">'
    )
    assert title_of(page(head, BODY)) == "Old bridge to close to cars"
    # no site name declared: the host names it, "Sci.News" and "sci-news.com" alike
    head = '<meta property="og:title" content="Giant bacterium sequenced | Sci.News">'
    assert title_of(page(head, BODY), url="https://www.sci-news.com/biology/x.html") == "Giant bacterium sequenced"
    head = "<title>Times of India - Markets rally for a third day</title>"
    assert title_of(page(head, BODY), url="https://timesofindia.indiatimes.com/business/x.cms") == (
        "Markets rally for a third day"
    )
    # a name that is only the start of the declared one ("Sci.News: Breaking Science News")
    head = (
        '<title>Snail fossil found - Sci.News</title><meta property="og:site_name" content="Sci.News: Breaking News">'
    )
    assert title_of(page(head, BODY)) == "Snail fossil found"
    # the name trafilatura found
    assert title_of(page("", BODY), "Nadal keeps Spain alive - Sportsnet", "Sportsnet") == "Nadal keeps Spain alive"
    assert title_of(page("", BODY), "LinkNaija | Kate Henshaw in photos", "linknaija") == "Kate Henshaw in photos"
    # a title that is only the site's name stays
    head = '<title>Daily Planet</title><meta property="og:site_name" content="Daily Planet">'
    assert title_of(page(head, BODY)) == "Daily Planet"


def test_a_section_name_before_the_headline_is_removed():
    head = '<meta property="og:title" content="Opinion | The case for night trains">'
    assert (
        title_of(page(head, BODY), url="https://news.example/opinion/2024/night-trains") == "The case for night trains"
    )
    head = (
        '<meta property="og:title" content="Opinion: The case for night trains">'
        '<meta property="article:section" content="Opinion">'
    )
    assert title_of(page(head, BODY)) == "The case for night trains"
    # a colon inside the headline is not a section's
    head = '<meta property="og:title" content="Budget: what it means for you">'
    assert title_of(page(head, BODY), url="https://news.example/money/budget") == "Budget: what it means for you"


def test_the_h1_wins_over_a_title_with_site_and_section_names():
    head = "<title>Old bridge to close to cars | Opinion | The Harvard Crimson</title>"
    body = f"<article><h1>Old bridge to close to cars</h1>{BODY}</article>"
    assert title_of(page(head, body)) == "Old bridge to close to cars"


def test_a_newsletter_name_around_the_declared_title_gives_way_to_the_h1():
    head = '<meta property="og:title" content="The Slatest for Dec. 22: Congress leaves town without a deal">'
    body = f"<article><h1>Congress leaves town without a deal</h1>{BODY}</article>"
    assert title_of(page(head, body)) == "Congress leaves town without a deal"


def test_a_section_label_inside_the_h1_is_not_part_of_the_headline():
    head = '<meta property="og:title" content="Governor vetoes the ban on noncompete agreements">'
    body = (
        '<article><h1><div class="section"><a href="/news/politics/">Politics | </a></div>'
        f"<span>Gov. Hochul vetoes the ban on noncompete agreements</span></h1>{BODY}</article>"
    )
    assert title_of(page(head, body)) == "Gov. Hochul vetoes the ban on noncompete agreements"
    body = f'<h1><div class="kicker">News</div> Anime film to open in Indonesia</h1>{BODY}'
    head = '<meta property="og:title" content="Anime film to open in Indonesia">'
    assert (
        title_of(page(head, body), url="https://anime.example/news/2023-12-20/film")
        == "Anime film to open in Indonesia"
    )


def test_the_h1_wins_where_the_social_title_differs():
    head = (
        '<meta property="og:title" content="No cover bars around DC for New Year\'s Eve">'
        "<title>No cover bars around DC for New Year's Eve 2023 - Washingtonian</title>"
    )
    body = f"<main><article><h1>DC-Area Bars That Won’t Charge Covers on New Year’s Eve</h1>{BODY}</article></main>"
    assert title_of(page(head, body)) == "DC-Area Bars That Won’t Charge Covers on New Year’s Eve"
    # a declared title that agrees picks the article's h1 among several
    head = '<meta property="og:title" content="Why Perez does not make the top 10 for 2023">'
    body = (
        '<header><nav><h1 class="link-text">F1</h1></nav></header>'
        f"<article><header><h1>Why Sergio Perez doesn't make the Top 10 for 2023</h1></header>{BODY}</article>"
        "<section><h1>Related</h1></section>"
    )
    assert title_of(page(head, body)) == "Why Sergio Perez doesn't make the Top 10 for 2023"
    # … even after an h1 that would pass for a heading
    promo = "<div><h1>Subscribe to our daily newsletter</h1></div>"
    body = f"{promo}<article><h1>Why Sergio Perez doesn't make the Top 10 for 2023</h1>{BODY}</article>"
    assert title_of(page(head, body)) == "Why Sergio Perez doesn't make the Top 10 for 2023"


def test_chinese_and_japanese_titles_agree_character_by_character():
    head = '<meta property="og:title" content="首相、来週訪米へ　会談の調整進む | 朝日新聞">'
    promo = "<div><h1>Subscribe to our daily newsletter</h1></div>"
    body = f"{promo}<article><h1>首相が来週訪米へ　首脳会談の調整進む</h1>{BODY}</article>"
    assert title_of(page(head, body)) == "首相が来週訪米へ 首脳会談の調整進む"


def test_the_headline_keeps_its_typographic_quotes():
    head = '<meta property="og:title" content="Pope issues \'Laudate Deum,\' a letter on climate">'
    body = f"<article><h1>Pope issues ‘Laudate Deum,’ a letter on climate</h1>{BODY}</article>"
    assert title_of(page(head, body)) == "Pope issues ‘Laudate Deum,’ a letter on climate"
    # no <h1>: the declared title in the characters of the heading that shows it
    body = f"<article><h2>Pope issues ‘Laudate Deum,’ a letter on climate</h2>{BODY}</article>"
    assert title_of(page(head + "<title>Pope issues 'Laudate Deum,' a letter on climate | Planet</title>", body)) == (
        "Pope issues ‘Laudate Deum,’ a letter on climate"
    )
    # metadata escaped twice means the characters
    head = '<meta property="og:title" content="On abortion, one size won&amp;rsquo;t fit all | RealClearPolitics">'
    assert (
        title_of(page(head, BODY), url="https://www.realclearpolitics.com/a/x.html")
        == "On abortion, one size won’t fit all"
    )


def test_a_logo_h1_never_wins():
    head = '<meta property="og:title" content="Old bridge to close to cars | Daily Planet">'
    logo = '<header><h1 class="logo"><a href="/">Daily Planet</a></h1></header>'
    body = f"{logo}<article><h2>Old bridge to close to cars</h2>{BODY}</article>"
    assert title_of(page(head, body), url="https://planet.example/city/bridge") == "Old bridge to close to cars"
    # a link home, whatever its words, in a page header or not
    logo = '<div id="top"><h1><a href="https://www.planet.example/">The Planet Today Online</a></h1></div>'
    body = f"{logo}<article><p>City news</p>{BODY}</article>"
    head = '<meta property="og:title" content="Old bridge to close to cars">'
    assert title_of(page(head, body), url="https://planet.example/city/bridge") == "Old bridge to close to cars"
    # a long logo
    logo = '<h1><a href="/">The Planet: all the news from the city and the valley</a></h1>'
    assert title_of(page(head, logo + BODY)) == "Old bridge to close to cars"
    # a site's tagline in the page header
    tagline = '<header><h1>News and views from the valley</h1><a href="/">Front page</a></header>'
    assert title_of(page(head, tagline + BODY)) == "Old bridge to close to cars"
    # the site's name, neither a link nor in a page header
    name = '<meta property="og:site_name" content="The Daily Planet">'
    masthead = '<div class="masthead"><h1>The Daily Planet</h1></div>'
    assert title_of(page(head + name, masthead + BODY)) == "Old bridge to close to cars"
    # a hidden h1, and a hidden part of one
    hidden = '<h1 class="hide">The Planet city newsroom</h1>'
    assert (
        title_of(page(head, f"{hidden}<article><h2>Old bridge</h2>{BODY}</article>")) == "Old bridge to close to cars"
    )
    body = f'<article><h1>Old bridge to close <span class="sr-only">opens</span>to cars</h1>{BODY}</article>'
    assert title_of(page(head, body)) == "Old bridge to close to cars"


def test_a_listing_or_teaser_h1_never_wins():
    head = '<meta property="og:title" content="Old bridge to close to cars">'
    # the article's h1 wins over a listing's
    body = f"<article><h1>Old bridge to close to cars</h1>{BODY}</article><section><h1>Latest News</h1></section>"
    assert title_of(page(head, body)) == "Old bridge to close to cars"
    # the headline is no h1: a listing's h1 after the text, or a teaser linking to another page, is no headline
    listing = "<section><h1>Latest stories from our newsroom</h1></section>"
    body = f"<article><h2>Old bridge to close</h2>{BODY}</article>{listing}"
    assert title_of(page(head, body)) == "Old bridge to close to cars"
    teaser = '<h1><a href="https://planet.example/sport/cup-final">Rovers win the cup after extra time</a></h1>'
    body = f"{teaser}<article><h2>Old bridge to close</h2>{BODY}</article>"
    assert title_of(page(head, body), url="https://planet.example/city/bridge") == "Old bridge to close to cars"
    # a link to the page itself is the headline's permalink, no teaser
    own = '<h1><a href="/city/bridge/">Council shuts the old bridge to traffic</a></h1>'
    assert title_of(page(head, own + BODY), url="https://planet.example/city/bridge") == (
        "Council shuts the old bridge to traffic"
    )
    # a short h1 that no declared title confirms is a section's name, not the headline
    body = f"<h1>Latest News</h1><article><h2>Old bridge to close</h2>{BODY}</article>"
    assert title_of(page(head, body)) == "Old bridge to close to cars"


def test_a_line_break_in_the_h1_is_a_space():
    head = '<meta property="og:title" content="Old bridge to close to cars">'
    assert (
        title_of(page(head, f"<h1>Old bridge<br>to close <em>to</em> cars</h1>{BODY}")) == "Old bridge to close to cars"
    )


def test_no_title_at_all_is_none():
    assert title_of(page("", BODY)) is None
    assert title_of(page("", f"<h1>Old bridge to close to cars</h1>{BODY}")) == "Old bridge to close to cars"


def test_extraction_takes_the_visible_headline():
    head = (
        "<title>Council to close 'old' bridge to cars | City | Daily Planet</title>"
        '<meta property="og:title" content="Council to close \'old\' bridge to cars">'
        '<meta property="og:site_name" content="Daily Planet">'
    )
    body = (
        '<header><h1 class="logo"><a href="/">Daily Planet</a></h1><nav><a href="/city">City</a></nav></header>'
        f"<article><h1>Council to close ‘old’ bridge to cars</h1>{BODY * 3}</article>"
    )
    extracted = extract(page(head, body), "https://planet.example/city/bridge", favor_precision=True)
    assert extracted["title"] == "Council to close ‘old’ bridge to cars"

"""Mojibake repair: ftfy plus the bytes Windows-1252 drops and the artefacts ftfy makes of them."""

import ftfy
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.core.mojibake import _FTFY_INERT_RE, FTFY_CONFIG, KINDS, fix_mojibake

CLEAN = (
    "Russia and the US must “assume equal commitments”.\n"
    "“Russia will extradite criminals to the Russian Federation.”\n"
    "“I was told as I was flying here, that [Putin] said that,” Biden added. “It’s a good sign.”\n"
    "Putin’s proposal — in this case to the US — was “a start”? Café owners said “no”—twice."
)
TYPOGRAPHIC = st.text(
    alphabet=st.sampled_from(
        list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 \n.,;:!?'\"()-“”‘’–—…")
    ),
    max_size=200,
)
MOJIBAKE_PRONE = st.lists(
    st.sampled_from([*"aZ \n.,?“”’†�€™œ—ÂÃÄÅâïðŸ˜¸\x81\x9d\ud800\x00", "â€", "â€œ", "â€™", "ï¸", "Ã©"]),
    max_size=40,
).map("".join)


def lose_bytes(text: str) -> str:
    """UTF-8 read as Windows-1252 by a decoder that drops the five undefined bytes."""
    return text.encode("utf-8").decode("cp1252", errors="ignore")


def test_seed_article_quotes_are_restored():
    seed = (
        "Putin said the US must “assume equal commitmentsâ€.\n"
        "“Russia will also extradite criminals to the Russian Federation.â€\n"
        "“I was told as I was flying here, that [Putin] said that,†Biden added. “A good sign.â€"
    )
    fixed, counts = fix_mojibake(seed)
    assert fixed == (
        "Putin said the US must “assume equal commitments”.\n"
        "“Russia will also extradite criminals to the Russian Federation.”\n"
        "“I was told as I was flying here, that [Putin] said that,” Biden added. “A good sign.”"
    )
    assert counts == dict.fromkeys(KINDS, 0) | {"lost_byte_quote": 3, "dagger_quote": 1}


def test_raw_mojibake_with_lost_bytes_comes_back_exactly():
    fixed, counts = fix_mojibake(lose_bytes(CLEAN))
    assert fixed == CLEAN
    assert counts["ftfy"] == 4


def test_mojibake_half_fixed_by_ftfy_comes_back_exactly():
    half_fixed = ftfy.fix_text(lose_bytes(CLEAN), uncurl_quotes=False)
    assert "†" in half_fixed and "â€" in half_fixed
    assert fix_mojibake(half_fixed)[0] == CLEAN


def test_question_mark_eaten_with_a_lost_byte_comes_back_in_lossy_text_only():
    assert fix_mojibake("“Is it a start�\n“Yesâ€.")[0] == "“Is it a start”?\n“Yes”."
    assert fix_mojibake("“Is it a start�")[0] == "“Is it a start�"


def test_other_characters_that_lose_an_undefined_byte():
    for clean in ("Juan Álvarez said", "Prokop Bartoníček", "Hot ❄️ today", "●", "e‐mail"):
        assert fix_mojibake(lose_bytes(clean))[0] == clean
    assert fix_mojibake("Juan Ãlvarez said")[1]["lost_byte_other"] == 1


def test_real_daggers_and_letters_are_left_alone():
    for clean in (
        "Smith†, Jones‡ and Brown\n† Deceased",
        "Ärger in SÃO PAULO and Åse from Århus",
        "“Hi,” he said. The figures† were revised.",
        "A � stands for a byte nobody could read.",
    ):
        assert fix_mojibake(clean) == (clean, dict.fromkeys(KINDS, 0))


def test_ftfy_fixes_are_counted_and_quotes_and_line_breaks_kept():
    fixed, counts = fix_mojibake("â€œWe canâ€™t,â€\x9d she said.\r\nThe councilâ€™s engineers\r\n")
    assert fixed == "“We can’t,” she said.\r\nThe council’s engineers\r\n"
    assert counts["ftfy"] == 2


def test_never_raises_on_odd_strings():
    for text in ("", "\ud800 lone \udfff surrogates", "nul\x00 and \x9d controls", "â€" * 1000):
        fixed, counts = fix_mojibake(text)
        assert isinstance(fixed, str) and set(counts) == set(KINDS)


@given(TYPOGRAPHIC)
def test_clean_text_is_unchanged(text):
    assert fix_mojibake(text)[0] == text


@settings(deadline=None)
@given(st.one_of(MOJIBAKE_PRONE, TYPOGRAPHIC.map(lose_bytes), st.text(max_size=80)))
def test_is_idempotent(text):
    once = fix_mojibake(text)[0]
    assert fix_mojibake(once)[0] == once


@given(st.text(alphabet=st.sampled_from("\t\n" + "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "&"))))
def test_text_skipped_as_inert_is_text_ftfy_leaves_alone(text):
    assert _FTFY_INERT_RE.fullmatch(text)
    assert ftfy.fix_text(text, FTFY_CONFIG) == text


def test_a_double_lossy_round_trip_comes_back_exactly():
    twice = lose_bytes(lose_bytes(CLEAN))
    assert "Ã¢â‚¬â€" in twice  # `—`: the inner `”` lost its last byte in the second trip
    fixed, counts = fix_mojibake(twice)
    assert fixed == CLEAN
    assert counts["double_round_trip"] > 0


def test_double_round_trips_of_greek_and_cyrillic_choose_the_script():
    for clean in ("Ο Πάπας είπε “ψ” και π.", "Путин дал им «Да — то, что надо».", "Zoë’s café — “ok”…"):
        assert fix_mojibake(lose_bytes(lose_bytes(clean)))[0] == clean


def test_whole_double_mojibake_next_to_replacement_characters_is_left_to_ftfy():
    original = "Ã¢â€\ufffdâ€™(Ã¢Å’Â£Ã‹â€ºÃ¢Å’Â£)Ã¢â€\ufffdÅ½"  # ftfy's in-the-wild case
    assert fix_mojibake(original)[0] == ftfy.fix_text(original, FTFY_CONFIG)

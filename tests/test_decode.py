"""Decoding article bytes: UTF-8, legacy Windows-1252 bytes, BOMs, binary content, mojibake that is not binary."""

import contextlib
import io
import json
import random
import re
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.core.decode import UndecodableError, check_text, decode_bytes

C1 = re.compile("[\x80-\x9f]")
# Short texts, where a mojibake's C1 controls are the largest share of the characters.
ORIGINALS = (
    "The mayor’s “final” offer — rejected…",
    "שלום עולם",
    "Δήμος Αθηναίων",
    "Москва",
    "東京都",
    "🎉 party time",
)


def read_as_latin1(text: str) -> str:
    """UTF-8 read as Latin-1: every byte one character, 0x80-0x9F the C1 controls."""
    return text.encode("utf-8").decode("latin-1")


def test_utf8_is_decoded_as_is():
    assert decode_bytes("Zürich “quotes” — £5".encode()) == ("Zürich “quotes” — £5", "utf-8")


def test_windows_1252_pound_sign_is_kept():
    text, encoding = decode_bytes(b"a fee of \xa315.8m for Mutu")
    assert text == "a fee of £15.8m for Mutu"
    assert encoding == "cp1252"


def test_mixed_utf8_and_cp1252_bytes_in_one_file():
    text, encoding = decode_bytes("café ".encode() + "naïve".encode("cp1252"))
    assert text == "café naïve"
    assert encoding == "utf-8+cp1252"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig"])
def test_byte_order_marks(encoding):
    text, _ = decode_bytes("Привет, мир".encode(encoding))
    assert text == "Привет, мир"


def test_binary_content_is_refused():
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
    with pytest.raises(UndecodableError, match="binary"):
        decode_bytes(png)


def test_empty_bytes():
    assert decode_bytes(b"") == ("", "utf-8")


@pytest.mark.parametrize("original", ORIGINALS)
@pytest.mark.parametrize("trips", [1, 2])
def test_mojibake_full_of_c1_controls_is_text(original, trips):
    garbled = original
    for _ in range(trips):
        garbled = read_as_latin1(garbled)
    assert len(C1.findall(garbled)) > 0.05 * len(garbled)
    # Decoding keeps the text as it is: the cleaner's mojibake repair is what turns it back.
    assert decode_bytes(garbled.encode("utf-8")) == (garbled, "utf-8")
    assert check_text(garbled, "iso-8859-1") == (garbled, "iso-8859-1")
    line = json.dumps({"id": 1, "title": garbled, "text": garbled}, ensure_ascii=False)
    assert decode_bytes(line.encode("utf-8")) == (line, "utf-8")


def test_utf8_read_as_windows_1252_with_its_undefined_bytes_as_c1_controls_is_text():
    # The five bytes Windows-1252 leaves undefined become C1 controls in a "sloppy" reading (ftfy's).
    garbled = "â€\x9dReadyâ€\x9d â˜\x9d"  # ”Ready” ☝
    assert check_text(garbled, "utf-8") == (garbled, "utf-8")


def test_emoji_in_cesu8_read_as_latin1_is_text():
    # Each UTF-16 surrogate of 😁 encoded on its own (Java's "modified UTF-8"), then read as Latin-1: its
    # 0x81 is no Windows-1252 character either.
    garbled = "Party " + "\ud83d\ude01\ud83d\ude01".encode("utf-8", "surrogatepass").decode("latin-1")
    assert len(C1.findall(garbled)) > 0.05 * len(garbled)
    assert check_text(garbled, "utf-8") == (garbled, "utf-8")


def test_windows_1252_punctuation_read_as_latin1_is_text():
    # Smart quotes and dashes of a Windows-1252 page decoded as Latin-1: what ftfy turns back into “ ” —.
    text = "\x93Brexit\x94 vote \x96 live"
    assert check_text(text, "iso-8859-1") == (text, "iso-8859-1")


@pytest.mark.parametrize(
    "text",
    [
        "\x81\x8d\x8f\x90\x9d" * 10 + " words",  # C1 controls Windows-1252 cannot map, in no UTF-8 sequence
        read_as_latin1("Москва") + "\x00\x01\x02\x03" * 3,  # repaired mojibake, but NULs and other controls left
        "\ufffd" * 20 + "abc",
    ],
)
def test_controls_left_after_repair_are_binary(text):
    with pytest.raises(UndecodableError, match="binary"):
        check_text(text, "utf-8")


def test_random_bytes_and_archives_are_still_binary():
    rng = random.Random(20261204)
    samples = [rng.randbytes(rng.randint(64, 4000)) for _ in range(40)]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as handle:
        handle.writestr("article.txt", " ".join(ORIGINALS) * 50)
    for data in [*samples, archive.getvalue()]:
        with pytest.raises(UndecodableError, match="binary"):
            decode_bytes(data)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from([*"aZ .\x00\x1a\ufffd", *map(chr, range(0x80, 0x100)), *"€’“”™œ"])))
def test_any_text_is_either_kept_or_called_binary(text):
    with contextlib.suppress(UndecodableError):
        assert check_text(text, "utf-8") == (text, "utf-8")

"""Decoding article bytes: UTF-8, legacy Windows-1252 bytes, BOMs, binary content."""

import pytest

from transforms.core.decode import UndecodableError, decode_bytes


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

"""Names from input, as written into a folder a person opens."""

from __future__ import annotations

import pytest

from hramba.domain.names import MAX_CHARS, local_name


@pytest.mark.parametrize(("name", "safe"), [
    ("Račun št. 7.pdf", "Račun št. 7.pdf"),
    ("2026-000001_1.xml", "2026-000001_1.xml"),
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\ana\\priloga.PDF", "priloga.PDF"),
    (".hidden", "hidden"),
    ("a\x00b:c*?.xml", "a_b_c__.xml"),
    ("CON.txt", "_CON.txt"),
    ("ends with dot. ", "ends with dot"),
    ("..", "_"),
    ("", "_"),
    ("Rac\u030cun.pdf", "Račun.pdf"),  # decomposed č becomes one character (NFC)
])
def test_a_name_keeps_what_it_can(name: str, safe: str) -> None:
    assert local_name(name, set()) == safe


def test_clashes_are_numbered_before_the_extension_without_regard_to_case() -> None:
    taken: set[str] = set()
    assert [local_name(n, taken) for n in ("a.xml", "A.xml", "a.xml", "sub/a.xml")] == [
        "a.xml", "A (2).xml", "a (3).xml", "a (4).xml"]


def test_a_long_name_is_cut_but_keeps_its_extension() -> None:
    name = local_name("x" * 300 + ".pdf", set())
    assert len(name) == MAX_CHARS
    assert name.endswith("x.pdf")

from __future__ import annotations

import pytest

from storage.keys import file_key, manifest_key, safe_name

UNIT = "0123456789abcdef0123456789abcdef"


def test_keys_are_a_pure_function_of_tenant_unit_and_name() -> None:
    assert file_key("T1", UNIT, "racun.xml") == f"units/T1/{UNIT}/files/racun.xml"
    assert file_key("T1", UNIT, "racun.xml") == file_key("T1", UNIT, "racun.xml")
    assert manifest_key("T1", UNIT) == f"units/T1/{UNIT}/manifest.json"


@pytest.mark.parametrize("name", ["../../etc/passwd", "a/b.xml", "račun 1.pdf", "..", ".",
                                  "", "x\x00y", "C:\\win.ini", "~" * 300])
def test_unsafe_names_become_safe_and_stay_distinct(name: str) -> None:
    safe = safe_name(name)
    assert all(c.isascii() and (c.isalnum() or c in "._-~") for c in safe)
    assert not safe.startswith(".")
    assert len(safe) <= 140
    assert safe != safe_name(name + "x")


def test_a_name_that_is_not_utf8_or_not_unicode_gets_a_key_of_its_own() -> None:
    names = ["inv\udcff\udcfe.xml", "inv\udcfe\udcff.xml", "inv\\xff\\xfe.xml", "inv__.xml",
             "inv\ud800.xml"]  # bytes a file system gives; a surrogate none does
    keys = [safe_name(n) for n in names]
    assert all(k.isascii() for k in keys)
    assert len(set(keys)) == len(names)


def test_two_names_that_sanitise_alike_get_different_keys() -> None:
    assert safe_name("a b.xml") != safe_name("a_b.xml")
    assert safe_name("a b.xml") != safe_name("a?b.xml")


@pytest.mark.parametrize(("tenant", "unit"), [("../x", UNIT), ("T1", "../../x"),
                                              ("T/1", UNIT), ("T1", "UPPER" * 8)])
def test_bad_tenant_or_unit_id_is_refused(tenant: str, unit: str) -> None:
    with pytest.raises(ValueError, match=r"tenant code|unit id"):
        file_key(tenant, unit, "x.xml")

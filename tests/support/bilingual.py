"""Checks shared by the tests of caltrace's texts in Vietnamese and English (caltrace issue 16, item 3): step titles
and instructions (tests/acquisition/test_bilingual_texts.py), report and list headings (tests/api/
test_cli_report_language.py)."""

from __future__ import annotations

import re

__all__ = ["DECIMAL_COMMA", "DECIMAL_POINT", "VIETNAMESE", "WORD", "check_pair"]

#: letters only Vietnamese uses (ă â đ ê ô ơ ư and the tone-marked vowels); an English text has none of them
VIETNAMESE = re.compile(
    "[ăâđêôơưĂÂĐÊÔƠƯ"
    "àáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ"
    "ÀÁẢÃẠẰẮẲẴẶẦẤẨẪẬÈÉẺẼẸỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌỒỐỔỖỘỜỚỞỠỢÙÚỦŨỤỪỨỬỮỰỲÝỶỸỴ]"
)
#: a lowercase English word of four letters or more
WORD = re.compile(r"\b[a-z]{4,}\b")
#: a number written with a decimal point ("0.5"), or a decimal comma ("0,5"); a dotted clause number ("3.7.1")
#: is neither
DECIMAL_POINT = re.compile(r"(?<![\d.])\d+\.\d+(?![\d.])")
DECIMAL_COMMA = re.compile(r"(?<![\d,])\d+,\d+(?![\d,])")


def check_pair(vi: str, en: str, where: str) -> None:
    """A Vietnamese text and its English twin: both written, Vietnamese letters in the first and none in the
    second, and no English word of four letters or more left untranslated in the Vietnamese one."""
    assert vi.strip() and en.strip(), f"{where}: an empty text ({vi!r} / {en!r})"
    assert VIETNAMESE.search(vi), f"{where}: {vi!r} is not Vietnamese (Vietnamese comes first)"
    assert not VIETNAMESE.search(en), f"{where}: {en!r} is not English"
    untranslated = set(WORD.findall(vi)) & set(WORD.findall(en))
    assert not untranslated, f"{where}: {sorted(untranslated)} left in English in {vi!r}"
    point = DECIMAL_POINT.search(vi)
    assert not point, f"{where}: {point and point.group()!r} in {vi!r}: Vietnamese writes the decimal comma"
    comma = DECIMAL_COMMA.search(en)
    assert not comma, f"{where}: {comma and comma.group()!r} in {en!r}: English writes the decimal point"

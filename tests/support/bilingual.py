"""Checks shared by the tests of caltrace's texts in Vietnamese and English (caltrace issue 16, item 3): step titles
and instructions (tests/acquisition/test_bilingual_texts.py), report and list headings (tests/api/
test_cli_report_language.py), and the message catalogues of the imports (tests/registry) and of the readiness gaps
(tests/acquisition) through :func:`check_messages`."""

from __future__ import annotations

import re

from registry.importer.messages import fields_of

__all__ = ["DECIMAL_COMMA", "DECIMAL_POINT", "VIETNAMESE", "WORD", "check_messages", "check_pair"]

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


#: what a template holds that is the same in both languages, removed before comparing the prose: the fields
#: ({row}, {{seq}}), quoted literals («...», '...', `...`: what the user writes or types), option names (--update),
#: file extensions (.xlsx), the date forms (dd/mm/yyyy), caltrace's name, and "byte" (Vietnamese uses the word)
SAME_IN_BOTH = re.compile(
    r"\{\{?[^{}]*\}?\}|«[^»]*»|(?<!\w)'[^']*'(?!\w)|`[^`]*`|--[a-z-]+|\.(?:csv|xlsx|xlsm|xls)\b"
    r"|dd/mm/yyyy|yyyy-mm-dd|yyyy/mm/dd|\bcaltrace\b|\bbyte\b"
)


def prose(template: str) -> str:
    """A template without what is the same in both languages (:data:`SAME_IN_BOTH`)."""
    return SAME_IN_BOTH.sub(" ", template)


def check_messages(catalogue: dict[str, tuple[str, str]], where: str) -> None:
    """Each (Vietnamese, English) pair of ``catalogue``: both texts, in their languages, with the same fields."""
    assert catalogue
    for code, (vi, en) in catalogue.items():
        assert vi.strip() and en.strip(), f"{where} {code}: an empty text"
        check_pair(prose(vi), prose(en), f"{where} {code}")
        assert fields_of(vi) == fields_of(en), f"{where} {code}: fields {fields_of(vi)} / {fields_of(en)}"
        sample = {name: "X" for name in fields_of(en)}
        assert vi.format(**sample) and en.format(**sample)  # a template that str.format can fill

"""The check that a catalogue of messages exists in Vietnamese and English (caltrace issue 16, item 3), shared by
the import messages' test (tests/registry) and the readiness gaps' test (tests/acquisition).

Each pair goes through :func:`tests.acquisition.test_bilingual_texts.check_pair` (both written, Vietnamese letters
in the first and none in the second, no English word left in the Vietnamese one) once what is the same in both
languages is taken out (:data:`SAME_IN_BOTH`), and both templates must name the same fields.
"""

from __future__ import annotations

import re

from registry.importer.messages import fields_of
from tests.acquisition.test_bilingual_texts import check_pair

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

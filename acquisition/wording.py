"""Words a technician reads for conformity values and limit kinds, in Vietnamese (default) and English.

Pure data and two look-ups, no other caltrace import, so ``api`` and ``certificates`` can use it freely.

Sources
-------
* The conformity values are those of the DCC schema 3.3.0, ``stringConformityStatementStatusType`` (pass, fail,
  conditionalPass, conditionalFail, noPass, noFail; /work/shared/schemas/dcc/v3.3.0/dcc.xsd), plus caltrace's own
  ``notAssessed`` for a row no rule judged (``acquisition.methods.base.CONFORMITY``, ``registry.models.Conformity``).
* "đạt" / "không đạt" / "không đánh giá" are the words caltrace issue 16 asks for and the everyday words of
  Vietnamese verification practice ("đạt yêu cầu" — meets the requirements). No ĐLVN or TCVN clause fixing these
  words could be read from a stored text: **wording source unverified**.
* conditional pass / conditional fail are the non-binary statements of ILAC G8:09/2019 (measured value inside /
  outside the limit while the uncertainty interval crosses it). The Vietnamese renderings "đạt có điều kiện" /
  "không đạt có điều kiện" are caltrace's literal translations: **unverified** against a Vietnamese text; each
  carries a one-line explanation (:data:`EXPLANATIONS`) so the reader does not have to know ILAC G8.
* noPass / noFail: the DCC 3.3.0 schema lists them without documentation; caltrace's run verdict treats noPass as a
  failure and noFail as a pass (``acquisition.engine._overall``). The words below say literally "not stated as
  pass" / "not stated as fail": **meaning unverified**.
* Minimum-type limits (OIML R76-1:2006 discrimination, a minimum capacity) are labelled "tối thiểu" / "minimum",
  maximum-type ones (a maximum permissible error) "tối đa" / "maximum".
"""

from __future__ import annotations

from typing import Literal

__all__ = [
    "CONFORMITY_WORDS",
    "EXPLANATIONS",
    "LIMIT_WORDS",
    "conformity_explanation",
    "conformity_words",
    "limit_words",
]

Language = Literal["vi", "en"]
LANGUAGES: tuple[str, ...] = ("vi", "en")

#: conformity value -> {language: words}
CONFORMITY_WORDS: dict[str, dict[str, str]] = {
    "pass": {"vi": "đạt", "en": "pass"},
    "fail": {"vi": "không đạt", "en": "fail"},
    "conditionalPass": {"vi": "đạt có điều kiện", "en": "conditional pass"},
    "conditionalFail": {"vi": "không đạt có điều kiện", "en": "conditional fail"},
    "noPass": {"vi": "không khẳng định đạt", "en": "not stated as pass"},
    "noFail": {"vi": "không khẳng định không đạt", "en": "not stated as fail"},
    "notAssessed": {"vi": "không đánh giá", "en": "not assessed"},
}

#: one-line explanations for the values a reader may not know (ILAC G8:09/2019 non-binary statements)
EXPLANATIONS: dict[str, dict[str, str]] = {
    "conditionalPass": {
        "vi": "giá trị đo nằm trong giới hạn nhưng khoảng độ không đảm bảo đo vượt ra ngoài giới hạn",
        "en": "the measured value is within the limit but its uncertainty interval extends beyond it",
    },
    "conditionalFail": {
        "vi": "giá trị đo nằm ngoài giới hạn nhưng khoảng độ không đảm bảo đo vẫn chạm vào giới hạn",
        "en": "the measured value is outside the limit but its uncertainty interval reaches back inside it",
    },
    "notAssessed": {
        "vi": "kết quả chỉ để tham khảo, không so với giới hạn nào",
        "en": "an informational result, not compared with any limit",
    },
}

#: limit kind -> {language: words}; a minimum-type limit must be labelled as a minimum
LIMIT_WORDS: dict[str, dict[str, str]] = {
    "minimum": {"vi": "tối thiểu", "en": "minimum"},
    "maximum": {"vi": "tối đa", "en": "maximum"},
}


def _check_language(language: str) -> None:
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, got {language!r}")


def conformity_words(conformity: str, language: Language = "vi") -> str:
    """The words for a conformity value (``"pass"`` -> ``"đạt"`` / ``"pass"``); ValueError for an unknown value."""
    _check_language(language)
    try:
        return CONFORMITY_WORDS[conformity][language]
    except KeyError:
        raise ValueError(
            f"unknown conformity value {conformity!r}; expected one of {', '.join(CONFORMITY_WORDS)}"
        ) from None


def conformity_explanation(conformity: str, language: Language = "vi") -> str | None:
    """A one-line explanation of a conformity value a reader may not know (None for pass, fail …)."""
    conformity_words(conformity, language)  # validates both
    entry = EXPLANATIONS.get(conformity)
    return None if entry is None else entry[language]


def limit_words(kind: str, language: Language = "vi") -> str:
    """The label of a limit kind: ``"minimum"`` -> ``"tối thiểu"`` / ``"minimum"``, ``"maximum"`` -> ``"tối đa"``."""
    _check_language(language)
    try:
        return LIMIT_WORDS[kind][language]
    except KeyError:
        raise ValueError(f"unknown limit kind {kind!r}; expected 'minimum' or 'maximum'") from None

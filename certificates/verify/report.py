"""The shape of a verification report: a list of steps, each with an outcome and a detail in Vietnamese and English.

Outcomes: ``pass``; ``fail`` (something is wrong: the file must not be trusted); ``warn`` (nothing is wrong, but the
step could not confirm what it checks, e.g. a signing time that only the signer claims); ``skip`` (the step does not
apply, e.g. no signature to check a chain for). :attr:`Report.verified` is true only when no step failed or warned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Outcome = Literal["pass", "fail", "warn", "skip"]
OUTCOMES: tuple[Outcome, ...] = ("pass", "fail", "warn", "skip")

#: outcome -> {language: word}
OUTCOME_WORDS: dict[str, dict[str, str]] = {
    "pass": {"vi": "đạt", "en": "pass"},
    "fail": {"vi": "không đạt", "en": "fail"},
    "warn": {"vi": "chưa xác nhận", "en": "not confirmed"},
    "skip": {"vi": "bỏ qua", "en": "skipped"},
}

#: step name -> {language: title}. The Vietnamese terms (chứng thư số, thu hồi, dấu thời gian) are those in everyday
#: use for digital signatures in Vietnam; they were not checked against a legal text: **wording unverified**.
STEP_TITLES: dict[str, dict[str, str]] = {
    "well-formed": {"vi": "XML đúng cú pháp", "en": "Well-formed XML"},
    "schema-version": {"vi": "Phiên bản lược đồ", "en": "Schema version"},
    "schema": {"vi": "Kiểm tra theo lược đồ XSD", "en": "XSD schema validation"},
    "signature": {"vi": "Chữ ký số (tham chiếu và giá trị chữ ký)", "en": "Signature (references and value)"},
    "signing-certificate": {"vi": "Chứng thư của người ký", "en": "Signing certificate"},
    "signing-time": {"vi": "Thời điểm ký", "en": "Signing time"},
    "chain": {"vi": "Chuỗi chứng thư đến gốc tin cậy", "en": "Certificate chain to a trust anchor"},
    "revocation": {"vi": "Tình trạng thu hồi", "en": "Revocation status"},
    "pdf": {"vi": "Tệp PDF", "en": "PDF file"},
    "pdf-signature": {"vi": "Chữ ký số PDF (toàn bộ tệp)", "en": "PDF signature (whole file)"},
    "pdf-chain": {"vi": "Chuỗi chứng thư của chữ ký PDF", "en": "PDF signer's certificate chain"},
    "pdf-timestamp": {"vi": "Dấu thời gian của chữ ký PDF", "en": "PDF signature timestamp"},
    "pdfa": {"vi": "Nhận dạng PDF/A", "en": "PDF/A identification"},
    "pdf-dcc": {"vi": "DCC đính kèm trong PDF", "en": "DCC attached to the PDF"},
    "pdf-binding": {"vi": "DCC đính kèm khớp với trang", "en": "Attached DCC matches the pages"},
    "registry-status": {"vi": "Tình trạng trong sổ đăng ký", "en": "Registry status"},
    "stored-hash": {"vi": "Giá trị băm đã lưu khi ban hành", "en": "Hash stored at issue"},
    "authorisation": {"vi": "Ủy quyền của người ký", "en": "Signatory's authorisation"},
}
#: prefix of the steps of a DCC verified inside a PDF (``dcc/signature``), and its title words
NESTED = "dcc/"
NESTED_TITLE = {"vi": "DCC đính kèm: ", "en": "Attached DCC: "}


def step_title(name: str, language: str) -> str:
    """The title of step ``name`` in ``language``; a nested DCC step (``dcc/schema``) is prefixed as such."""
    if name.startswith(NESTED):
        return NESTED_TITLE[language] + step_title(name.removeprefix(NESTED), language)
    return STEP_TITLES[name][language]


@dataclass(frozen=True)
class Step:
    """One verification step: ``name`` (a key of :data:`STEP_TITLES`), its outcome, and a detail in both languages."""

    name: str
    outcome: Outcome
    vi: str
    en: str

    def detail(self, language: str) -> str:
        """The detail in ``language`` (``vi`` or ``en``)."""
        return self.vi if language == "vi" else self.en

    def as_json(self) -> dict[str, str]:
        """A JSON-ready dict with the step's title and detail in both languages."""
        return {
            "step": self.name,
            "outcome": self.outcome,
            "title_vi": step_title(self.name, "vi"),
            "title_en": step_title(self.name, "en"),
            "detail_vi": self.vi,
            "detail_en": self.en,
        }


@dataclass
class Report:
    """The steps of one verification, in the order they ran."""

    path: str
    steps: list[Step] = field(default_factory=list)

    def add(self, name: str, outcome: Outcome, vi: str, en: str) -> Step:
        """Append a step and return it."""
        step = Step(name, outcome, vi, en)
        self.steps.append(step)
        return step

    def step(self, name: str) -> Step | None:
        """The step called ``name``, or None."""
        return next((s for s in self.steps if s.name == name), None)

    @property
    def verified(self) -> bool:
        """True only when no step failed or warned (skipped steps are steps that do not apply)."""
        return all(s.outcome in ("pass", "skip") for s in self.steps)

    @property
    def failed(self) -> list[Step]:
        """The steps that failed."""
        return [s for s in self.steps if s.outcome == "fail"]

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict: the file, the verdict and every step."""
        verdict = "verified" if self.verified else ("failed" if self.failed else "not-confirmed")
        return {"file": self.path, "verdict": verdict, "steps": [s.as_json() for s in self.steps]}

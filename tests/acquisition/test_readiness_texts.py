"""Every gap `caltrace registry check` reports exists in Vietnamese and English, Vietnamese the default (caltrace
issue 16, item 3)."""

from __future__ import annotations

from datetime import date

from acquisition.readiness import GAPS, Readiness, gap
from registry.vocabulary import MetrologyField
from tests.support.bilingual import check_messages


def test_every_readiness_gap_is_in_vietnamese_and_english() -> None:
    check_messages(GAPS, "readiness gap")


def test_every_metrology_field_has_its_words() -> None:
    assert {f"field.{f.value}" for f in MetrologyField} <= set(GAPS)


def test_a_gap_reads_in_vietnamese_by_default_and_in_english_on_request() -> None:
    expired = gap("standard_expired", code="W-E2", number="V08/0117", due=date(2027, 9, 14))
    found = Readiness("p", "t", (gap("no_usable_standard", role="weights", problems=(expired,)),))
    assert not found.ready
    assert found.gaps() == [
        "không có chuẩn dùng được cho vai trò weights: giấy chứng nhận V08/0117 của W-E2 đã hết hiệu lực ngày "
        "14/09/2027"
    ]
    assert found.gaps("en") == [
        "no usable standard for the role weights: W-E2's certificate V08/0117 expired on 14/09/2027"
    ]

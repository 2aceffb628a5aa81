"""`caltrace calibrate` says the run session's refusals in its own words: the options the technician typed."""

from __future__ import annotations

import pytest

from acquisition.errors import MissingConnections, NoTechnician, RunRefused, UnknownRoles, WrongSubject
from api.cli.calibrate import _in_cli_words


@pytest.mark.parametrize(
    ("refusal", "text"),
    [
        (
            WrongSubject("prepackage-r87", "lot", "instrument"),
            "prepackage-r87 tests a prepackage lot, not an instrument: give --lot LOT_NUMBER, not --instrument",
        ),
        (
            WrongSubject("prepackage-r87", "lot", None),
            "prepackage-r87 tests a prepackage lot: give --lot LOT_NUMBER (or the lot's registry id)",
        ),
        (
            WrongSubject("dmm-calibration", "instrument", "lot"),
            "dmm-calibration tests an instrument, not a prepackage lot: give --instrument SERIAL, not --lot",
        ),
        (
            WrongSubject("dmm-calibration", "instrument", None),
            "give --instrument SERIAL (or registry id) of the instrument under test",
        ),
        (
            NoTechnician(),
            "give --technician USERNAME (the person performing the run, as registered in the staff list)",
        ),
        (
            MissingConnections(["balance", "environment"]),
            "no connection for balance, environment: give --connect ROLE=MODEL@URL (models: `caltrace models`), "
            "e.g. --connect balance=manual@manual:",
        ),
        # refusals that name no option are shown as the session words them
        (
            UnknownRoles("dmm-calibration", ["oven"], ["dmm", "calibrator"]),
            "dmm-calibration has no role oven; roles: dmm, calibrator",
        ),
        (RunRefused("standard W-1 is retired"), "standard W-1 is retired"),
    ],
)
def test_a_session_refusal_in_the_command_lines_words(refusal: RunRefused, text: str) -> None:
    assert _in_cli_words(refusal) == text
    assert "--" not in str(refusal)  # the session's own words name no command-line option

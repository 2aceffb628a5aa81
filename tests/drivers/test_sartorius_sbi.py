"""Byte-level tests of the Sartorius SBI codec and driver, with literal lines from Sartorius manuals.

Sources (cited per test):
  [MSE69]  Cubis MSE Operating Instructions, "Data Output Format with 16 Characters" / "Special Outputs", p. 69
  [MSE70]  Cubis MSE Operating Instructions, "Data Output Format with 22 Characters", p. 70
  [MSE72]  Cubis MSE Operating Instructions, "Overview of SBI Commands", pp. 71-72
  [MSA151] Cubis MSA User Manual, "Data Output Format with 22 Characters", p. 151
  [SIG88]  Signum 1-2-3 manual, "Data Output Format", p. 88
  [ME135]  Sartorius ME215S manual, "Output Format (Line Format)", p. 135
  [IW23]   Sartorius IW2P1X (Miras 2) manual, "SBI Interface Protocol Description", p. 23
  [CAP]    live Cubis MSE autoprint capture published in sartoriuslib's SBI notes
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.address import parse_address
from drivers.errors import DeviceError, DeviceTimeoutError, ProtocolError
from drivers.reading import ReadingStatus
from drivers.registry import driver_class
from drivers.sartorius_sbi import (
    LineKind,
    SartoriusBalance,
    encode_command,
    parse_line,
    parse_text,
    sbi_address,
)
from tests.support.protocol import scripted_transport

ESC_P = b"\x1bP"


def balance(script, crlf: bool = False):
    transport, port = scripted_transport(script, name="Sartorius MSE224S SN 0037712345")
    return SartoriusBalance(transport, "bal-7", crlf=crlf), port


# ------------------------------------------------------------------------------------------- commands
@pytest.mark.parametrize(
    ("command", "wire"),
    [
        ("P", b"\x1bP"),  # [MSE72] format 1 "Esc P"
        ("T", b"\x1bT"),
        ("U", b"\x1bU"),
        ("V", b"\x1bV"),
        ("Z", b"\x1bZ"),
        ("x1_", b"\x1bx1_"),  # [MSE72] format 2 "Esc x1_"
        ("kP_", b"\x1bkP_"),
    ],
)
def test_commands_encode_as_esc_sequences(command: str, wire: bytes) -> None:
    assert encode_command(command) == wire
    assert encode_command(command, crlf=True) == wire + b"\r\n"


@pytest.mark.parametrize("bad", ["", "p", "PP", "x1", "x_1", "P\r", "\x1bP", "x" + "1" * 20 + "_"])
def test_malformed_commands_are_refused_before_any_io(bad: str) -> None:
    with pytest.raises(ValueError, match="not an SBI command"):
        encode_command(bad)


# ------------------------------------------------------------------------------------------- value lines
@pytest.mark.parametrize(
    ("line", "value", "unit", "id_code"),
    [
        (b"+   123.56 g  \r\n", 123.56, "g", ""),  # [MSE69] example "+ 123.56 g"
        (b"N     +   123.56 g  \r\n", 123.56, "g", "N"),  # [MSE70] example with ID "N"
        (b"+  123.5[6]g  \r\n", 123.56, "g", ""),  # [MSE69] non-verified digit in brackets, "]" at 11
        (b"N     +  123.5[6]g  \r\n", 123.56, "g", "N"),  # [MSE70] same with ID
        (b"+111.25507 mg \r\n", 111.25507, "mg", ""),  # [ME135] position 2 carries a digit
        (b"+      253 pcs\r\n", 253.0, "pcs", ""),  # [SIG88] "+ 235 pcs" without header (value 253 in [MSE69])
        (b"Qnt   +      235 pcs\r\n", 235.0, "pcs", "Qnt"),  # [SIG88] "Qnt + 235 pcs" with header
        (b"N     +    0.006 g  \r\n", 0.006, "g", "N"),  # [CAP] stable after settling
        (b"-    12.34 g  \r\n", -12.34, "g", ""),  # [MSE69] position 1 "minus" (layout row, our digits)
        (b"    0.0000 g  \r\n", 0.0, "g", ""),  # [IW23] sign blank when the value is 0
    ],
)
def test_stable_value_lines(line: bytes, value: float, unit: str, id_code: str) -> None:
    parsed = parse_line(line)
    assert parsed.kind is LineKind.VALUE
    assert parsed.value == pytest.approx(value, abs=1e-12)
    assert parsed.unit == unit
    assert parsed.id_code == id_code
    assert parsed.status is ReadingStatus.STABLE
    assert parsed.stable


@pytest.mark.parametrize(
    "line",
    [
        b"N     +    0.031   \r\n",  # [CAP]/[IW23]: unit field blank while settling
        b"N     +    0.031\r\n",  # [CAP] as published, trailing blanks trimmed
        b"+   123.56    \r\n",  # [MSE69] layout with the unit field (12-14) blank
    ],
)
def test_blank_unit_means_not_stable(line: bytes) -> None:
    parsed = parse_line(line)
    assert parsed.kind is LineKind.VALUE
    assert parsed.status is ReadingStatus.DYNAMIC
    assert parsed.unit == ""
    assert not parsed.stable
    assert math.isfinite(parsed.value)


def test_negative_dynamic_value_keeps_its_sign() -> None:
    parsed = parse_line(b"N     -   12.345    \r\n")  # [MSE70] layout: "-" at 7, blank unit
    assert parsed.value == pytest.approx(-12.345)
    assert parsed.status is ReadingStatus.DYNAMIC


# ------------------------------------------------------------------------------------------- status/error lines
@pytest.mark.parametrize(
    ("line", "status", "code"),
    [
        (b"Stat     High       \r\n", ReadingStatus.OVERLOAD, "High"),  # [MSE70] special output "High"
        (b"Stat     Low        \r\n", ReadingStatus.UNDERLOAD, "Low"),  # [MSE70] special output "Low"
        (b"Stat        H       \r\n", ReadingStatus.OVERLOAD, "H"),  # [MSA151] "H" at position 13
        (b"Stat        HH      \r\n", ReadingStatus.OVERLOAD, "HH"),  # [MSA151] checkweighing overload
        (b"Stat        L       \r\n", ReadingStatus.UNDERLOAD, "L"),  # [MSA151]
        (b"      H       \r\n", ReadingStatus.OVERLOAD, "H"),  # [SIG88] 16 characters, "H" at position 7
        (b"      LL      \r\n", ReadingStatus.UNDERLOAD, "LL"),  # [SIG88]
        (b"      C       \r\n", ReadingStatus.DYNAMIC, "C"),  # [SIG88] adjustment running
        (b"Stat        C       \r\n", ReadingStatus.DYNAMIC, "C"),  # [MSA151]
        (b"Stat     Cal.Ext.   \r\n", ReadingStatus.DYNAMIC, "Cal.Ext."),  # [MSE70]
        (b"              \r\n", ReadingStatus.DYNAMIC, ""),  # [SIG88] all blank (taring, [IW23])
    ],
)
def test_status_lines(line: bytes, status: ReadingStatus, code: str) -> None:
    parsed = parse_line(line)
    assert parsed.kind is LineKind.STATUS
    assert parsed.status is status
    assert parsed.code == code
    assert math.isnan(parsed.value)


@pytest.mark.parametrize(
    ("line", "code"),
    [
        (b"Stat     ERR 123    \r\n", "123"),  # [MSE70] "Stat ***** ERR * ### ****"
        (b"Stat     Err 123    \r\n", "123"),  # [MSA151] same, mixed case
        (b"   Err  12    \r\n", "12"),  # [SIG88] two-digit code, 16 characters
        (b"   Err 123    \r\n", "123"),  # [SIG88] three-digit code
        (b"Stat     APP.ERR    \r\n", "APP.ERR"),  # [MSE70]
        (b"Stat     DIS.ERR    \r\n", "DIS.ERR"),  # [MSE70]
        (b"Stat     PRT.ERR    \r\n", "PRT.ERR"),  # [MSE70]
    ],
)
def test_error_lines(line: bytes, code: str) -> None:
    parsed = parse_line(line)
    assert parsed.kind is LineKind.ERROR
    assert parsed.status is ReadingStatus.ERROR
    assert parsed.code == code


@pytest.mark.parametrize(
    "line",
    [
        b"",
        b"\r\n",
        b"+   12x.56 g  \r\n",  # not a number, not a status
        b"*   123.56 g  \r\n",  # bad sign
        b"+   1 3.56 g  \r\n",  # gap inside the value
        b"+   123.56xg  \r\n",  # position 11 must be blank
        b"N     +   123.56 g  extra\r\n",  # too long
        b"N     Hello world!   \r\n",  # ID with no number
        b"+   123.56 \xb5g \r\n",  # 8-bit byte: wrong framing
        b"+   123.56\x00g  \r\n",  # control character
        b"S  S     100.00 g\r\n",  # an MT-SICS line is not SBI
    ],
)
def test_malformed_lines_are_protocol_errors(line: bytes) -> None:
    with pytest.raises(ProtocolError):
        parse_line(line)


@given(st.binary(max_size=40))
def test_any_bytes_parse_or_raise_protocol_error(data: bytes) -> None:
    try:
        parsed = parse_line(data)
    except ProtocolError:
        return
    assert parsed.kind in set(LineKind)
    assert isinstance(parsed.status, ReadingStatus)


@given(st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=127), max_size=24).map(str.encode))
def test_any_ascii_line_parses_or_raises_protocol_error(data: bytes) -> None:
    for candidate in (data, data + b"\r\n"):
        try:
            parse_line(candidate)
        except ProtocolError:
            pass
        try:
            parse_text(candidate)
        except ProtocolError:
            pass


@given(
    sign=st.sampled_from("+-"),
    number=st.decimals(min_value=0, max_value=99999, places=3, allow_nan=False, allow_infinity=False),
    unit=st.sampled_from(["g", "mg", "kg", "ct", "pcs", "%", ""]),
    with_id=st.booleans(),
)
def test_lines_laid_out_per_the_manual_decode_to_their_fields(sign: str, number, unit: str, with_id: bool) -> None:
    # [MSE69]/[MSE70] layout built here by hand: sign, 9-char right-aligned value, space, 3-char unit, CR LF
    digits = f"{number:.3f}"
    line = (("N     " if with_id else "") + sign + digits.rjust(9) + " " + unit.ljust(3) + "\r\n").encode()
    parsed = parse_line(line)
    assert parsed.value == pytest.approx(float(digits) * (-1 if sign == "-" else 1))
    assert parsed.unit == unit
    assert parsed.stable is bool(unit)


# ------------------------------------------------------------------------------------------- identification
@pytest.mark.parametrize(
    ("line", "id_code", "text"),
    [
        (b"Model MSE224S-100-DU\r\n", "Model", "MSE224S-100-DU"),  # [IW23] ID "Model" (text is ours)
        (b"S/N   0037712345   \r\n", "S/N", "0037712345"),  # [IW23] ID "S/N" (text is ours)
        (b"MSE224S-100-DU\r\n", "", "MSE224S-100-DU"),  # 16-character form: text only
    ],
)
def test_identification_lines(line: bytes, id_code: str, text: str) -> None:
    assert parse_text(line) == (id_code, text)


@pytest.mark.parametrize("line", [b"\r\n", b"Model       \r\n", b"Mod\xe9l\r\n", b"x" * 50 + b"\r\n"])
def test_bad_identification_lines(line: bytes) -> None:
    with pytest.raises(ProtocolError):
        parse_text(line)


# ------------------------------------------------------------------------------------------- driver over bytes
def test_poll_sends_esc_p_and_returns_a_stable_reading() -> None:
    bal, port = balance([(ESC_P, b"+   123.56 g  \r\n")])  # [MSE69]
    [reading] = bal.poll()
    assert reading.value == pytest.approx(123.56)
    assert reading.unit == "g"
    assert reading.status is ReadingStatus.STABLE
    assert reading.instrument_id == "bal-7"
    port.assert_done()


def test_poll_with_crlf_option_and_22_character_dynamic_line() -> None:
    bal, port = balance([(ESC_P + b"\r\n", b"N     +    0.031   \r\n")], crlf=True)  # [CAP]
    [reading] = bal.poll()
    assert reading.status is ReadingStatus.DYNAMIC
    assert reading.value == pytest.approx(0.031)
    assert reading.unit == ""
    port.assert_done()


@pytest.mark.parametrize(
    ("reply", "status"),
    [
        (b"Stat     High       \r\n", ReadingStatus.OVERLOAD),
        (b"Stat     Low        \r\n", ReadingStatus.UNDERLOAD),
        (b"Stat     ERR 123    \r\n", ReadingStatus.ERROR),
    ],
)
def test_poll_reports_range_and_error_states_without_a_value(reply: bytes, status: ReadingStatus) -> None:
    bal, _ = balance([(ESC_P, reply)])  # [MSE70]
    [reading] = bal.poll()
    assert reading.status is status
    assert not reading.has_value


def test_garbled_reply_is_a_protocol_error_naming_the_balance() -> None:
    bal, _ = balance([(ESC_P, b"\x93\x11+ 1#3.5 ?g\r\n")])
    with pytest.raises(ProtocolError, match=r"Sartorius MSE224S SN 0037712345 at socket://"):
        bal.poll()


def test_silence_is_a_timeout_naming_the_balance() -> None:
    bal, _ = balance([(ESC_P, None)])
    with pytest.raises(DeviceTimeoutError, match="Sartorius MSE224S SN 0037712345"):
        bal.poll()


def test_tare_zero_and_adjust_write_commands_and_read_nothing() -> None:
    bal, port = balance([(b"\x1bT", None), (b"\x1bU", None), (b"\x1bV", None), (b"\x1bZ", None)])  # [MSE72]
    bal.tare_or_zero()
    bal.tare()
    bal.zero()
    bal.adjust()
    port.assert_done()


def test_identify_asks_x1_x2_x3_and_renames_the_transport() -> None:
    bal, port = balance(
        [
            (b"\x1bx1_", b"Model MSE224S-100-DU\r\n"),
            (b"\x1bx2_", b"S/N   0037712345   \r\n"),
            (b"\x1bx3_", b"01-70-03\r\n"),
        ]
    )
    bal.transport.name = "instrument"
    info = bal.identify()
    assert (info.manufacturer, info.model, info.serial_number, info.firmware) == (
        "Sartorius",
        "MSE224S-100-DU",
        "0037712345",
        "01-70-03",
    )
    assert bal.transport.name == "Sartorius MSE224S-100-DU SN 0037712345"
    port.assert_done()


def test_identification_error_reply_is_a_device_error_with_its_code() -> None:
    bal, _ = balance([(b"\x1bx1_", b"Stat     ERR 101    \r\n")])
    with pytest.raises(DeviceError, match="Sartorius MSE224S SN 0037712345.*error 101") as info:
        bal.identify()
    assert info.value.code == "101"


def test_identification_index_is_validated() -> None:
    bal, port = balance([])
    with pytest.raises(ValueError, match="1..4"):
        bal.identification(5)
    port.assert_done()


# ------------------------------------------------------------------------------------------- address & registry
def test_default_framing_is_7o1_unless_the_url_says_otherwise() -> None:
    default = sbi_address("serial:///dev/ttyUSB0")
    assert (default.serial.baud, default.serial.bytesize, default.serial.parity, default.serial.stopbits) == (
        9600,
        7,
        "O",
        1,
    )
    explicit = sbi_address(parse_address("serial:///dev/ttyUSB0?baud=19200&bytesize=8&parity=N"))
    assert (explicit.serial.baud, explicit.serial.bytesize, explicit.serial.parity) == (19200, 8, "N")
    assert sbi_address("serial:///dev/ttyUSB0?baud=1200").serial.baud == 1200


@pytest.mark.parametrize("model", ["sartorius-sbi", "Sartorius"])
def test_registry_maps_the_model_names(model: str) -> None:
    assert driver_class(model) is SartoriusBalance

"""Byte-level tests of the MT-SICS driver: literal request/reply bytes through a real SerialTransport.

Sources of the literal bytes (see drivers/mtsics.py for the full list):
[RM] Mettler-Toledo MT-SICS Reference Manual (weigh modules, 11781363), 2.1.2.1 response format with weight value
     (value right-aligned in 10 characters), 2.1.3 error messages, chapter 3 commands S, SI, SIR, Z, ZI, T, TI, TA,
     TAC, @, I0-I4, C3.
[OI] Mettler-Toledo AL/AB-S operating instructions, MT-SICS appendix: ``S`` -> ``S S 100.00 g`` (with the
     padding of [RM] 2.1.2.1: ``S S     100.00 g``), ``S I``, ``S +``, ``S -``.
[HW] Replies reported from hardware: ``I2 A "WXS205SDU WXA-Bridge 220.00900 g"`` (PyLabRobot MT-SICS protocol
     notes), ``SU S     2.2777 kg`` (a user's captured line), ``I4 A "B525073136"`` (a user's reset handler).
"""

from __future__ import annotations

import contextlib
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.errors import DeviceError, DeviceTimeoutError, ProtocolError
from drivers.mtsics import (
    MtSicsBalance,
    encode,
    parse_adjustment,
    parse_balance_data,
    parse_command_list,
    parse_serial_number,
    parse_tare,
    parse_text,
    parse_weight,
    parse_zero,
    split_reply,
)
from drivers.reading import ReadingStatus
from tests.support.protocol import Exchange, ScriptedPort, scripted_transport


def balance(script: list[Exchange]) -> tuple[MtSicsBalance, ScriptedPort]:
    transport, port = scripted_transport(script, name="Mettler-Toledo XS204 SN B525073136")
    return MtSicsBalance(transport, "bal-1"), port


# -- weight ---------------------------------------------------------------------------------------------------
def test_stable_weight_padded_value_and_unit_kept():  # [RM] S, [OI] example
    bal, port = balance([(b"S\r\n", b"S S     100.00 g\r\n")])
    r = bal.weight()
    assert (r.value, r.unit, r.status) == (100.0, "g", ReadingStatus.STABLE)
    assert r.instrument_id == "bal-1"
    port.assert_done()


def test_immediate_weight_dynamic_negative_sign_kept():  # [RM] SI: S D, value right-aligned with its sign
    bal, port = balance([(b"SI\r\n", b"S D    -12.3456 g\r\n")])
    [r] = bal.poll()
    assert r.value == -12.3456
    assert r.status is ReadingStatus.DYNAMIC
    port.assert_done()


def test_display_unit_weight_kept_as_sent():  # [HW] SU S     2.2777 kg
    bal, port = balance([(b"SU\r\n", b"SU S     2.2777 kg\r\n")])
    r = bal.weight_display_unit()
    assert (r.value, r.unit) == (2.2777, "kg")
    port.assert_done()


@pytest.mark.parametrize(
    ("reply", "status"),
    [(b"S +\r\n", ReadingStatus.OVERLOAD), (b"S -\r\n", ReadingStatus.UNDERLOAD)],
)
def test_overload_and_underload_are_readings_without_value(reply, status):  # [RM]/[OI] S +, S -
    bal, port = balance([(b"SI\r\n", reply)])
    [r] = bal.poll()
    assert r.status is status
    assert math.isnan(r.value)
    port.assert_done()


def test_stable_weight_timeout_reply_s_i_is_a_clear_device_error():  # [RM]/[OI] S I
    bal, _ = balance([(b"S\r\n", b"S I\r\n")])
    with pytest.raises(DeviceError, match="draughts") as info:
        bal.weight()
    assert info.value.code == "I"
    assert "XS204 SN B525073136" in str(info.value)


@pytest.mark.parametrize(("reply", "code"), [(b"ES\r\n", "ES"), (b"ET\r\n", "ET"), (b"EL\r\n", "EL")])
def test_general_errors(reply, code):  # [RM] 2.1.3.2
    bal, _ = balance([(b"SI\r\n", reply)])
    with pytest.raises(DeviceError) as info:
        bal.poll()
    assert info.value.code == code
    assert "B525073136" in str(info.value)


def test_error_code_in_value_field_maps_to_error_reading():  # [RM] 2.1.3.3: S S Error <code><t|e>
    bal, _ = balance([(b"SI\r\n", b"S S Error 10e\r\n")])
    [r] = bal.poll()
    assert r.status is ReadingStatus.ERROR
    assert math.isnan(r.value)
    w = parse_weight(b"S S Error 15t\r\n")
    assert "adjustment needed" in w.error
    assert "terminal" in w.error


def test_wrong_reply_id_is_a_protocol_error():
    bal, _ = balance([(b"SI\r\n", b'I4 A "B525073136"\r\n')])
    with pytest.raises(ProtocolError, match="expected a reply starting with S"):
        bal.poll()


def test_silence_is_a_timeout_naming_the_balance():
    bal, _ = balance([(b"SI\r\n", None)])
    with pytest.raises(DeviceTimeoutError, match="XS204 SN B525073136"):
        bal.poll()


# -- zero and tare ----------------------------------------------------------------------------------------------
def test_zero_replies():  # [RM] Z: Z A, Z I, Z +, Z -
    bal, port = balance(
        [(b"Z\r\n", b"Z A\r\n"), (b"Z\r\n", b"Z I\r\n"), (b"Z\r\n", b"Z +\r\n"), (b"Z\r\n", b"Z -\r\n")]
    )
    bal.zero()
    for code in ("I", "+", "-"):
        with pytest.raises(DeviceError) as info:
            bal.zero()
        assert info.value.code == code
    port.assert_done()


def test_zero_immediately_reports_stability():  # [RM] ZI: ZI S / ZI D
    bal, port = balance([(b"ZI\r\n", b"ZI S\r\n"), (b"ZI\r\n", b"ZI D\r\n")])
    assert bal.zero_immediately() is True
    assert bal.zero_immediately() is False
    port.assert_done()


def test_tare_returns_tare_value():  # [RM] T: T S <tare> <unit>; T I; TI D; TA A; TAC A
    bal, port = balance(
        [
            (b"T\r\n", b"T S    50.0012 g\r\n"),
            (b"T\r\n", b"T I\r\n"),
            (b"TI\r\n", b"TI D    49.9987 g\r\n"),
            (b"TA\r\n", b"TA A    49.9987 g\r\n"),
            (b"TAC\r\n", b"TAC A\r\n"),
        ]
    )
    t = bal.tare()
    assert (t.value, t.unit, t.status, t.quantity) == (50.0012, "g", ReadingStatus.STABLE, "tare")
    with pytest.raises(DeviceError) as info:
        bal.tare()
    assert info.value.code == "I"
    assert bal.tare_immediately().status is ReadingStatus.DYNAMIC
    assert bal.tare_value().value == 49.9987
    bal.clear_tare()
    port.assert_done()


def test_tare_range_errors():  # [RM] T +, T -
    with pytest.raises(DeviceError, match="upper limit"):
        parse_tare(b"T +\r\n")
    with pytest.raises(DeviceError, match="lower limit"):
        parse_tare(b"T -\r\n")


# -- identification ---------------------------------------------------------------------------------------------
def test_reset_answers_in_i4_form():  # [RM] @ -> I4 A "<SNR>"; [HW]
    bal, port = balance([(b"@\r\n", b'I4 A "B525073136"\r\n')])
    assert bal.reset() == "B525073136"
    port.assert_done()


def test_i2_parsed_from_the_right_type_with_spaces():  # [HW] WXS205SDU
    data = parse_balance_data(b'I2 A "WXS205SDU WXA-Bridge 220.00900 g"\r\n')
    assert (data.type, data.capacity, data.unit) == ("WXS205SDU WXA-Bridge", "220.00900", "g")
    assert data.capacity_value == pytest.approx(220.009)


def test_identify_uses_i2_i4_i3_and_names_the_transport():
    bal, port = balance(
        [
            (b"I2\r\n", b'I2 A "WXS205SDU WXA-Bridge 220.00900 g"\r\n'),
            (b"I4\r\n", b'I4 A "B525073136"\r\n'),
            (b"I3\r\n", b'I3 A "1.10 18.6.4.1361.772"\r\n'),
        ]
    )
    info = bal.identify()
    assert info.manufacturer == "Mettler-Toledo"
    assert info.model == "WXS205SDU WXA-Bridge"
    assert info.serial_number == "B525073136"
    assert info.firmware == "1.10 18.6.4.1361.772"
    assert info.capacity == "220.00900 g"
    assert bal.transport.name == "Mettler-Toledo WXS205SDU WXA-Bridge SN B525073136"
    port.assert_done()


def test_identify_without_i3():  # a balance without I3 answers ES
    bal, _ = balance(
        [(b"I2\r\n", b'I2 A "XS204 220.0000 g"\r\n'), (b"I4\r\n", b'I4 A "1126492643"\r\n'), (b"I3\r\n", b"ES\r\n")]
    )
    info = bal.identify()
    assert (info.model, info.firmware) == ("XS204", "")


def test_i1_fields_unquoted():  # [RM] I1 A "<level>" "<V0>" "<V1>" ...
    assert parse_text(b'I1 A "01" "2.20" "2.20" "1.00" "1.50"\r\n', "I1") == ("01", "2.20", "2.20", "1.00", "1.50")


def test_i0_multi_line_list():  # [RM] I0 B <level> "<cmd>" ... last line with A
    bal, port = balance(
        [(b"I0\r\n", b'I0 B 0 "I0"\r\nI0 B 0 "S"\r\nI0 B 1 "T"\r\nI0 A 2 "C3"\r\n')],
    )
    assert bal.commands() == [(0, "I0"), (0, "S"), (1, "T"), (2, "C3")]
    port.assert_done()
    assert parse_command_list([b'I0 B 0 "I0"\r\n', b"I0 A\r\n"]) == [(0, "I0")]
    with pytest.raises(DeviceError):
        parse_command_list([b"I0 I\r\n"])


# -- internal adjustment ------------------------------------------------------------------------------------------
def test_c3_reads_b_then_a_with_the_callers_timeout():  # [RM] C3: C3 B, then C3 A
    bal, port = balance([(b"C3\r\n", b"C3 B\r\n"), (None, b"C3 A\r\n")])
    bal.adjust_internal(timeout=1.0)
    port.assert_done()


@pytest.mark.parametrize(("reply", "code"), [(b"C3 I\r\n", "I"), (b"C3 L\r\n", "L")])
def test_c3_refused(reply, code):  # [RM] C3 I (busy), C3 L (not possible)
    bal, _ = balance([(b"C3\r\n", reply)])
    with pytest.raises(DeviceError) as info:
        bal.adjust_internal(timeout=1.0)
    assert info.value.code == code


def test_c3_failure_after_start():
    bal, _ = balance([(b"C3\r\n", b"C3 B\r\n"), (None, b"C3 I\r\n")])
    with pytest.raises(DeviceError):
        bal.adjust_internal(timeout=1.0)
    assert parse_adjustment(b"C3 B\r\n") == "B"


def test_c3_never_finishing_times_out():
    bal, _ = balance([(b"C3\r\n", b"C3 B\r\n")])
    with pytest.raises(DeviceTimeoutError):
        bal.adjust_internal(timeout=0.1)


# -- SIR stream -----------------------------------------------------------------------------------------------------
def test_sir_stream_yields_until_stopped_then_sends_at_and_drains():  # [RM] SIR; stopped by @
    bal, port = balance(
        [
            (b"SIR\r\n", b"S D    10.1234 g\r\nS D    10.0100 g\r\nS S    10.0002 g\r\n"),
            (b"@\r\n", b'S S    10.0002 g\r\nI4 A "B525073136"\r\n'),  # a line in flight, then the @ reply
            (b"SI\r\n", b"S S    10.0002 g\r\n"),
        ]
    )
    with contextlib.closing(bal.stream()) as readings:
        got = [r for _, r in zip(range(3), readings, strict=False)]
    assert [r.value for r in got] == [10.1234, 10.01, 10.0002]
    assert [r.status for r in got] == [ReadingStatus.DYNAMIC, ReadingStatus.DYNAMIC, ReadingStatus.STABLE]
    assert bal.poll()[0].value == 10.0002  # the link is clean after the stream
    port.assert_done()


def test_sir_stream_with_count_stops_itself():
    bal, port = balance(
        [(b"SIR\r\n", b"S S     1.0000 g\r\nS S     1.0000 g\r\n"), (b"@\r\n", b'I4 A "B525073136"\r\n')]
    )
    assert len(list(bal.stream(count=2))) == 2
    port.assert_done()


def test_sir_stream_overload_line():
    bal, _ = balance([(b"SIR\r\n", b"S +\r\n"), (b"@\r\n", b'I4 A "B525073136"\r\n')])
    [r] = list(bal.stream(count=1))
    assert r.status is ReadingStatus.OVERLOAD


# -- codec ----------------------------------------------------------------------------------------------------------
def test_encode():
    assert encode("SI") == b"SI\r\n"
    assert encode("@") == b"@\r\n"
    assert encode("D", '"Hello world"') == b'D "Hello world"\r\n'
    for bad in ("si", "S I", "", "S\r"):
        with pytest.raises(ValueError):
            encode(bad)
    with pytest.raises(ValueError):
        encode("D", "two words")


@pytest.mark.parametrize(
    "line",
    [
        b"S S 100.00 g",  # no CR LF
        b"S X     100.00 g\r\n",  # unknown status
        b"S S     1O0.00 g\r\n",  # letter O in the number
        b"S S     100.00\r\n",  # unit missing
        b"S S     100.00 g extra\r\n",
        b"S + 5\r\n",
        b'S S "100.00" g\r\n',
        b"\r\n",
        b"S S\x00 100.00 g\r\n",
        b'I4 A "unterminated\r\n',
        b"S S Error 99x\r\n",
    ],
)
def test_malformed_weight_replies_are_protocol_errors(line):
    with pytest.raises(ProtocolError):
        parse_weight(line)


def test_zero_parser_rejects_wrong_shapes():
    with pytest.raises(ProtocolError):
        parse_zero(b"Z S\r\n")
    with pytest.raises(ProtocolError):
        parse_zero(b"ZI A\r\n", "ZI")
    with pytest.raises(ProtocolError):
        parse_serial_number(b"I4 A\r\n")


PARSERS = [
    parse_weight,
    lambda b: parse_weight(b, ("SU",)),
    lambda b: parse_zero(b, "Z"),
    lambda b: parse_zero(b, "ZI"),
    lambda b: parse_tare(b, "T"),
    lambda b: parse_tare(b, "TA"),
    parse_serial_number,
    parse_balance_data,
    lambda b: parse_text(b, "I1"),
    lambda b: parse_command_list([b]),
    parse_adjustment,
    split_reply,
]

_alphabet = st.sampled_from(list(b'SDABIL+-EToZ0123456789.- "\r\n\x00\xff@IUC'))
_lines = st.one_of(
    st.binary(max_size=60),
    st.lists(_alphabet, max_size=40).map(bytes),
    st.lists(_alphabet, max_size=40).map(lambda xs: bytes(xs) + b"\r\n"),
)


@given(line=_lines, which=st.integers(min_value=0, max_value=len(PARSERS) - 1))
def test_any_bytes_parse_or_raise_protocol_or_device_error(line, which):
    try:
        PARSERS[which](line)
    except (ProtocolError, DeviceError):
        pass


@pytest.mark.parametrize(
    "line",
    ["S S     1\u00b2.5 g\r\n".encode("latin-1"), 'I0 A \u00b2 "S"\r\n'.encode("latin-1"), b"S S Error \xb2e\r\n"],
)
def test_non_ascii_digits_are_not_numbers(line):
    with pytest.raises(ProtocolError):
        (parse_command_list([line]) if line.startswith(b"I0") else parse_weight(line))

"""Byte-level tests of the Fluke 5520A driver: literal request/reply bytes through a real SerialTransport.

Sources of the literal bytes ([OM] = Fluke 5520A Operators Manual, ch. 5 "Remote Operation" / ch. 6 "Remote
Commands", as summarised in drivers/fluke5520a.py):
* commands end in LF in computer mode ([OM] "Terminators": RS-232 computer-mode example ``"OUT 1 V, 60 HZ" +
  Chr(10)``); replies end with the EOL setting, CR LF by default;
* ``OUT 10 V``, ``OUT 1 V, 60 HZ``, ``OPER``, ``STBY``, ``OPER?`` -> ``1``/``0``, ``ERR?`` -> ``0,"No Error"``,
  ``*IDN?`` -> ``FLUKE,5520A,<serial>,<firmware>``, ``*OPC?`` -> ``1``, ``*CLS``, ``LIMIT``;
* ``OUT?`` -> ``<primary>,<unit>,<secondary>,<unit>,<frequency>`` (the digit count of the example is not
  confirmed; the parser does not depend on it).
The non-zero error codes used below (e.g. 1302) are illustrative: only the ``<code>,"<text>"`` shape is from [OM].
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.errors import DeviceError, DeviceTimeoutError, ProtocolError
from drivers.fluke5520a import (
    Fluke5520A,
    encode_limits,
    encode_output,
    parse_bool,
    parse_error,
    parse_idn,
    parse_output,
)
from drivers.reading import ReadingStatus
from tests.support.protocol import Exchange, ScriptedPort, scripted_transport

NO_ERROR = b'0,"No Error"\r\n'


def calibrator(script: list[Exchange]) -> tuple[Fluke5520A, ScriptedPort]:
    transport, port = scripted_transport(script, name="Fluke 5520A SN 9345012")
    return Fluke5520A(transport, "cal-1"), port


def test_set_dc_output_is_confirmed_by_err_query():  # [OM] OUT 10 V; ERR? 0,"No Error"
    cal, port = calibrator([(b"OUT 10 V\nERR?\n", NO_ERROR)])
    cal.set_output(10.0, "V")
    port.assert_done()


def test_set_ac_output_with_frequency():  # [OM] "OUT 1 V, 60 HZ"
    cal, port = calibrator([(b"OUT 1 V, 60 HZ\nERR?\n", NO_ERROR)])
    cal.set_output(1, "v", 60)
    port.assert_done()


def test_resistance_output_and_small_values_use_an_exponent():  # [OM] "OUT 100 OHM"
    cal, port = calibrator([(b"OUT 100 OHM\nERR?\n", NO_ERROR), (b"OUT 1E-05 V\nERR?\n", NO_ERROR)])
    cal.set_output(100, "OHM")
    cal.set_output(1e-5, "V")
    port.assert_done()


def test_refused_output_raises_device_error_and_drains_the_queue():
    cal, port = calibrator(
        [
            (b"OUT 2000 V\nERR?\n", b'1302,"Limit exceeded"\r\n'),
            (b"ERR?\n", b'1303,"Still an error"\r\n'),
            (b"ERR?\n", NO_ERROR),
        ]
    )
    with pytest.raises(DeviceError, match=r"Fluke 5520A SN 9345012.*OUT 2000 V refused.*1302") as info:
        cal.set_output(2000, "V")
    assert info.value.code == "1302"
    port.assert_done()


def test_operate_is_confirmed_with_oper_query():  # [OM] OPER; OPER? -> 1
    cal, port = calibrator([(b"OPER\nERR?\n", NO_ERROR), (b"OPER?\n", b"1\r\n")])
    cal.operate()
    port.assert_done()


def test_operate_that_stays_in_standby_is_an_error():  # [OM] OPER? -> 0 in standby
    cal, port = calibrator([(b"OPER\nERR?\n", NO_ERROR), (b"OPER?\n", b"0\r\n")])
    with pytest.raises(DeviceError, match="stays in standby") as info:
        cal.operate()
    assert info.value.code == "STBY"
    port.assert_done()


def test_poll_refused_in_standby_after_out():  # faithfulness check 9: no reading until OPER is confirmed
    cal, port = calibrator([(b"OUT 10 V\nERR?\n", NO_ERROR), (b"OPER?\n", b"0\r\n")])
    cal.set_output(10, "V")
    with pytest.raises(DeviceError, match="standby.*operate") as info:
        cal.poll()
    assert info.value.code == "STBY"
    port.assert_done()


def test_poll_in_operate_returns_the_output():  # [OM] OUT? -> value,unit,secondary,unit,frequency
    cal, port = calibrator([(b"OPER?\n", b"1\r\n"), (b"OUT?\n", b"1.000000E+01,V,0E+00,0,0.00E+00\r\n")])
    [r] = cal.poll()
    assert (r.value, r.unit, r.status, r.quantity, r.instrument_id) == (
        10.0,
        "V",
        ReadingStatus.STABLE,
        "output",
        "cal-1",
    )
    port.assert_done()


def test_output_query_with_frequency():
    cal, port = calibrator([(b"OUT?\n", b"1.000000E+00,V,0E+00,0,6.00E+01\r\n")])
    out = cal.output()
    assert (out.value, out.unit, out.secondary_unit, out.frequency) == (1.0, "V", "", 60.0)
    port.assert_done()


def test_standby_limits_clear_and_opc():  # [OM] STBY, LIMIT, *CLS, *OPC? -> 1
    cal, port = calibrator(
        [
            (b"STBY\nERR?\n", NO_ERROR),
            (b"LIMIT 20 V,-20 V\nERR?\n", NO_ERROR),
            (b"*CLS\n", None),
            (b"*OPC?\n", b"1\r\n"),
        ]
    )
    cal.standby()
    cal.set_limits(20, -20)
    cal.clear()
    port.assert_done()


def test_prepare_puts_the_output_in_standby():  # [OM] STBY; a run never starts with a live output
    cal, port = calibrator([(b"STBY\nERR?\n", NO_ERROR)])
    cal.prepare()
    port.assert_done()


def test_make_safe_is_standby_confirmed_by_oper_query():  # [OM] STBY; OPER? -> 0 in standby
    cal, port = calibrator([(b"STBY\n", None), (b"OPER?\n", b"0\r\n")])
    assert Fluke5520A.sources_energy and "STBY" in Fluke5520A.safe_state
    cal.make_safe()  # the error queue is not read: an old error must not hide a confirmed standby
    port.assert_done()


def test_make_safe_that_still_operates_is_an_error():  # a late "1" is allowed for once, not twice
    cal, port = calibrator([(b"STBY\n", None), (b"OPER?\n", b"1\r\n"), (b"OPER?\n", b"1\r\n")])
    with pytest.raises(DeviceError, match="still answers 1") as info:
        cal.make_safe()
    assert info.value.code == "OPER"
    port.assert_done()


def test_errors_drain_until_code_zero():  # [OM] ERR?: repeat until 0,"No Error"
    cal, port = calibrator([(b"ERR?\n", b'1302,"Limit exceeded"\r\n'), (b"ERR?\n", NO_ERROR)])
    assert cal.errors() == [(1302, "Limit exceeded")]
    port.assert_done()


def test_identify_renames_the_transport():  # [OM] *IDN? -> FLUKE,5520A,<serial>,<firmware>
    cal, port = calibrator([(b"*IDN?\n", b"FLUKE,5520A,9345012,1.5+1.3+1.7+*\r\n")])
    info = cal.identify()
    assert (info.manufacturer, info.model, info.serial_number, info.firmware) == (
        "Fluke",
        "5520A",
        "9345012",
        "1.5+1.3+1.7+*",
    )
    assert cal.transport.name == "Fluke 5520A SN 9345012"
    port.assert_done()


def test_lf_only_eol_is_accepted():  # [OM] EOL selectable CR, LF or CRLF
    cal, port = calibrator([(b"OPER?\n", b"1\n")])
    assert cal.is_operating()
    port.assert_done()


def test_silence_is_a_timeout_naming_the_calibrator():
    cal, _ = calibrator([(b"OPER?\n", None)])
    with pytest.raises(DeviceTimeoutError, match="Fluke 5520A SN 9345012"):
        cal.is_operating()


def test_garbled_reply_is_a_protocol_error_naming_the_calibrator():
    cal, _ = calibrator([(b"OPER?\n", b"\xfe\x81\r\n")])
    with pytest.raises(ProtocolError, match="Fluke 5520A SN 9345012"):
        cal.is_operating()


def test_bad_arguments_are_rejected_before_any_io():
    cal, port = calibrator([])
    for args in [(10, "W"), (math.nan, "V"), (1, "V", -5)]:
        with pytest.raises(ValueError):
            cal.set_output(*args)
    with pytest.raises(ValueError):
        encode_limits(-1, 1, "V")
    assert encode_output(-1.5, "a") == b"OUT -1.5 A\n"
    assert port.written == bytearray()


@pytest.mark.parametrize(
    "line",
    [b"1.0E+01,V,0E+00,0\r\n", b"x,V,0,0,0\r\n", b"1,0,0,0,0\r\n", b"1,V,0,0,-1\r\n", b"1,V,0,0,0", b"1,V,0,0,0\r"],
)
def test_malformed_out_replies(line):
    with pytest.raises(ProtocolError):
        parse_output(line)


def test_idn_of_another_maker_is_refused():
    with pytest.raises(ProtocolError, match="not a Fluke"):
        parse_idn(b"Keysight Technologies,34465A,MY1,A.02\n")


@given(st.binary(max_size=60))
def test_every_parser_parses_or_raises_protocol_error(data):
    for parse in (parse_output, parse_error, parse_bool, parse_idn):
        for line in (data, data + b"\r\n", data + b"\n"):
            try:
                parse(line)
            except ProtocolError:
                pass


@given(st.integers(-99999, 99999), st.text(st.characters(min_codepoint=32, max_codepoint=126, exclude_characters='"')))
def test_error_replies_round_trip(code, text):
    assert parse_error(f'{code},"{text}"\r\n'.encode()) == (code, text)

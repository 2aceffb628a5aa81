"""Byte-level tests of the Keysight 34465A and HP 3458A drivers through a real SerialTransport.

Sources ([K] Keysight Truevolt 34465A programming reference; [H] HP 3458A User's Guide, ch. 6 command reference;
see drivers/dmm.py):
* [K] ``*IDN?`` -> ``Keysight Technologies,34465A,MY...,A.02.14-02.40-02.14-00.49-03-01``; ``CONF:VOLT:DC 10``;
  ``VOLT:DC:NPLC 10`` (valid set 0.001 ... 100); ``READ?`` -> ``+9.99999999E+00``; overload ``+9.90000000E+37``;
  ``MEAS:VOLT:DC? DEF,DEF``; ``SYST:ERR?`` -> ``+0,"No error"`` / ``-113,"Undefined header"``; LF line ends.
* [H] ``ID?`` -> ``HP3458A``; ``PRESET NORM``, ``END ALWAYS``, ``DCV 10``, ``NPLC 100``, ``NDIG 8``, ``TRIG SGL``
  -> `` 1.000000023E+01``; CR LF line ends. Never ``*IDN?``.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.dmm import HP3458A, Keysight34465A, parse_hp_id, parse_reading, parse_scpi_idn
from drivers.errors import DeviceError, DeviceTimeoutError, ProtocolError
from drivers.reading import ReadingStatus
from tests.support.protocol import Exchange, ScriptedPort, scripted_transport

SCPI_OK = b'+0,"No error"\n'
HP_OK = b'0,"NO ERROR"\r\n'


def keysight(script: list[Exchange]) -> tuple[Keysight34465A, ScriptedPort]:
    transport, port = scripted_transport(script, name="Keysight 34465A SN MY57503456")
    return Keysight34465A(transport, "dmm-1"), port


def hp(script: list[Exchange]) -> tuple[HP3458A, ScriptedPort]:
    transport, port = scripted_transport(script, name="HP 3458A")
    return HP3458A(transport, "dmm-2"), port


# -- 34465A -------------------------------------------------------------------------------------------------
def test_34465a_identify():  # [K] *IDN?
    dmm, port = keysight([(b"*IDN?\n", b"Keysight Technologies,34465A,MY57503456,A.02.14-02.40-02.14-00.49-03-01\n")])
    info = dmm.identify()
    assert (info.manufacturer, info.model, info.serial_number) == ("Keysight Technologies", "34465A", "MY57503456")
    assert info.firmware == "A.02.14-02.40-02.14-00.49-03-01"
    assert "MY57503456" in dmm.transport.name
    port.assert_done()


def test_34465a_configure_nplc_and_read():  # [K] CONF:VOLT:DC 10, VOLT:DC:NPLC 10, READ?
    dmm, port = keysight(
        [
            (b"CONF:VOLT:DC 10\n", None),
            (b"SYST:ERR?\n", SCPI_OK),
            (b"VOLT:DC:NPLC 10\n", None),
            (b"SYST:ERR?\n", SCPI_OK),
            (b"READ?\n", b"+9.99999999E+00\n"),
        ]
    )
    dmm.configure("dc_voltage", 10)
    dmm.set_nplc(10)
    r = dmm.read()
    assert (r.value, r.unit, r.quantity, r.status) == (9.99999999, "V", "dc_voltage", ReadingStatus.STABLE)
    port.assert_done()


def test_34465a_measure_default_range():  # PROTOCOLS.md: MEAS:VOLT:DC? DEF,DEF
    dmm, port = keysight([(b"MEAS:VOLT:DC? DEF,DEF\n", b"-1.23456789E-03\n")])
    [r] = [dmm.measure()]
    assert r.value == -1.23456789e-3
    port.assert_done()


def test_34465a_overload_reading():  # [K] overload +9.9E37
    dmm, port = keysight([(b"READ?\n", b"+9.90000000E+37\n")])
    [r] = dmm.poll()
    assert r.status is ReadingStatus.OVERLOAD and math.isnan(r.value)
    port.assert_done()


@pytest.mark.parametrize("nplc", [0.0, 0.5, 2, 5, 20, 1000, -1])
def test_34465a_invalid_nplc_rejected_before_io(nplc):
    dmm, port = keysight([])
    with pytest.raises(ValueError, match="0.001, 0.002, 0.006, 0.02, 0.06, 0.2, 1, 10, 100"):
        dmm.set_nplc(nplc)
    assert port.written == bytearray()


@pytest.mark.parametrize(
    ("nplc", "text"),
    [
        (0.001, "0.001"),
        (0.002, "0.002"),
        (0.006, "0.006"),
        (0.02, "0.02"),
        (0.06, "0.06"),
        (0.2, "0.2"),
        (1, "1"),
        (10, "10"),
        (100, "100"),
    ],
)
def test_34465a_every_valid_nplc_is_sent(nplc, text):
    dmm, port = keysight([(f"VOLT:DC:NPLC {text}\n".encode(), None), (b"SYST:ERR?\n", SCPI_OK)])
    dmm.set_nplc(nplc)
    port.assert_done()


def test_34465a_refused_setting_drains_errors():  # [K] SYST:ERR? -113,"Undefined header" then +0
    dmm, port = keysight(
        [(b"CONF:VOLT:AC AUTO\n", None), (b"SYST:ERR?\n", b'-113,"Undefined header"\n'), (b"SYST:ERR?\n", SCPI_OK)]
    )
    with pytest.raises(DeviceError, match=r"Keysight 34465A SN MY57503456.*-113 Undefined header") as info:
        dmm.configure("ac_voltage")
    assert info.value.code == "-113"
    port.assert_done()


def test_34465a_timeout_and_garble_name_the_meter():
    dmm, _ = keysight([(b"READ?\n", None)])
    with pytest.raises(DeviceTimeoutError, match="MY57503456"):
        dmm.read()
    dmm, _ = keysight([(b"READ?\n", b"+9.9\x99E+00\n")])
    with pytest.raises(ProtocolError, match="MY57503456"):
        dmm.read()


# -- 3458A --------------------------------------------------------------------------------------------------
def test_3458a_identify_uses_id_query_never_idn():  # [H] ID? -> HP3458A
    dmm, port = hp([(b"ID?\r\n", b"HP3458A\r\n")])
    info = dmm.identify()
    assert info.model == "HP3458A"
    assert dmm.transport.name == "HP 3458A"
    port.assert_done()


def test_3458a_setup_configure_and_trigger():  # [H] PRESET NORM, END ALWAYS, DCV 10, NPLC 100, NDIG 8, TRIG SGL
    dmm, port = hp(
        [
            (b"PRESET NORM\r\nEND ALWAYS\r\nTRIG HOLD\r\n", None),
            (b"ERRSTR?\r\n", HP_OK),
            (b"DCV 10\r\n", None),
            (b"ERRSTR?\r\n", HP_OK),
            (b"NPLC 100\r\n", None),
            (b"ERRSTR?\r\n", HP_OK),
            (b"NDIG 8\r\n", None),
            (b"ERRSTR?\r\n", HP_OK),
            (b"TRIG SGL\r\n", b" 1.000000023E+01\r\n"),
        ]
    )
    dmm.setup()
    dmm.configure("dc_voltage", 10)
    dmm.set_nplc(100)
    dmm.set_digits(8)
    [r] = dmm.poll()
    assert (r.value, r.unit, r.quantity) == (10.00000023, "V", "dc_voltage")
    assert dmm._reading_timeout() > 2.0  # 100 PLC at 50 Hz = 2 s of integration
    port.assert_done()


def test_3458a_prepare_holds_the_trigger():  # [H] PRESET NORM, END ALWAYS, TRIG HOLD (power-on is TRIG AUTO)
    dmm, port = hp([(b"PRESET NORM\r\nEND ALWAYS\r\nTRIG HOLD\r\n", None), (b"ERRSTR?\r\n", HP_OK)])
    dmm.prepare()
    port.assert_done()


def test_34465a_prepare_sends_nothing():  # its READ? triggers one fresh reading from any state
    dmm, port = keysight([])
    dmm.prepare()
    port.assert_done()


def test_3458a_negative_reading_and_overload():
    dmm, port = hp([(b"TRIG SGL\r\n", b"-1.000000023E+01\r\n"), (b"TRIG SGL\r\n", b" 1.000000000E+38\r\n")])
    assert dmm.read().value == -10.00000023
    assert dmm.read().status is ReadingStatus.OVERLOAD
    port.assert_done()


def test_3458a_reading_without_cr_is_garbled():  # [H] lines end CR LF
    dmm, _ = hp([(b"TRIG SGL\r\n", b" 1.000000023E+01\n")])
    with pytest.raises(ProtocolError, match="HP 3458A.*CR LF"):
        dmm.read()


def test_3458a_invalid_settings_rejected_before_io():
    dmm, port = hp([])
    for bad in (-1, 1001):
        with pytest.raises(ValueError, match="0 to 1000"):
            dmm.set_nplc(bad)
    with pytest.raises(ValueError, match="3 to 8"):
        dmm.set_digits(9)
    with pytest.raises(ValueError, match="unknown function"):
        dmm.configure("temperature")
    assert port.written == bytearray()


def test_3458a_errors_drain():
    dmm, port = hp([(b"ERRSTR?\r\n", b'4,"UNDEFINED COMMAND"\r\n'), (b"ERRSTR?\r\n", HP_OK)])
    assert dmm.errors() == [(4, "UNDEFINED COMMAND")]
    port.assert_done()


# -- parsers ------------------------------------------------------------------------------------------------
@given(st.binary(max_size=60))
def test_reading_and_id_parsers_parse_or_raise_protocol_error(data):
    for line in (data, data + b"\n", data + b"\r\n"):
        for parse in (
            lambda x: parse_reading(x, "dmm"),
            lambda x: parse_reading(x, "dmm", b"\r\n"),
            lambda x: parse_scpi_idn(x, "dmm"),
            lambda x: parse_hp_id(x, "dmm"),
        ):
            try:
                parse(line)
            except ProtocolError:
                pass


@given(st.floats(-1e6, 1e6, allow_nan=False))
def test_readings_in_both_formats_round_trip(value):
    assert parse_reading(f"{value:+.8E}\n".encode(), "34465A")[0] == float(f"{value:.8E}")
    assert parse_reading(f"{value: .9E}\r\n".encode(), "3458A", b"\r\n")[0] == float(f"{value:.9E}")

"""ModbusTransport and the byte-order decoders against literal frames on real sockets.

Frames: Siemens SITRANS F C MASS 6000 manual (PROTOCOLS.md "Modbus flow meters"): request ``01 03 0B B8 00 02``
(read 2 holding registers at PDU 3000 = "4:03001", mass flow), reply data ``40 C3 52 93`` = 6.10383 kg/s.
CRCs are computed by the test's own CRC-16 (the manual's reply CRC is wrong); expected floats come from ``struct``.
MBAP framing: Modbus Messaging on TCP/IP Implementation Guide V1.0b, section 3.1.3 (transaction id, protocol id 0,
length, unit id).
"""

from __future__ import annotations

import math
import struct
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.errors import DeviceConnectionError, DeviceError, DeviceTimeoutError, ProtocolError
from drivers.transport.backoff import Backoff
from drivers.transport.modbus import (
    BYTE_ORDERS,
    DataType,
    ModbusTransport,
    RegisterSpec,
    decode_registers,
    encode_value,
)
from tests.drivers.test_modbus_transport_fake import Action, FakeDevice, crc16, rtu

SIEMENS_REQUEST = rtu("01 03 0B B8 00 02")
SIEMENS_REPLY = rtu("01 03 04 40 C3 52 93")
# 40 C3 52 93 is, by IEEE-754, the float32 nearest 6.10383 (checked in test_expected_is_the_manual_float32);
# decoders give the shortest decimal that round-trips the float32, i.e. the manual's 6.10383 kg/s.
EXPECTED = 6.10383
RTU = "modbus+rtu+socket://127.0.0.1:{port}?unit=1&timeout=1"
RTU_FAST = "modbus+rtu+socket://127.0.0.1:{port}?unit=1&timeout=0.2"
RTU_HALF = "modbus+rtu+socket://127.0.0.1:{port}?unit=1&timeout=0.5"
MASS_FLOW = RegisterSpec("mass flow", 3001, DataType.FLOAT32, unit="kg/s")  # manual "4:03001"


def regs(hex_text: str) -> list[int]:
    raw = bytes.fromhex(hex_text)
    return [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]


def transport(url: str, **kw: object) -> ModbusTransport:
    return ModbusTransport(url, name="Siemens MASS 6000 SN 42", **kw)  # type: ignore[arg-type]


@contextmanager
def session(script, url: str) -> Iterator[tuple[FakeDevice, ModbusTransport]]:
    """A scripted fake device and a transport to it (``{port}`` in ``url`` is filled in)."""
    with FakeDevice(script) as dev, transport(url.format(port=dev.port)) as t:
        yield dev, t


# -- pure decoders ------------------------------------------------------------------------------------------------
def test_expected_is_the_manual_float32():
    assert struct.pack(">f", EXPECTED) == bytes.fromhex("40C35293")


def test_manual_request_crc_is_what_the_manual_prints():
    assert bytes.fromhex("01 03 0B B8 00 02 46 0A") == SIEMENS_REQUEST


@pytest.mark.parametrize(
    ("order", "wire"),
    [("ABCD", "40 C3 52 93"), ("CDAB", "52 93 40 C3"), ("BADC", "C3 40 93 52"), ("DCBA", "93 52 C3 40")],
)
def test_float32_in_all_four_orders(order, wire):
    value = decode_registers(regs(wire), DataType.FLOAT32, order)
    assert struct.pack(">f", value) == struct.pack(">f", EXPECTED)  # the same float32 as IEEE-754 says
    assert value == 6.10383  # and shown as the manual prints it
    assert encode_value(EXPECTED, DataType.FLOAT32, order) == regs(wire)


def test_word_order_matters():
    assert decode_registers(regs("52 93 40 C3"), DataType.FLOAT32, "ABCD") != pytest.approx(6.10383)


@pytest.mark.parametrize(
    ("data_type", "order", "wire", "expected"),
    [
        (DataType.INT16, "ABCD", "FF CE", -50),
        (DataType.INT16, "BADC", "CE FF", -50),
        (DataType.UINT16, "ABCD", "FF CE", 0xFFCE),
        (DataType.INT32, "ABCD", "FF FF FF FE", -2),
        (DataType.INT32, "CDAB", "FF FE FF FF", -2),
        (DataType.UINT32, "ABCD", "00 01 00 00", 65536),
        (DataType.UINT32, "CDAB", "00 00 00 01", 65536),
        (DataType.UINT32, "DCBA", "00 00 01 00", 65536),
        (DataType.UINT32, "BADC", "01 00 00 00", 65536),
    ],
)
def test_integers(data_type, order, wire, expected):
    assert decode_registers(regs(wire), data_type, order) == expected


def test_float64_orders():
    wire = struct.pack(">d", 1234.5678)  # A..H
    abcd = [int.from_bytes(wire[i : i + 2], "big") for i in range(0, 8, 2)]
    assert decode_registers(abcd, DataType.FLOAT64, "ABCD") == 1234.5678
    assert decode_registers(list(reversed(abcd)), DataType.FLOAT64, "CDAB") == 1234.5678


def test_bad_register_counts_and_values():
    with pytest.raises(ProtocolError):
        decode_registers([1], DataType.FLOAT32)
    with pytest.raises(ProtocolError):
        decode_registers([70000, 0], DataType.FLOAT32)
    with pytest.raises(ValueError, match="byte order"):
        decode_registers([0, 0], DataType.FLOAT32, "ABDC")
    with pytest.raises(ValueError):
        encode_value(70000, DataType.INT16)


def test_register_spec_keeps_the_offset_explicit():
    assert MASS_FLOW.pdu_address == 3000
    assert RegisterSpec("t", 0x31, DataType.INT16).pdu_address == 0x30
    assert RegisterSpec("t", 3000, first_number=0).pdu_address == 3000
    with pytest.raises(ValueError):
        RegisterSpec("t", 0)
    spec = RegisterSpec("p", 0x34, DataType.INT16, scale=0.1)
    assert spec.decode([10127]) == 1012.7


_types = st.sampled_from(list(DataType))
_orders = st.sampled_from(BYTE_ORDERS)


@given(st.lists(st.integers(min_value=-(2**17), max_value=2**17), max_size=5), _types, _orders)
def test_decoder_never_fails_uncleanly(registers, data_type, order):
    try:
        value = decode_registers(registers, data_type, order)
    except ProtocolError:
        return
    assert isinstance(value, (int, float))


@given(_types, _orders, st.data())
def test_any_registers_of_the_right_size_decode_and_roundtrip(data_type, order, data):
    registers = data.draw(st.lists(st.integers(0, 0xFFFF), min_size=data_type.registers, max_size=data_type.registers))
    value = decode_registers(registers, data_type, order)
    if isinstance(value, float) and math.isnan(value):
        return
    assert encode_value(value, data_type, order) == registers


# -- transport against literal frames -----------------------------------------------------------------------------
def test_rtu_on_tcp_siemens_frame():
    with session([[(SIEMENS_REQUEST, SIEMENS_REPLY)]], RTU) as (dev, t):
        assert t.read_value(MASS_FLOW) == EXPECTED
        time.sleep(0.05)
    dev.assert_ok()


def test_mbap_on_tcp_siemens_frame():
    request = bytes.fromhex("00 01 00 00 00 06 01 03 0B B8 00 02")
    reply = bytes.fromhex("00 01 00 00 00 07 01 03 04 40 C3 52 93")
    with session([[(request, reply)]], "modbus+tcp://127.0.0.1:{port}?unit=1&timeout=1") as (dev, t):
        assert t.read_value(MASS_FLOW) == EXPECTED
    dev.assert_ok()


def test_input_registers_use_function_4():
    with session(
        [[(rtu("05 04 00 00 00 02"), rtu("05 04 04 52 93 40 C3"))]],
        "modbus+rtu+socket://127.0.0.1:{port}?unit=5&timeout=1",
    ) as (dev, t):
        spec = RegisterSpec("volume flow", 30001, DataType.FLOAT32, "input", "CDAB", first_number=30001)
        assert t.read_value(spec) == EXPECTED
    dev.assert_ok()


def test_exception_02_names_instrument_and_register():
    with session([[(SIEMENS_REQUEST, rtu("01 83 02"))]], RTU) as (dev, t), pytest.raises(DeviceError) as info:
        t.read_value(MASS_FLOW)
    assert info.value.code == "0x02"
    text = str(info.value)
    assert "illegal data address" in text and "3000" in text and "unit 1" in text
    assert "Siemens MASS 6000 SN 42" in text and "register map" in text
    dev.assert_ok()


def test_silence_is_a_timeout_naming_the_instrument():
    with session([[(SIEMENS_REQUEST, None)]], RTU_FAST) as (dev, t):
        start = time.monotonic()
        with pytest.raises(DeviceTimeoutError, match="Siemens MASS 6000 SN 42 at modbus"):
            t.read_value(MASS_FLOW)
        assert time.monotonic() - start < 1.5
    dev.assert_ok()


@pytest.mark.parametrize(
    "reply",
    [
        bytes.fromhex("01 03 04 40 C3 52 93") + b"\x00\x00",  # CRC wrong
        rtu("02 03 04 40 C3 52 93"),  # another unit answered
    ],
)
def test_garbled_reply_is_a_protocol_error(reply):
    with (
        session([[(SIEMENS_REQUEST, reply)]], RTU_FAST) as (dev, t),
        pytest.raises(ProtocolError, match="Siemens MASS 6000 SN 42"),
    ):
        t.read_value(MASS_FLOW)
    dev.assert_ok()


def test_refused_connection_backs_off():
    with FakeDevice([]) as dev:
        port = dev.port
    t = transport(f"modbus+tcp://127.0.0.1:{port}?unit=1&timeout=0.2", backoff=Backoff(initial=5))
    with pytest.raises(DeviceConnectionError, match="cannot connect"):
        t.read_value(MASS_FLOW)
    with pytest.raises(DeviceConnectionError, match="next attempt"):
        t.read_value(MASS_FLOW)


def test_read_is_retried_once_after_connection_loss():
    with session([[(SIEMENS_REQUEST, "close")], [(SIEMENS_REQUEST, SIEMENS_REPLY)]], RTU) as (dev, t):
        assert t.read_value(MASS_FLOW) == EXPECTED
    assert dev.connections == 2
    dev.assert_ok()


def test_read_lost_twice_is_a_connection_error_then_recovers():
    script: list[list[tuple[bytes, Action]]] = [
        [(SIEMENS_REQUEST, "close")],
        [(SIEMENS_REQUEST, "close")],
        [(SIEMENS_REQUEST, SIEMENS_REPLY)],
    ]
    with FakeDevice(script) as dev:
        url = f"modbus+rtu+socket://127.0.0.1:{dev.port}?unit=1&timeout=1"
        with transport(url, backoff=Backoff(initial=0.01)) as t:
            with pytest.raises(DeviceConnectionError, match="Siemens MASS 6000 SN 42"):
                t.read_value(MASS_FLOW)
            time.sleep(0.02)
            assert t.read_value(MASS_FLOW) == EXPECTED
    dev.assert_ok()


def test_write_is_never_retried():
    request = rtu("01 06 02 10 00 05")  # write 5 to register 528 (the Siemens unit-address setting)
    with session([[(request, "close")], [(request, rtu("01 06 02 10 00 05"))]], RTU_HALF) as (dev, t):
        with pytest.raises(DeviceConnectionError):
            t.write_register(528, 5)
        time.sleep(0.2)
        assert dev.connections == 1
    dev.assert_ok()


def test_write_registers_frame():
    request = rtu("01 10 02 10 00 02 04 00 05 00 03")
    with session([[(request, rtu("01 10 02 10 00 02"))]], RTU) as (dev, t):
        t.write_registers(528, [5, 3])
    dev.assert_ok()


def test_arguments_are_checked_before_io():
    t = transport("modbus+tcp://127.0.0.1:9?unit=1")
    with pytest.raises(ValueError):
        t.read_registers(0, 0)
    with pytest.raises(ValueError):
        t.read_registers(65535, 2)
    with pytest.raises(ValueError):
        t.write_register(1, 70000)
    with pytest.raises(ValueError):
        ModbusTransport("socket://127.0.0.1:4001")
    assert not t.is_open


def test_crc_helper_is_independent():
    # Modbus over Serial Line V1.02, 6.2.2: CRC of "02 07" is 0x1241, sent 41 12
    assert crc16(bytes.fromhex("02 07")) == bytes.fromhex("41 12")


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("40C35293", 6.10383),  # PROTOCOLS.md: the SITRANS F C MASS 6000 manual frame, 6.10383 kg/s
        ("44798CCD", 998.2),  # 998.2 kg/m3 (water at 20 °C) as float32 is 998.2000122...; the meter meant 998.2
        ("3F800000", 1.0),
        ("00000001", 1e-45),  # smallest subnormal
    ],
)
def test_float32_decodes_to_the_shortest_decimal_that_round_trips(word: str, expected: float) -> None:
    raw = bytes.fromhex(word)
    regs = [int.from_bytes(raw[0:2], "big"), int.from_bytes(raw[2:4], "big")]
    value = decode_registers(regs, DataType.FLOAT32, "ABCD")
    assert value == expected
    assert struct.pack(">f", value) == raw  # nothing the instrument sent is lost

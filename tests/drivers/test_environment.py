"""Comet T7510 / T7310 driver against literal frames.

Register map: COMET manual IE-SNC-T33(4)11+T73(4)10-07, "Modbus registers of the device" — temperature 0x0031,
humidity 0x0032, computed value 0x0033, pressure 0x0034 (Int*10), serial number 0x1035/0x1036 (BCD); note X:
register 0x31 is sent as PDU address 0x30. So a poll reads 4 holding registers from 0x0030 (function 03).
CRCs are computed by the test's own CRC-16; MBAP header per the Modbus TCP implementation guide.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.environment import COMET_T7310, CometT7310, CometT7510, decode_bcd_serial
from drivers.errors import DeviceError, DeviceTimeoutError, ProtocolError
from drivers.reading import ReadingStatus
from drivers.registry import driver_class
from tests.drivers.test_modbus_transport_fake import FakeDevice, rtu

POLL = rtu("01 03 00 30 00 04")  # unit 1, read holding, PDU 0x0030, 4 registers
# 215 -> 21.5 °C, 500 -> 50.0 %RH, 113 -> 11.3 °C dew point (not reported), 10127 -> 1012.7 hPa
POLL_REPLY = rtu("01 03 08 00 D7 01 F4 00 71 27 8F")
IDENT = rtu("01 03 10 34 00 02")  # serial number Hi/Lo at 0x1035/0x1036 -> PDU 0x1034
IDENT_REPLY = rtu("01 03 04 12 34 56 78")


def rtu_url(port: int, timeout: float = 1) -> str:
    return f"modbus+rtu+socket://127.0.0.1:{port}?unit=1&timeout={timeout}"


def test_poll_rtu_frames_and_values():
    with FakeDevice([[(POLL, POLL_REPLY)]]) as dev, CometT7310.connect(rtu_url(dev.port), "env-1") as drv:
        readings = drv.poll()
    dev.assert_ok()
    assert [(r.quantity, r.value, r.unit, r.status) for r in readings] == [
        ("temperature", 21.5, "°C", ReadingStatus.STABLE),
        ("humidity", 50.0, "%RH", ReadingStatus.STABLE),
        ("pressure", 1012.7, "hPa", ReadingStatus.STABLE),
    ]
    assert all(r.instrument_id == "env-1" for r in readings)


def test_poll_mbap_frames_negative_temperature():
    request = bytes.fromhex("00 01 00 00 00 06 01 03 00 30 00 04")
    reply = bytes.fromhex("00 01 00 00 00 0B 01 03 08 FF CE 01 F4 FF 9C 27 8F")  # -5.0 °C
    url_ = "modbus+tcp://127.0.0.1:{}?unit=1&timeout=1"
    with FakeDevice([[(request, reply)]]) as dev, CometT7510.connect(url_.format(dev.port), "env-2") as drv:
        readings = drv.poll()
    dev.assert_ok()
    assert readings[0].value == -5.0 and readings[0].status is ReadingStatus.STABLE


def test_identify_reads_bcd_serial_and_names_later_errors():
    with (
        FakeDevice([[(IDENT, IDENT_REPLY), (POLL, None)]]) as dev,
        CometT7310.connect(rtu_url(dev.port, 0.2), "env-3") as drv,
    ):
        info = drv.identify()
        assert (info.manufacturer, info.model, info.serial_number) == ("Comet", "T7310", "12345678")
        with pytest.raises(DeviceTimeoutError, match="Comet T7310 SN 12345678 at modbus"):
            drv.poll()
    dev.assert_ok()


@pytest.mark.parametrize(
    ("reply", "bad"),
    [
        (rtu("01 03 08 00 D7 01 F4 00 71 80 00"), "pressure"),  # 0x8000: no pressure
        (rtu("01 03 08 00 D7 03 E9 00 71 27 8F"), "humidity"),  # 100.1 %RH is impossible
        (rtu("01 03 08 0B B8 01 F4 00 71 27 8F"), "temperature"),  # 300.0 °C is outside the range
    ],
)
def test_device_error_values_give_error_status(reply, bad):
    with FakeDevice([[(POLL, reply)]]) as dev, CometT7310.connect(rtu_url(dev.port), "env-4") as drv:
        readings = {r.quantity: r for r in drv.poll()}
    dev.assert_ok()
    assert readings[bad].status is ReadingStatus.ERROR and math.isnan(readings[bad].value)
    assert all(r.status is ReadingStatus.STABLE for q, r in readings.items() if q != bad)


def test_range_edge_is_still_a_value():
    reply = rtu("01 03 08 00 D7 01 F4 00 71 0B B8")  # 300.0 hPa: the manual's lower limit
    with FakeDevice([[(POLL, reply)]]) as dev, CometT7310.connect(rtu_url(dev.port), "env-4") as drv:
        pressure = drv.poll()[2]
    dev.assert_ok()
    assert pressure.value == 300.0 and pressure.status is ReadingStatus.STABLE


def test_exception_reply_is_device_error():
    with (
        FakeDevice([[(POLL, rtu("01 83 02"))]]) as dev,
        CometT7310.connect(rtu_url(dev.port), "env-5") as drv,
        pytest.raises(DeviceError, match="illegal data address") as info,
    ):
        drv.poll()
    assert info.value.code == "0x02"
    dev.assert_ok()


def test_registry_and_protocols():
    assert driver_class("Comet T7510") is CometT7510
    assert driver_class("comet-t7310") is CometT7310
    assert (CometT7510.protocol, CometT7310.protocol) == ("modbus-tcp", "modbus-rtu")
    assert COMET_T7310.block_start == 0x30 and COMET_T7310.block_count == 4


def test_bcd_serial():
    assert decode_bcd_serial([0x0012, 0x3456]) == "00123456"
    with pytest.raises(ProtocolError):
        decode_bcd_serial([0x12AB, 0])


@given(st.lists(st.integers(-(2**17), 2**17), max_size=6))
def test_profile_decode_any_registers(registers):
    try:
        decoded = COMET_T7310.decode(registers)
    except ProtocolError:
        return
    assert len(decoded) == 3
    for _ch, value, status in decoded:
        assert (status is ReadingStatus.ERROR) == math.isnan(value)


@given(st.lists(st.integers(0, 0xFFFF), min_size=4, max_size=4))
def test_profile_decode_any_uint16_block(registers):
    decoded = COMET_T7310.decode(registers)
    for ch, value, status in decoded:
        if status is ReadingStatus.STABLE:
            assert ch.valid[0] <= value <= ch.valid[1]


@given(st.lists(st.integers(-5, 0x1FFFF), max_size=3))
def test_bcd_serial_any_registers(registers):
    try:
        text = decode_bcd_serial(registers)
    except ProtocolError:
        return
    assert text.isdigit() or text == ""

"""Modbus flow meter driver against literal frames (RTU with computed CRCs, and MBAP).

Facts used (see drivers/flowmeter.py for the sources):
* Siemens SITRANS F C MASS 6000, Modbus RTU RS-485 manual (SFIDK.PS.023.D2.02) section 6: holding register 4:03001
  (PDU 3000) absolute mass flow kg/s float ... 4:03015 (PDU 3014) totalizer 1 double. Manual frame (PROTOCOLS.md):
  request ``01 03 0B B8 00 02 46 0A``; reply data ``40 C3 52 93`` = 6.10383 kg/s. The reply CRC is computed by the
  test's own CRC-16 (the manual's printed reply CRC is wrong).
* E+H Promass 83: factory byte order 1-0-3-2 = CDAB (word swapped); mass flow register 2007 taken as PDU 2006.
* Krohne GFC 300 Modbus manual section 6.7: input registers (FC 04), volume flow at 30000 = PDU 0, mass flow 4,
  counter 1 double float at 28.
Expected floats are written as IEEE-754 hex from the value, independently of the code under test.
"""

from __future__ import annotations

import math
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.errors import DeviceError, DeviceTimeoutError, ProtocolError
from drivers.flowmeter import (
    EH_PROMASS83,
    KROHNE_GFC300,
    SIEMENS_MASS6000,
    KrohneGfc300,
    ModbusFlowMeter,
    PromassModbus,
    SiemensMass6000,
)
from drivers.reading import ReadingStatus
from drivers.registry import driver_class
from tests.drivers.test_modbus_transport_fake import FakeDevice, crc16, rtu

SIEMENS_REQUEST = bytes.fromhex("01 03 0B B8 00 02 46 0A")  # the manual's request frame, CRC as printed
SIEMENS_REPLY = rtu("01 03 04 40 C3 52 93")  # data from the manual; CRC computed


def rtu_url(port: int, unit: int = 1, timeout: float = 1) -> str:
    return f"modbus+rtu+socket://127.0.0.1:{port}?unit={unit}&timeout={timeout}"


def f32(value: float) -> str:
    return struct.pack(">f", value).hex()


def f64(value: float) -> str:
    return struct.pack(">d", value).hex()


def test_manual_request_crc_is_correct():
    assert crc16(bytes.fromhex("01 03 0B B8 00 02")) == bytes.fromhex("46 0A")


def test_siemens_manual_frame_decodes_to_6_10383_kg_per_s():
    with (
        FakeDevice([[(SIEMENS_REQUEST, SIEMENS_REPLY)]]) as dev,
        SiemensMass6000.connect(rtu_url(dev.port), "flow-1") as drv,
    ):
        reading = drv.read_quantity("mass_flow")
    dev.assert_ok()
    assert reading.value == pytest.approx(6.10383, abs=5e-6)
    assert (reading.unit, reading.quantity, reading.status) == ("kg/s", "mass_flow", ReadingStatus.STABLE)
    assert reading.instrument_id == "flow-1"


def test_siemens_poll_reads_3000_to_3017_in_one_request():
    data = f32(6.10383) + f32(0.0061) + f32(998.2) + f32(21.25) + "00" * 12 + f64(123456.789)
    request = rtu("01 03 0B B8 00 12")  # 18 registers from PDU 3000
    reply = rtu("01 03 24 " + data)
    with FakeDevice([[(request, reply)]]) as dev, SiemensMass6000.connect(rtu_url(dev.port), "flow-1") as drv:
        readings = drv.poll()
    dev.assert_ok()
    got = [(r.quantity, r.unit) for r in readings]
    assert got == [
        ("mass_flow", "kg/s"),
        ("volume_flow", "m3/s"),
        ("density", "kg/m3"),
        ("temperature", "°C"),
        ("totalizer", "kg"),
    ]
    assert readings[0].value == pytest.approx(6.10383, rel=1e-7)
    assert readings[2].value == pytest.approx(998.2, rel=1e-7)
    assert readings[4].value == 123456.789  # float64: exact


def test_siemens_over_modbus_tcp_mbap():
    request = bytes.fromhex("00 01 00 00 00 06 01 03 0B B8 00 02")
    reply = bytes.fromhex("00 01 00 00 00 07 01 03 04 40 C3 52 93")
    url = "modbus+tcp://127.0.0.1:{}?unit=1&timeout=1"
    with FakeDevice([[(request, reply)]]) as dev, SiemensMass6000.connect(url.format(dev.port), "flow-1") as drv:
        assert drv.read_quantity("mass_flow").value == pytest.approx(6.10383, abs=5e-6)
    dev.assert_ok()


def test_promass_cdab_reads_back_only_word_swapped():
    # 6.10383 is 40 C3 52 93; a CDAB device sends the low word first: 52 93 40 C3 (PDU 2006 = 0x07D6)
    request = rtu("05 03 07 D6 00 02")
    reply = rtu("05 03 04 52 93 40 C3")
    with FakeDevice([[(request, reply), (request, reply)]]) as dev, PromassModbus.connect(rtu_url(dev.port, 5)) as drv:
        right = drv.read_quantity("mass_flow")
        drv.map = EH_PROMASS83.with_order("ABCD")  # a master set to the wrong order
        wrong = drv.read_quantity("mass_flow")
    dev.assert_ok()
    assert right.value == pytest.approx(6.10383, abs=5e-6) and right.unit == "kg/h"
    assert wrong.value != pytest.approx(6.10383, rel=0.01)


def test_promass_poll_one_request_per_unverified_register():
    script = [
        (rtu("01 03 07 D6 00 02"), rtu("01 03 04 00 00 45 61")),  # 3600.0 kg/h = 45 61 00 00, CDAB
        (rtu("01 03 07 E0 00 02"), rtu("01 03 04 00 00 41 A4")),  # 20.5 °C = 41 A4 00 00
        (rtu("01 03 0A 31 00 02"), rtu("01 03 04 40 00 44 9A")),  # 1234.0 kg = 44 9A 40 00
    ]
    with FakeDevice([script]) as dev, PromassModbus.connect(rtu_url(dev.port)) as drv:
        readings = {r.quantity: (r.value, r.unit) for r in drv.poll()}
    dev.assert_ok()
    assert readings == {"mass_flow": (3600.0, "kg/h"), "temperature": (20.5, "°C"), "totalizer": (1234.0, "kg")}


def test_krohne_input_registers_and_float64_counter():
    data = f32(0.0025) + "00000000" + f32(2.5) + "00" * 44 + f64(9876.54321)
    request = rtu("02 04 00 00 00 20")  # FC 04, 32 registers from PDU 0
    reply = rtu("02 04 40 " + data)
    with FakeDevice([[(request, reply)]]) as dev, KrohneGfc300.connect(rtu_url(dev.port, 2)) as drv:
        readings = {r.quantity: (r.value, r.unit) for r in drv.poll()}
    dev.assert_ok()
    assert readings["volume_flow"][0] == pytest.approx(0.0025, rel=1e-7)
    assert readings["volume_flow"][1] == "m3/s"
    assert readings["mass_flow"] == (2.5, "kg/s")
    assert readings["totalizer"] == (9876.54321, "m3")


@pytest.mark.parametrize(
    ("order", "data"),
    [("ABCD", "40 C3 52 93"), ("CDAB", "52 93 40 C3"), ("BADC", "C3 40 93 52"), ("DCBA", "93 52 C3 40")],
)
def test_all_four_byte_orders(order, data):
    with FakeDevice([[(SIEMENS_REQUEST, rtu("01 03 04 " + data))]]) as dev:
        drv = SiemensMass6000.connect(rtu_url(dev.port))
        drv.map = SIEMENS_MASS6000.with_order(order)
        value = drv.read_quantity("mass_flow").value
        drv.close()
    dev.assert_ok()
    assert value == pytest.approx(6.10383, abs=5e-6)


@pytest.mark.parametrize(
    ("order", "data"),
    [
        ("ABCD", "40 93 4A 45 6D 5C FA AD"),  # 1234.5678 as IEEE-754 double, big-endian
        ("CDAB", "FA AD 6D 5C 4A 45 40 93"),  # the four words in reverse order
        ("BADC", "93 40 45 4A 5C 6D AD FA"),  # bytes swapped inside each word
        ("DCBA", "AD FA 5C 6D 45 4A 93 40"),  # fully reversed
    ],
)
def test_float64_totalizer_in_all_orders(order, data):
    assert struct.unpack(">d", bytes.fromhex("40 93 4A 45 6D 5C FA AD"))[0] == 1234.5678
    with FakeDevice([[(rtu("01 03 0B C6 00 04"), rtu("01 03 08 " + data))]]) as dev:
        drv = SiemensMass6000.connect(rtu_url(dev.port))
        drv.map = SIEMENS_MASS6000.with_order(order)
        value = drv.read_quantity("totalizer").value
        drv.close()
    dev.assert_ok()
    assert value == 1234.5678


def test_nan_is_an_error_reading():
    nan = rtu("01 03 04 7F C0 00 00")
    with FakeDevice([[(SIEMENS_REQUEST, nan)]]) as dev, SiemensMass6000.connect(rtu_url(dev.port)) as drv:
        reading = drv.read_quantity("mass_flow")
    dev.assert_ok()
    assert reading.status is ReadingStatus.ERROR and math.isnan(reading.value)


@pytest.mark.parametrize(("code", "name"), [(0x02, "illegal data address"), (0x04, "server device failure")])
def test_exception_replies_name_the_instrument(code, name):
    reply = rtu(f"01 83 {code:02X}")
    with (
        FakeDevice([[(SIEMENS_REQUEST, reply)]]) as dev,
        SiemensMass6000.connect(rtu_url(dev.port)) as drv,
        pytest.raises(DeviceError, match=f"Siemens SITRANS F C MASS 6000 at modbus.*{name}") as info,
    ):
        drv.read_quantity("mass_flow")
    assert info.value.code == f"0x{code:02X}"
    dev.assert_ok()


def test_silence_is_a_timeout_naming_the_instrument():
    with (
        FakeDevice([[(SIEMENS_REQUEST, None)]]) as dev,
        SiemensMass6000.connect(rtu_url(dev.port, 1, 0.2)) as drv,
        pytest.raises(DeviceTimeoutError, match="Siemens SITRANS F C MASS 6000 at .*unit id 1"),
    ):
        drv.read_quantity("mass_flow")
    dev.assert_ok()


def test_bad_crc_is_a_protocol_error_naming_the_instrument():
    garbled = SIEMENS_REPLY[:-1] + bytes([SIEMENS_REPLY[-1] ^ 0xFF])
    with (
        FakeDevice([[(SIEMENS_REQUEST, garbled)]]) as dev,
        SiemensMass6000.connect(rtu_url(dev.port, 1, 0.3)) as drv,
        pytest.raises(ProtocolError, match="Siemens SITRANS F C MASS 6000 at .*not a valid frame"),
    ):
        drv.read_quantity("mass_flow")
    dev.assert_ok()


def test_identify_labels_errors():
    with (
        FakeDevice([[(rtu("01 03 0B B8 00 12"), rtu("01 03 24 " + "00" * 36)), (SIEMENS_REQUEST, None)]]) as dev,
        SiemensMass6000.connect(rtu_url(dev.port, 1, 0.2)) as drv,
    ):
        info = drv.identify()
        assert (info.manufacturer, info.model) == ("Siemens", "SITRANS F C MASS 6000")
        with pytest.raises(DeviceTimeoutError, match="^Siemens SITRANS F C MASS 6000 at"):
            drv.read_quantity("mass_flow")
    dev.assert_ok()


def test_unknown_quantity():
    drv = KrohneGfc300.connect("modbus+tcp://127.0.0.1:1?unit=1")
    with pytest.raises(ValueError, match="no 'density'"):
        drv.read_quantity("density")


def test_registry_models_and_maps():
    assert driver_class("siemens-sitrans-fc-mass6000") is SiemensMass6000
    assert driver_class("endress-hauser-promass83") is PromassModbus
    assert driver_class("krohne-gfc300") is KrohneGfc300
    assert issubclass(SiemensMass6000, ModbusFlowMeter)
    # the manual's numbers and the PDU addresses, offset explicit
    assert [c.register.pdu_address for c in SIEMENS_MASS6000.channels] == [3000, 3002, 3004, 3006, 3014]
    assert [(b.start, b.count) for b in SIEMENS_MASS6000.blocks()] == [(3000, 18)]
    assert [(b.kind, b.start, b.count) for b in KROHNE_GFC300.blocks()] == [("input", 0, 32)]
    assert [(b.start, b.count) for b in EH_PROMASS83.blocks()] == [(2006, 2), (2016, 2), (2609, 2)]


@given(st.lists(st.integers(-(2**17), 2**17), max_size=40), st.sampled_from(["ABCD", "CDAB", "BADC", "DCBA"]))
def test_profile_decode_any_registers(registers, order):
    for profile in (SIEMENS_MASS6000.with_order(order), KROHNE_GFC300, EH_PROMASS83):
        for block in profile.blocks():
            try:
                decoded = profile.decode(block, registers)
            except ProtocolError:
                continue
            assert len(decoded) == len(block.channels)
            for _ch, value, status in decoded:
                assert (status is ReadingStatus.ERROR) == math.isnan(value)

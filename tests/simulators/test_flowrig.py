"""The flow rig physics and the Modbus flow meter simulators: raw RTU/MBAP frames on sockets, the drivers, faults.

Faithfulness checks 5-7 of PROTOCOLS.md: a float32 written ABCD reads back identical with word_order="big"; a CDAB
meter (E+H Promass) only with "little"; the Siemens manual frame (request ``01 03 0B B8 00 02 46 0A``, reply data
``40 C3 52 93`` = 6.10383 kg/s, CRC computed by the test's own CRC-16); unmapped register -> exception 0x02;
foreign RTU unit id -> silence.
"""

from __future__ import annotations

import math
import socket
import time
from typing import Literal

import pytest
from pymodbus.client.mixin import ModbusClientMixin

from drivers.address import parse_address
from drivers.errors import DeviceError, DeviceTimeoutError, ProtocolError
from drivers.flowmeter import PromassModbus, SiemensMass6000
from drivers.registry import open_instrument
from drivers.transport.modbus import ModbusTransport
from simulators.base import SimOptions
from simulators.flowrig import FlowMeterSimulator, FlowRig
from simulators.lab import InstrumentSpec
from simulators.runner import SimulatorThread
from tests.drivers.test_modbus_transport_fake import crc16, rtu

MODELS = ["siemens-sitrans-fc-mass6000", "endress-hauser-promass83", "krohne-gfc300"]


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def exchange(port: int, frame: bytes, expect: int, timeout: float = 0.5) -> bytes:
    """Send one raw frame and collect up to ``expect`` bytes (fewer if the device stays silent)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(frame)
        data = b""
        deadline = time.monotonic() + timeout
        while len(data) < expect and time.monotonic() < deadline:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = s.recv(expect - len(data))
            except TimeoutError:
                break
            if not chunk:
                break
            data += chunk
        return data


@pytest.fixture(scope="module")
def lab():
    with SimulatorThread() as runner:
        yield runner


def quiet(model: str, framing: Literal["tcp", "rtu"] = "rtu", unit: int = 1, **kw) -> FlowMeterSimulator:
    params = {"noise": 0.0, "error_curve": [], "flow": 6.10383, **kw}
    return FlowMeterSimulator(SimOptions("flow-t", "S1"), model=model, framing=framing, unit=unit, **params)


# -- physics ----------------------------------------------------------------------------------------------------
def test_flow_settles_with_the_time_constant():
    clock = Clock()
    rig = FlowRig(flow=0.0, time_constant=2.0, noise=0.0, error_curve=[], clock=clock)
    rig.set_flow(4.0)
    clock.t += 2.0
    assert rig.sample().true_flow == pytest.approx(4.0 * (1 - math.exp(-1)), rel=1e-9)
    clock.t += 30.0
    assert rig.sample().true_flow == pytest.approx(4.0, rel=1e-6)


def test_totalizer_integrates_true_flow_times_meter_error():
    clock = Clock()
    rig = FlowRig(flow=2.0, noise=0.0, error_curve=[[0.0, 0.5], [10.0, 0.5]], clock=clock)
    clock.t += 100.0
    s = rig.sample()
    assert s.true_total == pytest.approx(200.0, rel=1e-12)
    assert s.meter_total == pytest.approx(201.0, rel=1e-12)  # +0.5 %
    assert s.indicated_flow == pytest.approx(2.01, rel=1e-12)


def test_totalizer_during_settling_is_the_exact_integral():
    clock = Clock()
    rig = FlowRig(flow=0.0, time_constant=1.0, noise=0.0, error_curve=[], clock=clock)
    rig.set_flow(3.0)
    clock.t += 5.0
    expected = 3.0 * 5.0 - 3.0 * 1.0 * (1 - math.exp(-5.0))
    assert rig.sample().true_total == pytest.approx(expected, rel=1e-9)


def test_error_curve_interpolates_and_holds_at_the_ends():
    rig = FlowRig(error_curve=[[1.0, 0.4], [3.0, 0.0]])
    assert rig.error_percent(0.1) == 0.4
    assert rig.error_percent(2.0) == pytest.approx(0.2)
    assert rig.error_percent(9.0) == 0.0


def test_totals_are_monotonic_and_reset():
    clock = Clock()
    rig = FlowRig(flow=1.0, time_constant=0.5, noise=0.01, seed=3, clock=clock)
    last = 0.0
    for i in range(200):
        if i % 17 == 0:
            rig.set_flow((i % 5) * 0.7)
        clock.t += 0.05 * (i % 4)
        total = rig.sample().meter_total
        assert total >= last
        last = total
    assert last > 0
    rig.reset_totalizer()
    assert rig.sample().meter_total == 0.0


@pytest.mark.parametrize(
    "kwargs",
    [{"flow": -1.0}, {"time_constant": 0.0}, {"noise": -0.1}, {"error_curve": [[1.0, 80.0]]}, {"density": 0}],
)
def test_rig_refuses_bad_parameters(kwargs):
    with pytest.raises(ValueError):
        FlowRig(**kwargs)


# -- faithfulness on the wire -----------------------------------------------------------------------------------
def test_siemens_manual_frame_end_to_end(lab):
    sim = lab.start(quiet("siemens-sitrans-fc-mass6000"))
    reply = exchange(sim.server.port, bytes.fromhex("01 03 0B B8 00 02 46 0A"), 9)
    body = bytes.fromhex("01 03 04 40 C3 52 93")  # 6.10383 kg/s as the manual prints it
    assert reply == body + crc16(body)


def test_float32_written_abcd_reads_back_with_word_order_big(lab):
    sim = lab.start(quiet("siemens-sitrans-fc-mass6000", framing="tcp", flow=1.234))
    regs = ModbusTransport(sim.url).read_holding_registers(3000, 2)
    f32 = ModbusClientMixin.DATATYPE.FLOAT32
    assert ModbusClientMixin.convert_from_registers(regs, f32, word_order="big") == pytest.approx(1.234, rel=1e-7)


def test_cdab_meter_reads_only_with_word_order_little(lab):
    sim = lab.start(quiet("endress-hauser-promass83", flow=1.0))  # 3600 kg/h
    transport = ModbusTransport(sim.url + "&timeout=1")
    f32 = ModbusClientMixin.DATATYPE.FLOAT32
    for kind in ("holding", "input"):  # FC03 and FC04 return the same data
        regs = transport.read_registers(2006, 2, kind)
        assert regs == [0x0000, 0x4561]  # 3600.0 = 45 61 00 00, low word first
        assert ModbusClientMixin.convert_from_registers(regs, f32, word_order="little") == 3600.0
        assert ModbusClientMixin.convert_from_registers(regs, f32, word_order="big") != pytest.approx(3600.0)
    transport.close()


@pytest.mark.parametrize(
    ("model", "request_hex"),
    [
        ("siemens-sitrans-fc-mass6000", "01 03 0B D2 00 02"),  # PDU 3026: past totalizer 2 float
        ("siemens-sitrans-fc-mass6000", "01 03 0B B8 00 1C"),  # 3000..3027 runs into unmapped registers
        ("endress-hauser-promass83", "01 03 07 D8 00 02"),  # 2008: not in the (unverified) map
        ("krohne-gfc300", "01 03 00 00 00 02"),  # FC03 on 0: Krohne's holding registers start at 40000
        ("krohne-gfc300", "01 04 00 2C 00 02"),  # input 44: past the long status registers
    ],
)
def test_unmapped_register_is_exception_02(lab, model, request_hex):
    sim = lab.start(quiet(model))
    fc = bytes.fromhex(request_hex)[1]
    reply = exchange(sim.server.port, rtu(request_hex), 5)
    assert reply == rtu(f"01 {fc | 0x80:02X} 02")


@pytest.mark.parametrize("model", MODELS)
def test_foreign_unit_on_rtu_is_silence_then_own_unit_answers(lab, model):
    sim = lab.start(quiet(model, unit=7))
    first = {"krohne-gfc300": "04 00 00 00 02", "endress-hauser-promass83": "03 07 D6 00 02"}.get(
        model, "03 0B B8 00 02"
    )
    assert exchange(sim.server.port, rtu("08 " + first), 9, timeout=0.3) == b""
    assert exchange(sim.server.port, rtu("00 " + first), 9, timeout=0.3) == b""  # broadcast: no reply
    reply = exchange(sim.server.port, rtu("07 " + first), 9)
    assert len(reply) == 9 and reply[:3] == bytes.fromhex("07 " + first[:2] + " 04")
    assert crc16(reply[:-2]) == reply[-2:]


def test_foreign_unit_on_tcp_is_ignored_too(lab):
    sim = lab.start(quiet("siemens-sitrans-fc-mass6000", framing="tcp", unit=1))
    request = bytes.fromhex("00 05 00 00 00 06 09 03 0B B8 00 02")
    assert exchange(sim.server.port, request, 13, timeout=0.3) == b""


# -- through the drivers ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("model", "framing"), [(m, f) for m in MODELS for f in ("tcp", "rtu")])
def test_every_model_reads_through_its_driver(lab, model, framing):
    sim = lab.start(
        FlowMeterSimulator(SimOptions("flow-x", "S2", seed=1), model=model, framing=framing, unit=4, flow=2.0)
    )
    with open_instrument(sim.url, model, "flow-x") as drv:
        drv.identify()
        readings = drv.poll()
    quantities = {r.quantity: r for r in readings}
    assert {"mass_flow", "totalizer"} <= set(quantities)
    mass = quantities["mass_flow"]
    expected = 2.0 * 3600 if mass.unit == "kg/h" else 2.0
    assert mass.value == pytest.approx(expected, rel=0.01)
    assert all(r.instrument_id == "flow-x" and r.status == "stable" for r in readings)


def test_calibration_against_the_master_finds_the_error_curve(lab):
    sim = lab.start(quiet("siemens-sitrans-fc-mass6000", framing="tcp", flow=2.0))
    sim.control("set_error_curve", points=[[0.0, 1.5], [5.0, 1.5]])
    sim.control("reset_totalizer")

    def bracketed(drv: SiemensMass6000) -> tuple[float, float, float]:
        """The meter's totaliser (kg) read over the wire, with the master's total just before and just after."""
        before = sim.state()["master_total_kg"]
        value = drv.read_quantity("totalizer").value
        return value, before, sim.state()["master_total_kg"]

    with SiemensMass6000.connect(sim.url) as drv:
        start, start_lo, start_hi = bracketed(drv)
        time.sleep(1.0)
        end, end_lo, end_hi = bracketed(drv)
        assert drv.read_quantity("mass_flow").value == pytest.approx(2.03, rel=1e-6)
    # the meter's totaliser advanced 1.5 % more than the master. The master's advance over the same interval lies
    # between its shortest and longest bracket (a loaded machine may stall between the wire read and the state).
    meter = end - start
    assert meter > 1.5
    assert meter / (end_hi - start_lo) - 0.003 <= 1.015 <= meter / (end_lo - start_hi) + 0.003


def test_set_flow_in_other_units_and_settling_through_the_driver(lab):
    sim = lab.start(quiet("krohne-gfc300", framing="tcp", flow=0.0, time_constant=0.2))
    assert sim.control("set_flow", value=7.2, unit="t/h") == pytest.approx(2.0)
    time.sleep(1.5)  # 7.5 time constants
    with open_instrument(sim.url, "krohne-gfc300") as drv:
        readings = {r.quantity: r for r in drv.poll()}
    assert readings["mass_flow"].value == pytest.approx(2.0, rel=1e-3)
    assert readings["volume_flow"].value == pytest.approx(2.0 / 998.2, rel=1e-3)
    assert sim.control("set_flow", value=1.0, unit="m3/h") == pytest.approx(998.2 / 3600)
    with pytest.raises(ValueError, match="flow unit must be one of"):
        sim.control("set_flow", value=1.0, unit="gallons")
    with pytest.raises(ValueError, match="flow must be 0"):
        sim.control("set_flow", value=-1.0)


# -- faults -----------------------------------------------------------------------------------------------------
def test_faults_give_clear_errors_naming_the_instrument_and_recover(lab):
    sim = lab.start(quiet("endress-hauser-promass83", unit=2))
    with PromassModbus.connect(parse_address(sim.url + "&timeout=0.3"), "flow-2") as drv:
        drv.identify()
        sim.control("fault", fault="drop")
        with pytest.raises(DeviceTimeoutError, match="Endress\\+Hauser Proline Promass 83 at modbus"):
            drv.read_quantity("mass_flow")
        sim.control("fault", fault="garble")
        with pytest.raises(ProtocolError, match="Endress\\+Hauser Proline Promass 83 at .*not a valid frame"):
            drv.read_quantity("mass_flow")
        sim.control("set_exception", code=6, count=1)
        with pytest.raises(DeviceError, match="Promass 83 at .*server device busy") as info:
            drv.read_quantity("mass_flow")
        assert info.value.code == "0x06"
        assert drv.read_quantity("mass_flow").value == pytest.approx(6.10383 * 3600, rel=1e-6)


def test_paced_rtu_takes_at_least_the_line_time(lab):
    spec = InstrumentSpec(
        "flow-p", "flow-meter", "S3", line="baud=19200&parity=E", params={"framing": "rtu", "noise": 0.0}
    )
    sim = lab.start(spec.build())
    started = time.monotonic()
    reply = exchange(sim.server.port, bytes.fromhex("01 03 0B B8 00 02 46 0A"), 9, timeout=2)
    elapsed = time.monotonic() - started
    assert len(reply) == 9
    char = 11 / 19200  # 8E1: 11 bits a character
    assert elapsed >= (8 + 3.5 + 9) * char * 0.95


def test_manifest_entry_and_lab_build():
    sim = InstrumentSpec(
        "flow-2", "flow-meter", "S4", params={"model": "endress-hauser-promass83", "framing": "rtu", "unit": 3}
    ).build()
    assert isinstance(sim, FlowMeterSimulator)
    entry = sim.manifest_entry()
    assert entry["model"] == "endress-hauser-promass83"
    assert (entry["protocol"], entry["unit"]) == ("modbus-rtu", 3)
    assert "unit=3" in entry["url"]
    with pytest.raises(ValueError, match="flow-9.*model must be one of"):
        InstrumentSpec("flow-9", "flow-meter", "S5", params={"model": "teapot"}).build()
    with pytest.raises(ValueError, match="flow-9"):
        InstrumentSpec("flow-9", "flow-meter", "S5", params={"nozzle": 1}).build()

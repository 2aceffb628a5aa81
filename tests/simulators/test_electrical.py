"""The electrical simulators over real loopback sockets: faithfulness check 9 of PROTOCOLS.md, the virtual wire
from the 5520A to the DMMs (a DMM calibration end to end), DMM physics, faults.

Expected formats come from the manuals (see drivers/fluke5520a.py and drivers/dmm.py): 5520A ``*IDN?`` ->
``FLUKE,5520A,<serial>,<firmware>`` with CR LF, ``OPER?`` -> ``1``/``0``, ``ERR?`` -> ``<code>,"<text>"`` down to
``0,"No Error"``; 34465A ``+0,"No error"`` and ``+9.99999999E+00`` with LF; 3458A ``HP3458A``, `` 1.000000023E+01``
with CR LF and no answer to ``*IDN?``.
"""

from __future__ import annotations

import re
import statistics
import time

import pytest

from acquisition.methods.electrical import FLUKE_5520A_1Y, calibrator_limit
from drivers.dmm import HP3458A, Keysight34465A
from drivers.errors import DeviceConnectionError, DeviceError, DeviceTimeoutError, ProtocolError
from drivers.fluke5520a import Fluke5520A
from drivers.reading import ReadingStatus
from drivers.registry import open_instrument
from drivers.transport import Backoff, SerialTransport
from simulators.base import SimOptions
from simulators.electrical import (
    Fluke5520ASimulator,
    HP3458ASimulator,
    Keysight34465ASimulator,
    VirtualWire,
    output_spec,
)
from simulators.lab import InstrumentSpec, VirtualLab
from simulators.runner import SimulatorThread

CAL_SN = "9345012"


def transport(url: str, name: str, timeout: float = 1.0) -> SerialTransport:
    return SerialTransport(f"{url}?timeout={timeout}", name=name, backoff=Backoff(0.0))


def calibrator(sim: Fluke5520ASimulator, timeout: float = 1.0) -> Fluke5520A:
    return Fluke5520A(transport(sim.url, "Fluke 5520A SN 9345012", timeout), "cal-1")


def keysight(sim: Keysight34465ASimulator, timeout: float = 1.0) -> Keysight34465A:
    return Keysight34465A(transport(sim.url, "Keysight 34465A SN MY57503456", timeout), "dmm-1")


def wired(lab: SimulatorThread, **dmm: object) -> tuple[Fluke5520ASimulator, Keysight34465ASimulator]:
    cal = Fluke5520ASimulator(SimOptions("cal-1", CAL_SN, seed=1))
    params: dict = {"input_from": "cal-1", "integration_time": False}
    params.update(dmm)
    meter = Keysight34465ASimulator(SimOptions("dmm-1", "MY57503456", seed=2), **params)
    meter.connect_lab({"cal-1": cal})
    lab.start(cal)
    lab.start(meter)
    return cal, meter


# -- 5520A raw bytes and check 9 ------------------------------------------------------------------------------
def test_5520a_identification_and_standby_at_power_up(sim_thread):
    sim = sim_thread.start(Fluke5520ASimulator(SimOptions("cal-1", CAL_SN)))
    with transport(sim.url, "raw 5520A") as t:
        idn = t.query(b"*IDN?\n")
        assert re.fullmatch(rb"FLUKE,5520A,9345012,[^,\r\n]+\r\n", idn), idn
        assert t.query(b"OPER?\n") == b"0\r\n"
        assert t.query(b"*OPC?\n") == b"1\r\n"
        assert t.query(b"ERR?\n") == b'0,"No Error"\r\n'


def test_check9_readings_refused_after_out_until_oper_confirmed(sim_thread):
    sim = sim_thread.start(Fluke5520ASimulator(SimOptions("cal-1", CAL_SN, seed=3)))
    with calibrator(sim) as cal:
        cal.set_output(10, "V")
        with pytest.raises(DeviceError, match="Fluke 5520A SN 9345012.*standby") as info:
            cal.poll()
        assert info.value.code == "STBY"
        cal.operate()
        [r] = cal.poll()
        assert (r.value, r.unit, r.status, r.quantity) == (10.0, "V", ReadingStatus.STABLE, "output")
        cal.standby()
        with pytest.raises(DeviceError):
            cal.poll()


def test_check9_err_queue_drains_to_zero(sim_thread):
    sim = sim_thread.start(Fluke5520ASimulator(SimOptions("cal-1", CAL_SN)))
    with transport(sim.url, "raw 5520A") as t:
        t.write(b"BOGUS\nOUT 10 XYZ\n")
        first = t.query(b"ERR?\n")
        second = t.query(b"ERR?\n")
        assert re.fullmatch(rb'[1-9][0-9]*,"[^"]+"\r\n', first) and re.fullmatch(rb'[1-9][0-9]*,"[^"]+"\r\n', second)
        assert t.query(b"ERR?\n") == b'0,"No Error"\r\n'
    with calibrator(sim) as cal:
        sim.control("trip")
        assert len(cal.errors()) == 1
        assert cal.errors() == []


def test_newly_selected_high_voltage_drops_to_standby(sim_thread):
    sim = sim_thread.start(Fluke5520ASimulator(SimOptions("cal-1", CAL_SN)))
    with calibrator(sim) as cal:
        cal.set_output(10, "V")
        cal.operate()
        cal.set_output(100, "V")  # [OM]: 33 V or more newly selected -> standby
        assert not cal.is_operating()
        cal.operate()
        cal.set_output(120, "V")
        assert cal.is_operating()
        cal.set_limits(50, -50)
        with pytest.raises(DeviceError, match="refused"):
            cal.set_output(60, "V")


def test_driver_identifies_and_registry_opens_it(sim_thread):
    sim = sim_thread.start(Fluke5520ASimulator(SimOptions("cal-1", CAL_SN), firmware="2.1"))
    with open_instrument(sim.url, "fluke-5520a", "cal-1") as cal:
        info = cal.identify()
        assert (info.model, info.serial_number, info.firmware) == ("5520A", CAL_SN, "2.1")


# -- virtual wire: a DMM calibration end to end -----------------------------------------------------------------
def test_dmm_reads_the_calibrator_through_the_wire(sim_thread):
    cal_sim, dmm_sim = wired(sim_thread)
    with calibrator(cal_sim) as cal, keysight(dmm_sim) as dmm:
        cal.set_output(10, "V")
        cal.operate()
        dmm.configure("dc_voltage", 10)
        dmm.set_nplc(1)
        sigma = 10 * 1e-6  # 1 ppm of the 10 V range at NPLC 1
        r = dmm.read()
        assert (r.unit, r.quantity, r.status) == ("V", "dc_voltage", ReadingStatus.STABLE)
        assert abs(r.value - 10) <= output_spec(10, "V") + 6 * sigma
        assert r.value != 10.0  # the output error and noise are there
        cal.standby()
        assert abs(dmm.read().value) <= 6 * sigma  # STBY: nothing on the terminals


def test_dmm_sees_ac_only_in_ac_function(sim_thread):
    cal_sim, dmm_sim = wired(sim_thread)
    with calibrator(cal_sim) as cal, keysight(dmm_sim) as dmm:
        cal.set_output(1, "V", 1000)
        cal.operate()
        assert dmm.measure("ac_voltage").value == pytest.approx(1, abs=1e-3)
        assert abs(dmm.measure("dc_voltage").value) < 1e-3


def test_3458a_wired_in_a_virtual_lab():
    specs = [
        InstrumentSpec("cal-1", "fluke-5520a", CAL_SN, seed=1, params={"output": 10.0, "operate": True}),
        InstrumentSpec("dmm-2", "hp-3458a", "2823A12345", seed=2, params={"input_from": "cal-1"}),
    ]
    with VirtualLab(specs) as lab:
        entry = next(e for e in lab.manifest()["instruments"] if e["id"] == "dmm-2")
        assert entry["input_from"] == "cal-1" and entry["protocol"] == "hp3458a"
        with HP3458A(transport(entry["url"], "HP 3458A", 2.0), "dmm-2") as dmm:
            assert dmm.identify().model == "HP3458A"
            dmm.setup()
            dmm.set_nplc(1)
            r = dmm.measure("dc_voltage", 10)
            assert abs(r.value - 10) <= output_spec(10, "V") + 1e-5
            lab.control("cal-1", "standby")
            assert abs(dmm.read().value) < 1e-5


def test_lab_rejects_input_from_an_unknown_source():
    specs = [InstrumentSpec("dmm-1", "keysight-34465a", "MY1", params={"input_from": "cal-9"})]
    with pytest.raises(ValueError, match="cal-9"):
        VirtualLab(specs).start()


# -- DMM physics -----------------------------------------------------------------------------------------------
def test_noise_falls_with_nplc(sim_thread):
    sim = sim_thread.start(
        Keysight34465ASimulator(SimOptions("dmm-1", "MY1", seed=4), integration_time=False, noise_ppm=1.0)
    )
    sim.control("apply", value=5.0, unit="V")
    with keysight(sim) as dmm:
        dmm.configure("dc_voltage", 10)
        dmm.set_nplc(0.02)
        fast = statistics.stdev(dmm.read().value for _ in range(30))
        dmm.set_nplc(100)
        slow = statistics.stdev(dmm.read().value for _ in range(30))
    assert fast > 10 * slow  # sqrt(100 / 0.02) = 71


def test_range_overload_and_configured_error(sim_thread):
    sim = sim_thread.start(Keysight34465ASimulator(SimOptions("dmm-1", "MY1", seed=5), integration_time=False))
    sim.control("apply", value=10.0, unit="V")
    with keysight(sim) as dmm:
        dmm.configure("dc_voltage", 1)
        assert dmm.read().status is ReadingStatus.OVERLOAD
        dmm.configure("dc_voltage")  # autorange
        sim.control("set_error", gain_error_ppm=100, offset=0.0)
        dmm.set_nplc(100)
        assert dmm.read().value == pytest.approx(10.001, abs=5e-5)
        sim.control("disconnect")
        dmm.configure("resistance")
        assert dmm.read().status is ReadingStatus.OVERLOAD  # open input


def test_34465a_raw_scpi_and_invalid_nplc(sim_thread):
    sim = sim_thread.start(Keysight34465ASimulator(SimOptions("dmm-1", "MY57503456"), integration_time=False))
    with transport(sim.url, "raw 34465A") as t:
        idn = t.query(b"*IDN?\n", terminator=b"\n")
        assert re.fullmatch(rb"Keysight Technologies,34465A,MY57503456,A\.\d\d\.\d\d-[-.0-9]+\n", idn), idn
        t.write(b"CONFIGURE:VOLTAGE:DC 10\nSENS:VOLT:DC:NPLC 5\n")
        assert t.query(b"SYST:ERR?\n", terminator=b"\n") == b'-224,"Illegal parameter value"\n'
        assert t.query(b"SYSTEM:ERROR?\n", terminator=b"\n") == b'+0,"No error"\n'
        assert re.fullmatch(rb"[+-]\d\.\d{8}E[+-]\d\d\n", t.query(b"READ?\n", terminator=b"\n"))
        t.write(b"FOO:BAR\n")
        assert t.query(b"SYST:ERR?\n", terminator=b"\n") == b'-113,"Undefined header"\n'


def test_3458a_raw_bytes_and_no_answer_to_idn(sim_thread):
    sim = sim_thread.start(HP3458ASimulator(SimOptions("dmm-2", "2823A12345"), integration_time=False))
    with transport(sim.url, "raw 3458A", 0.3) as t:
        assert t.query(b"ID?\r\n") == b"HP3458A\r\n"
        t.write(b"END ALWAYS;PRESET NORM;DCV 10;NPLC 1\r\n")
        assert re.fullmatch(rb"[ -]\d\.\d{9}E[+-]\d\d\r\n", t.query(b"TRIG SGL\r\n"))
        with pytest.raises(DeviceTimeoutError):
            t.query(b"*IDN?\r\n")
        assert t.query(b"ERRSTR?\r\n") != b'0,"NO ERROR"\r\n'
        assert t.query(b"ERRSTR?\r\n") == b'0,"NO ERROR"\r\n'


def test_integration_time_follows_nplc(sim_thread):
    sim = sim_thread.start(Keysight34465ASimulator(SimOptions("dmm-1", "MY1")))
    with keysight(sim, timeout=2.0) as dmm:
        dmm.configure("dc_voltage", 10)
        started = time.monotonic()
        dmm.read()  # NPLC 10 at 50 Hz = 0.2 s
        assert time.monotonic() - started >= 0.19


def test_wire_is_thread_safe_value_object():
    wire = VirtualWire()
    assert not wire.level().operate


# -- faults ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("which", ["cal", "dmm"])
def test_faults_give_clear_errors_naming_the_instrument_and_recover(sim_thread, which):
    cal_sim, dmm_sim = wired(sim_thread)
    cal_sim.control("operate")
    sim = cal_sim if which == "cal" else dmm_sim
    inst = calibrator(cal_sim, 0.3) if which == "cal" else keysight(dmm_sim, 0.3)
    name = "Fluke 5520A SN 9345012" if which == "cal" else "Keysight 34465A SN MY57503456"
    with inst:
        inst.poll()
        sim.control("fault", fault="drop")
        with pytest.raises(DeviceTimeoutError, match=name):
            inst.poll()
        sim.control("fault", fault="garble")
        with pytest.raises(ProtocolError, match=name):
            inst.poll()
        sim.control("fault", fault="disconnect")
        with pytest.raises(DeviceConnectionError, match=name):
            inst.poll()
        assert inst.poll()[0].unit == "V"


def test_the_simulated_5520a_draws_its_error_from_the_methods_1_year_table() -> None:
    """The simulator keeps its own copy of the 5520A rows (it may not import acquisition): at both ends and the
    middle of every row of acquisition.methods.electrical.FLUKE_5520A_1Y, and at both ends and the middle of its
    frequency band, output_spec equals calibrator_limit (so the demo's output error stays within error_fraction of
    the a its U is built from). Outside every row the simulator's band is 0.1 % of the value."""
    unit = {"DCV": "V", "ACV": "V", "DCI": "A", "ACI": "A", "OHM": "OHM"}
    checked = 0
    for b in FLUKE_5520A_1Y.bands:
        for x in (b.low, (b.low + b.high) / 2, b.high):
            for f in {b.f_low, (b.f_low + b.f_high) / 2, b.f_high}:
                expected = calibrator_limit(FLUKE_5520A_1Y, b.function, x, f)
                assert output_spec(x, unit[b.function], f) == pytest.approx(expected, rel=1e-12), (b, x, f)
                checked += 1
    assert checked > 3 * len(FLUKE_5520A_1Y.bands)
    assert output_spec(10.0, "V", 50e3) == pytest.approx(10e-3, rel=1e-12)  # ACV 10 V at 50 kHz: no row

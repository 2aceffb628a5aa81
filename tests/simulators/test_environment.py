"""The virtual Comet thermo-hygro-barometer through the real driver, over real sockets."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator

import pytest

from drivers.address import SerialSettings
from drivers.environment import CometT7310, CometT7510
from drivers.errors import DeviceConnectionError, DeviceError, DeviceTimeoutError, ProtocolError
from drivers.reading import ReadingStatus
from drivers.registry import open_instrument
from simulators.base import SimOptions
from simulators.environment import EnvironmentSimulator, dew_point
from simulators.runner import SimulatorThread


@pytest.fixture(scope="module")
def lab() -> Iterator[SimulatorThread]:
    with SimulatorThread() as thread:
        yield thread


def values(driver) -> dict[str, float]:
    return {r.quantity: r.value for r in driver.poll()}


@pytest.mark.parametrize(("framing", "driver_cls"), [("tcp", CometT7510), ("rtu", CometT7310)])
def test_driver_reads_the_simulator(lab, framing, driver_cls):
    sim = lab.start(EnvironmentSimulator(SimOptions("env1", "20123456", seed=3), framing=framing, noise=0))
    with driver_cls.connect(sim.url, "env1") as drv:
        info = drv.identify()
        assert info.serial_number == "20123456"
        assert values(drv) == {"temperature": 21.5, "humidity": 50.0, "pressure": 1008.0}
        sim.control("set_conditions", temperature=23.0, pressure=1013.2)
        assert values(drv) == {"temperature": 23.0, "humidity": 50.0, "pressure": 1013.2}
        sim.control("set_sensor_error", quantity="humidity")
        readings = {r.quantity: r for r in drv.poll()}
        assert readings["humidity"].status is ReadingStatus.ERROR and math.isnan(readings["humidity"].value)
        assert readings["temperature"].status is ReadingStatus.STABLE
        sim.control("set_sensor_error", quantity="humidity", on=False)
        assert all(r.status is ReadingStatus.STABLE for r in drv.poll())


def test_noise_and_drift_stay_in_a_realistic_band(lab):
    sim = lab.start(
        EnvironmentSimulator(SimOptions("env2", "1", seed=7), temperature=21.0, humidity=45.0, pressure=1005.0)
    )
    with CometT7510.connect(sim.url) as drv:
        for _ in range(20):
            v = values(drv)
            assert abs(v["temperature"] - 21.0) < 0.5
            assert abs(v["humidity"] - 45.0) < 2.5
            assert abs(v["pressure"] - 1005.0) < 0.5


def test_faithfulness_check_7_rtu(lab):
    sim = lab.start(EnvironmentSimulator(SimOptions("env3", "12345678"), framing="rtu", unit=3))
    with CometT7310.connect(sim.url + "&timeout=0.3", "env3") as drv:
        drv.identify()
        with pytest.raises(DeviceError) as info:
            drv.transport.read_holding_registers(0x0100, 1)
        assert info.value.code == "0x02" and "Comet T7310 SN 12345678" in str(info.value)
    with (
        CometT7310.connect(sim.url.replace("unit=3", "unit=4") + "&timeout=0.3") as stranger,
        pytest.raises(DeviceTimeoutError),
    ):
        stranger.poll()


def test_t7510_answers_any_unit_on_tcp_and_only_function_3(lab):
    sim = lab.start(EnvironmentSimulator(SimOptions("env4", "12345678"), framing="tcp", noise=0))
    with CometT7510.connect(sim.url.replace("unit=1", "unit=9") + "&timeout=0.5") as drv:
        assert values(drv)["temperature"] == 21.5
        with pytest.raises(DeviceError) as info:
            drv.transport.read_input_registers(0x30, 1)
        assert info.value.code == "0x01"


def test_paced_rtu_9600_8n2(lab):
    settings = SerialSettings(baud=9600, stopbits=2)  # the T7310's line (8 data bits, 2 stop bits, no parity)
    sim = lab.start(EnvironmentSimulator(SimOptions("env5", "12345678", settings=settings), framing="rtu", noise=0))
    with CometT7310.connect(sim.url, "env5") as drv:
        drv.poll()
        start = time.monotonic()
        drv.poll()
        elapsed = time.monotonic() - start
    # 8-byte request + 3.5-character gap + 13-byte reply at 11 bits per character
    assert elapsed >= (8 + 3.5 + 13) * 11 / 9600 * 0.95


def test_faults_name_the_instrument_then_recover(lab):
    sim = lab.start(EnvironmentSimulator(SimOptions("env6", "12345678"), framing="rtu", noise=0))
    with CometT7310.connect(sim.url + "&timeout=0.3", "env6") as drv:
        drv.identify()
        name = "Comet T7310 SN 12345678"
        sim.control("fault", fault="drop")
        with pytest.raises(DeviceTimeoutError, match=name):
            drv.poll()
        sim.control("fault", fault="garble")
        with pytest.raises(ProtocolError, match=name):
            drv.poll()
        sim.control("fault", fault="disconnect", count=2)
        with pytest.raises(DeviceConnectionError, match=name):
            drv.poll()
        time.sleep(0.3)  # the transport's reconnection back-off
        assert values(drv)["pressure"] == 1008.0


def test_controls_are_thread_safe_while_polling(lab):
    sim = lab.start(EnvironmentSimulator(SimOptions("env7", "12345678"), noise=0))
    stop = threading.Event()

    def churn() -> None:
        t = 20.0
        while not stop.is_set():
            t = 42.0 - t  # 22.0, 20.0, 22.0, ...
            sim.control("set_conditions", temperature=t)

    worker = threading.Thread(target=churn)
    worker.start()
    try:
        with CometT7510.connect(sim.url) as drv:
            for _ in range(20):
                assert values(drv)["temperature"] in (20.0, 21.5, 22.0)
    finally:
        stop.set()
        worker.join(2)


def test_manifest_and_registry(lab):
    tcp = lab.start(EnvironmentSimulator(SimOptions("env8", "1"), framing="tcp"))
    rtu_sim = lab.start(EnvironmentSimulator(SimOptions("env9", "2"), framing="rtu", unit=5))
    assert tcp.manifest_entry()["model"] == "comet-t7510" and tcp.manifest_entry()["unit"] == 1
    entry = rtu_sim.manifest_entry()
    assert (entry["model"], entry["protocol"], entry["unit"]) == ("comet-t7310", "modbus-rtu", 5)
    with open_instrument(entry["url"], entry["model"], entry["id"]) as drv:
        assert drv.identify().serial_number == "00000002"


def test_bad_controls_and_parameters():
    sim = EnvironmentSimulator(SimOptions("env10", "1"))
    with pytest.raises(ValueError, match="humidity"):
        sim.control("set_conditions", humidity=120)
    with pytest.raises(ValueError, match="quantity"):
        sim.control("set_sensor_error", quantity="wind")
    with pytest.raises(ValueError, match="unknown action"):
        sim.control("explode")
    with pytest.raises(ValueError, match="8 digits"):
        EnvironmentSimulator(SimOptions("env11", "B123"))
    with pytest.raises(ValueError, match="framing"):
        EnvironmentSimulator(SimOptions("env12", "1"), framing="ascii")  # type: ignore[arg-type]


def test_dew_point_reference():
    # Magnus formula (Sonntag 1990 constants): 20 °C, 50 %RH -> about 9.3 °C
    assert dew_point(20.0, 50.0) == pytest.approx(9.26, abs=0.05)

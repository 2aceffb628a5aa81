"""The air density of a run from its environment steps (shared by the balance and weight procedures).

The environment role's instrument (a thermo-hygro-barometer) is read at the start and the end of a run. The air
density is evaluated at the mean temperature (°C), pressure (hPa) and humidity (%RH) by the CIPM-2007 equation
(or OIML R111-1:2004 E.3-1), with u(ρ_a) propagated from each quantity's standard uncertainty: the sensor's
(its certificate's U/k, or a value the run gives) combined with the change seen during the run, taken as
rectangular over the range seen (u = range/√12) — :func:`acquisition.methods.weights.air_density_with_uncertainty`.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from typing import Literal

from acquisition.methods.weights import AirDensity, air_density_with_uncertainty
from acquisition.procedures.base import StandardUsed, StepData

__all__ = ["ENV_QUANTITIES", "environment_readings", "run_air_density", "sensor_uncertainty"]

ENV_QUANTITIES = ("temperature", "humidity", "pressure")
_UNITS = {"temperature": "°C", "humidity": "%RH", "pressure": "hPa"}


def environment_readings(data: Mapping[str, StepData]) -> dict[str, list[float]]:
    """The finite readings per quantity (°C, %RH, hPa) of every environment step of a run."""
    seen: dict[str, list[float]] = {q: [] for q in ENV_QUANTITIES}
    for sd in data.values():
        if not sd.step.environment:
            continue
        for quantity, value in zip(sd.quantities, sd.values, strict=False):
            if quantity in seen and math.isfinite(value):
                seen[quantity].append(value)
    return seen


def sensor_uncertainty(
    standard: StandardUsed,
    given: Mapping[str, float | None] | None = None,
    *,
    parameters: Mapping[str, str] | None = None,
    hint: str = "",
) -> dict[str, float]:
    """Standard uncertainty per quantity of the environment instrument (°C, %RH, hPa): ``given`` first (a run's
    parameters, named in ``parameters``), else the largest U/k of its certificate rows ``{"quantity": ..., "U": ...,
    "k": ...}``. ValueError names what to add (the parameter too, and ``hint``: what else the caller accepts)."""
    out: dict[str, float] = {}
    for quantity in ENV_QUANTITIES:
        value = None if given is None else given.get(quantity)
        if value is None:
            rows = [r for r in standard.values if r.get("quantity") == quantity and r.get("U") is not None]
            if rows:
                value = max(float(r["U"]) / float(r.get("k", 2.0)) for r in rows)
        if value is None or not math.isfinite(value) or value < 0:
            name = (parameters or {}).get(quantity)
            raise ValueError(
                f"the {quantity} uncertainty of {standard.code} (certificate {standard.certificate or '?'}) is "
                f'unknown, needed for u of the air density: add a certificate row {{"quantity": "{quantity}", '
                f'"U": ..., "k": 2}} ({_UNITS[quantity]})' + (f" or give parameter {name}" if name else "") + hint
            )
        out[quantity] = value
    return out


def run_air_density(
    data: Mapping[str, StepData],
    u_sensor: Mapping[str, float],
    *,
    formula: Literal["cipm2007", "r111"] = "cipm2007",
    pressure: float | None = None,
    hint: str = "",
) -> tuple[AirDensity, dict[str, dict[str, float]], str]:
    """ρ_a (kg/m³) with its u from the run's environment readings and the sensors' standard uncertainties; per
    quantity the mean, the u used and the number of readings; and a note. ``pressure`` (hPa) stands in for an
    instrument without a barometer (the note says so). ValueError when a quantity has no reading."""
    env = environment_readings(data)
    note = ""
    if not env["pressure"] and pressure is not None:
        env["pressure"] = [pressure]
        note = f"Pressure {pressure:g} hPa from parameter pressure_hpa (no barometer reading)."
    for quantity in ENV_QUANTITIES:
        if not env[quantity]:
            raise ValueError(
                f"no valid {quantity} reading in the environment steps, needed for the air density: check the "
                f"environment instrument and resume{hint}"
            )
    means = {q: statistics.fmean(v) for q, v in env.items()}
    u = {q: math.hypot(u_sensor[q], (max(v) - min(v)) / math.sqrt(12.0)) for q, v in env.items()}
    rho = air_density_with_uncertainty(
        means["temperature"],
        means["pressure"],
        means["humidity"],
        u_t=u["temperature"],
        u_p=u["pressure"],
        u_h=u["humidity"],
        formula=formula,
    )
    return rho, {q: {"mean": means[q], "u": u[q], "n": len(env[q])} for q in ENV_QUANTITIES}, note

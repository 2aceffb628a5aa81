"""Demo of ``weight-calibration-r111``: a 200 g F1 stainless-steel weight (density 8000 kg/m³, U 140 kg/m³ stated by
its maker — demo data) against an E2 200 g reference weight on a simulated MT-SICS mass comparator (220 g,
d = 0.01 mg, settled noise 0.01 mg), with the COMET thermo-hygro-barometer.

The virtual operator puts the true conventional mass of the weight asked for on the comparator pan: the reference's
certificate value (200.000 05 g) or the test weight's :attr:`WeightR111Demo.test_mass_g` (200.000 60 g, 0.6 mg
heavy; F1 200 g allows ±1.0 mg). Both weights have the density 8000 kg/m³, so the buoyancy correction is zero and
the comparator's difference of conventional masses is what the procedure should find.

The comparator's (demo) certificate gives the balance terms of R111-1:2004 C.6.4: its resolution, repeatability,
sensitivity (S = 1, U_rel = 2·10⁻⁴ at k = 2) and an eccentricity test (D = 0.05 mg at 200 g, off-centre positions
30 mm from the centre); the run declares the weights centred within 3 mm. The reference has a previous certificate,
two years before the one in force, 0.02 mg lighter: its drift u_inst (C.6.2) is a rectangular of half-width 0.02 mg.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, ClassVar

from sqlalchemy.orm import Session

from acquisition.channel import OperatorAction
from lab.base import ENVIRONMENT_STANDARD, DemoScenario, instrument, standard, start_environment
from registry.models import MetrologyField, StandardCertificate
from simulators.base import SimOptions
from simulators.mtsics import MtSicsSimulator
from simulators.runner import SimulatorThread

SERIAL = "QC-F1-200-0001"
NOMINAL_G = 200.0
#: true conventional mass of the demo weight (g): 0.6 mg heavy
TEST_MASS_G = 200.00060
#: E2 reference: conventional mass (g), U (g, k = 2), density and its U (kg/m³, k = 2)
REFERENCE_G, REFERENCE_U_G = 200.00005, 0.0001
REFERENCE_DENSITY, REFERENCE_DENSITY_U = 8000.0, 30.0
#: the reference's previous certificate (two years earlier): 0.02 mg lighter, g
REFERENCE_PREVIOUS_G = 200.00003
#: the simulated comparator: readability d and settled noise (standard deviation), g
COMPARATOR_D_G = 0.00001
COMPARATOR_NOISE_G = 0.00001
#: repeatability on the comparator's (demo) certificate: standard deviation of one indication at 200 g, g
COMPARATOR_REPEATABILITY_G = 0.00002
#: sensitivity on the comparator's (demo) certificate: S and its relative expanded uncertainty (k = 2)
COMPARATOR_SENSITIVITY, COMPARATOR_SENSITIVITY_U_REL = 1.0, 0.0002
#: eccentricity test on the comparator's (demo) certificate: D (g) at 200 g, off-centre positions at d2 (mm)
COMPARATOR_ECCENTRICITY_G, COMPARATOR_ECCENTRICITY_D2_MM = 0.00005, 30.0
#: the run's estimate of the distance between the centres of the two weights on the pan, mm
CENTRING_DISTANCE_MM = 3.0
REFERENCE_CODE = "DEMO-W-E2-200"
COMPARATOR_CODE = "DEMO-COMP-220"


class WeightR111Demo(DemoScenario):
    """R111 ABBA calibration of the demo 200 g F1 weight."""

    procedure = "weight-calibration-r111"
    instrument = SERIAL
    standards: ClassVar[dict[str, str]] = {
        "reference": REFERENCE_CODE,
        "comparator": COMPARATOR_CODE,
        "environment": ENVIRONMENT_STANDARD,
    }
    parameters: ClassVar[dict[str, Any]] = {
        "nominal_g": NOMINAL_G,
        "cycles": 3,
        "test_density_kg_m3": 8000.0,
        "test_density_U_kg_m3": 140.0,
        # the shared demo thermo-hygro-barometer's certificate has no rows: its standard uncertainties (demo data)
        "u_temperature_c": 0.2,
        "u_humidity_pct": 2.0,
        "u_pressure_hpa": 0.5,
        "centring_distance_mm": CENTRING_DISTANCE_MM,
    }

    def __init__(self) -> None:
        self.comparator: MtSicsSimulator | None = None
        #: what the virtual operator puts on the pan for ``weight = "test"`` (g); change it to simulate another weight
        self.test_mass_g = TEST_MASS_G

    def seed(self, s: Session, today: date) -> None:
        instrument(
            s,
            SERIAL,
            kind="Quả cân",
            field=MetrologyField.MASS,
            manufacturer="Demo Weights",
            model="200 g F1, stainless steel, 8000 kg/m³",
            range_min=NOMINAL_G,
            range_max=NOMINAL_G,
            range_unit="g",
            accuracy_class="F1",
        )
        reference = standard(
            s,
            today,
            code=REFERENCE_CODE,
            name="Quả cân chuẩn E2 200 g (demo)",
            kind="reference weight",
            field=MetrologyField.MASS,
            range_min=NOMINAL_G,
            range_max=NOMINAL_G,
            range_unit="g",
            accuracy_class="E2",
            values=[
                {
                    "point": NOMINAL_G,
                    "value": REFERENCE_G,
                    "unit": "g",
                    "U": REFERENCE_U_G,
                    "k": 2,
                    "density_kg_m3": REFERENCE_DENSITY,
                    "density_U_kg_m3": REFERENCE_DENSITY_U,
                }
            ],
        )
        standard(
            s,
            today,
            code=COMPARATOR_CODE,
            name="Cân so sánh khối lượng 220 g / 0,01 mg (demo, MT-SICS)",
            kind="mass comparator",
            field=MetrologyField.MASS,
            manufacturer="Mettler Toledo",
            model="comparator 220 g, d = 0.01 mg (simulated)",
            range_min=0.0,
            range_max=220.0,
            range_unit="g",
            resolution=COMPARATOR_D_G,
            values=[
                {"quantity": "resolution", "value": COMPARATOR_D_G, "unit": "g"},
                {"quantity": "repeatability", "point": NOMINAL_G, "value": COMPARATOR_REPEATABILITY_G, "unit": "g"},
                {
                    "quantity": "sensitivity",
                    "value": COMPARATOR_SENSITIVITY,
                    "U_rel": COMPARATOR_SENSITIVITY_U_REL,
                    "k": 2,
                },
                {
                    "quantity": "eccentricity",
                    "point": NOMINAL_G,
                    "value": COMPARATOR_ECCENTRICITY_G,
                    "unit": "g",
                    "distance_mm": COMPARATOR_ECCENTRICITY_D2_MM,
                },
            ],
        )
        if len(reference.certificates) == 1:  # the previous certificate: the drift of the reference (R111 C.6.2)
            current = reference.certificates[0]
            reference.certificates.append(
                StandardCertificate(
                    issuer=current.issuer,
                    number=f"{current.number}-PREV",
                    calibrated_on=current.calibrated_on - timedelta(days=730),
                    issued_on=current.calibrated_on - timedelta(days=728),
                    due_on=current.calibrated_on - timedelta(days=1),
                    values=[
                        {
                            "point": NOMINAL_G,
                            "value": REFERENCE_PREVIOUS_G,
                            "unit": "g",
                            "U": REFERENCE_U_G,
                            "k": 2,
                            "density_kg_m3": REFERENCE_DENSITY,
                            "density_U_kg_m3": REFERENCE_DENSITY_U,
                        }
                    ],
                )
            )
            s.flush()

    def start(self, sims: SimulatorThread) -> dict[str, tuple[str, str]]:
        sim = sims.start(
            MtSicsSimulator(
                SimOptions("comp-1", "C220000001", seed=17),
                resolution=COMPARATOR_D_G,
                noise=COMPARATOR_NOISE_G,
                balance_type="COMPARATOR-220",
                settle_time=0.1,
                stability_timeout=0.3,
            )
        )
        assert isinstance(sim, MtSicsSimulator)
        self.comparator = sim
        return {"comparator": (f"{sim.url}?timeout=1", "mt-sics"), "environment": start_environment(sims)}

    def act(self, action: OperatorAction) -> None:
        assert self.comparator is not None, "start the scenario first"
        if action.kind != "place-weight":
            raise ValueError(f"the weights demo cannot perform {action.kind!r}")
        weight = action.params["weight"]
        self.comparator.control("place", load_g=REFERENCE_G if weight == "reference" else self.test_mass_g)

"""The procedures caltrace can run, by id (the ids are part of the contract: runs and certificates cite them).

Each procedure module is imported on first use, so listing the ids costs nothing.
"""

from __future__ import annotations

import importlib

from acquisition.procedures.base import Procedure

#: procedure id -> "module:Class"
PROCEDURES: dict[str, str] = {
    "nawi-calibration-cg18": "acquisition.procedures.nawi_cg18:NawiCalibrationCg18",
    "nawi-verification-r76": "acquisition.procedures.nawi_r76:NawiVerificationR76",
    "weight-calibration-r111": "acquisition.procedures.weights_r111:WeightCalibrationR111",
    "water-meter-verification-r49": "acquisition.procedures.water_r49:WaterMeterVerificationR49",
    "flow-meter-calibration": "acquisition.procedures.flow_calibration:FlowMeterCalibration",
    "dmm-calibration": "acquisition.procedures.dmm:DmmCalibration",
    "prepackage-r87": "acquisition.procedures.prepackage_r87:PrepackageR87",
}


def procedure_ids() -> list[str]:
    """Every procedure id, in the order above."""
    return list(PROCEDURES)


def get_procedure(code: str) -> Procedure:
    """A new instance of the procedure ``code``; LookupError names the known ids."""
    try:
        target = PROCEDURES[code]
    except KeyError:
        raise LookupError(f"no procedure {code!r}; known procedures: {', '.join(PROCEDURES)}") from None
    module_name, _, class_name = target.partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    procedure = cls()
    if not isinstance(procedure, Procedure) or procedure.definition.code != code:
        raise TypeError(f"{target} is not the procedure {code}")
    return procedure

"""The driver registry: model name -> driver class.

Models are data: an instrument record names its model, and this table says which driver speaks to it. Drivers
are imported on first use, so a broken optional driver never stops the others.
Adding an instrument = one line here, one driver module, one simulator, one byte-level test, one doc paragraph.
"""

from __future__ import annotations

import importlib

from drivers.address import Address, parse_address
from drivers.base import Instrument
from drivers.errors import UnknownModelError

#: model name (lower case) -> "module:Class"
DRIVERS: dict[str, str] = {
    "manual": "drivers.manual:ManualEntry",
    "mt-sics": "drivers.mtsics:MtSicsBalance",
    "mettler-toledo": "drivers.mtsics:MtSicsBalance",
    "sartorius-sbi": "drivers.sartorius_sbi:SartoriusBalance",
    "sartorius": "drivers.sartorius_sbi:SartoriusBalance",
    "comet-t7510": "drivers.environment:CometT7510",
    "comet-t7310": "drivers.environment:CometT7310",
    "siemens-sitrans-fc-mass6000": "drivers.flowmeter:SiemensMass6000",
    "endress-hauser-promass83": "drivers.flowmeter:PromassModbus",
    "krohne-gfc300": "drivers.flowmeter:KrohneGfc300",
    "fluke-5520a": "drivers.fluke5520a:Fluke5520A",
    "keysight-34465a": "drivers.dmm:Keysight34465A",
    "hp-3458a": "drivers.dmm:HP3458A",
}


def models() -> list[str]:
    """Every registered model name, sorted."""
    return sorted(DRIVERS)


def driver_class(model: str) -> type[Instrument]:
    """The driver class for ``model`` (case-insensitive; spaces and underscores count as hyphens)."""
    key = "-".join(model.replace("_", " ").lower().split())
    try:
        target = DRIVERS[key]
    except KeyError:
        raise UnknownModelError(f"no driver for model {model!r}; known models: {', '.join(models())}") from None
    module_name, _, class_name = target.partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    if not (isinstance(cls, type) and issubclass(cls, Instrument)):
        raise TypeError(f"{target} is not an Instrument driver")
    return cls


def open_instrument(address: Address | str, model: str, instrument_id: str = "") -> Instrument:
    """Driver for ``model`` connected to ``address`` (a URL or a parsed :class:`Address`)."""
    parsed = parse_address(address) if isinstance(address, str) else address
    return driver_class(model).connect(parsed, instrument_id or parsed.shown)

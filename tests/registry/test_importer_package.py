"""The importer package stays split by concern: no module grows back into a 2000-line file, and the names callers
import from ``registry.importer`` keep working."""

from __future__ import annotations

from pathlib import Path

import registry.importer

#: the most lines one module of the package may have (docs/decisions/0350-shared-units-module.md): past it, split
#: the module by concern rather than raise the bound
MAX_MODULE_LINES = 450


def test_no_importer_module_exceeds_the_documented_size() -> None:
    package = Path(registry.importer.__file__).parent
    sizes = {path.name: len(path.read_text(encoding="utf-8").splitlines()) for path in package.glob("*.py")}
    assert len(sizes) >= 9  # the package's modules were found
    assert {name: n for name, n in sizes.items() if n > MAX_MODULE_LINES} == {}


def test_every_exported_name_is_there() -> None:
    missing = [name for name in registry.importer.__all__ if not hasattr(registry.importer, name)]
    assert missing == []
    for name in ("import_instruments", "import_instruments_concurrently", "import_lots", "import_lots_concurrently"):
        assert callable(getattr(registry.importer, name))

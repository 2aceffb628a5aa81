"""The virtual lab is a fixture of demo mode, not part of the API.

import-linter (run by CI) enforces the static boundary: only ``lab`` imports ``simulators``, and nothing below
``api`` imports ``lab``. Import-linter counts an import inside a function like any other, so it cannot see that
``api`` imports ``lab`` lazily; this test checks that at run time: importing every ``api`` module loads neither
``lab`` nor ``simulators``.
"""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import importlib, pkgutil, sys
imported = 0
for name in {packages!r}:
    package = importlib.import_module(name)
    imported += 1
    for info in pkgutil.walk_packages(getattr(package, "__path__", []), name + "."):
        importlib.import_module(info.name)
        imported += 1
loaded = sorted({{m.partition(".")[0] for m in sys.modules}} & {{"lab", "simulators"}})
print(imported, ",".join(loaded))
"""


def _import(*packages: str) -> tuple[int, list[str]]:
    """Import ``packages`` and their submodules in a fresh interpreter: (modules imported, lab/simulators loaded)."""
    code = PROBE.format(packages=packages)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    count, _, loaded = done.stdout.strip().partition(" ")
    return int(count), [m for m in loaded.split(",") if m]


def test_importing_every_api_module_loads_neither_lab_nor_simulators() -> None:
    count, loaded = _import("api")
    assert count > 10  # api, api.cli and every command module were imported
    assert loaded == []


def test_the_probe_sees_the_lab_when_it_is_imported() -> None:
    """The check above can fail: importing the demo scenarios loads both."""
    assert _import("lab")[1] == ["lab", "simulators"]


def test_the_virtual_lab_command_does_not_load_the_registry() -> None:
    """`caltrace simulate` needs lab.virtual only; the scenarios (registry, ORM) load when a demo runs."""
    code = "import sys, lab.virtual; print(','.join(sorted({'sqlalchemy', 'registry', 'lab.base'} & set(sys.modules))))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == ""

"""`caltrace` starts without loading the heavy libraries: each command imports what it needs when it runs."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("scipy", "numpy", "sqlalchemy", "alembic", "openpyxl", "pymodbus", "influxdb_client")


def test_importing_the_cli_loads_no_heavy_library() -> None:
    code = f"import sys, api.cli; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == ""

"""Debian's Chromium driven by Playwright (never a browser Playwright downloads), and a real ``caltrace serve
--demo`` process for it to open. Without Chromium the tests are skipped with the reason, and fail under CI=true
(a missing package must not turn a CI run green)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.ports import server_port

CHROMIUM = "/usr/bin/chromium"
#: as the machine's own probe starts it: headless, as root without the sandbox, and no connection beyond loopback
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CALTRACE = str(Path(sys.executable).with_name("caltrace"))


def need_chromium() -> str:
    """Chromium's path; skip (or fail under CI=true) without it."""
    if Path(CHROMIUM).is_file() or shutil.which("chromium"):
        return CHROMIUM if Path(CHROMIUM).is_file() else str(shutil.which("chromium"))
    reason = "Debian's chromium is not installed (scripts/system-packages.sh installs it)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"Chromium is needed under CI=true: {reason}")
    pytest.skip(reason)


@contextmanager
def chromium() -> Iterator[Any]:
    """A Playwright ``Browser`` on Debian's Chromium (Playwright gives it a fresh temporary profile)."""
    from playwright.sync_api import sync_playwright

    path = need_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class DemoService:
    """A running ``caltrace serve --demo``: its URL and the printed logins (username -> password)."""

    url: str
    logins: dict[str, str] = field(default_factory=dict)
    data_dir: Path = Path()


@contextmanager
def demo_service(tmp_path: Path, password: str = "demo-pass-1") -> Iterator[DemoService]:
    """``caltrace serve --demo`` on a free loopback port with a fresh data directory (``tmp_path/data``), until the
    block ends (then SIGTERM)."""
    port = server_port()
    data = tmp_path / "data"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "CALTRACE_DATA_DIR": str(data),
        "CALTRACE_DEMO_PASSWORD": password,
        "LANG": "C.UTF-8",
    }
    process = subprocess.Popen(
        [CALTRACE, "serve", "--demo", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines: list[str] = []
        while not any(line.startswith("Ctrl-C") for line in lines):
            line = process.stdout.readline()
            assert line, f"serve --demo stopped: {process.stderr.read() if process.stderr else ''}"
            lines.append(line.strip())
        logins = {}
        for line in lines[lines.index("demo logins (username / password / role):") + 1 : -1]:
            parts = line.split()
            if len(parts) == 3:
                logins[parts[0]] = parts[1]
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/v1/health", timeout=5) as response:
                    if json.load(response)["status"] == "ok":
                        break
            except urllib.error.URLError:
                assert time.monotonic() < deadline, "the service did not answer within 60 s"
                time.sleep(0.2)
        yield DemoService(url, logins, data)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

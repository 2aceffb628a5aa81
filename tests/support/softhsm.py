"""A SoftHSM2 token for the PKCS#11 tests: Debian's softhsm2, its token directory and configuration in a temp dir.

:func:`softhsm_token` initialises a token (``softhsm2-util --init-token --free``) and imports keys and certificates
into it with ``pkcs11-tool`` (Debian's opensc), as a licensed CA's USB token holds them. Without these packages the
tests are skipped with the reason, and fail under CI=true (a missing package must not turn a CI run green).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

#: where Debian's softhsm2 package puts the PKCS#11 module
MODULE_CANDIDATES = (
    Path("/usr/lib/softhsm/libsofthsm2.so"),
    Path("/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"),
    Path("/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so"),
)


def missing(reason: str) -> None:
    """Skip, or fail under CI=true."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"SoftHSM2 is needed under CI=true: {reason}")
    pytest.skip(reason)


@dataclass
class SoftHsmToken:
    """An initialised SoftHSM2 token: its module, label, PINs and configuration file (SOFTHSM2_CONF)."""

    module: Path
    conf: Path
    label: str
    pin: str
    so_pin: str
    objects: list[str] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        """The environment in which the module finds this token."""
        return {**os.environ, "SOFTHSM2_CONF": str(self.conf)}

    def import_object(self, der: Path, kind: str, label: str, key_id: str) -> None:
        """Write a DER private key (``privkey``) or certificate (``cert``) to the token with ``pkcs11-tool``."""
        tool = shutil.which("pkcs11-tool")
        if tool is None:
            missing("pkcs11-tool is not installed (Debian package opensc)")
        done = subprocess.run(
            [
                str(tool),
                "--module",
                str(self.module),
                "--token-label",
                self.label,
                "--login",
                "--pin",
                self.pin,
                "--write-object",
                str(der),
                "--type",
                kind,
                "--label",
                label,
                "--id",
                key_id,
            ],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"pkcs11-tool could not import {der}: {done.stderr.strip()}")
        self.objects.append(f"{kind}:{label}")


def make_token(
    directory: Path, label: str = "caltrace-test", pin: str = "123456", so_pin: str = "12345678"
) -> SoftHsmToken:
    """A fresh token in ``directory`` (skipped, or failed under CI, when SoftHSM2 is not installed)."""
    util = shutil.which("softhsm2-util")
    module = next((m for m in MODULE_CANDIDATES if m.is_file()), None)
    if util is None or module is None:
        missing("softhsm2-util or libsofthsm2.so is not installed (Debian package softhsm2)")
    assert util is not None and module is not None
    tokens = directory / "tokens"
    tokens.mkdir(parents=True)
    conf = directory / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
    token = SoftHsmToken(module=module, conf=conf, label=label, pin=pin, so_pin=so_pin)
    done = subprocess.run(
        [util, "--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", so_pin],
        env=token.env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"softhsm2-util could not initialise a token: {done.stderr.strip()}")
    return token

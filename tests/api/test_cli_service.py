"""`caltrace serve` and `caltrace users` as a user meets them: the service refuses to start without its secrets and
names them; `serve --demo` starts from a fresh data directory, prints the URL and a login for every role, and
those logins work; accounts are managed with passwords from the environment, never from an argument."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.support.ports import server_port

CALTRACE = str(Path(sys.executable).parent / "caltrace")


def clean_env(tmp_path: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALTRACE_")}
    env.update({"CALTRACE_DATA_DIR": str(tmp_path / "data")}, **settings)
    return env


def caltrace(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CALTRACE, *args], env=env, capture_output=True, text=True, timeout=180, check=False, input=stdin
    )


def test_serve_without_demo_refuses_to_start_and_names_the_missing_secret(tmp_path: Path) -> None:
    done = caltrace(clean_env(tmp_path), "serve", "--port", str(server_port()))
    assert done.returncode == 2
    assert "CALTRACE_SECRET_KEY" in done.stderr and "Traceback" not in done.stderr
    short = caltrace(clean_env(tmp_path, CALTRACE_SECRET_KEY="too-short"), "serve", "--port", str(server_port()))
    assert short.returncode == 2 and "at least 32" in short.stderr


def test_users_add_list_passwd_unlock(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    assert caltrace(env, "db", "upgrade").returncode == 0
    assert caltrace(env, "db", "seed-demo").returncode == 0
    with_password = {**env, "CALTRACE_PASSWORD": "a long enough secret"}
    no_staff = caltrace(with_password, "users", "add", "lan", "--role", "technician")
    assert no_staff.returncode == 2 and "--staff" in no_staff.stderr
    bad_role = caltrace(with_password, "users", "add", "lan", "--role", "chief")
    assert bad_role.returncode == 2 and "unknown role 'chief'" in bad_role.stderr
    as_argument = caltrace(with_password, "users", "add", "lan", "--role", "admin", "--password", "x" * 12)
    assert as_argument.returncode == 2  # there is no such option
    no_password = caltrace(env, "users", "add", "lan", "--role", "admin")  # no terminal, no CALTRACE_PASSWORD
    assert no_password.returncode == 2 and "CALTRACE_PASSWORD" in no_password.stderr
    added = caltrace(
        with_password, "users", "add", "lan", "--role", "technician", "--role", "reviewer", "--staff", "demo"
    )
    assert added.returncode == 0, added.stderr
    again = caltrace(with_password, "users", "add", "lan", "--role", "admin")
    assert again.returncode == 2 and "exists already" in again.stderr
    listed = json.loads(caltrace(env, "users", "list", "--json").stdout)
    assert listed == [
        {
            "username": "lan",
            "roles": ["technician", "reviewer"],
            "staff": "demo",
            "active": True,
            "failed_logins": 0,
            "locked_until": None,
        }
    ]
    assert caltrace({**env, "CALTRACE_PASSWORD": "short"}, "users", "passwd", "lan").returncode == 2
    assert caltrace({**env, "CALTRACE_PASSWORD": "another long secret"}, "users", "passwd", "lan").returncode == 0
    unlocked = caltrace(env, "users", "unlock", "lan")
    assert unlocked.returncode == 0 and "was not locked" in unlocked.stdout
    missing = caltrace(env, "users", "unlock", "nobody")
    assert missing.returncode == 1 and "no account 'nobody'" in missing.stderr


@pytest.mark.slow
def test_serve_demo_starts_from_a_fresh_data_dir_and_its_printed_logins_work(tmp_path: Path) -> None:
    port = server_port()
    env = clean_env(tmp_path)
    process = subprocess.Popen(
        [CALTRACE, "serve", "--demo", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines: list[str] = []
        assert process.stdout is not None
        while not any(line.startswith("Ctrl-C") for line in lines):
            line = process.stdout.readline()
            assert line, f"serve --demo stopped: {process.stderr.read() if process.stderr else ''}"
            lines.append(line.strip())
        text = "\n".join(lines)
        assert f"http://127.0.0.1:{port}/" in text
        logins = {}
        for line in lines[lines.index("demo logins (username / password / role):") + 1 : -1]:
            parts = line.split()
            if len(parts) == 3:
                logins[parts[0]] = (parts[1], parts[2])
        assert {role for _, role in logins.values()} == {"technician", "reviewer", "signatory", "admin", "auditor"}
        base = f"http://127.0.0.1:{port}/api/v1"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=5) as response:
                    assert json.load(response)["status"] == "ok"
                    break
            except urllib.error.URLError:
                assert time.monotonic() < deadline, "the service did not answer within 60 s"
                time.sleep(0.2)
        password, _ = logins["technician"]
        request = urllib.request.Request(
            f"{base}/auth/token",
            data=json.dumps({"username": "technician", "password": password}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            token = json.load(response)["access_token"]
        listing = urllib.request.Request(f"{base}/standards", headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(listing, timeout=30) as response:
            assert "DEMO-ENV" in {s["code"] for s in json.load(response)}  # the demo lab was seeded
        assert (tmp_path / "data" / "caltrace.db").is_file()
    finally:
        process.terminate()
        process.wait(timeout=30)

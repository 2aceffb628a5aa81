"""The virtual lab in-process: configuration checks, manifest, control port."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from simulators.lab import InstrumentSpec, VirtualLab, load_config


def test_config_errors_name_the_instrument(tmp_path: Path) -> None:
    path = tmp_path / "lab.json"
    for doc, words in [
        ("not json", "not valid JSON"),
        (json.dumps({"instruments": {}}), "expected"),
        (json.dumps({"instruments": [{"id": "a", "kind": "mt-sics"}]}), "a: missing serial_number"),
        (
            json.dumps({"instruments": [{"id": "a", "kind": "mt-sics", "serial_number": "1", "colour": "red"}]}),
            "unknown key",
        ),
        (json.dumps({"instruments": [{"id": "a", "kind": "mt-sics", "serial_number": "1"}] * 2}), "duplicate id"),
    ]:
        path.write_text(doc)
        with pytest.raises(ValueError, match=words):
            load_config(path)
    with pytest.raises(ValueError, match="cannot read"):
        load_config(tmp_path / "missing.json")


def test_manifest_and_control_port(tmp_path: Path) -> None:
    specs = [InstrumentSpec("b1", "mt-sics", "S1", seed=1)]
    with VirtualLab(specs) as lab:
        path = lab.write_manifest(tmp_path / "sub" / "m.json")
        doc = json.loads(path.read_text())
        assert doc["instruments"][0]["id"] == "b1"
        assert not list(path.parent.glob(".manifest-*")), "temporary file left behind"
        host, port = doc["control"].removeprefix("tcp://").split(":")
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            f = sock.makefile("rwb")
            for request, ok in [
                ({"action": "list"}, True),
                ({"id": "b1", "action": "place", "params": {"load_g": 5}}, True),
                ({"id": "b1", "action": "place", "params": {"weight": 5}}, False),
                ({"id": "zz", "action": "place"}, False),
                ({"id": "b1", "action": "fault", "params": {"fault": "bogus"}}, False),
            ]:
                f.write(json.dumps(request).encode() + b"\n")
                f.flush()
                reply = json.loads(f.readline())
                assert reply["ok"] is ok, (request, reply)
                if not ok:
                    assert reply["error"]
            f.write(b"{not json\n")
            f.flush()
            assert json.loads(f.readline())["ok"] is False


def test_a_started_lab_used_as_a_context_manager_is_not_started_twice() -> None:
    specs = [InstrumentSpec("b1", "mt-sics", "S1", seed=1)]
    lab = VirtualLab(specs).start()
    runner, sim, control = lab.runner, lab.instrument("b1"), lab.control_port
    with lab as same:
        assert same is lab and lab.runner is runner and lab.instrument("b1") is sim
        assert lab.control_port == control
    assert lab.runner is None  # stopped when the block ends

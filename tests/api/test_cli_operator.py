# ruff: noqa: F811 - the fixtures of test_engine are imported by name and used as parameters
"""The terminal as a front end of the operator channel: Enter answers, another terminal may answer first, the end
of input stops the run, and the progress display follows the run's events."""

from __future__ import annotations

import io
import os
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from acquisition.channel import OperatorChannel
from acquisition.events import EventBus
from api.cli.operator import ConsoleDisplay, ConsoleFrontEnd
from drivers.registry import open_instrument
from registry.actions import answer_action, pending_actions, run_actions
from registry.db import read_session, session_scope
from simulators.mtsics import MtSicsSimulator
from tests.acquisition.test_engine import ToyProcedure, balance, make_engine_, registry  # noqa: F401 - fixtures


def _pending(registry: Engine, run_id: str, text_en: str) -> int:
    """The id of the pending action of ``run_id`` that says ``text_en``, once it is pending."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with read_session(registry) as s:
            rows = [r for r in pending_actions(s, run_id) if r["text_en"] == text_en]
        if rows:
            return int(rows[0]["action_id"])
        time.sleep(0.02)
    raise AssertionError(f"no pending action {text_en!r}")


@pytest.mark.parametrize("registry", ["sqlite"], indirect=True)
def test_the_terminal_answers_and_a_second_terminal_may_answer_first(
    registry: Engine, balance: MtSicsSimulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = make_engine_(registry, tmp_path)
    run_id = engine.create(ToyProcedure(), instrument="B912345678", technician="lan", standards={"weights": "W-1"})
    read_end, write_end = os.pipe()
    stdin = os.fdopen(read_end, "r")
    console = ConsoleFrontEnd("vi", by="lan", stdin=stdin)
    channel = OperatorChannel(console)
    channel.events.subscribe(ConsoleDisplay("vi"))
    outcome: list[object] = []
    with open_instrument(f"{balance.url}?timeout=1", "mt-sics", "bal-1") as inst:
        worker = threading.Thread(
            target=lambda: outcome.append(engine.execute(ToyProcedure(), run_id, {"balance": inst}, channel))
        )
        worker.start()
        # 0 g: the technician presses Enter at the run's terminal
        _pending(registry, run_id, "Place 0 g")
        os.write(write_end, b"\n")
        # 100 g: answered from another terminal first
        second = _pending(registry, run_id, "Place 100 g")
        balance.control("place", load_g=100.0)
        with session_scope(registry, "hoa") as s:
            answer_action(s, second, answer="done", by="hoa")
        # 200 g: the terminal's input ends (nobody there): the run pauses
        _pending(registry, run_id, "Place 200 g")
        os.close(write_end)
        worker.join(30)
    assert not worker.is_alive()
    [done] = outcome
    assert done.state == "paused"  # type: ignore[attr-defined]
    assert "stopped by the operator at '200 g': no operator at the terminal (input ended)" in done.message  # type: ignore[attr-defined]
    err = capsys.readouterr().err
    assert "  → Đặt 0 g\n    (Place 0 g)" in err  # Vietnamese first, as ConsolePrompter printed it
    assert "░ 1/3 0 g" in err and " 3/3 200 g" in err  # the progress display, an event subscriber
    assert "(đã được trả lời / answered by hoa)" in err
    with read_session(registry) as s:
        rows = run_actions(s, run_id)
    assert [(r["answer"], r["answered_by"]) for r in rows] == [("done", "lan"), ("done", "hoa"), ("stop", "lan")]
    stdin.close()


def test_the_display_prints_progress_and_warnings_as_the_prompter_did() -> None:
    lines: list[str] = []
    bus = EventBus()
    bus.subscribe(ConsoleDisplay("en", say=lines.append))
    bus.publish("step-started", "r", number=2, total=4, title="Cân 100 g / Weigh 100 g", step="s2")
    bus.publish("warning", "r", message="temperature 27 °C outside 18..26 °C (env)")
    bus.publish("reading", "r", value=1.0)  # not shown
    # bar: 24 cells, round(24 * (2 - 1) / 4) = 6 done
    assert lines == [
        "█" * 6 + "░" * 18 + " 2/4 Weigh 100 g / Cân 100 g",
        "  warning: temperature 27 °C outside 18..26 °C (env)",
    ]


def test_a_value_is_typed_and_an_empty_line_is_skipped() -> None:
    from acquisition.channel import OperatorAction, Request

    answers: list[object] = []
    console = ConsoleFrontEnd("vi", by="lan", stdin=io.StringIO("\n21,4 °C\n"))
    request = Request(1, "r", "env", OperatorAction("manual-entry", "nhập", "enter", expects="value"), prompt="t")
    console.present(request, answers.append)
    deadline = time.monotonic() + 5
    while not answers and time.monotonic() < deadline:
        time.sleep(0.01)
    [answer] = answers
    assert (answer.kind, answer.value, answer.by) == ("value", "21,4 °C", "lan")  # type: ignore[attr-defined]

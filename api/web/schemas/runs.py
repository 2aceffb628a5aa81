"""Models of the runs API: starting a run, a run's state and results, its operator action, an answer."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from api.web.schemas.common import CreateModel, PublicModel


class ConnectionCreate(CreateModel):
    """How to reach the instrument in one role."""

    url: str = Field(min_length=1, max_length=500, description="Address URL, e.g. socket://10.0.0.21:4001.")
    model: str = Field(min_length=1, max_length=80, description="Driver model, e.g. mt-sics (`caltrace models`).")


class RunCreate(CreateModel):
    """A new run: the procedure, the instrument (registry id or serial number) or the prepackage lot (registry id
    or lot number) under test, a reference standard code per role, a connection per role (a standard registered
    with an address needs none) and the run's parameters. In demo mode the virtual lab fills in what is left out
    (as ``caltrace calibrate --demo``). The technician is the logged-in account's member of staff."""

    procedure: str = Field(min_length=1, max_length=80, description="Procedure id (GET /api/v1/procedures).")
    instrument: str | None = Field(default=None, max_length=120, description="Instrument under test.")
    lot: str | None = Field(default=None, max_length=120, description="Prepackage lot under test (prepackage-r87).")
    standards: dict[str, str] = Field(default_factory=dict, description="role -> reference standard code.")
    connections: dict[str, ConnectionCreate] = Field(default_factory=dict, description="role -> connection.")
    parameters: dict[str, Any] = Field(default_factory=dict, description="The procedure's declared parameters.")


class RunStop(CreateModel):
    """Why a run is paused or aborted (kept with the cancel request and in the run's message)."""

    reason: str = Field(default="", max_length=500, description="Why.")


class ActionPublic(PublicModel):
    """An operator action of a run: what to do (Vietnamese and English), and what it expects back."""

    action_id: int
    run_id: str
    step: str
    kind: str = Field(description="place-load, remove-load, set-flow, manual-entry...")
    text_vi: str
    text_en: str
    params: dict[str, Any]
    expects: Literal["done", "value"] = Field(description="done: confirm it; value: type the value read.")
    unit: str
    quantity: str
    status: str = Field(description="pending, answered, timed_out, cancelled, withdrawn or superseded.")
    requested_at: datetime
    deadline: datetime | None
    answered_at: datetime | None
    answer: str | None
    value: str | None
    answered_by: str | None
    note: str


class ActionAnswer(CreateModel):
    """An answer to the run's pending action: ``done``, ``value`` (with ``value``, e.g. "21.4 °C") or ``stop``
    (the run pauses). The first answer from anywhere counts."""

    action_id: int = Field(ge=1, le=2_147_483_647, description="The pending action answered (GET .../action).")
    answer: Literal["done", "value", "stop"]
    value: str | None = Field(default=None, max_length=200, description="The value read, for an answer value.")
    note: str = Field(default="", max_length=500, description="Why (e.g. the reason to stop).")


class ProgressPublic(PublicModel):
    """The step under way of a run executing in this service process."""

    number: int | None = None
    total: int | None = None
    title: str | None = None
    step: str | None = None


class RunPublic(PublicModel):
    """A run: what it tests with what, its state, and its results once completed (each with its full uncertainty
    budget, the shape of ``caltrace runs show --format json``)."""

    run_id: str
    procedure: str
    version: str
    instrument: str
    lot: str
    technician: str
    standards: dict[str, str]
    state: str = Field(description="created, running, paused, completed, reviewed or aborted.")
    current_step: str
    message: str
    overall: str
    created_at: datetime
    finished_at: datetime | None
    steps_completed: int
    executing_here: bool = Field(description="The run executes in the service process that answered.")
    progress: ProgressPublic | None = Field(description="Its step under way, when it executes here.")
    pending_action: ActionPublic | None = Field(description="The operator action it waits for, if any.")
    reviewer: str | None
    reviewed_at: datetime | None
    results: list[dict[str, Any]] = Field(description="Results (completed or reviewed runs), with their budgets.")


class RunSummaryPublic(PublicModel):
    """A run in a listing."""

    run_id: str
    procedure: str
    instrument: str
    lot: str
    technician: str
    state: str
    current_step: str
    message: str
    overall: str
    created_at: datetime
    finished_at: datetime | None
    steps_completed: int

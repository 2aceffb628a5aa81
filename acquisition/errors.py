"""Errors of the run engine and the run session; each message says what to do."""

from __future__ import annotations

from typing import Literal


class RunError(Exception):
    """Base of run-engine errors; the message says what to do."""


class RunRefused(RunError):  # noqa: N818 - a refusal, reported to the technician as such
    """The run may not start: technician not authorised, standard expired or unsuitable, bad parameters."""


class WrongSubject(RunRefused):
    """The run names an instrument where its procedure tests a prepackage lot, or the reverse, or neither.

    ``wanted`` is what the procedure tests, ``given`` what the request named (None: nothing), so that a front end
    can say it in its own words (the command line names its ``--lot`` / ``--instrument`` options).
    """

    def __init__(
        self, procedure: str, wanted: Literal["instrument", "lot"], given: Literal["instrument", "lot"] | None
    ) -> None:
        self.procedure = procedure
        self.wanted = wanted
        self.given = given
        if wanted == "lot":
            text = (
                f"{procedure} tests a prepackage lot, not an instrument: name the lot by its lot number or registry id"
                if given == "instrument"
                else f"{procedure} tests a prepackage lot: give its lot number or registry id"
            )
        else:
            text = (
                f"{procedure} tests an instrument, not a prepackage lot: name the instrument by its serial number or "
                "registry id"
                if given == "lot"
                else f"{procedure} tests an instrument: give its serial number or registry id"
            )
        super().__init__(text)


class RunNotFound(RunError, LookupError):  # noqa: N818
    """No run with that id."""


class RunStateError(RunError):
    """The run is not in a state that allows the request (e.g. resuming a completed run)."""


class RunTakenOver(RunStateError):  # noqa: N818 - reported to the technician as what happened
    """While this process executed the run, another took it over (or someone aborted it): this one stopped."""


class UnknownProcedure(RunRefused, LookupError):  # noqa: N818 - a refusal, like RunRefused
    """No procedure with the requested id (the message lists the ids there are)."""


class NoTechnician(RunRefused):
    """A new run names no technician, and there is no default (a resumed run keeps its own)."""

    def __init__(self) -> None:
        super().__init__("name the technician performing the run (a username registered in the staff list)")


class MissingConnections(RunRefused):
    """Roles whose instruments the run needs have no connection (``roles``, in the procedure's order)."""

    def __init__(self, roles: list[str]) -> None:
        self.roles = list(roles)
        super().__init__(
            f"no connection for {', '.join(self.roles)}: connect each to an instrument by driver model and address "
            f"(e.g. {self.roles[0]} to the model manual at manual: to type its readings)"
        )


class UnknownRoles(RunRefused):
    """Connections were given for roles the procedure does not have."""

    def __init__(self, procedure: str, unknown: list[str], roles: list[str]) -> None:
        self.procedure = procedure
        self.unknown = list(unknown)
        self.roles = list(roles)
        super().__init__(f"{procedure} has no role {', '.join(self.unknown)}; roles: {', '.join(self.roles)}")

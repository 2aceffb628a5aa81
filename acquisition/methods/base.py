"""The result type every method returns, ready for the registry's ``result`` table and a DCC."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from uncertainty.presentation import format_number


def finite(name: str, x: Any, *, positive: bool = False, nonneg: bool = False) -> float:
    """``x`` as a float after checking it is a finite real number (not a bool), > 0 when ``positive`` and >= 0 when
    ``nonneg``; ValueError naming ``name`` otherwise (``name`` carries the unit, e.g. "Q3 (m³/h)")."""
    if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
        raise ValueError(f"{name} must be a finite number, got {x!r}")
    if positive and x <= 0:
        raise ValueError(f"{name} must be > 0, got {x!r}")
    if nonneg and x < 0:
        raise ValueError(f"{name} must be >= 0, got {x!r}")
    return float(x)


def json_dof(dof: float) -> float | None:
    """Degrees of freedom for JSON: None for infinitely many (JSON has no infinity)."""
    return None if math.isinf(dof) else dof


# --- bilingual texts of a budget (decision 0361) ---------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    """A text a technician reads, in Vietnamese (``vi``) and English (``en``): a budget row's source or note.

    ``+`` appends another Text, or a str that reads the same in both languages (a name, a clause reference such as
    "cg-18 v4.0 7.1.2", a symbol); :meth:`join` joins parts with this Text as the separator.
    """

    vi: str
    en: str

    def __add__(self, other: Text | str) -> Text:
        o = words(other)
        return Text(self.vi + o.vi, self.en + o.en)

    def __radd__(self, other: str) -> Text:
        return Text(other + self.vi, other + self.en)

    def join(self, parts: Iterable[Text | str]) -> Text:
        """The parts joined by this Text (``Text("; ", "; ").join(...)``)."""
        items = [words(p) for p in parts]
        return Text(self.vi.join(p.vi for p in items), self.en.join(p.en for p in items))


def words(text: Text | str) -> Text:
    """``text`` as a :class:`Text`; a str is taken to read the same in both languages (names, clauses, symbols)."""
    return text if isinstance(text, Text) else Text(text, text)


def num(x: float, spec: str = "g") -> Text:
    """A number in a budget text: English as ``format(x, spec)`` (unchanged wording of stored budgets), Vietnamese
    the same digits with the decimal comma and grouping of :func:`uncertainty.presentation.format_number`."""
    en = format(x, spec)
    body = Decimal(en.replace("%", ""))
    vi = format_number(body, "vi")
    if en.startswith("+") and not vi.startswith("-"):
        vi = "+" + vi
    return Text(vi + ("%" if en.endswith("%") else ""), en)


#: a budget row's source or note as a producer gives it: bilingual, or an English-only str (an older producer)
Words = Text | str


def _en(text: Words | None) -> str:
    return "" if text is None else words(text).en


def _vi(text: Words | None) -> str:
    return text.vi if isinstance(text, Text) else ""


def budget_rows(
    rows: Iterable[Any],
    *,
    describe: Mapping[str, Words] | None = None,
    units: Mapping[str, str] | str | None = None,
    notes: Mapping[str, Words] | None = None,
) -> list[dict[str, Any]]:
    """An uncertainty budget's rows (:class:`uncertainty.gum` rows) as JSON-ready mappings.

    Each row: ``input``, ``source`` (what the input is and the clause it comes from, from ``describe``),
    ``value`` and ``u`` in the row's ``unit`` (``units``: one unit for every input, or one per input),
    ``distribution``, ``sensitivity``, ``contribution`` (c·u, in the output's unit), ``dof`` (None: infinitely
    many) and, from ``notes``, a ``note`` — the place where a term left at zero says why (METROLOGY: a budget
    carries every contribution its guide lists). A :class:`Text` source or note also gives ``source_vi`` /
    ``note_vi`` (decision 0361).
    """
    out = []
    for r in rows:
        row: dict[str, Any] = {"input": r.input}
        if describe is not None:
            row["source"] = _en(describe[r.input])
            if _vi(describe[r.input]):
                row["source_vi"] = _vi(describe[r.input])
        row["value"] = r.value
        if units is not None:
            row["unit"] = units if isinstance(units, str) else units.get(r.input, "")
        row |= {
            "u": r.u,
            "distribution": r.distribution,
            "sensitivity": r.sensitivity,
            "contribution": r.contribution,
            "dof": json_dof(r.dof),
        }
        if notes is not None and notes.get(r.input):
            row["note"] = _en(notes[r.input])
            if _vi(notes[r.input]):
                row["note_vi"] = _vi(notes[r.input])
        out.append(row)
    return out


def budget_json(
    out: Any,
    *,
    unit: str,
    model: str | None = None,
    describe: Mapping[str, Words] | None = None,
    units: Mapping[str, str] | str | None = None,
    notes: Mapping[str, Words] | None = None,
    keep: Callable[[Any], bool] | None = None,
) -> dict[str, Any]:
    """The JSON form of the one budget shape (``out``: a :class:`uncertainty.gum` output; ``Budget.as_json``).

    ``{"model", "unit", "rows": [...], "u", "dof", "k", "coverage_probability", "U"}``: the rows as
    :func:`budget_rows` (``keep`` filters them: leave out only inputs that are not uncertainty contributions,
    such as the indication itself), then u_c, ν_eff (``dof``, Welch–Satterthwaite; None when infinite), k,
    the coverage probability (None when k was given) and U = k·u_c, all in ``unit``.

    Unchecked: methods build a :class:`Budget` (``Budget.of``), which checks that the rows add up to u_c.
    """
    rows = [r for r in out.budget if keep is None or keep(r)]
    body: dict[str, Any] = {}
    if model is not None:
        body["model"] = model
    body |= {
        "unit": unit,
        "rows": budget_rows(rows, describe=describe, units=unit if units is None else units, notes=notes),
        "u": out.u,
        "dof": json_dof(out.dof),
        "k": out.k,
        "coverage_probability": getattr(out, "coverage_probability", None),
        "U": out.U,
    }
    return body


# --- the declared budget shape (decision 0330) -----------------------------------------------------------------------

#: relative tolerance of the budget's arithmetic checks (c·u, √Σ(c·u)², k·u): float rounding only
_REL_TOL = 1e-9


def _close(a: float, b: float, rel: float = _REL_TOL) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-300)


def _dof(name: str, dof: Any, *, least: float) -> float:
    """Degrees of freedom: None or inf (infinitely many), else a finite number >= ``least``."""
    if dof is None or (isinstance(dof, float) and math.isinf(dof) and dof > 0):
        return math.inf
    value = finite(name, dof)
    if value < least:
        raise ValueError(f"{name} must be >= {least:g} (or infinite), got {value!r}")
    return value


class _ReadsAsJson(Mapping[str, Any]):
    """Read-only mapping access to a typed record through its JSON document (``as_json``), so code written for
    the earlier dict shape (``budget["U"]``, ``row["input"]``) keeps working."""

    def as_json(self) -> dict[str, Any]:
        raise NotImplementedError

    def __getitem__(self, key: str) -> Any:
        return self.as_json()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.as_json())

    def __len__(self) -> int:
        return len(self.as_json())


@dataclass(frozen=True, eq=True)
class BudgetRow(_ReadsAsJson):
    """One contribution of an uncertainty budget (GUM JCGM 100:2008 8, 5.1.3).

    ``value`` and ``u`` (the standard uncertainty u(x_i)) are in ``unit``; ``sensitivity`` is c_i and
    ``contribution`` the signed c_i·u(x_i) in the output's unit; ``dof`` ν_i (``math.inf``: infinitely many);
    ``source`` what the input is and the clause it comes from; ``note`` why a term is zero, or what is
    unverified; ``source_vi`` / ``note_vi`` the same in Vietnamese ("" in budgets stored before decision 0361: a
    reader falls back to the English). Checked on construction: finite numbers, u >= 0, contribution = c·u (float
    rounding), ν_i > 0.
    Reads like its JSON document (``as_json``), so a stored row and a live one are read the same way.
    """

    input: str
    value: float
    unit: str
    u: float
    distribution: str
    sensitivity: float
    contribution: float
    dof: float = math.inf
    source: str = ""
    note: str = ""
    source_vi: str = ""
    note_vi: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.input, str) or not self.input:
            raise ValueError(f"a budget row needs an input name, got {self.input!r}")
        what = f"budget row {self.input}"
        object.__setattr__(self, "value", finite(f"{what}: value", self.value))
        object.__setattr__(self, "u", finite(f"{what}: u", self.u, nonneg=True))
        object.__setattr__(self, "sensitivity", finite(f"{what}: sensitivity", self.sensitivity))
        object.__setattr__(self, "contribution", finite(f"{what}: contribution", self.contribution))
        object.__setattr__(self, "dof", _dof(f"{what}: dof", self.dof, least=1e-12))
        if not _close(self.contribution, self.sensitivity * self.u):
            raise ValueError(
                f"{what}: contribution {self.contribution!r} is not sensitivity × u = {self.sensitivity * self.u!r}"
            )

    def as_json(self) -> dict[str, Any]:
        """``{input, source, value, unit, u, distribution, sensitivity, contribution, dof}`` (dof None: ∞), and
        ``note``, ``source_vi``, ``note_vi`` when there is one."""
        doc = {
            "input": self.input,
            "source": self.source,
            "value": self.value,
            "unit": self.unit,
            "u": self.u,
            "distribution": self.distribution,
            "sensitivity": self.sensitivity,
            "contribution": self.contribution,
            "dof": json_dof(self.dof),
        }
        if self.note:
            doc["note"] = self.note
        if self.source_vi:
            doc["source_vi"] = self.source_vi
        if self.note_vi:
            doc["note_vi"] = self.note_vi
        return doc

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> BudgetRow:
        """A row from its JSON document (as :meth:`as_json` writes it; ``source``, ``unit``, ``note`` and their
        Vietnamese ``source_vi``, ``note_vi`` optional)."""
        try:
            return cls(
                input=doc["input"],
                value=doc["value"],
                unit=doc.get("unit") or "",
                u=doc["u"],
                distribution=doc.get("distribution") or "",
                sensitivity=doc["sensitivity"],
                contribution=doc["contribution"],
                dof=_dof("budget row dof", doc.get("dof"), least=1e-12),
                source=doc.get("source") or "",
                note=doc.get("note") or "",
                source_vi=doc.get("source_vi") or "",
                note_vi=doc.get("note_vi") or "",
            )
        except KeyError as exc:
            raise ValueError(f"a budget row needs {exc.args[0]!r}: {dict(doc)!r}") from None


@dataclass(frozen=True, eq=True)
class Budget(_ReadsAsJson):
    """The one uncertainty budget shape of a result (GUM JCGM 100:2008 5.1.2, 6.2, 6.3, G.4; decision 0330).

    ``rows`` (the contributions), then u_c = ``u``, ν_eff = ``dof`` (Welch–Satterthwaite, GUM G.4.1;
    ``math.inf``: infinitely many), the coverage factor ``k``, the ``coverage_probability`` (None when k was given,
    not derived from a probability) and U = k·u_c, all in ``unit``; ``model`` the measurement model as text.
    Checked on construction: finite numbers, u_c >= 0, k > 0, U = k·u_c and, for uncorrelated first-order
    budgets, u_c = √Σ(c_i·u_i)² (both within float rounding), ν_eff >= 1 or infinite. Reads like its JSON
    document (``as_json``: the keys of ``budget_json``), so readers of the stored JSON and of a live result share code.
    """

    unit: str
    rows: tuple[BudgetRow, ...]
    u: float
    dof: float
    k: float
    U: float
    coverage_probability: float | None = None
    model: str = ""

    def __post_init__(self) -> None:
        rows = tuple(self.rows)
        if not all(isinstance(r, BudgetRow) for r in rows):
            raise ValueError("budget rows must be BudgetRow objects (use Budget.of or Budget.from_json)")
        object.__setattr__(self, "rows", rows)
        object.__setattr__(self, "u", finite("budget u_c", self.u, nonneg=True))
        object.__setattr__(self, "k", finite("budget k", self.k, positive=True))
        object.__setattr__(self, "U", finite("budget U", self.U, nonneg=True))
        object.__setattr__(self, "dof", _dof("budget ν_eff (dof)", self.dof, least=1.0))
        if self.coverage_probability is not None:
            p = finite("budget coverage_probability", self.coverage_probability)
            if not 0.0 < p < 1.0:
                raise ValueError(f"budget coverage_probability must lie between 0 and 1, got {p!r}")
        if not _close(self.U, self.k * self.u):
            raise ValueError(f"budget U = {self.U!r} is not k·u_c = {self.k!r} × {self.u!r}")
        if rows:
            rss = math.sqrt(math.fsum(r.contribution**2 for r in rows))
            if not _close(self.u, rss, rel=1e-6):
                raise ValueError(
                    f"budget u_c = {self.u!r} is not √Σ(c·u)² = {rss!r} of its rows: a contribution is missing "
                    "(or the budget has correlated inputs, which this shape does not state)"
                )

    @classmethod
    def of(
        cls,
        out: Any,
        *,
        unit: str,
        model: str | None = None,
        describe: Mapping[str, Words] | None = None,
        units: Mapping[str, str] | str | None = None,
        notes: Mapping[str, Words] | None = None,
        keep: Callable[[Any], bool] | None = None,
    ) -> Budget:
        """The budget of an :mod:`uncertainty.gum` output ``out``, in ``unit``.

        ``describe`` gives each row's source, ``units`` each row's unit (default: ``unit``), ``notes`` why a term
        is zero, each a :class:`Text` (Vietnamese and English) or an English str; ``keep`` filters the rows (leave
        out only inputs that are not uncertainty contributions, such as the indication itself).
        """
        row_units = unit if units is None else units
        rows = tuple(
            BudgetRow(
                input=r.input,
                value=r.value,
                unit=row_units if isinstance(row_units, str) else row_units.get(r.input, ""),
                u=r.u,
                distribution=r.distribution,
                sensitivity=r.sensitivity,
                contribution=r.contribution,
                dof=r.dof,
                source="" if describe is None else _en(describe[r.input]),
                note="" if notes is None else _en(notes.get(r.input)),
                source_vi="" if describe is None else _vi(describe[r.input]),
                note_vi="" if notes is None else _vi(notes.get(r.input)),
            )
            for r in out.budget
            if keep is None or keep(r)
        )
        return cls(
            unit=unit,
            rows=rows,
            u=out.u,
            dof=out.dof,
            k=out.k,
            U=out.U,
            coverage_probability=getattr(out, "coverage_probability", None),
            model=model or "",
        )

    def as_json(self) -> dict[str, Any]:
        """``{model, unit, rows: [...], u, dof, k, coverage_probability, U}`` (dof None: infinitely many)."""
        return {
            "model": self.model,
            "unit": self.unit,
            "rows": [r.as_json() for r in self.rows],
            "u": self.u,
            "dof": json_dof(self.dof),
            "k": self.k,
            "coverage_probability": self.coverage_probability,
            "U": self.U,
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Budget:
        """A budget from its JSON document (:meth:`as_json`); ValueError naming what is missing or inconsistent."""
        try:
            return cls(
                unit=doc["unit"],
                rows=tuple(BudgetRow.from_json(r) for r in doc["rows"]),
                u=doc["u"],
                dof=_dof("budget ν_eff (dof)", doc.get("dof"), least=1.0),
                k=doc["k"],
                U=doc["U"],
                coverage_probability=doc.get("coverage_probability"),
                model=doc.get("model") or "",
            )
        except KeyError as exc:
            raise ValueError(f"an uncertainty budget needs {exc.args[0]!r}") from None


#: the keys of a budget document (``Budget.as_json``); everything else a method records is evidence
BUDGET_KEYS = ("model", "unit", "rows", "u", "dof", "k", "coverage_probability", "U")


def json_ready(name: str, value: Any) -> Any:
    """``value`` checked to be JSON-ready (str keys; None, bool, int, finite float, str, lists/tuples, mappings):
    ValueError naming the path otherwise. Tuples come back as lists, mappings as dicts."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return finite(name, value)
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{name}: keys must be strings, got {key!r}")
            out[key] = json_ready(f"{name}.{key}", item)
        return out
    if isinstance(value, Sequence):
        return [json_ready(f"{name}[{i}]", item) for i, item in enumerate(value)]
    raise ValueError(f"{name}: {type(value).__name__} is not JSON-ready")


# --- conformity (decision 0331) -------------------------------------------------------------------------------------

#: the one conformity vocabulary: DCC 3.3.0 ``stringConformityStatementStatusType`` values that ILAC G8:09/2019
#: decision rules produce (uncertainty.decision), and ``notAssessed`` (no statement: no DCC ``conformity``
#: element). DCC's ``noPass``/``noFail`` are not used (decision 0331).
CONFORMITY = ("pass", "fail", "conditionalPass", "conditionalFail", "notAssessed")
#: verdicts that accept (ILAC G8:09/2019 4.2.3: a conditional pass is accepted with its qualification) and reject
ACCEPTED = frozenset({"pass", "conditionalPass"})
REJECTED = frozenset({"fail", "conditionalFail"})


def overall(conformities: Iterable[str]) -> str:
    """The overall verdict of a run from its rows' conformities (decision 0331).

    ``fail`` as soon as one judged row is rejected (``fail`` or ``conditionalFail``); ``pass`` when every judged
    row is accepted (``pass`` or ``conditionalPass``); ``notAssessed`` when no row is judged (informational rows,
    such as a repeatability or an average tare, are ``notAssessed`` and do not count).
    """
    verdicts = set()
    for c in conformities:
        if c not in CONFORMITY:
            raise ValueError(f"conformity must be one of {CONFORMITY}, got {c!r}")
        verdicts.add(c)
    verdicts.discard("notAssessed")
    if verdicts & REJECTED:
        return "fail"
    if verdicts:
        return "pass"
    return "notAssessed"


@dataclass(frozen=True)
class PointResult:
    """One result at one test point (decision 0330).

    ``value`` (e.g. an error of indication, a conventional mass, a relative error) is in ``unit``; ``point`` (the
    nominal load, flow rate or test value) in ``point_unit``. ``U`` is the expanded uncertainty in ``unit`` at
    coverage factor ``k`` (both None when the method states none). ``mpe`` is the maximum permissible error in
    ``unit`` the conformity was judged against (None when not assessed). ``conformity`` is one of
    :data:`CONFORMITY`. ``budget`` is the uncertainty budget (:class:`Budget`, None when the result states no
    uncertainty); ``evidence`` the raw data behind the result (net indications, package deviations, readings,
    air density...: JSON-ready, keys with units). ``rule`` names the decision rule, ``reference`` the clause/table
    of the standard used and ``note`` anything the certificate must say.
    """

    quantity: str
    point: float | None
    point_unit: str
    value: float
    unit: str
    U: float | None = None
    k: float | None = None
    mpe: float | None = None
    conformity: str = "notAssessed"
    rule: str = ""
    reference: str = ""
    budget: Budget | None = None
    note: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.conformity not in CONFORMITY:
            raise ValueError(f"conformity must be one of {CONFORMITY}, got {self.conformity!r}")
        if not math.isfinite(self.value):
            raise ValueError(f"{self.quantity}: value must be finite, got {self.value!r}")
        if self.U is not None and not self.U >= 0:
            raise ValueError(f"{self.quantity}: U must be >= 0, got {self.U!r}")
        if self.budget is not None and not isinstance(self.budget, Budget):
            raise ValueError(f"{self.quantity}: budget must be a Budget (acquisition.methods.base), not a mapping")
        object.__setattr__(self, "evidence", json_ready(f"{self.quantity}: evidence", dict(self.evidence)))
        clash = set(self.evidence) & {"rule", "reference", "note"}
        if clash:
            raise ValueError(f"{self.quantity}: evidence must not hold {sorted(clash)}: they are the result's fields")

    def budget_json(self) -> dict[str, Any] | None:
        """The budget's JSON document, or None when the result states no uncertainty."""
        return None if self.budget is None else self.budget.as_json()

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready mapping (the CLI's ``--json`` result shape plus details; ``registry.runs.result_json``)."""
        return {
            "quantity": self.quantity,
            "point": self.point,
            "point_unit": self.point_unit,
            "value": self.value,
            "unit": self.unit,
            "U": self.U,
            "k": self.k,
            "mpe": self.mpe,
            "conformity": self.conformity,
            "rule": self.rule,
            "reference": self.reference,
            "budget": self.budget_json(),
            "evidence": self.evidence,
            "note": self.note,
        }

    def row(self) -> dict[str, Any]:
        """The registry ``result`` row's fields (besides ``run_id`` and ``seq``): what the run engine stores."""
        return {
            "quantity": self.quantity,
            "point": self.point,
            "point_unit": self.point_unit,
            "value": self.value,
            "unit": self.unit,
            "expanded_uncertainty": self.U,
            "coverage_factor": self.k,
            "mpe": self.mpe,
            "conformity": self.conformity,
            "budget": self.budget_json(),
            "evidence": self.evidence,
            "decision_rule": self.rule,
            "method_reference": self.reference,
            "note": self.note,
        }

"""The model file: a JSON document describing a measurement model, its inputs and the methods to run.

:func:`evaluate_document` validates a document (a ``dict`` as loaded from JSON) and returns the output
document. The contract (keys, types, units, ``null`` for an infinite dof) is specified in
``docs/uncertainty.md``; every violation raises :class:`ModelFileError` whose message starts with the
offending key path (e.g. ``inputs.R.u: must be >= 0, got -1``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from . import inputs as ui
from .errors import InputError, ModelError, ModelFileError, UncertaintyError
from .expression import names_in
from .gum import GUMOutput, GUMResult, gum
from .inputs import Input, Simultaneous
from .limits import (
    MAX_INPUTS,
    MAX_JSON_DEPTH,
    MAX_OUTPUTS,
    MAX_SAMPLES,
    MCM_MEMORY_BUDGET,
    MIN_DOF,
    excerpt,
    format_bytes,
)
from .mcm import DEFAULT_BLOCK, MCMResult, adaptive_block, mcm, mcm_memory, validate_gum
from .model import Model

__all__ = ["FORMAT_KEYS", "ModelFileError", "evaluate_document"]

#: Keys allowed at the top level of a model file.
FORMAT_KEYS = (
    "measurand",
    "model",
    "constants",
    "inputs",
    "correlations",
    "simultaneous",
    "coverage_probability",
    "coverage_factor",
    "methods",
    "mcm",
)

_INPUT_KEYS: dict[str, tuple[set[str], set[str]]] = {
    # distribution -> (required keys, optional keys), besides "distribution" itself
    "normal": ({"value"}, {"u", "U", "k", "dof"}),
    "t": ({"value", "scale", "dof"}, set()),
    "rectangular": (set(), {"value", "half_width", "lower", "upper", "dof"}),
    "triangular": ({"value", "half_width"}, {"dof"}),
    "arcsine": ({"value", "half_width"}, {"dof"}),
    "trapezoid": ({"value", "half_width", "beta"}, {"dof"}),
    "curvilinear_trapezoid": ({"value", "half_width", "d"}, {"dof"}),
}

_MCM_KEYS = {"trials", "seed", "adaptive", "significant_digits"}


def _err(path: str, message: str) -> ModelFileError:
    return ModelFileError(f"{path}: {message}")


def _key(name: Any) -> str:
    """A user-given key as it appears in a key path: as is when a short name, else a short quoted excerpt."""
    if isinstance(name, str) and name.isidentifier() and len(name) <= 40:
        return name
    return excerpt(name)


def _number(path: str, v: Any, *, nonneg: bool = False, positive: bool = False) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise _err(path, f"must be a number, got {excerpt(v)}")
    try:
        x = float(v)
    except OverflowError:
        x = math.inf
    if not math.isfinite(x):
        raise _err(path, f"must be finite, got {excerpt(v)}")
    if nonneg and x < 0.0:
        raise _err(path, f"must be >= 0, got {excerpt(v)}")
    if positive and x <= 0.0:
        raise _err(path, f"must be > 0, got {excerpt(v)}")
    return x


def _dof(path: str, v: Any) -> float | None:
    """Degrees of freedom: ``null`` (infinite) or a number >= MIN_DOF (1).

    A type A evaluation of n >= 2 observations has nu = n - 1 >= 1 (GUM 4.2.6); below 1 the coverage
    factor t_p(nu) grows without bound as nu -> 0 (GUM G.3), and the engine's truncation of nu_eff to an
    integer >= 1 (G.6.4) would silently give k = 12.71 for nu = 1e-300: an understated U.
    """
    if v is None:
        return None
    x = _number(path, v, positive=True)
    if x < MIN_DOF:
        raise _err(
            path,
            f"must be >= {MIN_DOF:g} (or null for infinite), got {excerpt(v)}: n observations give n - 1 >= 1 "
            "degrees of freedom (GUM 4.2.6), and below 1 the coverage factor t_p(nu) is unbounded (GUM G.3)",
        )
    return x


def _int(path: str, v: Any, minimum: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise _err(path, f"must be an integer, got {excerpt(v)}")
    if v < minimum:
        raise _err(path, f"must be >= {minimum}, got {excerpt(v)}")
    return v


def _unknown(path: str, keys: Any, allowed: Any) -> None:
    extra = sorted(set(keys) - set(allowed))
    if extra:
        where = f"{path}.{_key(extra[0])}" if path else _key(extra[0])
        raise _err(where, f"unknown key; allowed keys are {sorted(allowed)}")


def _build_input(name: str, spec: Any) -> Input | list[float]:
    path = f"inputs.{_key(name)}"
    if not isinstance(spec, Mapping):
        raise _err(path, f"must be an object, got {type(spec).__name__}")
    if "samples" in spec:
        _unknown(path, spec, {"samples"})
        samples = spec["samples"]
        if not isinstance(samples, list) or not samples:
            raise _err(f"{path}.samples", "must be a non-empty list of numbers")
        if len(samples) > MAX_SAMPLES:
            raise _err(f"{path}.samples", f"has {len(samples)} observations; the limit is {MAX_SAMPLES}")
        vals = [_number(f"{path}.samples[{i}]", s) for i, s in enumerate(samples)]
        if len(vals) < 2:
            raise _err(f"{path}.samples", "needs at least 2 observations")
        return vals
    if "distribution" not in spec:
        raise _err(f"{path}.distribution", "missing (or give 'samples' for a type A input)")
    dist = spec["distribution"]
    if not isinstance(dist, str) or dist not in _INPUT_KEYS:
        raise _err(f"{path}.distribution", f"unknown distribution {excerpt(dist)}; use one of {sorted(_INPUT_KEYS)}")
    required, optional = _INPUT_KEYS[dist]
    _unknown(path, [k for k in spec if k != "distribution"], required | optional)
    for key in sorted(required):
        if key not in spec:
            raise _err(f"{path}.{key}", f"missing (required for a {dist} input)")
    dof = _dof(f"{path}.dof", spec.get("dof"))
    get = {
        k: _number(f"{path}.{k}", spec[k], nonneg=k in {"u", "U", "half_width", "scale", "d"})
        for k in spec
        if k not in {"distribution", "dof"}
    }
    try:
        if dist == "normal":
            if "u" in get and ("U" in get or "k" in get):
                raise _err(path, "give either u, or U together with k, not both")
            if "u" not in get and ("U" not in get or "k" not in get):
                missing = "U" if "U" not in get and "k" in get else "k" if "U" in get else "u"
                raise _err(f"{path}.{missing}", "missing (a normal input needs u, or U together with k)")
            if "k" in get and get["k"] <= 0:
                raise _err(f"{path}.k", f"must be > 0, got {excerpt(spec['k'])}")
            return ui.normal(get["value"], get.get("u"), U=get.get("U"), k=get.get("k"), dof=dof)
        if dist == "t":
            if dof is None:
                raise _err(f"{path}.dof", "a t input needs a finite dof > 0")
            return ui.student_t(get["value"], get["scale"], dof)
        if dist == "rectangular":
            by_bounds = "lower" in get or "upper" in get
            if by_bounds:
                if "value" in get or "half_width" in get:
                    raise _err(path, "give either value and half_width, or lower and upper, not both")
                for key in ("lower", "upper"):
                    if key not in get:
                        raise _err(f"{path}.{key}", "missing (a rectangular input by bounds needs lower and upper)")
                if get["upper"] < get["lower"]:
                    raise _err(
                        f"{path}.upper", f"must be >= lower ({excerpt(spec['lower'])}), got {excerpt(spec['upper'])}"
                    )
                return ui.rectangular(lower=get["lower"], upper=get["upper"], dof=dof)
            for key in ("value", "half_width"):
                if key not in get:
                    raise _err(f"{path}.{key}", "missing (a rectangular input needs value and half_width)")
            return ui.rectangular(get["value"], get["half_width"], dof=dof)
        if dist == "triangular":
            return ui.triangular(get["value"], get["half_width"], dof=dof)
        if dist == "arcsine":
            return ui.arcsine(get["value"], get["half_width"], dof=dof)
        if dist == "trapezoid":
            return ui.trapezoid(get["value"], get["half_width"], get["beta"], dof=dof)
        return ui.curvilinear_trapezoid(get["value"], get["half_width"], get["d"], dof=dof)
    except InputError as exc:
        raise _err(path, str(exc)) from None


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _gum_doc(o: GUMOutput) -> dict[str, Any]:
    """The ``gum`` section of one output. ``u`` is first order (GUM 5.1.2 eq. (10)); ``u_second_order``
    adds the higher-order terms of the note to 5.1.2 and ``nonlinear`` says they change u by more than
    1 %; both are ``null`` where the check could not be made (model not defined at x ± u/8)."""
    checked = o.u_second_order is not None
    return {
        "value": o.value,
        "u": o.u,
        "dof": _finite(o.dof),
        "k": o.k,
        "U": o.U,
        "interval": [o.interval[0], o.interval[1]],
        "u_second_order": o.u_second_order,
        "nonlinear": o.nonlinear if checked else None,
        "budget": [
            {
                "input": b.input,
                "value": b.value,
                "u": b.u,
                "distribution": b.distribution,
                "sensitivity": b.sensitivity,
                "contribution": b.contribution,
                "dof": _finite(b.dof),
            }
            for b in o.budget
        ],
    }


_MAX_ADAPTIVE_TRIALS = 20_000_000  # the engine's default cap of the adaptive procedure


def _check_depth(doc: Any) -> None:
    """Refuse a document nested deeper than MAX_JSON_DEPTH (iteratively: no recursion on hostile input)."""
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise ModelFileError(
                f"the model file nests arrays/objects more than {MAX_JSON_DEPTH} deep; the format needs at most 4"
            )
        if isinstance(node, Mapping):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list | tuple):
            stack.extend((v, depth + 1) for v in node)


def _check_mcm_memory(n_inputs: int, n_outputs: int, trials: int, adaptive: bool, p: float) -> int:
    """Refuse Monte Carlo settings whose estimated memory exceeds MCM_MEMORY_BUDGET, before anything is
    allocated; returns the cap of trials for the adaptive procedure (lowered to fit the budget)."""
    if adaptive:
        block = adaptive_block(p)
        per_trial = mcm_memory(n_inputs, n_outputs, 1, adaptive=True) - mcm_memory(
            n_inputs, n_outputs, 0, adaptive=True
        )
        fixed = mcm_memory(n_inputs, n_outputs, 0, adaptive=True)
        fit = int((MCM_MEMORY_BUDGET - fixed) // per_trial) if per_trial > 0 else _MAX_ADAPTIVE_TRIALS
        cap = min(_MAX_ADAPTIVE_TRIALS, fit // block * block)
        if cap < 2 * block:
            need = mcm_memory(n_inputs, n_outputs, 2 * block, adaptive=True)
            raise _err(
                "mcm.adaptive",
                f"adaptive Monte Carlo with {n_outputs} outputs and {n_inputs} inputs needs about "
                f"{format_bytes(need)} for its first two blocks of {block} trials, more than the budget of "
                f"{format_bytes(MCM_MEMORY_BUDGET)} (docs/uncertainty.md, Limits): use fewer outputs or inputs",
            )
        return cap
    need = mcm_memory(n_inputs, n_outputs, trials, block_size=DEFAULT_BLOCK)
    if need > MCM_MEMORY_BUDGET:
        fixed = mcm_memory(n_inputs, n_outputs, 0, block_size=DEFAULT_BLOCK)
        per_trial = mcm_memory(n_inputs, n_outputs, 1, block_size=DEFAULT_BLOCK) - fixed
        fit = max(0, int((MCM_MEMORY_BUDGET - fixed) // per_trial))
        hint = f"lower mcm.trials to at most {fit}" if fit >= 100 else "use fewer outputs or inputs"
        raise _err(
            "mcm.trials",
            f"Monte Carlo with {trials} trials, {n_outputs} outputs and {n_inputs} inputs would need about "
            f"{format_bytes(need)}, more than the budget of {format_bytes(MCM_MEMORY_BUDGET)} "
            f"(docs/uncertainty.md, Limits): {hint}, or split the model into several files",
        )
    return _MAX_ADAPTIVE_TRIALS


def evaluate_document(doc: Any) -> dict[str, Any]:
    """Validate and evaluate a model-file document; returns the output document (JSON-serialisable).

    Raises ModelFileError (a ValueError) naming the offending key for any invalid input. A
    NonLinearityWarning is emitted (``warnings``) where the GUM first-order result is doubtful.
    """
    if not isinstance(doc, Mapping):
        raise ModelFileError(f"the model file must be a JSON object, got {type(doc).__name__}")
    _check_depth(doc)
    _unknown("", doc, FORMAT_KEYS)
    for key in ("model", "inputs"):
        if key not in doc:
            raise _err(key, "missing (required)")
    measurand = doc.get("measurand", "y")
    if not isinstance(measurand, str) or not measurand.isidentifier():
        raise _err("measurand", f"must be a name (letters, digits, _), got {excerpt(measurand)}")
    model_spec = doc["model"]
    if isinstance(model_spec, str):
        exprs: dict[str, str] = {measurand: model_spec}
    elif isinstance(model_spec, Mapping) and model_spec:
        exprs = {}
        for out, e in model_spec.items():
            if not isinstance(e, str):
                raise _err(f"model.{_key(out)}", f"must be an expression string, got {type(e).__name__}")
            if not out.isidentifier():
                raise _err(f"model.{_key(out)}", "output names must be names (letters, digits, _)")
            exprs[out] = e
    else:
        raise _err("model", "must be an expression string or a non-empty object {output: expression}")
    if len(exprs) > MAX_OUTPUTS:
        raise _err("model", f"has {len(exprs)} outputs; the limit is {MAX_OUTPUTS} (docs/uncertainty.md, Limits)")
    constants_spec = doc.get("constants", {})
    if not isinstance(constants_spec, Mapping):
        raise _err("constants", "must be an object {name: number}")
    constants = {str(k): _number(f"constants.{_key(k)}", v) for k, v in constants_spec.items()}
    inputs_spec = doc["inputs"]
    if not isinstance(inputs_spec, Mapping) or not inputs_spec:
        raise _err("inputs", "must be a non-empty object {name: specification}")
    if len(inputs_spec) > MAX_INPUTS:
        raise _err("inputs", f"has {len(inputs_spec)} inputs; the limit is {MAX_INPUTS} (docs/uncertainty.md, Limits)")
    built: dict[str, Input | list[float]] = {str(n): _build_input(str(n), s) for n, s in inputs_spec.items()}
    for name in built:
        if name in constants:
            raise _err(f"inputs.{_key(name)}", "is also defined in constants")

    # model: every name used must be defined; every input must be used
    try:
        model = Model.from_expression(exprs, inputs=list(built), constants=constants, measurand=measurand)
    except ModelError as exc:
        raise _err("model", str(exc)) from None
    used: set[str] = set()
    for e in exprs.values():
        used.update(names_in(e))
    for name in built:
        if name not in used:
            raise _err(f"inputs.{_key(name)}", "is not used by the model (remove it or fix the model)")

    # simultaneous groups
    groups_spec = doc.get("simultaneous", [])
    if not isinstance(groups_spec, list):
        raise _err("simultaneous", "must be a list of lists of input names")
    in_group: dict[str, int] = {}  # input name -> index of its simultaneous group
    groups: list[Simultaneous] = []
    for gi, group in enumerate(groups_spec):
        path = f"simultaneous[{gi}]"
        if not isinstance(group, list) or len(group) < 2:
            raise _err(path, "must be a list of at least two input names")
        for name in group:
            if not isinstance(name, str) or name not in built:
                raise _err(path, f"names unknown input {excerpt(name)}")
            if not isinstance(built[name], list):
                raise _err(path, f"input {excerpt(name)} must be given by 'samples' to be observed simultaneously")
            if name in in_group:
                raise _err(path, f"input {excerpt(name)} appears in more than one group")
            in_group[name] = gi
        try:
            groups.append(ui.type_a_simultaneous({n: built[n] for n in group}))  # type: ignore[misc]
        except InputError as exc:
            raise _err(path, str(exc)) from None
    inputs: dict[str, Input | Simultaneous] = {}
    for name, b in built.items():
        if name in in_group:
            continue
        inputs[name] = ui.type_a(b) if isinstance(b, list) else b
    for g in groups:
        inputs[g.names[0]] = g

    # correlations
    corr_spec = doc.get("correlations", [])
    if not isinstance(corr_spec, list):
        raise _err("correlations", "must be a list of [name_a, name_b, r]")
    correlations: list[tuple[str, str, float]] = []
    for ci, item in enumerate(corr_spec):
        path = f"correlations[{ci}]"
        if not isinstance(item, list) or len(item) != 3:
            raise _err(path, "must be [name_a, name_b, r]")
        a, b, r = item
        for nm in (a, b):
            if not isinstance(nm, str) or nm not in built:
                raise _err(path, f"names unknown input {excerpt(nm)}")
        rv = _number(f"{path}[2]", r)
        if not -1.0 <= rv <= 1.0:
            raise _err(f"{path}[2]", f"must be in [-1, 1], got {excerpt(r)}")
        if a in in_group and in_group.get(b) == in_group[a]:
            raise _err(path, f"the correlation of {excerpt(a)} and {excerpt(b)} comes from their simultaneous samples")
        correlations.append((a, b, rv))

    p = doc.get("coverage_probability", 0.95)
    p = _number("coverage_probability", p)
    if not 0.0 < p < 1.0:
        raise _err("coverage_probability", f"must be in (0, 1) (e.g. 0.95, not 95), got {excerpt(p)}")
    k_fixed = doc.get("coverage_factor")
    if k_fixed is not None:
        k_fixed = _number("coverage_factor", k_fixed, positive=True)

    methods = doc.get("methods", ["gum"])
    if not isinstance(methods, list) or not methods:
        raise _err("methods", "must be a non-empty list, e.g. ['gum', 'mcm']")
    for mi, m in enumerate(methods):
        if m not in ("gum", "mcm"):
            raise _err(f"methods[{mi}]", f"unknown method {excerpt(m)}; use 'gum' and/or 'mcm'")
    if len(set(methods)) != len(methods):
        raise _err("methods", "lists a method twice")
    mcm_spec = doc.get("mcm", {})
    if not isinstance(mcm_spec, Mapping):
        raise _err("mcm", "must be an object")
    if mcm_spec and "mcm" not in methods:
        raise _err("mcm", "settings are given but 'mcm' is not in methods")
    _unknown("mcm", mcm_spec, _MCM_KEYS)
    adaptive = mcm_spec.get("adaptive", False)
    if not isinstance(adaptive, bool):
        raise _err("mcm.adaptive", f"must be true or false, got {excerpt(adaptive)}")
    if adaptive and "trials" in mcm_spec:
        raise _err("mcm.trials", "give either trials or adaptive: true, not both")
    trials = _int("mcm.trials", mcm_spec.get("trials", 1_000_000), 100)
    if trials > 50_000_000:
        raise _err("mcm.trials", f"must be <= 50000000, got {trials}")
    ndig = _int("mcm.significant_digits", mcm_spec.get("significant_digits", 2), 1)
    if ndig > 6:
        raise _err("mcm.significant_digits", f"must be <= 6, got {ndig}")
    seed = mcm_spec.get("seed")
    if seed is not None:
        seed = _int("mcm.seed", seed, 0)
        if seed >= 2**128:
            raise _err("mcm.seed", f"must be < 2**128, got {excerpt(seed)}")
    max_trials = _MAX_ADAPTIVE_TRIALS
    if "mcm" in methods:
        max_trials = _check_mcm_memory(model.n_inputs, model.n_outputs, trials, adaptive, p)

    try:
        g_res: GUMResult | None = None
        m_res: MCMResult | None = None
        if "gum" in methods:
            g_res = gum(model, inputs, correlations, coverage_probability=p, coverage_factor=k_fixed)
        if "mcm" in methods:
            m_res = mcm(
                model,
                inputs,
                correlations,
                trials=trials,
                seed=seed,
                coverage_probability=p,
                adaptive=adaptive,
                significant_digits=ndig,
                max_trials=max_trials,
            )
    except UncertaintyError as exc:
        key = "correlations" if "correlat" in str(exc) else "inputs"
        raise _err(key, str(exc)) from None

    outputs: dict[str, Any] = {}
    for name in model.outputs:
        entry: dict[str, Any] = {}
        if g_res is not None:
            entry["gum"] = _gum_doc(g_res[name])
        if m_res is not None:
            mo = m_res[name]
            mdoc: dict[str, Any] = {
                "value": mo.value,
                "u": mo.u,
                "interval_symmetric": list(mo.interval_symmetric),
                "interval_shortest": list(mo.interval_shortest),
                "trials": mo.trials,
                "validated": None,
                "delta": None,
                "delta_from": None,
                "d_low": None,
                "d_high": None,
                "validation_note": None,
            }
            if g_res is not None:
                # JCGM 101:2008 clause 8; a GUM u of 0 (9.4) is reported as not validated, delta from MC
                v = validate_gum(g_res[name], mo, significant_digits=ndig)
                mdoc.update(
                    validated=v.validated,
                    delta=v.delta,
                    delta_from=v.delta_from,
                    d_low=v.d_low,
                    d_high=v.d_high,
                    validation_note=v.note or None,
                )
            entry["mcm"] = mdoc
        outputs[name] = entry
    result: dict[str, Any] = {"outputs": outputs}
    if model.n_outputs > 1:
        src: GUMResult | MCMResult | None = g_res if g_res is not None else m_res
        assert src is not None
        names = list(model.outputs)
        result["correlation"] = {
            a: {b: float(src.correlation[i, j]) for j, b in enumerate(names) if j != i} for i, a in enumerate(names)
        }
    return result

"""caltrace uncertainty engine: GUM propagation, Monte Carlo, least squares, reporting and decisions.

Depends on numpy and scipy only. Typical use::

    from uncertainty import Model, normal, rectangular, gum, mcm

    model = Model.from_expression("V / I", measurand="R")
    res = gum(model, {"V": normal(5.0, 0.01, dof=9), "I": normal(0.02, 1e-5)})
    res["R"].value, res["R"].u, res["R"].dof, res["R"].k, res["R"].U

See docs/uncertainty.md for the full API and the model-file contract.
"""

from .decision import Decision, decide, probability_of_conformity
from .errors import (
    CorrelationError,
    InputError,
    ModelError,
    ModelFileError,
    NonLinearityWarning,
    UncertaintyError,
)
from .gum import (
    BudgetRow,
    GUMOutput,
    GUMResult,
    PointsResult,
    correlation_matrix,
    coverage_factor,
    gum,
    gum_points,
    welch_satterthwaite,
)
from .inputs import (
    Input,
    Simultaneous,
    arcsine,
    curvilinear_trapezoid,
    normal,
    rectangular,
    student_t,
    trapezoid,
    triangular,
    type_a,
    type_a_simultaneous,
)
from .lsq import LineFit, PolynomialFit, fit_line_ols, fit_line_wls, fit_polynomial
from .mcm import MCMOutput, MCMResult, Validation, coverage_intervals, mcm, numerical_tolerance, validate_gum
from .model import Model
from .modelfile import evaluate_document
from .reporting import ReportedResult, report, round_uncertainty, round_value

__all__ = [
    "BudgetRow",
    "CorrelationError",
    "Decision",
    "GUMOutput",
    "GUMResult",
    "Input",
    "InputError",
    "LineFit",
    "MCMOutput",
    "MCMResult",
    "Model",
    "ModelError",
    "ModelFileError",
    "NonLinearityWarning",
    "PointsResult",
    "PolynomialFit",
    "ReportedResult",
    "Simultaneous",
    "UncertaintyError",
    "Validation",
    "arcsine",
    "correlation_matrix",
    "coverage_factor",
    "coverage_intervals",
    "curvilinear_trapezoid",
    "decide",
    "evaluate_document",
    "fit_line_ols",
    "fit_line_wls",
    "fit_polynomial",
    "gum",
    "gum_points",
    "mcm",
    "normal",
    "numerical_tolerance",
    "probability_of_conformity",
    "rectangular",
    "report",
    "round_uncertainty",
    "round_value",
    "student_t",
    "trapezoid",
    "triangular",
    "type_a",
    "type_a_simultaneous",
    "validate_gum",
    "welch_satterthwaite",
]

"""Error and warning types of the uncertainty engine.

Every error is a :class:`ValueError` so that callers which only know the builtins still catch it.
"""

from __future__ import annotations

__all__ = [
    "CorrelationError",
    "InputError",
    "ModelError",
    "ModelFileError",
    "NonLinearityWarning",
    "UncertaintyError",
]


class UncertaintyError(ValueError):
    """Base class of every error raised by :mod:`uncertainty`."""


class ModelError(UncertaintyError):
    """The measurement model is invalid: bad expression, forbidden construct, unknown name, bad output."""


class InputError(UncertaintyError):
    """An input quantity is invalid: negative uncertainty, bad bounds, too few samples, bad dof."""


class CorrelationError(UncertaintyError):
    """Correlations are invalid: |r| > 1, unknown input, or the matrix is not positive semi-definite."""


class ModelFileError(UncertaintyError):
    """A model file (JSON document) is invalid; the message names the offending key."""


class NonLinearityWarning(UserWarning):
    """The first-order (linear) GUM propagation is not adequate for this model at this point."""

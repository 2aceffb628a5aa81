"""Metrology methods as pure functions: from the readings of a procedure's steps to results with U and conformity.

One module per method family (``nawi`` for EURAMET cg-18 and OIML R76, ``weights`` for OIML R111, ``prepackages``
for OIML R87, ``flow`` for OIML R49 water meters and flow meters, ``electrical`` for DMMs against a calibrator).
They know nothing of instruments, runs or storage: the run engine collects readings and calls them. Rule tables
(MPE, sampling plans) are data with their edition attached, in ``acquisition/methods/tables.py`` or next to the
method, never constants scattered in code.
"""

from acquisition.methods.base import PointResult

__all__ = ["PointResult"]

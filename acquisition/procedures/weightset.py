"""Test loads made of the pieces of a certified weight set (shared by the balance procedures). Masses in g.

A weight-set certificate lists every piece: ``point`` nominal g, ``value`` conventional mass g, ``U`` g at ``k``
(default 2), optional ``label`` to tell apart pieces of equal nominal value (without it, duplicates are labelled
``200 g``, ``200 g*``, ``200 g**``…, as on OIML R111 sets). :func:`compose` makes a test load from the fewest
pieces, each used once; the load's conventional mass is the sum of the pieces' certified values and its U their
sum (fully correlated, EURAMET cg-18 v4.0 7.1.2).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from acquisition.procedures.base import RunContext

__all__ = ["Load", "Piece", "compose", "make", "pieces"]

_UG = 1_000_000  # micrograms per gram: pieces are matched to loads in whole micrograms


@dataclass(frozen=True)
class Piece:
    """One weight of the set: nominal and conventional mass (g), certificate U (g) at k, label."""

    nominal: float
    mass: float
    U: float
    k: float
    label: str


@dataclass(frozen=True)
class Load:
    """A test load (g nominal) and the pieces that make it."""

    nominal: float
    pieces: tuple[Piece, ...]

    @property
    def mass(self) -> float:
        """Conventional mass of the load (g): the sum of the pieces' certified values."""
        return math.fsum(p.mass for p in self.pieces)

    @property
    def correction(self) -> float:
        """Conventional mass − nominal (g)."""
        return self.mass - self.nominal

    @property
    def uncertainty(self) -> float:
        """Expanded uncertainty of the load (g), the pieces' U summed linearly (correlated)."""
        return math.fsum(p.U for p in self.pieces)

    @property
    def labels(self) -> list[str]:
        """The labels of the pieces, largest first."""
        return [p.label for p in self.pieces]


def pieces(context: RunContext, role: str = "weights") -> list[Piece]:
    """The certified pieces of the weight set in ``role``, largest first (labels made unique: ``200 g``,
    ``200 g*``...). ValueError names the certificate row to correct."""
    std = context.standards[role]
    out: list[Piece] = []
    seen: dict[str, int] = {}
    for i, row in enumerate(std.values):
        try:
            nominal, mass = float(row["point"]), float(row["value"])
            u, k = float(row["U"]), float(row.get("k", 2.0))
        except (KeyError, TypeError, ValueError):
            raise ValueError(
                f"certificate {std.certificate} of {std.code}, value {i + 1}: each certified weight needs "
                "point (nominal g), value (conventional mass g) and U (g); correct the certificate in the registry"
            ) from None
        unit = str(row.get("unit", "g"))
        if unit != "g":
            raise ValueError(f"certificate {std.certificate} of {std.code}: give the weights in g, not {unit!r}")
        base = str(row.get("label") or f"{nominal:g} g")
        seen[base] = seen.get(base, 0) + 1
        label = base + "*" * (seen[base] - 1)
        out.append(Piece(nominal, mass, u, k, label))
    if not out:
        raise ValueError(f"the weight set {std.code} has no certified values in certificate {std.certificate}")
    return sorted(out, key=lambda p: -p.nominal)


def compose(pieces: Sequence[Piece], load: float) -> Load | None:
    """The fewest ``pieces`` (each used once) whose nominal values add up to ``load`` g (matched to 1 µg), or None
    when no combination does (or ``load`` <= 0). Among combinations of as many pieces, the first in the given
    order wins (largest pieces first, ``2 g`` before ``2 g*``)."""
    target = round(load * _UG)
    if target <= 0:
        return None
    sizes = [round(p.nominal * _UG) for p in pieces]
    suffix = [0] * (len(sizes) + 1)
    for i in range(len(sizes) - 1, -1, -1):
        suffix[i] = suffix[i + 1] + sizes[i]
    failed: set[tuple[int, int, int]] = set()

    def search(i: int, rest: int, left: int) -> list[int] | None:
        """Indices from ``i`` on, at most ``left`` of them, adding up to ``rest`` µg."""
        if rest == 0:
            return []
        if left == 0 or i == len(sizes) or suffix[i] < rest or (i, rest, left) in failed:
            return None
        if 0 < sizes[i] <= rest:
            found = search(i + 1, rest - sizes[i], left - 1)
            if found is not None:
                return [i, *found]
        found = search(i + 1, rest, left)
        if found is None:
            failed.add((i, rest, left))
        return found

    for most in range(1, len(sizes) + 1):  # iterative deepening: the first hit has the fewest pieces
        chosen = search(0, target, most)
        if chosen is not None:
            return Load(load, tuple(pieces[i] for i in chosen))
    return None


def make(pieces: Sequence[Piece], load: float, name: str, code: str) -> Load:
    """:func:`compose`, or ValueError naming the parameter ``name``, the ``load`` (g) and the weight set ``code``."""
    made = compose(pieces, load)
    if made is None:
        available = ", ".join(sorted({f"{x.nominal:g}" for x in pieces}, key=float))
        raise ValueError(
            f"{name}: the weight set {code} cannot make {load:g} g from its certified pieces ({available} g); "
            f"choose another {name} or another weight set"
        )
    return made

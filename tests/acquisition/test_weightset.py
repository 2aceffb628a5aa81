"""`acquisition.procedures.weightset`: pieces of a certificate and loads composed of them, worked by hand.

The set is an OIML R111 decade set 1 g – 200 g with the usual duplicates (1, 2, 2*, 5, 10, 20, 20*, 50, 100, 200 g;
410 g in all). Conventional masses and U are made up; what is checked is which pieces make a load.
"""

from __future__ import annotations

from typing import Any

import pytest

from acquisition.procedures.base import InstrumentUnderTest, RunContext, StandardUsed
from acquisition.procedures.weightset import Load, Piece, compose, make, pieces

#: certificate rows without labels, in the order a certificate lists them (duplicates get * from the second on)
ROWS: list[tuple[float, float, float]] = [
    (200.0, 200.0001, 0.0001),
    (100.0, 99.99996, 0.00005),
    (50.0, 50.00002, 0.00003),
    (20.0, 20.00001, 0.000025),
    (20.0, 19.99998, 0.000025),
    (10.0, 10.00001, 0.00002),
    (5.0, 5.000004, 0.000016),
    (2.0, 2.000003, 0.000012),
    (2.0, 1.999996, 0.000012),
    (1.0, 1.000002, 0.00001),
]


def context(rows: list[dict[str, Any]]) -> RunContext:
    return RunContext(
        run_id="t",
        parameters={},
        instrument=InstrumentUnderTest(1, "Cân", "MT", "XS204", "B1", 0.0, 220.0, "g", 0.0001, "g", "I"),
        standards={
            "weights": StandardUsed("weights", "W-SET", "weight set", 1.0, 200.0, "g", "E2", "C-9", tuple(rows)),
        },
    )


def r111_set() -> list[Piece]:
    return pieces(context([{"point": n, "value": m, "unit": "g", "U": u, "k": 2} for n, m, u in ROWS]))


def piece(nominal: float, label: str = "") -> Piece:
    return Piece(nominal, nominal, 0.0, 2.0, label or f"{nominal:g} g")


def test_pieces_are_largest_first_with_duplicates_starred() -> None:
    got = r111_set()
    assert [p.label for p in got] == ["200 g", "100 g", "50 g", "20 g", "20 g*", "10 g", "5 g", "2 g", "2 g*", "1 g"]
    assert got[4] == Piece(20.0, 19.99998, 0.000025, 2.0, "20 g*")  # the second 20 g row of the certificate


@pytest.mark.parametrize(
    ("load", "labels"),
    [
        (150.0, ["100 g", "50 g"]),  # 150 = 100 + 50
        (220.0, ["200 g", "20 g"]),  # 220 = 200 + 20
        (70.0, ["50 g", "20 g"]),  # 70 = 50 + 20
        (40.0, ["20 g", "20 g*"]),  # 40 needs both 20 g pieces (one 20 g cannot be used twice)
        (4.0, ["2 g", "2 g*"]),
        (9.0, ["5 g", "2 g", "2 g*"]),  # 9 = 5 + 2 + 2: three pieces, no pair of pieces adds to 9
        (388.0, ["200 g", "100 g", "50 g", "20 g", "10 g", "5 g", "2 g", "1 g"]),
        (410.0, ["200 g", "100 g", "50 g", "20 g", "20 g*", "10 g", "5 g", "2 g", "2 g*", "1 g"]),  # the whole set
    ],
)
def test_compose_an_r111_set(load: float, labels: list[str]) -> None:
    made = compose(r111_set(), load)
    assert made is not None and made.nominal == load and made.labels == labels


@pytest.mark.parametrize("load", [411.0, 0.3, 1.5, 0.0, -10.0])
def test_loads_the_set_cannot_make(load: float) -> None:
    # 411 g is more than the whole set (410 g); 0.3 g and 1.5 g are below / between the 1 g steps; 0 and less: no load
    assert compose(r111_set(), load) is None


def test_compose_takes_the_fewest_pieces() -> None:
    # 10 = 6 + 2 + 2 (what taking the largest piece first finds) = 5 + 5*: the two-piece load is the answer
    made = compose([piece(6.0), piece(5.0), piece(5.0, "5 g*"), piece(2.0), piece(2.0, "2 g*")], 10.0)
    assert made is not None and made.labels == ["5 g", "5 g*"]


def test_each_piece_is_used_once() -> None:
    assert compose([piece(200.0), piece(100.0)], 400.0) is None  # one 200 g piece cannot make 400 g
    made = compose([piece(200.0), piece(200.0, "200 g*"), piece(100.0)], 400.0)
    assert made is not None and made.labels == ["200 g", "200 g*"]


def test_pieces_are_matched_in_micrograms() -> None:
    # 0.1 + 0.2 is not 0.3 in binary floating point; in whole micrograms it is (100 000 + 200 000 = 300 000 µg)
    made = compose([piece(0.2), piece(0.1), piece(0.001)], 0.3)
    assert made is not None and made.labels == ["0.2 g", "0.1 g"]
    assert compose([piece(0.2), piece(0.1), piece(0.001)], 0.301) is not None
    assert compose([piece(0.2), piece(0.1), piece(0.001)], 0.3005) is None


def test_load_mass_and_uncertainty_are_sums_of_the_pieces() -> None:
    made = compose(r111_set(), 150.0)
    assert isinstance(made, Load)
    # 99.99996 g + 50.00002 g = 149.99998 g; U = 0.05 mg + 0.03 mg = 0.08 mg (summed linearly, cg-18 7.1.2)
    assert made.mass == pytest.approx(149.99998, abs=1e-12)
    assert made.correction == pytest.approx(-0.00002, abs=1e-12)
    assert made.uncertainty == pytest.approx(0.00008, abs=1e-15)


def test_make_names_the_parameter_the_load_and_the_set() -> None:
    assert make(r111_set(), 70.0, "eccentricity_load_g", "W-SET").labels == ["50 g", "20 g"]
    with pytest.raises(ValueError) as refused:
        make(r111_set(), 0.3, "loads_g", "W-SET")
    assert str(refused.value) == (
        "loads_g: the weight set W-SET cannot make 0.3 g from its certified pieces (1, 2, 5, 10, 20, 50, 100, 200 g); "
        "choose another loads_g or another weight set"
    )


def test_a_certificate_row_without_a_conventional_mass_is_refused() -> None:
    with pytest.raises(ValueError, match="certificate C-9 of W-SET, value 2: each certified weight needs"):
        pieces(context([{"point": 1.0, "value": 1.0, "U": 1e-5}, {"point": 2.0, "U": 1e-5}]))
    with pytest.raises(ValueError, match="give the weights in g, not 'mg'"):
        pieces(context([{"point": 1.0, "value": 1.0, "U": 1e-5, "unit": "mg"}]))

"""Benchmarks of the uncertainty engine against peers and limits; prints figure, limit/peer and ratio.

    python benchmarks/uncertainty.py [--quick]

(a) GUM (u, nu_eff, budget) of a 10-input non-linear model, end to end (inputs built, model evaluated,
    budget produced) against GTC and `uncertainties` (which has no nu_eff nor budget: u only).
    Target: <= 0.25 x GTC's time.
(b) 10 000 calibration points sharing one model, vectorised (gum_points). Target: <= 50 ms.
(c) Monte Carlo, 10^6 trials, 10 inputs. Targets: <= 0.3 s and <= 1.5 x the time numpy needs to draw the
    same random numbers. Peak memory for 10^7 trials (tracemalloc, in a subprocess): <= 300 MB.
``--quick`` runs reduced sizes (under ~20 s) for a smoke test; its figures are not comparable to the targets.
Times are the best of several repetitions (the machine may be shared).
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import time
import timeit
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from uncertainty import Model, gum, gum_points, mcm, normal, rectangular

EXPR = "x0*x1/x2 + sqrt(x3)*exp(x4/10) + x5**2 - x6*x7 + x8/x9 + sin(x0*x9)"
VALUES = [1.0 + 0.1 * i for i in range(10)]
UNCS = [0.01 * (i + 1) for i in range(10)]
DOFS = [10.0 + i for i in range(10)]


def best(fn: Callable[[], object], number: int, repeat: int) -> float:
    """Best mean time per call (s) over ``repeat`` runs of ``number`` calls."""
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number


def line(name: str, figure: str, limit: str, ratio: float, target: float) -> None:
    verdict = "OK" if ratio <= target else "MISSED"
    print(f"{name:<58} {figure:>14}  {limit:>26}  ratio {ratio:7.3f} (target <= {target:g}) {verdict}")


def info(name: str, figure: str, peer: str, ratio: float) -> None:
    print(f"{name:<58} {figure:>14}  {peer:>26}  ratio {ratio:7.3f} (information, no target)")


def bench_gum(quick: bool) -> None:
    import GTC
    import uncertainties
    from uncertainties import umath

    model = Model.from_expression(EXPR)  # compiled once, as a procedure would hold it

    def ours() -> object:
        ins = {f"x{i}": normal(VALUES[i], UNCS[i], dof=DOFS[i]) for i in range(10)}
        res = gum(model, ins, check_linearity=False)["y"]
        return res.u, res.dof, res.budget

    def ours_default() -> object:
        ins = {f"x{i}": normal(VALUES[i], UNCS[i], dof=DOFS[i]) for i in range(10)}
        return gum(model, ins)["y"].u

    def gtc() -> object:
        x = [GTC.ureal(VALUES[i], UNCS[i], DOFS[i], label=f"x{i}") for i in range(10)]
        y = x[0] * x[1] / x[2] + GTC.sqrt(x[3]) * GTC.exp(x[4] / 10) + x[5] ** 2 - x[6] * x[7] + x[8] / x[9]
        y = y + GTC.sin(x[0] * x[9])
        return y.u, y.df, list(GTC.reporting.budget(y, trim=0))

    def unc() -> object:
        x = [uncertainties.ufloat(VALUES[i], UNCS[i], tag=f"x{i}") for i in range(10)]
        y = x[0] * x[1] / x[2] + umath.sqrt(x[3]) * umath.exp(x[4] / 10) + x[5] ** 2 - x[6] * x[7] + x[8] / x[9]
        y = y + umath.sin(x[0] * x[9])
        return y.std_dev, y.error_components()

    # same numbers first
    u_ours, nu_ours, _ = ours()  # type: ignore[misc]
    u_gtc, nu_gtc, _ = gtc()  # type: ignore[misc]
    assert math.isclose(u_ours, u_gtc, rel_tol=1e-9) and math.isclose(nu_ours, nu_gtc, rel_tol=1e-9)
    n, r = (200, 3) if quick else (2000, 7)
    t_ours = best(ours, n, r)
    t_def = best(ours_default, n, r)
    t_gtc = best(gtc, n, r)
    t_unc = best(unc, n, r)
    ours_s, def_s = f"{t_ours * 1e6:9.1f} us", f"{t_def * 1e6:9.1f} us"
    gtc_s, unc_s = f"GTC {t_gtc * 1e6:9.1f} us", f"uncertainties {t_unc * 1e6:9.1f} us"
    print("(a) GUM, 10-input non-linear model, u + nu_eff + budget, inputs built each call")
    line("  caltrace (first order, like GTC) vs GTC", ours_s, gtc_s, t_ours / t_gtc, 0.25)
    info("  caltrace vs uncertainties (u only: no nu_eff, no budget)", ours_s, unc_s, t_ours / t_unc)
    info("  caltrace default (+ second-order linearity check) vs GTC", def_s, gtc_s, t_def / t_gtc)


def bench_points(quick: bool) -> None:
    npts = 1_000 if quick else 10_000
    rng = np.random.default_rng(1)
    model = Model.from_expression(EXPR)
    values = {f"x{i}": VALUES[i] * (1 + 0.01 * rng.standard_normal(npts)) for i in range(10)}
    uncs = {f"x{i}": UNCS[i] * np.ones(npts) for i in range(10)}
    dofs = {f"x{i}": DOFS[i] for i in range(10)}

    def run() -> object:
        return gum_points(model, values, uncs, dofs)

    t = best(run, 3 if quick else 5, 3)
    print(f"(b) {npts} calibration points sharing one model (value, u, nu_eff, k, U per point)")
    line(f"  gum_points, {npts} points", f"{t * 1e3:9.2f} ms", "limit     50.00 ms", t / 0.050, 1.0)


def draw_only(trials: int, block: int) -> None:
    rng = np.random.default_rng(1)
    for start in range(0, trials, block):
        size = min(block, trials - start)
        for i in range(10):
            if i % 2 == 0:
                rng.normal(VALUES[i], UNCS[i], size)
            else:
                rng.uniform(VALUES[i] - UNCS[i], VALUES[i] + UNCS[i], size)


def mcm_inputs() -> dict[str, object]:
    return {f"x{i}": normal(VALUES[i], UNCS[i]) if i % 2 == 0 else rectangular(VALUES[i], UNCS[i]) for i in range(10)}


def bench_mcm(quick: bool) -> None:
    trials = 100_000 if quick else 1_000_000
    model = Model.from_expression(EXPR)
    ins = mcm_inputs()

    def run() -> object:
        return mcm(model, ins, trials=trials, seed=1)  # type: ignore[arg-type]

    t = best(run, 1, 3 if quick else 5)
    t_draw = best(lambda: draw_only(trials, 100_000), 1, 3 if quick else 5)
    print(f"(c) Monte Carlo, {trials} trials, 10 inputs (5 normal, 5 rectangular), both intervals")
    line("  mcm vs time limit", f"{t * 1e3:9.1f} ms", "limit       300 ms", t / 0.3, 1.0)
    draws = f"draws {t_draw * 1e3:9.1f} ms"
    line("  mcm vs numpy drawing the same random numbers", f"{t * 1e3:9.1f} ms", draws, t / t_draw, 1.5)


PEAK_SCRIPT = """
import sys, tracemalloc
sys.path.insert(0, {root!r})
sys.argv = ["x"]
import benchmarks.uncertainty as b
from uncertainty import Model, mcm
model = Model.from_expression(b.EXPR)
ins = b.mcm_inputs()
tracemalloc.start()
mcm(model, ins, trials={trials}, seed=1)
print(tracemalloc.get_traced_memory()[1])
"""


def bench_memory(quick: bool) -> None:
    trials = 1_000_000 if quick else 10_000_000
    root = str(Path(__file__).resolve().parents[1])
    out = subprocess.run(
        [sys.executable, "-c", PEAK_SCRIPT.format(root=root, trials=trials)],
        capture_output=True,
        text=True,
        check=True,
    )
    peak = int(out.stdout.strip().splitlines()[-1])
    limit = 300e6 * trials / 10_000_000
    print(f"(d) peak memory of Monte Carlo with {trials} trials (tracemalloc, subprocess)")
    line("  mcm peak traced memory", f"{peak / 1e6:9.1f} MB", f"limit {limit / 1e6:9.1f} MB", peak / limit, 1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="reduced sizes for a smoke test")
    args = parser.parse_args()
    t0 = time.perf_counter()
    bench_gum(args.quick)
    bench_points(args.quick)
    bench_mcm(args.quick)
    bench_memory(args.quick)
    print(f"total {time.perf_counter() - t0:.1f} s{' (quick)' if args.quick else ''}")


if __name__ == "__main__":
    main()

"""Branches of the gap equation by pseudo-arclength continuation, and their classification.

Part of :mod:`solvers.continuation` (the package docstring has the method)."""
from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field

import numpy as np

from keldysh.nambu import DrivenSystem
from solvers.dynamics import coupling_matrix
from solvers.gap import GAP_ROUTES

from .bifurcation import Bifurcation
from .linear import BlockSum, Linearisation, block_pair_sums
from .spectrum import StabilityOptions, Spectrum, stability_spectrum

log = logging.getLogger("solvers.continuation")

# ------------------------------------------------------------------------------------------
# continuation
@dataclass(frozen=True)
class ContinuationOptions:
    """Options of :func:`continue_branch`.

    ``parameter``: "V" (at fixed V'), "Omega" or "omega0" (at fixed V, V'); the branch is
    followed while the parameter stays in [``p_min``, ``p_max``].  Unknowns are scaled by
    ``amplitude_scale`` (Δ; default Γ1 + Γ2), min Γ (ν) and ``parameter_scale`` (default t for
    V and ω0, Γ1 + Γ2 for Ω).  ``a0``: the first amplitude (units of amplitude_scale);
    ``ds``, ``ds_min``, ``ds_max``: arclength steps (scaled units); ``max_points``;
    ``tol``: the relative residual |Δ - M S| / |Δ| accepted; ``max_newton``: corrector
    iterations; ``onset_amplitudes``: amplitudes (units of amplitude_scale) of the extra
    fixed-amplitude points near onset for the fit of |Δ|² against |p - p_c|;
    ``stability``: compute the spectrum of every point (Born-Markov route only)."""

    parameter: str = "V"
    p_min: float = -np.inf
    p_max: float = np.inf
    amplitude_scale: float | None = None
    parameter_scale: float | None = None
    a0: float = 0.05
    ds: float = 0.1
    ds_min: float = 1e-4
    ds_max: float = 1.0
    max_points: int = 200
    tol: float = 1e-10
    max_newton: int = 12
    onset_amplitudes: tuple = (0.01, 0.014, 0.02, 0.028, 0.04, 0.056, 0.08)
    stability: bool = True
    stability_options: StabilityOptions = StabilityOptions()

    def __post_init__(self):
        if self.parameter not in ("V", "Omega", "omega0"):
            raise ValueError(f"parameter: must be 'V', 'Omega' or 'omega0', got {self.parameter!r}")


@dataclass(frozen=True)
class BranchPoint:
    """One solution on a branch: the parameter ``p`` (and V), Δ±, ν, the relative residual,
    the corrector iterations, and its stability (NaN / -1 where not computed)."""

    p: float
    V: float
    delta_plus: complex
    delta_minus: complex
    nu: float
    residual: float
    iterations: int
    tangent_p: float = float("nan")
    spectrum: Spectrum | None = None

    @property
    def amplitude(self) -> float:
        return float(np.hypot(abs(self.delta_plus), abs(self.delta_minus)))


@dataclass
class Branch:
    """A branch of nonzero solutions (see :func:`continue_branch`, :func:`classify`).

    ``points`` in continuation order; ``onset``: the fixed-amplitude points near the
    bifurcation used for the fit; ``folds``: parameter values where the branch turns back
    (p extremal along the arclength); ``kind``: "supercritical" (enters the unstable side of the
    normal state), "subcritical" (enters the stable side), or "" when unknown; ``exponent``:
    β of |Δ|² ∝ |p - p_c|^β fitted on the onset points, with ``exponent_error`` (the change
    when the three largest onset amplitudes are left out); ``termination``: why the
    continuation stopped; ``checks``: the time-integration checks."""

    branch_id: int
    route: str
    parameter: str
    bifurcation: Bifurcation | None
    points: list = field(default_factory=list)
    onset: list = field(default_factory=list)
    folds: list = field(default_factory=list)
    kind: str = ""
    exponent: float = float("nan")
    exponent_error: float = float("nan")
    termination: str = ""
    status: str = "ok"
    checks: list = field(default_factory=list)
    approximations: tuple = ()
    seconds: float = 0.0
    history: dict = field(default_factory=dict)


class _GapProblem:
    """F(x) of the gap equation in scaled unknowns x = (a, Re b, Im b, ν/s_ν, p/s_p): the
    reference component Δ_ref = a s_Δ (real), the other Δ_other = b s_Δ."""

    def __init__(self, system, mesh, V, Vprime, route, comm, opts: ContinuationOptions, ref: int):
        self.system, self.mesh, self.V, self.Vprime = system, mesh, float(V), complex(Vprime)
        self.route, self.comm, self.opts, self.ref = route, comm, opts, ref
        self.blocks = BlockSum(mesh, comm)
        G = float(np.sum(system.baths.gamma[0]))
        self.s_d = opts.amplitude_scale or G
        self.s_nu = float(np.min(system.baths.gamma))
        default_p = {"V": system.model.t, "omega0": system.model.t, "Omega": G}[opts.parameter]
        self.s_p = opts.parameter_scale or default_p
        self.n_eval = 0

    def system_at(self, p):
        if self.opts.parameter == "Omega":
            return dataclasses.replace(self.system, Omega=float(p))
        if self.opts.parameter == "omega0":
            return dataclasses.replace(self.system, omega0=float(p))
        return self.system

    def unpack(self, x):
        ref = complex(x[0] * self.s_d)
        other = complex(x[1] * self.s_d, x[2] * self.s_d)
        dp, dm = (ref, other) if self.ref == 0 else (other, ref)
        p = x[4] * self.s_p
        V = p if self.opts.parameter == "V" else self.V
        return dp, dm, x[3] * self.s_nu, p, V

    def pack(self, dp, dm, nu, p):
        ref, other = (dp, dm) if self.ref == 0 else (dm, dp)
        phase = np.exp(-1j * np.angle(ref)) if ref != 0 else 1.0
        ref, other = abs(ref), other * phase
        return np.array([ref / self.s_d, other.real / self.s_d, other.imag / self.s_d, nu / self.s_nu, p / self.s_p])

    def F(self, x) -> np.ndarray:
        dp, dm, nu, p, V = self.unpack(x)
        S = block_pair_sums(self.blocks, self.system_at(p), dp, dm, nu, self.route)
        r = (np.array([dp, dm]) - coupling_matrix(V, self.Vprime) @ S) / self.s_d
        self.n_eval += 1
        return np.array([r[0].real, r[0].imag, r[1].real, r[1].imag])

    def jacobian(self, x, f0=None) -> np.ndarray:
        f0 = self.F(x) if f0 is None else f0
        J = np.empty((4, 5))
        for i in range(5):
            h = 1e-7 * max(1.0, abs(x[i]))
            xp = x.copy()
            xp[i] += h
            J[:, i] = (self.F(xp) - f0) / h
        return J

    def relative_residual(self, x) -> float:
        dp, dm, *_ = self.unpack(x)
        size = np.hypot(abs(dp), abs(dm)) / self.s_d
        return float(np.linalg.norm(self.F(x)) / max(size, 1e-300))


def _tangent(J: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """Unit null vector of the 4 x 5 Jacobian, oriented along ``previous``."""
    A = np.vstack([J, previous])
    t = np.linalg.solve(A, np.array([0.0, 0, 0, 0, 1.0]))
    t /= np.linalg.norm(t)
    return t if t @ previous >= 0 else -t


def _correct(prob: _GapProblem, x0: np.ndarray, row: np.ndarray, target: float, opts: ContinuationOptions):
    """Newton on [F(x); row·x - target] = 0 from x0; (x, iterations, converged)."""
    x = x0.copy()
    for it in range(1, opts.max_newton + 1):
        f = prob.F(x)
        J = prob.jacobian(x, f)
        G = np.concatenate([f, [row @ x - target]])
        try:
            dx = np.linalg.solve(np.vstack([J, row]), -G)
        except np.linalg.LinAlgError:
            return x, it, False
        x = x + dx
        if np.linalg.norm(dx) < 1e-11 * max(1.0, np.linalg.norm(x)):
            break
    res = prob.relative_residual(x)
    return x, it, bool(res < opts.tol and np.all(np.isfinite(x)))


def _point(prob: _GapProblem, x, it, tangent_p=float("nan")) -> BranchPoint:
    dp, dm, nu, p, V = prob.unpack(x)
    return BranchPoint(float(p), float(V), dp, dm, float(nu), prob.relative_residual(x), int(it), float(tangent_p))


def _fixed_amplitude(prob, x_guess, a, opts):
    """The solution with the reference amplitude fixed at ``a`` (scaled), from ``x_guess``."""
    row = np.array([1.0, 0, 0, 0, 0])
    x0 = x_guess.copy()
    x0[0] = a
    return _correct(prob, x0, row, a, opts)


def continue_branch(system: DrivenSystem, mesh, Vprime: complex, start, *, V: float | None = None,
                    route: str = "born_markov", options: ContinuationOptions = ContinuationOptions(),
                    comm=None, branch_id: int = 0) -> Branch:
    """Follow the branch of nonzero solutions of the gap equation from ``start`` (module
    docstring): a :class:`Bifurcation` (parameter "V": the branch emerges at V_c along its null
    vector) or a :class:`BranchPoint` (any parameter; ``V`` fixed for "Omega"/"omega0").

    Pseudo-arclength continuation: predictor x + ds t, corrector Newton on
    [F(x); t·(x - x_pred)] = 0 with a finite-difference Jacobian; ds grows by 1.5 after a
    corrector of <= 3 iterations, halves after a failure.  Stops when the parameter leaves
    [p_min, p_max] (with a last point at the limit), when the amplitude returns to zero (the
    branch ends on the normal state), after ``max_points``, or when ds < ds_min."""
    t0 = time.perf_counter()
    if route not in GAP_ROUTES:
        raise ValueError(f"route: must be one of {GAP_ROUTES}, got {route!r}")
    opts = options
    bif = start if isinstance(start, Bifurcation) else None
    if bif is not None and opts.parameter != "V":
        raise ValueError("a branch from a bifurcation point is continued in V (parameter = 'V')")
    if bif is not None:
        n = np.array(bif.null_vector)
        ref = 0 if abs(n[0]) >= abs(n[1]) else 1
    else:
        ref = 0 if abs(start.delta_plus) >= abs(start.delta_minus) else 1
    Vfix = V if V is not None else (start.V if bif is None else bif.V_c)
    prob = _GapProblem(system, mesh, Vfix, Vprime, route, comm, opts, ref)
    branch = Branch(branch_id, route, opts.parameter, bif,
                    approximations=("frozen occupations (Born-Markov)",) if route == "born_markov" else ())
    sopts = opts.stability_options
    with_stability = opts.stability and route == "born_markov"

    def stability(pt: BranchPoint, previous=()):
        if not with_stability:
            return pt
        lin = Linearisation(prob.system_at(pt.p), mesh, pt.V, Vprime, pt.delta_plus, pt.delta_minus, pt.nu, comm)
        return dataclasses.replace(pt, spectrum=stability_spectrum(lin, sopts, previous))

    def roots_of(pt):
        if pt.spectrum is None:
            return ()
        return tuple(pt.spectrum.eigenvalues) + ((pt.spectrum.goldstone,) if np.isfinite(pt.spectrum.goldstone) else ())

    # the first point
    if bif is not None:
        p_c = bif.V_c
        x_c = np.array([0.0, 0.0, 0.0, bif.nu_c / prob.s_nu, p_c / prob.s_p])
        ratio = n[1 - ref] / n[ref]
        guess = x_c + np.array([0.0, opts.a0 * ratio.real, opts.a0 * ratio.imag, 0, 0])
        x, it, ok = _fixed_amplitude(prob, guess, opts.a0, opts)
        if not ok:
            branch.status = branch.termination = "no solution at the first amplitude a0 (try a smaller a0)"
            branch.seconds = time.perf_counter() - t0
            return branch
        # onset points (fixed amplitudes) for the amplitude law
        xo = x.copy()
        for a in sorted(opts.onset_amplitudes):
            xo_new, it_o, ok_o = _fixed_amplitude(prob, xo, a, opts)
            if ok_o:
                xo = xo_new
                branch.onset.append(_point(prob, xo, it_o))
        previous_t = np.array([1.0, ratio.real, ratio.imag, 0.0, 0.0])
    else:
        x = prob.pack(start.delta_plus, start.delta_minus, start.nu, start.p)
        it = 0
        J = prob.jacobian(x)
        previous_t = _tangent(J, np.array([0, 0, 0, 0, 1.0]))
    J = prob.jacobian(x)
    t = _tangent(J, previous_t)
    pt = stability(_point(prob, x, it, t[4]))
    branch.points.append(pt)
    ds = opts.ds
    lo, hi = opts.p_min / prob.s_p, opts.p_max / prob.s_p
    termination = f"max_points = {opts.max_points} reached"
    while len(branch.points) < opts.max_points:
        x_pred = x + ds * t
        if not lo <= x_pred[4] <= hi:  # last point at the limit of the range
            limit = hi if x_pred[4] > hi else lo
            frac = (limit - x[4]) / (x_pred[4] - x[4]) if x_pred[4] != x[4] else 0.0
            xg = x + frac * ds * t
            xg[4] = limit
            xn, itn, ok = _correct(prob, xg, np.array([0, 0, 0, 0, 1.0]), limit, opts)
            if ok and xn[0] > 0:
                tn = _tangent(prob.jacobian(xn), t)
                branch.points.append(stability(_point(prob, xn, itn, tn[4]), roots_of(branch.points[-1])))
            termination = f"left the range at {opts.parameter} = {limit * prob.s_p:.6g}"
            break
        xn, itn, ok = _correct(prob, x_pred, t, t @ x_pred, opts)
        if not ok:
            ds *= 0.5
            if ds < opts.ds_min:
                termination = f"lost the branch (step below ds_min = {opts.ds_min:g})"
                break
            continue
        if xn[0] <= 0.5 * opts.a0 * (1 if bif is not None else 0) or xn[0] <= 0:
            # the last point at the first amplitude a0, as at the start: its parameter is within
            # O(a0^2) of the bifurcation point the branch returns to, whatever the step was
            p_end = xn[4] * prob.s_p
            if bif is not None and x[0] > opts.a0 and x[0] > xn[0]:
                lam = (x[0] - opts.a0) / (x[0] - xn[0])
                xf, itf, okf = _fixed_amplitude(prob, x + lam * (xn - x), opts.a0, opts)
                if okf and xf[0] > 0:
                    tf = _tangent(prob.jacobian(xf), t)
                    branch.points.append(stability(_point(prob, xf, itf, tf[4]), roots_of(branch.points[-1])))
                    p_end = xf[4] * prob.s_p
            termination = (f"returned to the normal state near {opts.parameter} = {p_end:.6g} "
                           "(a bifurcation point of the normal state)")
            break
        tn = _tangent(prob.jacobian(xn), t)
        x, t = xn, tn
        branch.points.append(stability(_point(prob, x, itn, t[4]), roots_of(branch.points[-1])))
        if itn <= 3:
            ds = min(ds * 1.5, opts.ds_max)
        elif itn > 6:
            ds = max(ds * 0.5, opts.ds_min)
    branch.termination = termination
    branch.history = {"n_evaluations": prob.n_eval}
    classify(branch)
    branch.seconds = time.perf_counter() - t0
    log.info("branch %d (%s): %d points, %s; %s", branch_id, route, len(branch.points), branch.kind or "-",
             termination)
    return branch


def classify(branch: Branch) -> Branch:
    """Folds, bifurcation type and amplitude exponent of ``branch`` (in place; returned).

    Folds: where the parameter is extremal along the branch (the sign of dp/ds changes
    between successive points), located by the vertex of the parabola p(s) through the three
    points around the change.  Type (branches from a bifurcation point only): supercritical
    when the first points lie on the unstable side of the normal state (``side``),
    subcritical otherwise.  Exponent: least squares of log|Δ|² against log|p - p_c| over the
    onset points."""
    pts = branch.points
    tp = np.array([p.tangent_p for p in pts])
    ps = np.array([p.p for p in pts])
    folds = []
    for i in range(1, len(pts)):
        if np.isfinite(tp[i - 1]) and np.isfinite(tp[i]) and tp[i - 1] * tp[i] < 0:
            j = min(max(i, 1), len(pts) - 2) if len(pts) >= 3 else None
            if j is None:
                folds.append(float(ps[i]))
                continue
            y = ps[j - 1:j + 2]
            a = y[0] - 2 * y[1] + y[2]
            # vertex of the parabola through equally weighted neighbours (index as the abscissa)
            off = 0.5 * (y[0] - y[2]) / a if a != 0 else 0.0
            folds.append(float(y[1] - 0.25 * (y[0] - y[2]) * off) if abs(off) <= 1 else float(y[1]))
    branch.folds = folds
    bif = branch.bifurcation
    if bif is None:
        return branch
    onset = branch.onset or pts[:3]
    dV = np.array([p.p - bif.V_c for p in onset])
    side = np.sign(np.median(dV)) if dV.size else 0.0
    branch.kind = "supercritical" if side == bif.side else ("subcritical" if side != 0 else "")
    amp2 = np.array([p.amplitude ** 2 for p in onset])
    good = (np.abs(dV) > 0) & (amp2 > 0)
    if good.sum() >= 3:
        X, Y = np.log(np.abs(dV[good])), np.log(amp2[good])
        beta = float(np.polyfit(X, Y, 1)[0])
        k = max(3, good.sum() - 3)
        beta_small = float(np.polyfit(X[:k], Y[:k], 1)[0])
        branch.exponent, branch.exponent_error = beta, abs(beta - beta_small)
    return branch

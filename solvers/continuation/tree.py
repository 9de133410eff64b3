"""The one serializer of the gap map (results tree <-> objects).

Part of :mod:`solvers.continuation` (the package docstring has the method)."""
from __future__ import annotations

import dataclasses
import logging

import numpy as np

from .bifurcation import Bifurcation
from .branch import Branch, BranchPoint
from .gapmap import GapMap, IntegrationCheck
from .spectrum import Spectrum

log = logging.getLogger("solvers.continuation")

# ------------------------------------------------------------------------------------------
# the serializer
_POINT_KEYS = ("p", "V", "nu", "residual", "iterations", "tangent_p")


def _points_tree(points, with_spectrum: bool) -> dict:
    out = {k: np.array([getattr(p, k) for p in points], dtype=float) for k in _POINT_KEYS}
    out["iterations"] = out["iterations"].astype(np.int64)
    out["delta_plus"] = np.array([p.delta_plus for p in points], dtype=complex)
    out["delta_minus"] = np.array([p.delta_minus for p in points], dtype=complex)
    out["abs_delta_plus"] = np.abs(out["delta_plus"])
    out["abs_delta_minus"] = np.abs(out["delta_minus"])
    if not with_spectrum:
        return out
    sp = [p.spectrum for p in points]
    n_eig = max([0 if s is None else s.eigenvalues.size for s in sp] + [1])
    eig = np.full((len(points), n_eig), np.nan + 0j)
    for i, s in enumerate(sp):
        if s is not None:
            eig[i, : s.eigenvalues.size] = s.eigenvalues
    nan = float("nan")
    out.update(
        max_re=np.array([nan if s is None else s.max_re for s in sp]),
        n_growing=np.array([-1 if s is None else s.n_growing for s in sp], dtype=np.int64),
        n_enclosed=np.array([-1 if s is None else s.n_enclosed for s in sp], dtype=np.int64),
        stable=np.array([-1 if s is None else int(s.stable) for s in sp], dtype=np.int64),
        goldstone=np.array([complex(nan) if s is None else s.goldstone for s in sp], dtype=complex),
        goldstone_overlap=np.array([nan if s is None else s.goldstone_overlap for s in sp]),
        sigma=np.array([nan if s is None else s.sigma for s in sp]),
        stability_seconds=np.array([nan if s is None else s.seconds for s in sp]),
        stability_certified=np.array([False if s is None else s.certified for s in sp], dtype=bool),
        stability_status=np.array(["not computed" if s is None else s.status for s in sp], dtype=str),
        n_contour_points=np.array([-1 if s is None else s.n_points for s in sp], dtype=np.int64),
        eigenvalues=eig,
    )
    return out


_CHECK_KEYS = [f.name for f in dataclasses.fields(IntegrationCheck)]


def gap_map_tree(gm: GapMap) -> dict:
    """The ``results`` tree of a gap map::

        parameters/<name>                   Omega, omega0, delta, t, mu, Gamma1, Gamma2, temperature
        v, phi, window (2,)                 |V'|, arg V', the V window
        criterion/V_c, nu_c, jump, counts, certified, status, V_max   (full criterion, born_markov)
        bifurcations/route, V_c, nu_c, jump, side, null_vector (n, 2), V_criterion, nu_criterion,
                    residual, status
        n_branches
        branches/<id>/route, parameter, bifurcation (index), kind, exponent, exponent_error,
                     termination, status, approximations, folds (n_f,), seconds
                     points/p, V, delta_plus, delta_minus, abs_delta_plus, abs_delta_minus, nu,
                            residual, iterations, tangent_p, and (Born-Markov) max_re, n_growing,
                            n_enclosed, stable (1/0; -1 not computed), goldstone, goldstone_overlap,
                            sigma, stability_certified, stability_status, n_contour_points,
                            eigenvalues (n, K; NaN-padded; Goldstone excluded)
                     onset/ the same point arrays (the fixed-amplitude points of the fit)
                     checks/<IntegrationCheck fields> (n_checks,)
    """
    c = gm.criterion
    K = max([len(b.nu) for b in c.boundaries] + [1])
    nu_c = np.full((len(c.boundaries), K), np.nan)
    for i, b in enumerate(c.boundaries):
        nu_c[i, : len(b.nu)] = b.nu
    tree: dict = {
        "parameters": {k: float(v) for k, v in gm.parameters.items()},
        "v": gm.v, "phi": gm.phi, "window": np.array(gm.window, dtype=float),
        "criterion": {"V_c": c.V_c, "nu_c": nu_c, "jump": np.array([b.jump for b in c.boundaries], dtype=np.int64),
                      "counts": np.array(c.counts, dtype=np.int64), "certified": bool(c.certified),
                      "status": str(c.status), "V_max": float(c.V_max), "route": str(c.route)},
    }
    bifs = gm.bifurcations
    tree["bifurcations"] = {
        "route": np.array([b.route for b in bifs] or [""], dtype=str)[: len(bifs)],
        "V_c": np.array([b.V_c for b in bifs], dtype=float),
        "nu_c": np.array([b.nu_c for b in bifs], dtype=float),
        "jump": np.array([b.jump for b in bifs], dtype=np.int64),
        "side": np.array([b.side for b in bifs], dtype=np.int64),
        "null_vector": np.array([b.null_vector for b in bifs], dtype=complex).reshape(len(bifs), 2),
        "V_criterion": np.array([b.V_criterion for b in bifs], dtype=float),
        "nu_criterion": np.array([b.nu_criterion for b in bifs], dtype=float),
        "residual": np.array([b.residual for b in bifs], dtype=float),
        "status": np.array([b.status for b in bifs] or [""], dtype=str)[: len(bifs)],
    }
    tree["n_branches"] = len(gm.branches)
    branches = {}
    for br in gm.branches:
        g = {"route": br.route, "parameter": br.parameter,
             "bifurcation": int(br.history.get("bifurcation_index", -1)), "kind": br.kind,
             "exponent": float(br.exponent), "exponent_error": float(br.exponent_error),
             "termination": br.termination, "status": br.status,
             "approximations": "; ".join(br.approximations), "folds": np.array(br.folds, dtype=float),
             "seconds": float(br.seconds), "n_evaluations": int(br.history.get("n_evaluations", 0)),
             "points": _points_tree(br.points, br.route == "born_markov"),
             "onset": _points_tree(br.onset, False)}
        g["checks"] = {k: np.array([getattr(ch, k) for ch in br.checks],
                                   dtype=bool if k == "lands" else float) for k in _CHECK_KEYS}
        branches[str(br.branch_id)] = g
    tree["branches"] = branches
    return tree


def _points_from(tree: dict, with_spectrum: bool) -> list:
    n = np.asarray(tree.get("p", [])).size
    out = []
    for i in range(n):
        spec = None
        if with_spectrum and "max_re" in tree and int(tree["stable"][i]) >= 0:
            eig = np.asarray(tree["eigenvalues"])[i]
            spec = Spectrum(eig[np.isfinite(eig)], complex(tree["goldstone"][i]), float(tree["goldstone_overlap"][i]),
                            float(tree["max_re"][i]), int(tree["n_growing"][i]), int(tree["n_enclosed"][i]),
                            float(tree["sigma"][i]), bool(tree["stability_certified"][i]),
                            str(tree["stability_status"][i]), int(tree["n_contour_points"][i]),
                            float(tree["stability_seconds"][i]))
        out.append(BranchPoint(float(tree["p"][i]), float(tree["V"][i]), complex(tree["delta_plus"][i]),
                               complex(tree["delta_minus"][i]), float(tree["nu"][i]), float(tree["residual"][i]),
                               int(tree["iterations"][i]), float(tree["tangent_p"][i]), spec))
    return out


def branch_from_tree(g: dict, branch_id: int, bifurcations) -> Branch:
    """A :class:`Branch` from its group of :func:`gap_map_tree` (the inverse)."""
    j = int(g["bifurcation"])
    br = Branch(branch_id, str(g["route"]), str(g["parameter"]), bifurcations[j] if 0 <= j < len(bifurcations) else None,
                _points_from(g["points"], str(g["route"]) == "born_markov"), _points_from(g["onset"], False),
                [float(x) for x in np.atleast_1d(g["folds"])], str(g["kind"]), float(g["exponent"]),
                float(g["exponent_error"]), str(g["termination"]), str(g["status"]))
    ch = g.get("checks", {})
    m = np.asarray(ch.get("p", [])).size
    br.checks = [IntegrationCheck(**{k: (bool(ch[k][i]) if k == "lands" else float(ch[k][i])) for k in _CHECK_KEYS})
                 for i in range(m)]
    br.approximations = tuple(a for a in str(g.get("approximations", "")).split("; ") if a)
    br.seconds = float(g.get("seconds", 0.0))
    br.history = {"bifurcation_index": j, "n_evaluations": int(g.get("n_evaluations", 0))}
    return br


def gap_map_from_tree(tree: dict) -> GapMap:
    """The :class:`GapMap` of a ``results`` tree (the inverse of :func:`gap_map_tree`; the
    criterion comes back as a :class:`~solvers.stability.CriticalCouplings`)."""
    from solvers.stability import Boundary, CriticalCouplings

    c = tree["criterion"]
    bounds = tuple(Boundary(float(V), tuple(float(x) for x in np.atleast_1d(nu) if np.isfinite(x)), int(j))
                   for V, nu, j in zip(np.atleast_1d(c["V_c"]), np.atleast_2d(c["nu_c"]), np.atleast_1d(c["jump"]))) \
        if np.size(c["V_c"]) else ()
    crit = CriticalCouplings("full", str(c.get("route", "born_markov")), float(tree["v"]), float(tree["phi"]),
                             float(c["V_max"]), bounds, tuple(int(x) for x in np.atleast_1d(c["counts"])),
                             bool(c["certified"]), str(c["status"]))
    b = tree["bifurcations"]
    n = np.asarray(b["V_c"]).size
    bifs = [Bifurcation(float(b["V_c"][i]), float(b["nu_c"][i]), tuple(complex(x) for x in b["null_vector"][i]),
                        int(b["jump"][i]), int(b["side"][i]), float(b["V_criterion"][i]), float(b["nu_criterion"][i]),
                        float(b["residual"][i]), str(b["route"][i]), str(b["status"][i])) for i in range(n)]
    branches = [branch_from_tree(g, int(k), bifs) for k, g in sorted(tree.get("branches", {}).items(), key=lambda kv: int(kv[0]))]
    return GapMap({k: float(v) for k, v in tree["parameters"].items()}, float(tree["v"]), float(tree["phi"]),
                  tuple(float(x) for x in tree["window"]), crit, bifs, branches)

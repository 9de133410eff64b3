"""(c) k points for 1e-4 relative accuracy of F_+ (Eq. 13, valley pattern).

System: δ = 1, Γ1 = Γ2 = Ω = G, μ = -G, ω0 = 1.2 (resonance at |h| = 0.33 t, well below the
van Hove energy), for G = 0.02 (the shell the uniform mesh can still afford) and G = 0.005
(a 4x narrower shell).  Reference: F_+ on the exact-DOS energy mesh
(``EnergyMesh.resonant``, 3200 + 2 x 800 points; its own error is < 1e-7).

Meshes, each the smallest member of a one-parameter family whose error is ≤ 1e-4 there
and at every larger member tried:

* uniform Monkhorst-Pack ``KMesh.driven_half(model, n)`` through ``DrivenSystem.modes``
  ("as used by the engine"); its points on the η = 0 lines (Γ-M) are kept in the K+ half
  by the tie-break but are undriven (``drive_amplitude`` needs η > 0), an O(1/n) bias;
* the same mesh with every K+ point driven ("trapezoid": the pure uniform rule, which
  converges exponentially for this smooth periodic integrand);
* ``RefinedKMesh.resonant`` at level s: (n_angle, n_radial, n_angle_outer, n_outer) =
  (s, 2s, 4s, 2s);
* the exact-DOS mesh ``EnergyMesh.resonant(n_resonance=r, n_band=r/4)`` (only for the
  valley pattern: 1D).

Target: refined needs ≥ 100x fewer points than the uniform mesh.
"""
from __future__ import annotations

import numpy as np

from benchmarks.common import Record

TOL = 1e-4


def _system(G):
    from keldysh.baths import BathSet
    from keldysh.lattice import HoneycombModel
    from keldysh.nambu import DrivenSystem

    model = HoneycombModel(1.0)
    system = DrivenSystem(model, 1.2, G, BathSet.paper(G, G, -G), -G)
    W = np.sqrt((2 * G) ** 2 + G**2 * (2 * G) ** 2 / (G * G))  # Eq. (10) Lorentzian width
    return system, W


def smallest(family, params, err_of, tol=TOL, settle=2):
    """Smallest parameter p in ``params`` (increasing) with err ≤ tol at p and at every
    later p tried before ``settle`` consecutive successes.  Returns (p, errors dict)."""
    errs, first, ok = {}, None, 0
    for p in params:
        errs[p] = err_of(family(p))
        if errs[p] <= tol:
            first = p if first is None else first
            ok += 1
            if ok >= settle:
                return first, errs
        else:
            first, ok = None, 0
    return first, errs


def run(quick: bool = False) -> list[Record]:
    from keldysh.kmesh import EnergyMesh, KMesh, Resonance
    from keldysh.refined_kmesh import RefinedKMesh
    from solvers.born_markov import paper_kernels

    records = []
    for G in ((0.02,) if quick else (0.02, 0.005)):
        system, W = _system(G)
        model = system.model
        ref = paper_kernels(system.modes(EnergyMesh.resonant(model, Resonance.drive(1.2, W), 3200, 800)))[0]

        def rel(F):
            return abs(F - ref) / abs(ref)

        def err_mp(n):
            return rel(paper_kernels(system.modes(KMesh.driven_half(model, n)))[0])

        def err_trap(n):
            mesh = KMesh.driven_half(model, n)
            modes = system.modes_from_energies(model.energy(mesh.points), system.Omega, mesh.weights)
            return rel(paper_kernels(modes)[0])

        def refine(err, coarse):
            """Coarse scan (step 50), then step 2 inside the last failing bracket."""
            n_c, e_c = smallest(lambda n: n, coarse, err)
            if n_c is None:
                return None, e_c
            fine = range(max(2, n_c - 48), n_c + 1, 2)
            n_f, e_f = smallest(lambda n: n, list(fine), err, settle=len(fine))
            return (n_f if n_f is not None else n_c), {**e_c, **e_f}

        coarse = list(range(50, 1201, 50))
        n_mp, e_mp = refine(err_mp, coarse)
        n_tr, e_tr = refine(err_trap, coarse)
        levels = range(1, 9)
        s_ref, e_ref = smallest(lambda s: s, levels, lambda s: rel(paper_kernels(system.modes(
            RefinedKMesh.resonant(model, Resonance.drive(1.2, W), s, 2 * s, 4 * s, 2 * s)))[0]))
        M_ref = len(RefinedKMesh.resonant(model, Resonance.drive(1.2, W), s_ref, 2 * s_ref, 4 * s_ref, 2 * s_ref))
        r_dos, e_dos = smallest(lambda r: r, [8, 16, 24, 32, 48, 64, 96, 128, 192, 256],
                                lambda r: rel(paper_kernels(system.modes(
                                    EnergyMesh.resonant(model, Resonance.drive(1.2, W), r, max(4, r // 4))))[0]))
        M_dos = len(EnergyMesh.resonant(model, Resonance.drive(1.2, W), r_dos, max(4, r_dos // 4)))
        M_mp = n_mp * n_mp // 2 if n_mp else None
        M_tr = n_tr * n_tr // 2 if n_tr else None
        common = {"G": G, "W": W, "F_plus_ref": ref, "refined_level": s_ref,
                  "refined_errors": {str(k): v for k, v in e_ref.items()},
                  "exact_dos_points": M_dos, "exact_dos_n_resonance": r_dos}
        records.append(Record(
            name=f"c. k points for {TOL:g} F_+, Gamma1=Gamma2=Omega={G:g}: refined vs uniform MP (engine)",
            value=M_ref, baseline=M_mp, unit="points", target=100.0,
            notes={**common, "mp_n": n_mp,
                   "mp_errors": {str(k): v for k, v in sorted(e_mp.items())}}))
        records.append(Record(
            name=f"c. k points for {TOL:g} F_+, Gamma1=Gamma2=Omega={G:g}: refined vs uniform MP (all K+ driven)",
            value=M_ref, baseline=M_tr, unit="points", target=100.0,
            notes={**common, "mp_n": n_tr,
                   "mp_errors": {str(k): v for k, v in sorted(e_tr.items())}}))
    return records

"""One point of a phase diagram: critical couplings under both criteria and every route.

Used by the ``phase-diagram`` task (scans of Ω/Γ or μ2) and by the figures of the
paper (Fig. 3a, 3b).  For each value v = |V'| the point returns both branches of V_c:

* ``paper_eq14`` / ``paper_eq17`` — the paper criterion with the closed forms
  (valley pattern with the paper's baths only): F_+ from Eq. (14) (exact DOS) or
  Eq. (17), F_- from Eq. (15);
* ``paper_<route>`` — the paper criterion (ν = 0, real parts) with F = Re chi(0) of a
  route ("paper" = Eq. 13 on the mesh, "born_markov", "keldysh");
* ``full_<route>`` — the full criterion: the couplings V (up to ``N_BOUNDARIES`` per v,
  ascending, NaN-padded; shape (n_v, N_BOUNDARIES)) where the number of growing modes of
  the linearised dynamics changes, i.e. where a root of det[1 - M chi(z)] crosses the real
  axis; ``nu_<route>`` the frequency of each crossing (the condensate frequency at onset);
  ``unstable_modes_<route>`` (n_v, N_BOUNDARIES + 1): the number of growing modes in each
  interval between consecutive boundaries (-1 padding).  The Born-Markov route scans V
  with a Nyquist count; the costlier routes refine its boundaries.

Paper-criterion branches are stored in arrays of shape (n_v, 2), NaN where a branch does
not exist.
"""
from __future__ import annotations

import numpy as np

from keldysh.frequency import FrequencyGrid
from keldysh.nambu import DrivenSystem
from solvers import born_markov
from solvers.criteria import (coupling_roots, full_critical_couplings, full_instability,
                              paper_critical_couplings)
from solvers.susceptibility import pair_susceptibility

__all__ = ["default_nu_grid", "shell_mesh", "phase_point", "closed_forms_available", "N_BOUNDARIES"]

#: boundaries of unstable regions stored per v (NaN-padded)
N_BOUNDARIES = 6
#: the full criterion scans |V| ≤ V_MAX_FACTOR max(v, 1) (beyond, the finite ν window and
#: the coarse mesh outside the resonance shell cannot certify the Nyquist count)
V_MAX_FACTOR = 2.5


def default_nu_grid(system: DrivenSystem, n_per_panel: int = 8, span: float = 8.0) -> np.ndarray:
    """Real frequencies where chi(ν) has structure: the pair energy E = -2μ and the Rabi
    sidebands E ± Ω, E ± 2Ω, each a feature of width Γ = Γ1 + Γ2 (+ T), resolved by the
    sinh-mapped panels of :meth:`keldysh.frequency.FrequencyGrid.adapted` within
    |ν - E| ≤ span (Γ + 2Ω + 2T), plus geometric tails out to 100 times that."""
    g = system.baths.gamma
    T = float(np.max(system.baths.temperature))
    G = float(g[0].sum()) + T
    E = -2 * system.mu
    Om = system.Omega
    centres = E + np.array([0.0, -Om, Om, -2 * Om, 2 * Om]) if Om > 0 else np.array([E])
    grid = FrequencyGrid.adapted(centres - 1j * G, [], 0.0, n_per_panel).points
    half = span * (G + 2 * Om + 2 * T)
    # geometric tails out to 100 x the window, so that chi -> 0 at both ends (the Nyquist
    # count needs D -> 1 there)
    tails = half * np.geomspace(1.25, 100.0, 16)
    return np.concatenate([E - tails[::-1], grid[np.abs(grid - E) <= half], E + tails])


def shell_mesh(system: DrivenSystem, span: float = 8.0, resolution_over_gamma: float = 0.5,
               order: int = 4):
    """Energy mesh for phase-diagram points (valley pattern): the resonance shell resolved
    uniformly at ``resolution_over_gamma`` x Γ over the detunings that the default ν grid
    probes (|ν - E| ≤ span (Γ + 2Ω + 2T) ↔ |e - ω0/2| ≤ that / 2, plus margin).

    The full criterion needs it: chi(ν) at real ν is a sum of per-sample Lorentzians of width
    ~Γ, which a mesh coarser than Γ turns into a comb with spurious real-axis crossings."""
    from keldysh.kmesh import EnergyMesh

    G = float(system.baths.gamma[0].sum())
    T = float(np.max(system.baths.temperature))
    half = 0.5 * span * (G + 2 * system.Omega + 2 * T) + 10 * G
    mu = system.baths.mu  # lab frame; T = 0 steps of band 2 at e = μ_v2, of band 1 at e = -μ_v1
    breaks = [] if T > 0 else sorted({*mu[:, 1].tolist(), *(-mu[:, 0]).tolist()})
    return EnergyMesh.shell(system.model, system.omega0, resolution_over_gamma * G, half, order,
                            breaks=breaks)


def closed_forms_available(system: DrivenSystem) -> bool:
    """Eqs. (14), (15), (17) hold for the valley drive with the paper's baths (same Γ_a,
    μ and T in both valleys, T ≪ δ)."""
    b = system.baths
    return (system.pattern == "valley" and np.allclose(b.gamma[0], b.gamma[1])
            and np.allclose(b.mu, b.mu[0, 0]) and np.all(b.temperature == 0) and system.Omega > 0)


def _pad(values, n=2):
    out = np.full(n, np.nan)
    vals = np.asarray(values, dtype=float)[:n]
    out[: vals.size] = vals
    return out


def phase_point(system: DrivenSystem, mesh, v_values, *, routes=("paper", "born_markov"),
                criteria=("paper", "full"), comm=None, nu_grid=None, n_per_panel: int = 20,
                closed_forms: bool = True, refine_from_born_markov: bool = True) -> dict:
    """Critical couplings at one parameter point; returns a dict of numpy arrays.

    With ``refine_from_born_markov`` (default) the full criterion of the costlier routes
    ("keldysh", "poles") is located by widening brackets around the Born-Markov crossings
    (the routes differ by O(Γ/ω0), so each crossing moves only slightly); a crossing that
    the Born-Markov route does not have is then not searched for.  Set it False for an
    independent scan of the whole ν grid in every route."""
    v_values = np.atleast_1d(np.asarray(v_values, dtype=float))
    nv = v_values.size
    out: dict[str, np.ndarray] = {}
    if closed_forms and "paper" in criteria and closed_forms_available(system):
        G1, G2 = system.baths.gamma[0]
        model = system.model
        F14 = born_markov.eq14_kernel(model, system.omega0, system.Omega, G1, G2, system.mu)
        F17 = born_markov.eq17_kernel(model, system.omega0, system.Omega, G1, G2, system.mu)
        for name, F in (("eq14", F14), ("eq17", F17)):
            Fm = born_markov.eq15_kernel_minus(F, G1, G2)
            out[f"F_plus_{name}"] = np.array(F)
            out[f"paper_{name}"] = np.array([_pad(paper_critical_couplings(F, Fm, v).V_c)
                                             for v in v_values])
    nu_grid = default_nu_grid(system) if nu_grid is None else np.asarray(nu_grid, dtype=float)
    width = float(np.min(np.diff(nu_grid)))
    reference = {}  # Born-Markov crossings, used to bracket the costlier routes
    order = sorted(routes, key=lambda r: r != "born_markov")
    for route in order:
        chi0 = pair_susceptibility(system, mesh, route=route, z=0.0, comm=comm, n_per_panel=n_per_panel)
        out[f"chi_plus_{route}"] = np.array(chi0.chi_plus)
        out[f"chi_minus_{route}"] = np.array(chi0.chi_minus)
        if "paper" in criteria:
            out[f"paper_{route}"] = np.array([_pad(paper_critical_couplings(chi0.F_plus, chi0.F_minus, v).V_c)
                                              for v in v_values])
        if "full" in criteria and route != "paper":
            cache: dict[float, tuple] = {}

            def chi_of_nu(nus, route=route, cache=cache):
                res = []
                for nu in np.atleast_1d(nus):
                    key = float(nu)
                    if key not in cache:
                        s = pair_susceptibility(system, mesh, route=route, z=key, comm=comm,
                                                n_per_panel=n_per_panel)
                        cache[key] = (s.chi_plus, s.chi_minus)
                    res.append(cache[key])
                arr = np.array(res, dtype=complex)
                return arr[:, 0], arr[:, 1]

            Vc = np.full((nv, N_BOUNDARIES), np.nan)
            nuc = np.full((nv, N_BOUNDARIES), np.nan)
            counts = np.full((nv, N_BOUNDARIES + 1), -1, dtype=int)
            for i, v in enumerate(v_values):
                V_max = V_MAX_FACTOR * max(v, 1.0)
                if route == "born_markov" or not refine_from_born_markov or "born_markov" not in routes:
                    cc = full_instability(chi_of_nu, v, nu_grid, V_max, route)
                    if route == "born_markov":
                        reference[i] = cc
                    counts[i, : min(cc.details["counts"].size, N_BOUNDARIES + 1)] = \
                        cc.details["counts"][: N_BOUNDARIES + 1]
                else:
                    ref = reference[i]
                    brackets = []
                    for Vb, nub in zip(ref.V_c, ref.nu_c):
                        cp, cm = chi_of_nu(np.array([nub]))
                        j = int(np.nanargmin(np.abs(coupling_roots(cp, cm, v)[0] - Vb)))
                        brackets.append((nub - 1e-3 * width, nub + 1e-3 * width, j))
                    # quadrature routes are accurate to ~1e-9: no point in refining ν further
                    cc = full_critical_couplings(chi_of_nu, v, route=route, brackets=brackets,
                                                 xtol=1e-7 * width)
                    counts[i] = out["unstable_modes_born_markov"][i]
                Vc[i], nuc[i] = _pad(cc.V_c, N_BOUNDARIES), _pad(cc.nu_c, N_BOUNDARIES)
            out[f"full_{route}"] = Vc
            out[f"nu_{route}"] = nuc
            out[f"unstable_modes_{route}"] = counts
    return out

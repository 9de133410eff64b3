"""Starting frequency grid of the full criterion and the resonance-shell energy mesh.

Spin-orbit sectors (spec §9).  The pair energy of the spinless model is flat, E = -2μ
(spec §2).  In a sector of :class:`keldysh.materials.SpinSectorModel` the bands are c_k ∓ e_k
with c_k = σλg(k)/2, so the pair energy E_k = 2c_k - 2μ = σλg(k) - 2μ: σλ - 2μ at the K+
centre, and smaller in |.| on the resonance shell, where g < 1 (g ≈ 1 - (3/4) q² near K+).  chi(ν)
of a sector is then a superposition of features at the E_k of its resonant samples: still
analytic in the upper half plane and -> 0 at |ν| -> ∞, so the Nyquist machinery of the full
criterion applies unchanged; only the starting grid must cover the spread of E_k
(:func:`pair_energies`) and, for a :class:`keldysh.nambu.SpinfulSystem`, the pair energies of
every sector (σ = ±1 are 2λ apart).  The undressed closed form λ = -Γ ± P sqrt(v² - V²) of
spec §6 assumes a flat E_k and no longer holds exactly.
"""
from __future__ import annotations

from functools import reduce

import numpy as np

from keldysh.frequency import FrequencyGrid
from keldysh.kmesh import EnergyMesh
from keldysh.lattice import cut_towards_gamma, resonance_on_cut
from keldysh.nambu import DrivenSystem, SpinfulSystem

__all__ = ["pair_energy", "pair_energies", "feature_width", "default_nu_grid", "shell_half_window", "shell_mesh",
           "polar_shell_mesh"]


def _offset_model(system: DrivenSystem) -> bool:
    return bool(getattr(system.model, "lambda_so", 0.0))


def pair_energies(system: DrivenSystem | SpinfulSystem) -> np.ndarray:
    """The pair energies E_k = E_k1 + E_k2 - 2μ around which chi(ν) has its features (sorted).

    Spinless model: [-2μ] (flat, spec §2).  Spin-orbit sector (λ > 0): 2c - 2μ at the K+ centre
    and at the resonance e_k = ω0/2 on the cut from K+ towards Γ (when ω0/2 is inside band 2).
    :class:`SpinfulSystem`: those of every sector."""
    if isinstance(system, SpinfulSystem):
        return np.unique(np.concatenate([pair_energies(s) for s in system.sectors]))
    if not _offset_model(system):
        return np.array([-2.0 * system.mu])
    model = system.model
    kp = model.valley_centres()["K+"]
    values = [2.0 * float(model.band_offset(kp))]
    hit = resonance_on_cut(model, system.omega0 / 2)
    if hit is not None:
        kp_, direction, _ = cut_towards_gamma(model)
        values.append(2.0 * float(model.band_offset(kp_ + hit[0] * direction)))
    return np.unique(np.array(values) - 2.0 * system.mu)


def pair_energy(system: DrivenSystem | SpinfulSystem) -> float:
    """E = -2μ, the (flat) energy of the interband pair in the rotating frame (spec §2); for
    spin-orbit sectors the middle of the range of :func:`pair_energies` (the centre around
    which the full criterion grows its ν window)."""
    if isinstance(system, DrivenSystem) and not _offset_model(system):
        return -2.0 * system.mu
    E = pair_energies(system)
    return float(0.5 * (E[0] + E[-1]))


def feature_width(system: DrivenSystem | SpinfulSystem) -> float:
    """Γ1 + Γ2 + T of K+: the width of the features of chi(ν) (pair decoherence + thermal);
    the smallest over the sectors of a :class:`SpinfulSystem`."""
    if isinstance(system, SpinfulSystem):
        return min(feature_width(s) for s in system.sectors)
    return float(system.baths.gamma[0].sum()) + float(np.max(system.baths.temperature))


def default_nu_grid(system: DrivenSystem | SpinfulSystem, n_per_panel: int = 8, span: float = 8.0) -> np.ndarray:
    """Real frequencies where chi(ν) has structure: the pair energy E = -2μ and the Rabi
    sidebands E ± Ω, E ± 2Ω, each a feature of width Γ = Γ1 + Γ2 (+ T), resolved by the
    sinh-mapped panels of :meth:`keldysh.frequency.FrequencyGrid.adapted` within
    |ν - E| <= span (Γ + 2Ω + 2T), plus geometric tails out to 100 times that (the full
    criterion grows the window further until D -> 1 is verified at both ends).

    Spin-orbit sector: the same around every pair energy of :func:`pair_energies` (the window
    widened by their spread); :class:`SpinfulSystem`: the union of the sectors' grids."""
    if isinstance(system, SpinfulSystem):
        return reduce(np.union1d, [default_nu_grid(s, n_per_panel, span) for s in system.sectors])
    if _offset_model(system):
        return _sector_nu_grid(system, n_per_panel, span)
    G = feature_width(system)
    T = float(np.max(system.baths.temperature))
    E = pair_energy(system)
    Om = system.Omega
    centres = E + np.array([0.0, -Om, Om, -2 * Om, 2 * Om]) if Om > 0 else np.array([E])
    grid = FrequencyGrid.adapted(centres - 1j * G, [], 0.0, n_per_panel).points
    half = span * (G + 2 * Om + 2 * T)
    tails = half * np.geomspace(1.25, 100.0, 16)
    return np.concatenate([E - tails[::-1], grid[np.abs(grid - E) <= half], E + tails])


def _sector_nu_grid(system: DrivenSystem, n_per_panel: int, span: float) -> np.ndarray:
    """:func:`default_nu_grid` of a spin-orbit sector: features at every pair energy."""
    G = feature_width(system)
    T = float(np.max(system.baths.temperature))
    E = pair_energies(system)
    Om = system.Omega
    side = np.array([0.0, -Om, Om, -2 * Om, 2 * Om]) if Om > 0 else np.array([0.0])
    centres = np.unique((E[:, None] + side[None, :]).ravel())
    grid = FrequencyGrid.adapted(centres - 1j * G, [], 0.0, n_per_panel).points
    half = span * (G + 2 * Om + 2 * T)
    mid, spread = 0.5 * (E[0] + E[-1]), 0.5 * (E[-1] - E[0])
    tails = (half + spread) * np.geomspace(1.25, 100.0, 16)
    inside = grid[(grid >= E[0] - half) & (grid <= E[-1] + half)]
    return np.concatenate([mid - tails[::-1], inside, mid + tails])


def shell_half_window(system: DrivenSystem, span: float = 8.0) -> float:
    """Half-width in the band energy e of the shell the starting ν grid probes:
    |ν - E| <= span (Γ + 2Ω + 2T) <-> |e - ω0/2| <= that / 2, plus 10 Γ."""
    G = float(system.baths.gamma[0].sum())
    T = float(np.max(system.baths.temperature))
    return 0.5 * span * (G + 2 * system.Omega + 2 * T) + 10 * G


def polar_shell_mesh(system: DrivenSystem, span: float = 8.0, resolution_over_gamma: float = 0.5,
                     order: int = 4, n_angle: int = 16):
    """The 2D counterpart of :func:`shell_mesh` for the direction-dependent drives
    (:class:`keldysh.shell_kmesh.PolarShellKMesh`): the same shell, resolved uniformly in e,
    ``n_angle`` Gauss angles per 120° sector.  A :class:`SpinfulSystem` gets one mesh per
    sector (a tuple), each around its own resonance e_k = ω0/2 of its own bands (the window
    widened by the spread of its pair energies; a sector whose gap exceeds ω0 has no shell
    and gets the plain outer rule)."""
    from keldysh.shell_kmesh import PolarShellKMesh

    if isinstance(system, SpinfulSystem):
        return tuple(polar_shell_mesh(s, span, resolution_over_gamma, order, n_angle) for s in system.sectors)
    if _offset_model(system):
        G = float(system.baths.gamma[0].sum())
        E = pair_energies(system)
        return PolarShellKMesh.build(system.model, system.omega0 / 2, resolution_over_gamma * G,
                                     shell_half_window(system, span) + 0.5 * float(E[-1] - E[0]),
                                     order=order, n_angle=n_angle)

    G = float(system.baths.gamma[0].sum())
    return PolarShellKMesh.build(system.model, system.omega0 / 2, resolution_over_gamma * G,
                                 shell_half_window(system, span), order=order, n_angle=n_angle)


def shell_mesh(system: DrivenSystem, span: float = 8.0, resolution_over_gamma: float = 0.5,
               order: int = 4) -> EnergyMesh:
    """Energy mesh (valley pattern) with the resonance shell resolved uniformly at
    ``resolution_over_gamma`` x Γ over the detunings that the ν grid probes
    (|ν - E| <= span (Γ + 2Ω + 2T) <-> |e - ω0/2| <= that / 2, plus 10 Γ).

    The full criterion needs it: chi(ν) at real ν is a sum of per-sample Lorentzians of width
    ~Γ, which a mesh coarser than Γ turns into a comb with spurious real-axis crossings."""
    if isinstance(system, SpinfulSystem) or _offset_model(system):
        raise ValueError("shell_mesh: the exact-DOS shell serves the spinless valley model only; "
                         "use polar_shell_mesh for spin-orbit sectors")
    G = float(system.baths.gamma[0].sum())
    half = shell_half_window(system, span)
    T = float(np.max(system.baths.temperature))
    mu = system.baths.mu  # lab frame; T = 0 steps of band 2 at e = μ_v2, of band 1 at e = -μ_v1
    breaks = [] if T > 0 else sorted({*mu[:, 1].tolist(), *(-mu[:, 0]).tolist()})
    return EnergyMesh.shell(system.model, system.omega0, resolution_over_gamma * G, half, order,
                            breaks=breaks)

"""Starting frequency grid of the full criterion and the resonance-shell energy mesh."""
from __future__ import annotations

import numpy as np

from keldysh.frequency import FrequencyGrid
from keldysh.kmesh import EnergyMesh
from keldysh.nambu import DrivenSystem

__all__ = ["pair_energy", "feature_width", "default_nu_grid", "shell_half_window", "shell_mesh",
           "polar_shell_mesh"]


def pair_energy(system: DrivenSystem) -> float:
    """E = -2μ, the (flat) energy of the interband pair in the rotating frame (spec §2)."""
    return -2.0 * system.mu


def feature_width(system: DrivenSystem) -> float:
    """Γ1 + Γ2 + T of K+: the width of the features of chi(ν) (pair decoherence + thermal)."""
    return float(system.baths.gamma[0].sum()) + float(np.max(system.baths.temperature))


def default_nu_grid(system: DrivenSystem, n_per_panel: int = 8, span: float = 8.0) -> np.ndarray:
    """Real frequencies where chi(ν) has structure: the pair energy E = -2μ and the Rabi
    sidebands E ± Ω, E ± 2Ω, each a feature of width Γ = Γ1 + Γ2 (+ T), resolved by the
    sinh-mapped panels of :meth:`keldysh.frequency.FrequencyGrid.adapted` within
    |ν - E| <= span (Γ + 2Ω + 2T), plus geometric tails out to 100 times that (the full
    criterion grows the window further until D -> 1 is verified at both ends)."""
    G = feature_width(system)
    T = float(np.max(system.baths.temperature))
    E = pair_energy(system)
    Om = system.Omega
    centres = E + np.array([0.0, -Om, Om, -2 * Om, 2 * Om]) if Om > 0 else np.array([E])
    grid = FrequencyGrid.adapted(centres - 1j * G, [], 0.0, n_per_panel).points
    half = span * (G + 2 * Om + 2 * T)
    tails = half * np.geomspace(1.25, 100.0, 16)
    return np.concatenate([E - tails[::-1], grid[np.abs(grid - E) <= half], E + tails])


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
    ``n_angle`` Gauss angles per 120° sector."""
    from keldysh.shell_kmesh import PolarShellKMesh

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
    G = float(system.baths.gamma[0].sum())
    half = shell_half_window(system, span)
    T = float(np.max(system.baths.temperature))
    mu = system.baths.mu  # lab frame; T = 0 steps of band 2 at e = μ_v2, of band 1 at e = -μ_v1
    breaks = [] if T > 0 else sorted({*mu[:, 1].tolist(), *(-mu[:, 0]).tolist()})
    return EnergyMesh.shell(system.model, system.omega0, resolution_over_gamma * G, half, order,
                            breaks=breaks)

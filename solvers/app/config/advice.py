"""Resolution advice: warnings about meshes and grids too coarse for the physics of a run,
and drives off the band (logged by ``keldysh-run``, never errors)."""
from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING

import numpy as np

from keldysh.lattice import RECIPROCAL, resonance_on_cut
from solvers.fast_intraband import lab_mu2

from .numerics import MESH_TASKS

if TYPE_CHECKING:
    from .run_config import Config

__all__ = ["resolution_warnings", "check_resolution"]

log = logging.getLogger(__name__)


def _reciprocal_length() -> float:
    return float(np.linalg.norm(RECIPROCAL[0]))


def resolution_warnings(cfg: Config) -> list[str]:
    """Human-readable warnings about meshes too coarse for the physics, and off-band drives.

    Energy meshes: the plain exact-DOS mesh for a task that evaluates chi(ν) at real ν (use
    the shell mesh), and a shell mesh coarser than Γ/2 (:func:`keldysh.kmesh.EnergyMesh.shell`).

    Monkhorst-Pack: the resonant shell {k : |ε_k| <~ W}, W = max(Ω, Γ) (the smallest over a
    scan; Γ12 and the Fermi step at μ2 for quasi-thermal baths) has a width in k of about
    W / |dε/dk| = W / (2 v), v = de/dk the band velocity at the resonance.  The mesh spacing
    |b|/nk should be at most half of it; the warning gives the nk that achieves that."""
    out: list[str] = []
    if cfg.baths is None or cfg.task == "threshold":  # threshold: meshes built per sector around each resonance
        return out
    num = cfg.numerics
    values = cfg.scan_values()
    if cfg.baths.kind == "paper":
        gamma = cfg.baths.Gamma
        if cfg.scanned("Omega_over_Gamma"):
            omegas = values * gamma
        elif cfg.scanned("Omega"):
            omegas = values
        else:
            omegas = np.array([cfg.drive.Omega])
        width = max(float(np.min(omegas)), gamma)
        model = cfg.physical_model()
        if cfg.scanned("omega0"):
            centres = list(values / 2)
        elif cfg.scanned("detuning"):
            centres = list((model.delta + values) / 2)
        else:
            centres = [cfg.drive.omega0 / 2]
        lo, hi = model.band_edges()
        outside = [c for c in centres if not lo < c < hi]
        if outside:
            out.append(f"drive.omega0: the resonance omega0/2 = {outside[0]:g} is outside band 2 "
                       f"({lo:g}, {hi:g}): no k is resonant with the drive")
    else:
        width = cfg.baths.Gamma12
        model = cfg.physical_model()
        mu2s = values if cfg.scanned("mu2") else np.array([cfg.baths.mu2])
        centres = [lab_mu2(model, m, cfg.baths.reading) for m in mu2s]
    mesh = num.mesh if cfg.task in MESH_TASKS else None
    kind = mesh.KIND if mesh is not None else None
    scans_nu = cfg.task == "susceptibility" or (cfg.task == "phase-diagram" and "full" in num.criteria)
    if scans_nu and kind == "exact-dos":
        out.append("numerics.mesh: 'exact-dos' concentrates its points at the resonance; chi(nu) at real "
                   "nu away from the pair energy then becomes a comb of per-sample Lorentzians with "
                   "spurious full-criterion crossings: 'exact-dos-shell' suggested")
    if kind == "exact-dos-shell" and mesh.shell_resolution > 0.5:
        out.append(f"numerics.shell_resolution: panels of {mesh.shell_resolution:g} Gamma may not resolve the "
                   f"per-sample Lorentzians of width ~Gamma in chi(nu); <= 0.5 suggested")
    if kind == "monkhorst-pack":
        spacing = _reciprocal_length() / mesh.nk
        worst = None
        for centre in centres:
            found = resonance_on_cut(model, centre)
            if found is None:
                continue
            shell = width / (2 * found[1])
            if worst is None or shell < worst[0]:
                worst = (shell, centre)
        if worst is not None and spacing > worst[0] / 2:
            need = int(math.ceil(2 * _reciprocal_length() / worst[0]))
            need += need % 2
            out.append(f"numerics.nk: a {mesh.nk} x {mesh.nk} mesh (spacing {spacing:.3g}) cannot resolve "
                       f"the resonant shell at e = {worst[1]:.4g} (width ~{worst[0]:.2g} in k for "
                       f"max(Omega, Gamma) = {width:.2g}); nk >= {need} suggested, or numerics.mesh = "
                       f"'refined-polar' (or 'exact-dos' for the valley pattern)")
    if cfg.task == "spectral" and num.omega_halfwidth:
        # a uniform frequency grid must resolve the narrowest Lorentzian (half-width Γ_min)
        gmin = (min(cfg.baths.Gamma1, cfg.baths.Gamma2) if cfg.baths.kind == "paper"
                else cfg.baths.Gamma12 / 2)
        step = 2 * num.omega_halfwidth / (num.n_omega - 1)
        if step > gmin / 2:
            need = int(math.ceil(4 * num.omega_halfwidth / gmin)) + 1
            out.append(f"numerics.n_omega: a frequency step of {step:.3g} cannot resolve Lorentzians of "
                       f"half-width Gamma = {gmin:.3g}; n_omega >= {need} suggested")
    return out


def check_resolution(cfg: Config) -> list[str]:
    """Log :func:`resolution_warnings` with ``logging.warning``; returns them."""
    warnings = resolution_warnings(cfg)
    for message in warnings:
        log.warning("%s", message)
    return warnings

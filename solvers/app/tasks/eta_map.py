"""Task ``eta-map``: the circular dichroism η(k) (Eq. 2) over the first Brillouin zone."""
from __future__ import annotations

import logging
import time

import numpy as np

from keldysh.lattice import brillouin_zone_corners

from .driver import Progress

__all__ = ["run_eta_map"]

log = logging.getLogger(__name__)


def run_eta_map(cfg, comm=None, progress: Progress | None = None, hooks=None) -> dict:
    """η(k) = (|P+|² - |P-|²)/(|P+|² + |P-|²) (Eq. 2) on a grid over the first Brillouin zone,
    for model.delta or every δ of a ``delta`` scan, and which valley centre is K+.

    The grid is uniform, ``numerics.grid_points`` per axis, on the rectangle 1.05 x the
    bounding box of the hexagonal zone.  Every rank computes the (cheap) map itself."""
    progress = progress or Progress()
    deltas = cfg.scan_values() if cfg.scan is not None else np.array([cfg.model.delta])
    n = cfg.numerics.grid_points
    corners = brillouin_zone_corners(cfg.physical_model(float(deltas[0])))
    kx = np.linspace(-1.05, 1.05, n) * np.max(np.abs(corners[:, 0]))
    ky = np.linspace(-1.05, 1.05, n) * np.max(np.abs(corners[:, 1]))
    grid = np.stack(np.meshgrid(kx, ky, indexing="xy"), axis=-1)  # (ny, nx, 2)
    eta = np.empty((deltas.size, ky.size, kx.size))
    energy = np.empty_like(eta)
    k_plus = np.empty((deltas.size, 2))
    k_minus = np.empty((deltas.size, 2))
    eta_plus = np.empty(deltas.size)
    progress.start(deltas.size, 0, "delta")
    t0 = time.perf_counter()
    for i, delta in enumerate(deltas):
        model = cfg.physical_model(float(delta))
        with np.errstate(invalid="ignore", divide="ignore"):
            eta[i] = model.eta(grid)
        energy[i] = model.energy(grid)
        centres = model.valley_centres()
        k_plus[i], k_minus[i] = centres["K+"], centres["K-"]
        eta_plus[i] = float(model.eta(centres["K+"]))
        log.info("eta-map: delta = %g, K+ = (%.6f, %.6f)", delta, *k_plus[i])
        progress.advance()
    return {
        "results": {"eta": eta, "energy": energy, "K_plus": k_plus, "K_minus": k_minus,
                    "eta_at_K_plus": eta_plus,
                    "valley_note": "K+ is the valley centre with eta = +1 (spec §1)"},
        "mesh": {"kind": "uniform", "grid_points": n},
        "grids": {"delta": deltas, "kx": kx, "ky": ky, "bz_corners": corners},
        "history": {"seconds": time.perf_counter() - t0},
    }

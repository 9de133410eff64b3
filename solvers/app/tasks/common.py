"""What the tasks share: the ``mesh`` section of a results file."""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["mesh_record", "single_mesh_record"]


def mesh_record(choice, n_samples, centres=None, widths=None, mesh=None) -> dict[str, Any]:
    """The ``mesh`` section: the kind and keys of the mesh choice (numerics.mesh), the
    number of samples ``n_samples`` (per scan point, or one), for meshes built around a
    resonance its pair frequency 2 e_c (``resonance_omega0``: ω0 for a drive, 2 μ2 for the
    fast-intraband Fermi step) and width (``centres``, ``widths``: one per point), and the
    samples themselves when one ``mesh`` serves the whole run (``mesh.as_record()``)."""
    out: dict[str, Any] = {"kind": choice.KIND, "n_samples": np.asarray(n_samples, dtype=np.int64),
                           **choice.parameters()}
    if choice.USES_RESONANCE:
        out.update(resonance_omega0=np.array(centres, dtype=float), resonance_width=np.array(widths, dtype=float))
    if mesh is not None:
        out.update(mesh.as_record())
    return out


def single_mesh_record(cfg, system, mesh) -> dict[str, Any]:
    """:func:`mesh_record` of a task that uses one mesh, built by ``cfg.mesh(system)``."""
    choice = cfg.numerics.mesh
    if not choice.USES_RESONANCE:
        return mesh_record(choice, [len(mesh)], mesh=mesh)
    shell = cfg.resonance(system)
    return mesh_record(choice, [len(mesh)], [2 * shell.energy], [shell.width], mesh=mesh)

"""The stability pipeline: pair susceptibilities by route, the paper and the full criterion,
certified by refinement, as typed results with one serializer (spec §6).

* :mod:`.determinant` — D = det[1 - M chi] and its roots in V;
* :mod:`.routes` — the route registry and the deterministic k-sum evaluator of chi_ab(z);
* :mod:`.nyquist` — the full criterion on the real axis: locus crossings, certified counts;
* :mod:`.pipeline` — one phase point, every route and criterion, certified;
* :mod:`.results` — Boundary, CriticalCouplings, PhasePoint and the HDF5 layout;
* :mod:`.grids` — starting ν grid and the resonance-shell energy mesh.
"""
from .determinant import coupling_matrix, coupling_roots, determinant
from .grids import default_nu_grid, shell_mesh
from .nyquist import scan_real_axis
from .pipeline import StabilityOptions, closed_forms_available, paper_couplings, phase_point
from .results import Boundary, CriticalCouplings, PhasePoint, point_from_tree, stack_points
from .routes import ROUTES, ChiEvaluator, get_route, pair_susceptibility, route_samples

__all__ = ["coupling_matrix", "coupling_roots", "determinant", "default_nu_grid", "shell_mesh",
           "scan_real_axis", "StabilityOptions", "closed_forms_available", "paper_couplings",
           "phase_point", "Boundary", "CriticalCouplings", "PhasePoint", "point_from_tree",
           "stack_points", "ROUTES", "ChiEvaluator", "get_route", "pair_susceptibility", "route_samples"]

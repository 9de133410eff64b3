"""The [numerics] table: one dataclass per task, the k-sum mesh as a tagged choice.

In the TOML file [numerics] is flat (``mesh = "monkhorst-pack"``, ``nk = 64``, ``routes =
[...]``); :func:`numerics_from_table` turns it into the numerics dataclass of the task, whose
``mesh`` field (tasks that sum over k) holds one of :data:`MESHES`, selected by the tag
``mesh`` and carrying only the keys of that mesh.  :func:`numerics_table` is the inverse (the
``numerics`` section of ``Config.resolved()``).

Everything that says which key belongs where is derived from these dataclasses:
:data:`USED_BY` (the tasks that read a key), :data:`MESH_ONLY` (the mesh a key belongs to),
:data:`MESH_TASKS`, :data:`TASKS`.  :data:`TASK_SPECS` is the one hand-written table: per task
its numerics dataclass and the other tables it reads.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

from keldysh.kmesh import EnergyMesh, KMesh, Resonance
from keldysh.refined_kmesh import RefinedKMesh
from solvers.gap import GAP_ROUTES
from solvers.stability import ROUTES, shell_mesh
from solvers.stability.grids import polar_shell_mesh

from .parameters import ENERGY_MAX
from .validation import (ConfigError, Validated, boolean, check_keys, checked, choice_list, integer,
                         number, number_list, string)

__all__ = ["CRITERIA", "ExactDosMesh", "ShellMesh", "MonkhorstPackMesh", "RefinedPolarMesh", "PolarShellMesh",
           "MESHES",
           "EtaMapNumerics", "SusceptibilityNumerics", "PhaseDiagramNumerics", "GapNumerics",
           "GapMapNumerics", "SpectralNumerics", "ThresholdNumerics", "TASK_SPECS", "TASKS", "MESH_TASKS",
           "MESH_ONLY", "USED_BY",
           "default_mesh", "numerics_from_table", "numerics_table"]

CRITERIA = ("paper", "full")

#: Largest sample counts and grid sizes (docs/running.md, "Bounds"): beyond them a run needs
#: more memory than any machine has; below them keldysh-run checks its memory estimate
#: against the machine before starting.
MAX_POINTS_PER_AXIS = 20_000     # grid_points, nk
MAX_PER_PANEL = 4096             # n_per_panel, nu_per_panel, shell_order, polar_order
MAX_SAMPLES = 1_000_000          # n_resonance, n_band, n_omega
RESOLUTION_RANGE = (1e-3, 1e3)   # shell_resolution, polar_resolution (units of Gamma)


# --------------------------------------------------------------------------------------------
# the k-sum meshes (the tag ``numerics.mesh`` selects one; its fields are the keys it reads)


class _Mesh(Validated):
    TABLE = "numerics"
    #: the value of ``numerics.mesh``
    KIND: ClassVar[str]
    #: whether the mesh is built around the config's resonance (:meth:`Config.resonance`)
    USES_RESONANCE: ClassVar[bool] = False

    def parameters(self) -> dict[str, Any]:
        """The keys of this mesh and their values."""
        return dataclasses.asdict(self)

    def refined(self, level: int) -> "_Mesh":
        """This mesh at resolution ``level`` (0: itself), about twice the samples per level:
        the certification of the phase-diagram task compares successive levels."""
        return self if level == 0 else dataclasses.replace(self, **self._refine(level))

    def _refine(self, level: int) -> dict[str, Any]:
        raise NotImplementedError


@dataclass(frozen=True)
class ExactDosMesh(_Mesh):
    """"exact-dos": the k-sum as an energy integral with the exact DOS (valley pattern only),
    ``n_resonance`` Gauss points on the tangent-mapped resonance panel and ``n_band``
    tanh-sinh points per band panel (:meth:`keldysh.kmesh.EnergyMesh.resonant`)."""

    KIND = "exact-dos"
    USES_RESONANCE = True
    n_resonance: int = checked(200, integer, ge=4, at_most=MAX_SAMPLES)
    n_band: int = checked(60, integer, ge=4, at_most=MAX_SAMPLES)

    def build(self, system, resonance, numerics):
        return EnergyMesh.resonant(system.model, resonance, self.n_resonance, self.n_band)

    def _refine(self, level):
        return {"n_resonance": self.n_resonance * 2**level, "n_band": self.n_band * 2**level}


@dataclass(frozen=True)
class ShellMesh(_Mesh):
    """"exact-dos-shell": the same with the resonance shell resolved uniformly, panels of
    ``shell_resolution`` Γ (Γ = Γ1 + Γ2, or Γ12) with ``shell_order`` Gauss points, over the
    window that the ν grid probes (``nu_span``; :func:`solvers.stability.shell_mesh`): what the full
    criterion needs at real ν away from the pair energy (susceptibility, phase-diagram)."""

    KIND = "exact-dos-shell"
    shell_resolution: float = checked(0.5, number, gt=0, domain=RESOLUTION_RANGE)
    shell_order: int = checked(4, integer, ge=1, at_most=MAX_PER_PANEL)

    def build(self, system, resonance, numerics):
        return shell_mesh(system, getattr(numerics, "nu_span", 8.0), self.shell_resolution, self.shell_order)

    def _refine(self, level):
        return {"shell_resolution": self.shell_resolution / 2**level}


@dataclass(frozen=True)
class MonkhorstPackMesh(_Mesh):
    """"monkhorst-pack": uniform ``nk`` x ``nk`` mesh of the zone (nk even), restricted to K+
    (:meth:`keldysh.kmesh.KMesh.driven_half`)."""

    KIND = "monkhorst-pack"
    nk: int | None = checked(None, integer, ge=2, at_most=MAX_POINTS_PER_AXIS, even=True)

    def __post_init__(self):
        if self.nk is None:
            raise ConfigError("numerics.nk", "required for numerics.mesh = 'monkhorst-pack' "
                              "(an even integer >= 2)")
        super().__post_init__()

    def build(self, system, resonance, numerics):
        return KMesh.driven_half(system.model, self.nk)

    def _refine(self, level):
        return {"nk": 2 * int(round(self.nk * 2 ** (level / 2) / 2))}


@dataclass(frozen=True)
class RefinedPolarMesh(_Mesh):
    """"refined-polar": a polar quadrature of K+ refined at the resonance shell
    (:class:`keldysh.refined_kmesh.RefinedKMesh`), level ``refine_level`` s = (n_angle,
    n_radial, n_angle_outer, n_outer) / (1, 2, 4, 2); s = 4 is 768 points."""

    KIND = "refined-polar"
    USES_RESONANCE = True
    refine_level: int = checked(4, integer, ge=1, at_most=1024)

    def build(self, system, resonance, numerics):
        s = self.refine_level
        return RefinedKMesh.resonant(system.model, resonance, s, 2 * s, 4 * s, 2 * s)

    def _refine(self, level):
        return {"refine_level": int(round(self.refine_level * 2 ** (level / 2)))}


@dataclass(frozen=True)
class PolarShellMesh(_Mesh):
    """"polar-shell": the 2D counterpart of "exact-dos-shell" for the direction-dependent
    drives (dichroic, circular): a polar mesh of K+ whose rays carry panels of
    ``polar_resolution`` Γ in the band energy over the shell the ν grid probes (``nu_span``),
    ``polar_order`` Gauss points each, ``polar_angles`` Gauss angles per 120° sector
    (:class:`keldysh.shell_kmesh.PolarShellKMesh`, :func:`solvers.stability.grids.polar_shell_mesh`)."""

    KIND = "polar-shell"
    polar_resolution: float = checked(0.5, number, gt=0, domain=RESOLUTION_RANGE)
    polar_order: int = checked(4, integer, ge=1, at_most=MAX_PER_PANEL)
    polar_angles: int = checked(16, integer, ge=2, at_most=MAX_POINTS_PER_AXIS)

    def build(self, system, resonance, numerics):
        return polar_shell_mesh(system, getattr(numerics, "nu_span", 8.0), self.polar_resolution, self.polar_order,
                                self.polar_angles)

    def _refine(self, level):
        # twice the angles per level: the angular rule is what limits the accuracy (measured at
        # the Fig. 3a parameters: panels of Γ/2 in e are converged to 1e-7, 16 -> 32 angles per
        # sector changes chi by 1e-5, 8 -> 16 by 3e-3)
        return {"polar_angles": self.polar_angles * 2**level}


#: ``numerics.mesh`` -> its dataclass
MESHES = {cls.KIND: cls for cls in (ExactDosMesh, ShellMesh, MonkhorstPackMesh, RefinedPolarMesh, PolarShellMesh)}


# --------------------------------------------------------------------------------------------
# the numerics of each task


@dataclass(frozen=True)
class EtaMapNumerics(Validated):
    """eta-map: ``grid_points`` per axis of the uniform k grid."""

    TABLE = "numerics"
    grid_points: int = checked(200, integer, ge=2, at_most=MAX_POINTS_PER_AXIS)


@dataclass(frozen=True)
class SusceptibilityNumerics(Validated):
    """susceptibility: the k-sum ``mesh``, ``routes`` (:data:`solvers.stability.ROUTES`:
    paper, born_markov, keldysh — the exact pole-sum Keldysh response —, quadrature — the
    same by frequency quadrature, its oracle —, poles — finite-Δ differences of the pole-sum
    rho), ``n_per_panel`` (frequency points per panel of the quadrature route),
    ``nu_per_panel`` and ``nu_span``: the real-frequency grid of chi(ν)
    (:func:`solvers.stability.default_nu_grid`: adapted panels at the pair energy -2μ and the
    Rabi sidebands, ``nu_per_panel`` points each, clipped to -2μ ± nu_span (Γ1 + Γ2 + 2Ω + 2T))."""

    TABLE = "numerics"
    mesh: _Mesh | None = None
    n_per_panel: int = checked(32, integer, ge=4, at_most=MAX_PER_PANEL)
    routes: tuple[str, ...] = checked(("paper", "born_markov"), choice_list, choices=tuple(ROUTES))
    nu_per_panel: int = checked(8, integer, ge=2, at_most=MAX_PER_PANEL)
    nu_span: float = checked(8.0, number, gt=0, domain=(0, ENERGY_MAX))


@dataclass(frozen=True)
class PhaseDiagramNumerics(Validated):
    """phase-diagram: as :class:`SusceptibilityNumerics` (the ν grid is the starting grid of
    the full criterion), plus the ``criteria`` (paper, full), ``v_values`` (the |V'| at which
    V_c is computed), ``V_max`` (the full criterion's range |V| <= V_max; default
    10 max(|V'|, t)), and the certification (:mod:`solvers.stability.pipeline`): ``certify``
    (refine the mesh and the ν trace until two successive levels agree), ``tolerance``
    (relative to max(|V_c|, t)), ``max_level`` (the work budget: levels 0..max_level)."""

    TABLE = "numerics"
    mesh: _Mesh | None = None
    n_per_panel: int = checked(32, integer, ge=4, at_most=MAX_PER_PANEL)
    routes: tuple[str, ...] = checked(("paper", "born_markov"), choice_list, choices=tuple(ROUTES))
    criteria: tuple[str, ...] = checked(CRITERIA, choice_list, choices=CRITERIA)
    v_values: tuple[float, ...] = checked((0.0, 0.5, 1.0), number_list, ge=0, domain=(0, ENERGY_MAX),
                                          max_len=1000)
    nu_per_panel: int = checked(8, integer, ge=2, at_most=MAX_PER_PANEL)
    nu_span: float = checked(8.0, number, gt=0, domain=(0, ENERGY_MAX))
    V_max: float | None = checked(None, number, gt=0, domain=(0, 10 * ENERGY_MAX))
    certify: bool = checked(True, boolean)
    tolerance: float = checked(1e-4, number, gt=0, lt=0.1)
    max_level: int = checked(3, integer, ge=0, le=6)


@dataclass(frozen=True)
class GapNumerics(Validated):
    """gap: the k-sum ``mesh``, the ``route`` (born_markov: Lyapunov; keldysh: the exact
    pole sum), ``tol`` (relative residual) and ``max_nfev``."""

    TABLE = "numerics"
    mesh: _Mesh | None = None
    route: str = checked("born_markov", string, choices=GAP_ROUTES)
    tol: float = checked(1e-10, number, gt=0, lt=1)
    max_nfev: int = checked(400, integer, ge=1, at_most=100_000)


@dataclass(frozen=True)
class GapMapNumerics(Validated):
    """gap-map (:mod:`solvers.app.tasks.gap_map`): the continuation ``mesh`` (the gap equation
    and the stability of its branches are solved on it); ``V_window`` = [V_lo, V_hi], the window
    of V whose bifurcation points are continued (the branches are followed inside it);
    ``branch_routes`` (born_markov: Lyapunov, with stability; keldysh: the exact pole sum, no
    stability); the full criterion that finds the bifurcation points (route born_markov; on
    the resonance-shell mesh for the valley drive when ``criterion_on_shell``, else on
    ``mesh``, refined per level): ``certify``,
    ``tolerance``, ``max_level``, ``nu_per_panel``, ``nu_span``, ``V_max`` as in
    phase-diagram; the continuation (:class:`solvers.continuation.ContinuationOptions`):
    ``a0`` (first amplitude, units of Γ1 + Γ2), ``ds``, ``ds_max`` (arclength steps),
    ``max_points`` per branch, ``tol`` (relative residual); the stability: ``sigma`` (the
    counting line Re λ = -sigma 2 min Γ); the time-integration checks: ``n_checks`` per
    Born-Markov branch, ``check_tol``, ``check_t_max``."""

    TABLE = "numerics"
    mesh: _Mesh | None = None
    V_window: tuple[float, ...] = checked((0.7, 2.7), number_list, domain=(-ENERGY_MAX, ENERGY_MAX))
    branch_routes: tuple[str, ...] = checked(("born_markov",), choice_list, choices=GAP_ROUTES)
    criterion_on_shell: bool = checked(True, boolean)
    certify: bool = checked(True, boolean)
    tolerance: float = checked(1e-4, number, gt=0, lt=0.1)
    max_level: int = checked(2, integer, ge=0, le=6)
    nu_per_panel: int = checked(8, integer, ge=2, at_most=MAX_PER_PANEL)
    nu_span: float = checked(8.0, number, gt=0, domain=(0, ENERGY_MAX))
    V_max: float | None = checked(None, number, gt=0, domain=(0, 10 * ENERGY_MAX))
    a0: float = checked(0.05, number, gt=0, domain=(0, ENERGY_MAX))
    ds: float = checked(0.1, number, gt=0, domain=(0, ENERGY_MAX))
    ds_max: float = checked(1.0, number, gt=0, domain=(0, ENERGY_MAX))
    max_points: int = checked(200, integer, ge=2, at_most=100_000)
    tol: float = checked(1e-10, number, gt=0, lt=1)
    sigma: float = checked(0.5, number, gt=0, lt=1)
    n_checks: int = checked(2, integer, ge=0, at_most=1000)
    check_tol: float = checked(1e-4, number, gt=0, lt=1)
    check_t_max: float = checked(2e5, number, gt=0, domain=(0, 1e12))

    def __post_init__(self):
        super().__post_init__()
        w = self.V_window
        if len(w) != 2 or not w[0] < w[1]:
            raise ConfigError("numerics.V_window", f"must be [V_lo, V_hi] with V_lo < V_hi (got {list(w)})")


@dataclass(frozen=True)
class SpectralNumerics(Validated):
    """spectral: ``n_cut`` k points on the cut through K+, ``n_omega`` frequencies, the
    half-widths ``omega_halfwidth`` (frequency window around 0 in the rotating frame) and
    ``cut_halfwidth`` (k range around the resonance); None -> automatic (8 (Γ + Ω), and the
    k range whose detuning spans that window), filled in by the Config."""

    TABLE = "numerics"
    n_cut: int = checked(101, integer, ge=2, at_most=MAX_POINTS_PER_AXIS)
    n_omega: int = checked(201, integer, ge=2, at_most=MAX_SAMPLES)
    omega_halfwidth: float | None = checked(None, number, gt=0, domain=(0, ENERGY_MAX))
    cut_halfwidth: float | None = checked(None, number, gt=0, domain=(0, 10.0))


@dataclass(frozen=True)
class ThresholdNumerics(Validated):
    """threshold (:mod:`solvers.app.tasks.threshold`, :mod:`solvers.threshold`): the k-sum
    ``mesh`` of each spin-orbit sector (default "polar-shell", built around each sector's own
    resonance; the energy meshes serve only the spinless model), the ``criteria`` searched,
    the route of each (``paper_route``: default "paper", the paper's Eq. 13 kernel;
    ``full_route``: default "born_markov"), ``n_per_panel``, ``nu_per_panel``, ``nu_span`` as in
    phase-diagram, ``V_max`` (the full criterion's range |V| <= V_max, units of t; default
    1.25 max(|V|, |V'|) + 0.05 t), and the search: ``points_per_decade`` of the bracket grid in
    intensity, ``rel_tolerance`` (bisection to rel_tolerance/4 in I; two levels agreeing within
    rel_tolerance certify), ``certify`` and ``max_level`` (levels 0..max_level)."""

    TABLE = "numerics"
    mesh: _Mesh | None = None
    criteria: tuple[str, ...] = checked(CRITERIA, choice_list, choices=CRITERIA)
    paper_route: str = checked("paper", string, choices=tuple(ROUTES))
    full_route: str = checked("born_markov", string, choices=tuple(ROUTES))
    n_per_panel: int = checked(32, integer, ge=4, at_most=MAX_PER_PANEL)
    nu_per_panel: int = checked(8, integer, ge=2, at_most=MAX_PER_PANEL)
    nu_span: float = checked(8.0, number, gt=0, domain=(0, ENERGY_MAX))
    V_max: float | None = checked(None, number, gt=0, domain=(0, 10 * ENERGY_MAX))
    points_per_decade: float = checked(2.0, number, gt=0, domain=(0.1, 100.0))
    rel_tolerance: float = checked(0.05, number, gt=0, domain=(1e-6, 1.0))
    certify: bool = checked(True, boolean)
    max_level: int = checked(2, integer, ge=0, le=6)


#: per task: its numerics dataclass and the tables it reads besides model, numerics, output
TASK_SPECS = {
    "eta-map": (EtaMapNumerics, ("scan",)),
    "susceptibility": (SusceptibilityNumerics, ("drive", "baths")),
    "phase-diagram": (PhaseDiagramNumerics, ("drive", "baths", "scan")),
    "gap": (GapNumerics, ("drive", "baths", "interaction")),
    "gap-map": (GapMapNumerics, ("drive", "baths", "interaction")),
    "spectral": (SpectralNumerics, ("drive", "baths")),
    "threshold": (ThresholdNumerics, ("material", "drive", "baths", "interaction", "scan")),
}
TASKS = tuple(TASK_SPECS)


def _names(cls) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


#: tasks whose numerics include the k-sum mesh
MESH_TASKS = tuple(task for task, (cls, _) in TASK_SPECS.items() if "mesh" in _names(cls))
#: key -> the mesh it belongs to
MESH_ONLY = {name: kind for kind, cls in MESHES.items() for name in _names(cls)}


def _task_keys(task: str) -> list[str]:
    names = _names(TASK_SPECS[task][0])
    return names + list(MESH_ONLY) if "mesh" in names else names


#: key -> the tasks that read it (the mesh keys first)
USED_BY = {key: tuple(t for t in TASKS if key in _task_keys(t))
           for key in dict.fromkeys(["mesh", *MESH_ONLY, *(k for t in TASKS for k in _task_keys(t))])}

#: keys that existed under another name: the error says what to use instead
_RENAMED = {
    "numerics.nu_points": "numerics.nu_per_panel (points per panel of the adapted ν grid, "
                          "solvers.stability.default_nu_grid)",
}


def default_mesh(task: str, pattern: str) -> str:
    """The k-sum mesh when numerics.mesh is not given: the Monkhorst-Pack mesh for the
    dichroic drive (its k-sum is genuinely 2D); for the valley drive the exact-DOS energy
    quadrature, with the resonance shell resolved uniformly for the tasks that evaluate
    chi(ν) at real ν (a coarser shell turns chi(ν) into a comb of per-sample Lorentzians
    with spurious real-axis crossings of the full criterion)."""
    if task == "threshold":
        return "polar-shell"  # spin-orbit sectors: a momentum mesh around each sector's resonance
    if pattern != "valley":
        return "monkhorst-pack"
    return "exact-dos-shell" if task in ("susceptibility", "phase-diagram") else "exact-dos"


def numerics_from_table(task: str, table: dict[str, Any], pattern: str = "valley"):
    """The numerics dataclass of ``task`` from the flat [numerics] table.

    Errors, in this order: an unknown key, a key the task does not read, a key of another
    mesh than the selected (or default, :func:`default_mesh`) one, a bad value."""
    check_keys("numerics", table, USED_BY, renamed=_RENAMED)
    for key in table:
        if task not in USED_BY[key]:
            raise ConfigError(f"numerics.{key}", f"not used by task {task!r} (only by {', '.join(USED_BY[key])})")
    values = dict(table)
    if task in MESH_TASKS:
        kind = string("numerics.mesh", values.pop("mesh", default_mesh(task, pattern)), tuple(MESHES))
        for key in values:
            if key in MESH_ONLY and MESH_ONLY[key] != kind:
                raise ConfigError(f"numerics.{key}", f"only used with numerics.mesh = {MESH_ONLY[key]!r} "
                                  f"(got mesh {kind!r})")
        values["mesh"] = MESHES[kind](**{k: values.pop(k) for k in list(values) if k in MESH_ONLY})
    return TASK_SPECS[task][0](**values)


def numerics_table(numerics) -> dict[str, Any]:
    """The flat [numerics] table of a numerics dataclass (the inverse of
    :func:`numerics_from_table`): every key the task reads, the mesh's after ``mesh``."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(numerics):
        value = getattr(numerics, f.name)
        if isinstance(value, _Mesh):
            out[f.name] = value.KIND
            out.update(value.parameters())
        elif value is not None:
            out[f.name] = list(value) if isinstance(value, tuple) else value
    return out

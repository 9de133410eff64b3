"""The whole configuration of one run, :class:`Config`: the tables of the task, the checks
that involve several tables, the defaults that depend on other values, the round trip to a
plain dict (:meth:`Config.resolved`), and the physics objects it describes
(:meth:`Config.system`, :meth:`Config.resonance`, :meth:`Config.mesh`).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from keldysh.baths import BathSet
from keldysh.kmesh import Resonance
from keldysh.lattice import HoneycombModel, resonance_on_cut
from keldysh.nambu import DrivenSystem
from solvers.born_markov import resonance_width
from solvers.fast_intraband import quasi_thermal_system

from .numerics import MESH_TASKS, MESHES, TASK_SPECS, TASKS, default_mesh, numerics_from_table, numerics_table
from .material import (CouplingParams, LaserParams, MaterialBathParams, MaterialParams, ThresholdPoint,
                       ThresholdScanParams, check_threshold_tables)
from .parameters import BathParams, DriveParams, InteractionParams, ModelParams, OutputParams, ScanParams
from .validation import ConfigError, check_keys, forbid, set_field, show, string

__all__ = ["Config"]

#: table name -> its dataclass ([numerics] depends on the task: :data:`.numerics.TASK_SPECS`)
_TABLES = {"model": ModelParams, "drive": DriveParams, "baths": BathParams,
           "interaction": InteractionParams, "scan": ScanParams, "output": OutputParams}
#: the tables of task "threshold" (laboratory units, :mod:`.material`); it has no [model]
_THRESHOLD_TABLES = {"material": MaterialParams, "drive": LaserParams, "baths": MaterialBathParams,
                     "interaction": CouplingParams, "scan": ThresholdScanParams, "output": OutputParams}
#: tables that only some tasks read (:data:`.numerics.TASK_SPECS`)
_OPTIONAL = ("drive", "baths", "interaction", "scan", "material")


def _check_tables(task: str, present) -> None:
    """A table the task does not read is an error."""
    for name in _OPTIONAL:
        if name in present and name not in TASK_SPECS[task][1]:
            raise ConfigError(name, f"not used by task {task!r} (remove the [{name}] table)")


def _plain_table(params) -> dict[str, Any]:
    """A params dataclass as its TOML table: the fields that are set (tuples as lists)."""
    out = {}
    for f in dataclasses.fields(params):
        value = getattr(params, f.name)
        if value is not None:
            out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


@dataclass(frozen=True)
class Config:
    """A validated run: ``task`` and its tables (None where the task does not use one).

    ``numerics`` is the numerics dataclass of the task (:data:`.numerics.TASK_SPECS`; None
    -> its defaults).  Construct with :meth:`from_dict` (a parsed TOML document) or
    :func:`~.overrides.load_config` (a file, with overrides); direct construction validates
    too.

    Task "threshold" has no [model]: a ``material`` (:class:`~.material.MaterialParams`) and
    the drive, baths, interaction and scan tables of :mod:`.material`, in laboratory units
    (:meth:`threshold_point` converts them)."""

    task: str
    model: ModelParams | None = None
    drive: DriveParams | None = None
    baths: BathParams | None = None
    interaction: InteractionParams | None = None
    scan: ScanParams | None = None
    numerics: Any = None
    output: OutputParams = dataclasses.field(default_factory=OutputParams)
    description: str = ""
    material: MaterialParams | None = None

    def __post_init__(self):
        task = string("task", self.task, TASKS)
        if not isinstance(self.description, str):
            raise ConfigError("description", f"must be a string (got {show(self.description)})")
        _check_tables(task, [name for name in _OPTIONAL if getattr(self, name) is not None])
        if task == "threshold":
            if self.model is not None:
                raise ConfigError("model", "not used by task 'threshold' (the [material] table defines the "
                                  "model; remove the [model] table)")
            for name, klass in _THRESHOLD_TABLES.items():
                value = getattr(self, name)
                if value is not None and not isinstance(value, klass):
                    raise ConfigError(name, f"task 'threshold' reads a {klass.__name__} (got {type(value).__name__})")
            check_threshold_tables(self.material, self.drive, self.baths, self.interaction, self.scan)
            self._check_numerics(task)
            return
        if self.model is None:
            raise ConfigError("model", "required ([model] with delta)")
        self._check_scan(task)
        self._check_model()
        self._check_baths_and_drive(task)
        if task == "gap" and self.interaction is None:
            set_field(self, "interaction", InteractionParams())
        self._check_numerics(task)

    # -- cross-table checks and defaults ---------------------------------------------------
    def _check_scan(self, task):
        scan = self.scan
        if task == "phase-diagram" and scan is None:
            raise ConfigError("scan", "required by task 'phase-diagram' ([scan] with parameter and values)")
        if scan is None:
            return
        if task == "eta-map":
            allowed = ("delta",)
        elif self.baths is not None and self.baths.kind == "quasi_thermal":
            allowed = ("mu2",)
        else:
            allowed = ("Omega_over_Gamma", "Omega", "omega0", "detuning")
        if scan.parameter not in allowed:
            context = f"task {task!r}" if task == "eta-map" else \
                f"baths.kind = {self.baths.kind if self.baths else 'paper'!r}"
            raise ConfigError("scan.parameter", f"must be one of {', '.join(map(repr, allowed))} "
                              f"for {context} (got {show(scan.parameter)})")

    def scanned(self, parameter: str) -> bool:
        """True if the scan sets ``parameter``."""
        return self.scan is not None and self.scan.parameter == parameter

    def _check_model(self):
        if self.scanned("delta"):
            forbid("model.delta", self.model.delta, "set by the scan (scan.parameter = 'delta'); remove it")
        elif self.model.delta is None:
            raise ConfigError("model.delta", "required (the sublattice gap, a number > 0)")

    def _check_baths_and_drive(self, task):
        if "baths" not in TASK_SPECS[task][1]:
            return
        if self.baths is None:
            raise ConfigError("baths", f"required by task {task!r} ([baths] with kind and rates)")
        baths = self.baths
        if baths.kind == "quasi_thermal":
            if self.drive is not None:
                raise ConfigError("drive", "not used with baths.kind = 'quasi_thermal' (the fast-intraband "
                                  "limit has no coherent drive; remove the [drive] table)")
            if task == "spectral":
                raise ConfigError("baths.kind", "task 'spectral' needs the driven system: must be 'paper' "
                                  "(got 'quasi_thermal')")
            if self.scanned("mu2"):
                forbid("baths.mu2", baths.mu2, "set by the scan (scan.parameter = 'mu2'); remove it")
            elif baths.mu2 is None:
                raise ConfigError("baths.mu2", "required for baths.kind = 'quasi_thermal' (a number)")
            return
        drive = self.drive if self.drive is not None else DriveParams()
        if self.scanned("Omega_over_Gamma") or self.scanned("Omega"):
            forbid("drive.Omega", drive.Omega, f"set by the scan (scan.parameter = {self.scan.parameter!r}); remove it")
        elif drive.Omega is None:
            drive = dataclasses.replace(drive, Omega=0.0)
        if self.scanned("omega0") or self.scanned("detuning"):
            forbid("drive.omega0", drive.omega0, f"set by the scan (scan.parameter = {self.scan.parameter!r}); remove it")
            if self.scanned("detuning") and min(self.scan.values) <= -self.model.delta:
                raise ConfigError("scan.values", f"detunings must be > -delta = {-self.model.delta:g} "
                                  f"(omega0 = delta + detuning > 0; got {min(self.scan.values):g})")
        elif drive.omega0 is None:
            drive = dataclasses.replace(drive, omega0=self.model.delta + 0.1 * self.model.t)
        set_field(self, "drive", drive)
        if task == "spectral" and resonance_on_cut(self.physical_model(), drive.omega0 / 2) is None:
            lo, hi = self.physical_model().band_edges()
            raise ConfigError("drive.omega0", f"task 'spectral' needs the resonance omega0/2 inside band 2 "
                              f"({lo:g}, {hi:g}), i.e. omega0 in ({2 * lo:g}, {2 * hi:g}) "
                              f"(got {show(drive.omega0)})")

    def _check_numerics(self, task):
        kind = TASK_SPECS[task][0]
        num = kind() if self.numerics is None else self.numerics
        if not isinstance(num, kind):
            raise ConfigError("numerics", f"task {task!r} reads a {kind.__name__} (got {type(num).__name__})")
        if task in MESH_TASKS:
            pattern = self.drive.pattern if self.drive is not None else "valley"
            mesh = num.mesh if num.mesh is not None else MESHES[default_mesh(task, pattern)]()
            if mesh.KIND.startswith("exact-dos") and task == "threshold":
                raise ConfigError("numerics.mesh", f"{mesh.KIND!r} serves only the spinless model; the spin-orbit "
                                  "sectors of task 'threshold' need a momentum mesh: 'polar-shell' (default), "
                                  "'refined-polar' or 'monkhorst-pack'")
            if mesh.KIND.startswith("exact-dos") and pattern != "valley":
                raise ConfigError("numerics.mesh", f"{mesh.KIND!r} serves only drive.pattern = 'valley' "
                                  f"(got pattern {pattern!r}); use 'monkhorst-pack' or 'refined-polar'")
            if mesh.KIND == "exact-dos-shell" and task == "gap":
                raise ConfigError("numerics.mesh", "'exact-dos-shell' resolves the shell that a ν scan "
                                  "probes: for tasks susceptibility and phase-diagram only (got task 'gap')")
            num = dataclasses.replace(num, mesh=mesh)
        if task == "phase-diagram" and "full" in num.criteria and set(num.routes) <= {"paper"}:
            raise ConfigError("numerics.criteria", "'full' needs a route other than 'paper' in "
                              f"numerics.routes (got routes {show(list(num.routes))})")
        if task == "spectral":
            width = num.omega_halfwidth or 8.0 * (self.baths.Gamma + self.drive.Omega)
            cut = num.cut_halfwidth
            if cut is None:
                q, v = resonance_on_cut(self.physical_model(), self.drive.omega0 / 2)
                cut = min(width / v, q)  # xi'_k2 = e - mu - omega0/2 spans +-width over q_res +- cut
            num = dataclasses.replace(num, omega_halfwidth=float(width), cut_halfwidth=float(cut))
        set_field(self, "numerics", num)

    # -- the physics objects ----------------------------------------------------------------
    def physical_model(self, delta: float | None = None) -> HoneycombModel:
        """The :class:`HoneycombModel` (``delta`` overrides model.delta, e.g. in a delta scan)."""
        return HoneycombModel(self.model.delta if delta is None else delta, self.model.t)

    def scan_values(self) -> np.ndarray:
        """The scan values as numbers (task "threshold": in the parameter's canonical unit,
        :attr:`~.material.ThresholdScanParams.unit`)."""
        if self.scan is not None and self.task == "threshold":
            return self.scan.magnitudes
        return np.asarray(self.scan.values if self.scan is not None else [], dtype=float)

    def system(self, value: float | None = None) -> DrivenSystem:
        """The :class:`DrivenSystem` of the config; ``value`` is the scan value, if any.

        Paper baths: Ω = drive.Omega, or value x (Γ1 + Γ2) (Omega_over_Gamma scan), or value
        (Omega scan).  Quasi-thermal baths: :func:`solvers.fast_intraband.quasi_thermal_system`
        at μ2 = baths.mu2 or value (mu2 scan)."""
        model = self.physical_model()
        b = self.baths
        parameter = self.scan.parameter if self.scan is not None else None
        if b.kind == "quasi_thermal":
            mu2 = value if parameter == "mu2" else b.mu2
            return quasi_thermal_system(model, b.Gamma12, b.mu, mu2, b.temperature, b.reading)
        Omega = self.drive.Omega
        omega0 = self.drive.omega0
        if parameter == "omega0":
            omega0 = value
        elif parameter == "detuning":
            omega0 = model.delta + value
        if parameter == "Omega_over_Gamma":
            Omega = value * b.Gamma
        elif parameter == "Omega":
            Omega = value
        baths = BathSet.paper(b.Gamma1, b.Gamma2, b.mu, b.temperature)
        return DrivenSystem(model, float(omega0), float(Omega), baths, b.mu, self.drive.pattern)

    def resonance(self, system: DrivenSystem) -> Resonance:
        """The shell that the exact-DOS and refined-polar meshes resolve.

        Driven system: e_c = ω0/2, width W = sqrt(Γ² + Ω² Γ²/(Γ1 Γ2)) of n22 in 2e - ω0
        (Eq. 10, :func:`solvers.born_markov.resonance_width`).  Quasi-thermal baths: the
        Fermi step of K+ band 2 at e_c = μ2 (lab frame, after the reading), width
        sqrt(Γ12² + (4T)²) in 2e."""
        b = self.baths
        if b.kind == "quasi_thermal":
            m2 = float(system.baths.mu[0, 1])
            return Resonance(m2, max(float(np.hypot(b.Gamma12, 4 * b.temperature)), 1e-12))
        return Resonance.drive(system.omega0, max(float(resonance_width(system.Omega, b.Gamma1, b.Gamma2)), 1e-12))

    def mesh(self, system: DrivenSystem):
        """The k-sum mesh of numerics.mesh for ``system`` (a :mod:`keldysh.kmesh` mesh)."""
        choice = self.numerics.mesh
        resonance = self.resonance(system) if choice.USES_RESONANCE else None
        return choice.build(system, resonance, self.numerics)

    def threshold_point(self, value=None) -> ThresholdPoint:
        """Task "threshold": the :class:`~.material.ThresholdPoint` (laboratory and engine
        units) with the scan parameter set to ``value`` (an entry of scan.values)."""
        if self.task != "threshold":
            raise ValueError(f"threshold_point: only for task 'threshold' (this config runs {self.task!r})")
        parameter = self.scan.parameter if self.scan is not None else None
        return ThresholdPoint.build(self.material, self.drive, self.baths, self.interaction, parameter, value)

    # -- construction from TOML and back ----------------------------------------------------
    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], *, source: str | None = None) -> "Config":
        """Validate a parsed TOML document (unknown keys and unused tables are errors).

        ``source``: the config file, whose stem names the default output ``out/<stem>.h5``."""
        if not isinstance(raw, Mapping):
            raise ConfigError("config", f"must be a table (got {show(raw)})")
        check_keys("", raw, ("task", "description", *_TABLES, "material", "numerics"))
        if "task" not in raw:
            raise ConfigError("task", f"required (one of {', '.join(map(repr, TASKS))})")
        task = string("task", raw["task"], TASKS)
        for name in (*_TABLES, "material", "numerics"):
            if name in raw and not isinstance(raw[name], Mapping):
                raise ConfigError(name, f"must be a table [{name}] (got {show(raw[name])})")
        _check_tables(task, raw)
        if task == "threshold" and "model" in raw:
            raise ConfigError("model", "not used by task 'threshold' (the [material] table defines the model; "
                              "remove the [model] table)")
        tables = _THRESHOLD_TABLES if task == "threshold" else _TABLES
        kwargs: dict[str, Any] = {}
        for name, klass in tables.items():
            if name in raw:
                check_keys(name, raw[name], [f.name for f in dataclasses.fields(klass)])
                kwargs[name] = klass(**raw[name])
        drive = kwargs.get("drive")
        kwargs["numerics"] = numerics_from_table(task, raw.get("numerics", {}),
                                                 drive.pattern if drive is not None else "valley")
        if "model" not in kwargs and task != "threshold":
            raise ConfigError("model", "required ([model] with delta)")
        output = kwargs.get("output", OutputParams())
        if output.path is None:
            stem = Path(source).stem if source is not None else task
            output = dataclasses.replace(output, path=f"out/{stem}.h5")
        kwargs["output"] = output
        return cls(task=task, description=raw.get("description", ""), **kwargs)

    def resolved(self) -> dict[str, Any]:
        """Plain-dict configuration, every default filled in, only the keys the run uses.

        Lists, floats, ints, bools and strings only (JSON and TOML representable):
        ``Config.from_dict(cfg.resolved()) == cfg``."""
        out: dict[str, Any] = {"task": self.task}
        if self.description:
            out["description"] = self.description
        for name in ("model", "material", "drive", "baths", "interaction", "scan"):
            if getattr(self, name) is not None:
                out[name] = _plain_table(getattr(self, name))
        out["numerics"] = numerics_table(self.numerics)
        out["output"] = _plain_table(self.output)
        return out

    def describe(self) -> str:
        """Short one-line summary of the physical parameters (for logs and plot titles)."""
        parts = [self.task]
        if self.task == "threshold":
            parts += [self.material.name, f"{self.drive.pattern} light"]
            for table in (self.drive, self.baths, self.interaction):
                for f in dataclasses.fields(table):
                    value = getattr(table, f.name)
                    if value is not None and f.name not in ("pattern", "phi", "max_field", "min_intensity",
                                                            "min_field", "max_intensity", "mu"):
                        parts.append(f"{f.name} {value}")
            if self.scan is not None:
                parts.append(f"scan {self.scan.parameter} x{len(self.scan)}")
            return ", ".join(parts)
        if self.model.delta is not None:
            parts.append(f"δ={self.model.delta:g}t")
        if self.drive is not None:
            if self.drive.omega0 is not None:
                parts.append(f"ω0-δ={self.drive.omega0 - self.model.delta:g}t" if self.model.delta is not None
                             else f"ω0={self.drive.omega0:g}")
            if self.drive.Omega is not None:
                parts.append(f"Ω={self.drive.Omega:g}")
        if self.baths is not None:
            b = self.baths
            if b.kind == "paper":
                parts.append(f"Γ1={b.Gamma1:g} Γ2={b.Gamma2:g} μ={b.mu:g}")
            else:
                parts.append(f"Γ12={b.Gamma12:g} μ={b.mu:g}")
                if b.mu2 is not None:
                    parts.append(f"μ2={b.mu2:g}")
            if b.temperature:
                parts.append(f"T={b.temperature:g}")
        if self.scan is not None:
            parts.append(f"scan {self.scan.parameter} x{len(self.scan)}")
        return ", ".join(parts)

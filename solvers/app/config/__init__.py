"""Run configuration: a TOML file -> frozen, validated dataclasses (a small package).

One TOML file describes one run (``runs/*.toml``)::

    task = "phase-diagram"          # eta-map | susceptibility | phase-diagram | gap | spectral
    description = "free text"       # optional, copied into the output

    [model]        # physical: the gapped honeycomb lattice (spec §1)
    delta = 5.0    #   sublattice gap δ > 0 (units of t)
    t = 1.0        #   hopping, the unit of energy

    [drive]        # physical: the laser (spec §2); not with baths.kind = "quasi_thermal"
    omega0 = 5.1   #   drive frequency ω0 (default δ + 0.1 t)
    Omega = 1e-3   #   Rabi amplitude Ω >= 0 (default 0; not when a scan sets it)
    pattern = "valley"              # valley | dichroic

    [baths]        # physical: the reservoirs (spec §3, §5)
    kind = "paper"                  # paper: rates Γ1, Γ2 per band, one μ and T
    Gamma1 = 5e-4  #   amplitude decay rates Γ_a > 0
    Gamma2 = 5e-4
    mu = -5e-4     #   bath chemical potential (default -(Γ1 + Γ2)/2)
    temperature = 0.0
    # kind = "quasi_thermal" (fast-intraband limit, spec §5) takes instead:
    # Gamma12 > 0, mu (default -Γ12/2), mu2 (band-2 chemical potential of K+),
    # reading = "lab" | "band_edge" (how μ2 is measured), temperature

    [interaction]  # physical: the couplings of the gap task (Eqs. 8, 12)
    V = 0.0        #   intravalley V
    Vprime = 1.0   #   |V'| >= 0
    phi = 0.0      #   phase of V' = |V'| e^{iφ}

    [scan]         # the swept parameter (phase-diagram; eta-map: delta)
    parameter = "Omega_over_Gamma"  # Omega_over_Gamma | Omega | mu2 | delta
    values = [0.1, 1.0, 10.0]       # strictly monotonic, or:
    # start = 0.1, stop = 100.0, num = 40, log = true

    [numerics]     # numerical: meshes, grids, routes, tolerances (one dataclass per
                   #   task, the k-sum mesh a tagged choice: see .numerics)

    [output]
    path = "out/run.h5"             # default out/<config file stem>.h5
    checkpoint = true               # scans write a checkpoint after every point

Physical parameters (model, drive, baths, interaction) are kept apart from the numerical
ones (numerics) and from the bookkeeping (scan, output).  Every dataclass validates itself
on construction; :class:`Config` adds the checks that involve several tables and fills in
the defaults that depend on other values.

Loud errors: an unknown key, a table the task does not use, a wrong type (a bool is not a
number), NaN or infinity, a value out of range, an empty or non-monotonic scan all raise
:class:`ConfigError` with a one-line message that starts with the dotted key and says what
is allowed, e.g. ``baths.Gamma1: must be > 0 (got -0.001)``.

:meth:`Config.resolved` returns the configuration as a plain dict with every default filled
in and only the keys the run uses: this is what goes into every output file, and
``Config.from_dict(cfg.resolved()) == cfg``.

Modules: :mod:`.validation` (value checks, :class:`ConfigError`), :mod:`.parameters` (the
physical and bookkeeping tables), :mod:`.numerics` (per-task numerics, mesh choices and the
registries derived from them), :mod:`.run_config` (:class:`Config`: cross-table checks,
``resolved()``, and the physics objects it builds), :mod:`.overrides` (files and ``-o``
overrides) and :mod:`.advice` (resolution warnings).
"""
from .advice import check_resolution, resolution_warnings
from .numerics import (CRITERIA, MESH_ONLY, MESH_TASKS, MESHES, TASK_SPECS, TASKS, USED_BY, EtaMapNumerics,
                       ExactDosMesh, GapNumerics, MonkhorstPackMesh, PhaseDiagramNumerics, RefinedPolarMesh,
                       ShellMesh, SpectralNumerics, SusceptibilityNumerics, default_mesh)
from .overrides import apply_overrides, load_config, parse_override
from .parameters import (BATH_KINDS, PATTERNS, SCAN_PARAMETERS, BathParams, DriveParams, InteractionParams,
                         ModelParams, OutputParams, ScanParams)
from .run_config import Config
from .validation import ConfigError

__all__ = [
    "TASKS", "CRITERIA", "MESHES", "PATTERNS", "BATH_KINDS", "SCAN_PARAMETERS", "TASK_SPECS", "MESH_TASKS",
    "MESH_ONLY", "USED_BY", "ConfigError", "ModelParams", "DriveParams", "BathParams", "InteractionParams",
    "ScanParams", "OutputParams", "ExactDosMesh", "ShellMesh", "MonkhorstPackMesh", "RefinedPolarMesh",
    "EtaMapNumerics", "SusceptibilityNumerics", "PhaseDiagramNumerics", "GapNumerics", "SpectralNumerics",
    "Config", "load_config", "parse_override", "apply_overrides", "resolution_warnings", "check_resolution",
    "default_mesh",
]

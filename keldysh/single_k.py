"""Single-momentum API: equal-time correlators of one Nambu block (spec §3-§4).

This signature is public and stable (other tools and tests call it)::

    correlators(xi, rabi, gamma, *, delta_plus=0j, delta_minus=0j, nu=0.0,
                occupation=None, bath_mu=None, temperature=0.0, method="born_markov")
"""
from __future__ import annotations

import numpy as np

from .greens import adapted_grids, rho_pole_sum, rho_quadrature
from .lyapunov import lyapunov_steady_state
from .nambu import nambu_chemical_potentials, nambu_hamiltonian, nambu_occupations

__all__ = ["correlators", "METHODS"]

METHODS = ("born_markov", "keldysh", "poles")


def _vector4(name, value, *, allow_none=False):
    if value is None:
        if allow_none:
            return None
        raise ValueError(f"{name}: required for this method")
    arr = np.asarray(value)
    if np.iscomplexobj(arr):
        raise ValueError(f"{name}: must be real, got complex values")
    try:
        arr = arr.astype(float)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: must be a real array of shape (4,), got {value!r}") from None
    if arr.shape != (4,):
        raise ValueError(f"{name}: must have shape (4,), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: must be finite, got {arr.tolist()}")
    return arr


def _scalar(name, value, *, complex_ok=False, minimum=None):
    try:
        v = complex(value) if complex_ok else float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: must be a {'complex' if complex_ok else 'real'} number, got {value!r}") from None
    if not np.isfinite(v):
        raise ValueError(f"{name}: must be finite, got {value!r}")
    if minimum is not None and v < minimum:
        raise ValueError(f"{name}: must be >= {minimum}, got {value!r}")
    return v


def correlators(xi, rabi, gamma, *, delta_plus=0j, delta_minus=0j, nu=0.0,
                occupation=None, bath_mu=None, temperature=0.0, method="born_markov",
                n_per_panel: int = 20) -> np.ndarray:
    """Equal-time correlators rho_ij = <Ψ†_j Ψ_i> of one k block, Ψ = (c_k1, c_k2, c†_-k1, c†_-k2).

    Parameters
    ----------
    xi : array (4,)
        Rotating-frame particle energies of (c_k1, c_k2, c_-k1, c_-k2), measured from μ.
    rabi : float
        Rabi amplitude Ω_k (couples k1 and k2 only; the -k block is undriven).
    gamma : array (4,)
        Amplitude decay rates Γ of the same four modes (Σ^R = -iΓ), all > 0.
    delta_plus, delta_minus : complex
        Gaps Δ+ (pairs k2 with -k1) and Δ- (pairs -k2 with k1), spec §3.
    nu : float
        Condensate frequency: particle energies and bath chemical potentials shift by
        -ν/2; frozen Born-Markov occupations do not (spec §2).
    occupation : array (4,), method "born_markov"
        Frozen particle occupations in [0, 1] of the four modes.
    bath_mu : array (4,), methods "keldysh" and "poles"
        Rotating-frame bath chemical potentials of the four particle modes, measured
        from μ like ``xi`` ((+ω0/2, -ω0/2, +ω0/2, -ω0/2) for the paper's baths).
    temperature : float or array (4,)
        Bath temperature(s) T ≥ 0 ("keldysh", "poles").
    method : {"born_markov", "keldysh", "poles"}
        "born_markov": the Lyapunov steady state with frozen occupations (spec §4);
        "keldysh": quadrature of ∫dω/2π G^R 2Γn(ω) G^A on a grid adapted to the
        quasi-energies and the Fermi steps; "poles": the exact pole sum.
    n_per_panel : int
        Gauss-Legendre points per panel of the adapted grid ("keldysh").

    Returns
    -------
    rho : complex ndarray (4, 4)
        Populations n^11_k = rho[0,0], n^22_k = rho[1,1], n^11_-k = 1 - rho[2,2],
        n^22_-k = 1 - rho[3,3]; pairs <c_-k1 c_k2> = rho[1,2], <c_k1 c_-k2> = -rho[0,3].
    """
    if method not in METHODS:
        raise ValueError(f"method: must be one of {METHODS}, got {method!r}")
    xi = _vector4("xi", xi)
    gamma = _vector4("gamma", gamma)
    if np.any(gamma <= 0):
        raise ValueError(f"gamma: rates must be > 0, got {gamma.tolist()}")
    rabi = _scalar("rabi", rabi)
    dp = _scalar("delta_plus", delta_plus, complex_ok=True)
    dm = _scalar("delta_minus", delta_minus, complex_ok=True)
    nu = _scalar("nu", nu)
    h = nambu_hamiltonian(xi, rabi, dp, dm, nu)

    if method == "born_markov":
        occ = _vector4("occupation", occupation)
        if np.any((occ < 0) | (occ > 1)):
            raise ValueError(f"occupation: must lie in [0, 1], got {occ.tolist()}")
        return lyapunov_steady_state(h, gamma, nambu_occupations(occ))

    mu = _vector4("bath_mu", bath_mu)
    T = np.asarray(temperature, dtype=float)
    if T.ndim == 0:
        T = np.full(4, float(T))
    T = _vector4("temperature", T)
    if np.any(T < 0):
        raise ValueError(f"temperature: must be >= 0, got {T.tolist()}")
    m = nambu_chemical_potentials(mu, nu)
    if method == "poles":
        return rho_pole_sum(h, gamma, m, T)[0]
    w, wt = adapted_grids(h, gamma, m, T, n_per_panel)
    return rho_quadrature(h, gamma, w, wt, m, T)[0]

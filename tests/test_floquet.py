"""Exact Floquet-Sambe solution of one k against the RWA (spec §2, §9; keldysh/floquet.py).

Oracles: the folded band energies (A0 = 0), the Jacobi-Anger closed form of the Peierls
harmonics, first-order perturbation theory (the harmonics ∝ P_pm), the closed form
2 J_1(A0)/A0 of the Rabi amplitude at K+, second-order perturbation theory for the resonance
shift (Bloch-Siegert + hopping renormalisation), and the RWA splitting of spec §9.
"""
from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import numpy as np
import pytest
from scipy.special import jv

from keldysh import floquet as fl
from keldysh.lattice import NN_VECTORS, HoneycombModel

DELTA, OMEGA0 = 5.0, 5.1  # Fig. 3a (spec §9: |Omega_k| = 0.13-0.21 Omega on the K- ring)
DOCS = Path(__file__).resolve().parents[1] / "docs" / "floquet.md"


@pytest.fixture(scope="module")
def model():
    return HoneycombModel(delta=DELTA)


def _jacobi_anger_harmonics(model, k, A0, N, phase):
    """H^(m), m = -2N..2N, of H(k + A(t)) in closed form: |d_i| = 1, A.d_i = A0 cos(tau - phi_i)."""
    phi = np.arctan2(NN_VECTORS[:, 1], NN_VECTORS[:, 0])
    bloch = np.exp(1j * NN_VECTORS @ k)
    out = []
    for m in range(-2 * N, 2 * N + 1):
        # e^{i A0 cos(x)} = sum_n i^n J_n(A0) e^{i n x}; H(t) = sum_m H^(m) e^{-i m tau} => n = -m,
        # tau = omega0 t + phase shifts H^(m) by e^{-i m phase}
        def h_m(mm):
            return -model.t * np.sum(bloch * 1j ** (-mm) * jv(-mm, A0) * np.exp(1j * mm * phi)) * np.exp(-1j * mm * phase)
        H = np.zeros((2, 2), complex)
        H[0, 1] = h_m(m)
        H[1, 0] = np.conj(h_m(-m))  # h* = sum_m conj(h^(m)) e^{+i m tau}
        if m == 0:
            H[0, 0], H[1, 1] = model.delta / 2, -model.delta / 2
        out.append(H)
    return np.array(out)


def test_harmonics_match_jacobi_anger(model):
    k = np.array([0.37, -1.91])
    for phase in (0.0, 1.3):
        exact = _jacobi_anger_harmonics(model, k, 0.7, 5, phase)
        got = fl.hamiltonian_harmonics(model, k, 0.7, OMEGA0, 5, phase=phase)
        assert np.max(np.abs(got - exact)) < 1e-14


def test_first_harmonic_is_sigma_plus_and_gives_the_engine_rabi_amplitude(model):
    """<u2|H^(1)|u1> -> (A0/2) P_+ (resonant, e^{-i w0 t}), <u2|H^(-1)|u1> -> (A0/2) P_-."""
    rng = np.random.default_rng(3)
    A0 = 1e-4
    for k in rng.uniform(-3, 3, size=(5, 2)):
        H = fl.hamiltonian_harmonics(model, k, A0, OMEGA0, 2)
        u1, u2 = model.bloch_vectors(k)
        pp, pm = model.velocity_elements(k)
        rot = u2.conj() @ H[4 + 1] @ u1  # index m + 2N
        counter = u2.conj() @ H[4 - 1] @ u1
        scale = np.abs(pp) + np.abs(pm)
        assert abs(rot - 0.5 * A0 * pp) < 1e-7 * A0 * scale  # O(A0^3) correction
        assert abs(counter - 0.5 * A0 * pm) < 1e-7 * A0 * scale
        # the same complex number as the engine's Omega_k (spec §9, h[1,0] = Omega_k), A0 <-> Omega
        Omega = fl.rabi_for_a1(model, A0)
        assert abs(rot - fl.rwa_rabi(model, k, Omega, "circular")) < 1e-7 * A0 * scale
    assert fl.a1_for_rabi(model, 0.03) == pytest.approx(2 * 0.03 / 3.0, rel=1e-14)  # |P_+(K+)| = 3t
    assert fl.rabi_for_a1(model, fl.a1_for_rabi(model, 0.03)) == pytest.approx(0.03, rel=1e-15)


def test_zero_field_quasienergies_are_the_folded_bands(model):
    k = np.array([-1.7, 0.4])  # off resonance: 2 e_k - omega0 = 1.9
    N = 5
    q, V = fl.floquet_quasienergies(model, k, 0.0, OMEGA0, N)
    e = float(model.energy(k))
    folded = np.sort([s * e - n * OMEGA0 for n in range(-N, N + 1) for s in (-1, 1)])
    assert np.max(np.abs(q - folded)) < 1e-13
    assert np.allclose(V.conj().T @ V, np.eye(V.shape[0]), atol=1e-12)
    pair = fl.floquet_pair(model, k, 0.0, OMEGA0, N)
    assert pair.quasienergies == pytest.approx((-e, e - OMEGA0), abs=1e-13)
    assert pair.weights == pytest.approx((1.0, 1.0), abs=1e-13) and pair.runner_up < 1e-13
    # weak field: the pair moves continuously, by second-order amounts off resonance
    weak = fl.floquet_pair(model, k, 1e-4, OMEGA0, N)
    assert np.max(np.abs(np.subtract(weak.quasienergies, pair.quasienergies))) < 1e-7


def test_rabi_amplitude_at_the_valley_centres(model):
    """At K+ (resonant, omega0 = delta) the pair splits by 2 Omega 2J1(A0)/A0; at K- only by the BS shift."""
    c = model.valley_centres()
    for Omega in (1e-3, 1e-2, 5e-2):
        A0 = fl.a1_for_rabi(model, Omega)
        split = fl.floquet_splitting(model, c["K+"], Omega, DELTA)
        assert split == pytest.approx(2 * Omega * 2 * jv(1, A0) / A0, rel=1e-3 * A0**2)
        assert abs(split / (2 * Omega) - 1) > 0.9 * A0**2 / 8  # the A0 <-> Omega relation is first order
        # K-: P_+ = 0, the resonant coupling vanishes; the splitting is the shifted detuning 2|c|^2/(2e+w0)
        bs, peierls = fl.second_order_shift(model, c["K-"], Omega, DELTA)
        assert peierls == pytest.approx(0.0, abs=1e-30)
        assert fl.floquet_splitting(model, c["K-"], Omega, DELTA) == pytest.approx(bs, rel=1e-3)
        assert bs == pytest.approx(2 * Omega**2 / (2 * DELTA), rel=1e-12)


@pytest.mark.parametrize("valley,theta", [("K+", 0.3), ("K-", 0.0), ("K-", np.pi / 3)])
def test_resonance_ring_against_rwa(model, valley, theta):
    """Splitting = RWA to relative O(Omega/omega0); the resonance shift ∝ Omega^2 as 2nd order predicts."""
    k = fl.ring_point(model, valley, OMEGA0, theta)
    assert 2 * float(model.energy(k)) == pytest.approx(OMEGA0, abs=1e-13)
    Omegas = np.geomspace(2.5e-3, 0.1, 5)
    shifts, rel_dev = [], []
    for Omega in Omegas:
        rwa = fl.rwa_splitting(model, k, Omega, OMEGA0, "circular")
        assert rwa == pytest.approx(2 * abs(fl.rwa_rabi(model, k, Omega)), rel=1e-12)
        fit = fl.resonance_fit(model, k, Omega, OMEGA0)
        # a = (1 - d delta_k / d omega0)^2: delta_BS ∝ 1/(2 e_k + omega0) drifts with omega0
        assert abs(fit.curvature - 1) < 3 * abs(fit.shift) / OMEGA0 + 1e-6
        rel_dev.append(fit.splitting / rwa - 1)
        assert abs(rel_dev[-1]) < Omega / OMEGA0
        predicted = sum(fl.second_order_shift(model, k, Omega, OMEGA0))
        assert fit.shift == pytest.approx(predicted, rel=0.5 * Omega / OMEGA0)
        # the effective Rabi amplitude: |Omega_k| (1 - A0^2/8 + ...), the Bessel factor of the harmonic
        A0 = fl.a1_for_rabi(model, Omega)
        assert abs(fit.rabi / abs(fl.rwa_rabi(model, k, Omega)) - 1) < A0**2 / 4
        shifts.append(fit.shift)
    slope = np.polyfit(np.log(Omegas), np.log(np.abs(shifts)), 1)[0]
    assert slope == pytest.approx(2.0, abs=0.01)
    # at the ring itself the splitting moves only at second order: sqrt(delta_k^2 + 4 |Omega_k|^2 (1 - A0^2/8)^2)
    assert abs(rel_dev[0]) < 1e-2 * abs(rel_dev[-1]) + 1e-12  # 40x less Omega -> >= 100x less deviation


def test_k_minus_ring_is_the_circular_pattern_not_the_valley_one(model):
    Omega = 0.01
    ratios = []
    for theta in np.linspace(0, 2 * np.pi / 3, 5):  # extremes of |P_+| at 0 and pi/3
        ring = fl.ring_point(model, "K-", OMEGA0, theta)
        direction = (ring - model.valley_centres()["K-"]) / np.linalg.norm(ring - model.valley_centres()["K-"])
        for dq in (-2e-3, 0.0, 1.5e-3):  # |eps_k| up to ~1.5 |Omega_k| on either side of the ring
            k = ring + dq * direction
            rabi = abs(fl.rwa_rabi(model, k, Omega, "circular"))
            eps = 2 * float(model.energy(k)) - OMEGA0
            floquet = fl.floquet_splitting(model, k, Omega, OMEGA0)
            rwa = fl.rwa_splitting(model, k, Omega, OMEGA0, "circular")
            # plain RWA: off by the resonance shift at most; with the 2nd-order shift: far closer
            delta_k = sum(fl.second_order_shift(model, k, Omega, OMEGA0))
            assert abs(floquet - rwa) < 1.1 * abs(delta_k)
            assert floquet == pytest.approx(np.hypot(eps + delta_k, 2 * rabi), rel=1e-4)
            # the valley pattern leaves K- undriven: its splitting is |eps_k|, far below
            assert fl.rwa_splitting(model, k, Omega, OMEGA0, "valley") == pytest.approx(abs(eps), abs=1e-15)
            assert floquet - abs(eps) > 0.1 * Omega
        ratios.append(abs(fl.rwa_rabi(model, ring, 1.0)))
    assert min(ratios) == pytest.approx(0.132, abs=2e-3) and max(ratios) == pytest.approx(0.210, abs=2e-3)


def test_harmonic_convergence(model):
    k = fl.ring_point(model, "K+", OMEGA0, 0.3)
    for Omega in (0.1, 1.0):
        s = {N: fl.floquet_splitting(model, k, Omega, OMEGA0, N) for N in (2, 6, 8, 12)}
        assert abs(s[8] - s[12]) < 1e-10
        assert abs(fl.floquet_splitting(model, k, Omega, OMEGA0) - s[12]) < 1e-10
    assert abs(s[2] - s[6]) > 1e-6  # at Omega = t, N = 2 is not converged: the check can fail


@pytest.mark.parametrize("valley", ["K+", "K-"])
def test_time_origin_does_not_matter(model, valley):
    k = fl.ring_point(model, valley, OMEGA0, 0.3) + np.array([1e-3, 0.0])
    A0 = fl.a1_for_rabi(model, 0.1)
    ref = fl.floquet_pair(model, k, A0, OMEGA0, 8)
    H0 = fl.hamiltonian_harmonics(model, k, A0, OMEGA0, 8)
    for phase in (0.7, 2.1, -2.9):
        H = fl.hamiltonian_harmonics(model, k, A0, OMEGA0, 8, phase=phase)
        m = np.arange(-16, 17)
        assert np.max(np.abs(H - np.exp(-1j * m * phase)[:, None, None] * H0)) < 1e-14
        assert np.max(np.abs(H - H0)) > 1e-3 * A0  # the phase does change the harmonics
        pair = fl.floquet_pair(model, k, A0, OMEGA0, 8, phase=phase)
        assert pair.quasienergies == pytest.approx(ref.quasienergies, abs=1e-12)
        assert fl.floquet_splitting(model, k, 0.1, OMEGA0, 8, phase=phase) == pytest.approx(ref.splitting, abs=1e-12)


def test_input_validation(model):
    with pytest.raises(ValueError, match="^k:"):
        fl.floquet_pair(model, np.zeros(3), 0.1, OMEGA0)
    with pytest.raises(ValueError, match="^pattern:"):
        fl.rwa_splitting(model, np.zeros(2), 0.1, OMEGA0, "dichroic")
    with pytest.raises(ValueError, match="^n_samples:"):
        fl.hamiltonian_harmonics(model, np.zeros(2), 0.1, OMEGA0, 8, n_samples=16)
    with pytest.raises(ValueError, match="^valley:"):
        fl.ring_point(model, "K", OMEGA0)


def test_docs_table_is_what_the_docs_script_prints():
    """docs/floquet.md: the python block runs and prints exactly the table rows in the page."""
    text = DOCS.read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) == 1
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(blocks[0], str(DOCS), "exec"), {"__name__": "__docs__"})
    rows = [line for line in out.getvalue().splitlines() if line.strip()]
    assert len(rows) >= 8
    for row in rows:
        assert row in text, row

"""Material presets, the Dirac mapping and the spin-orbit sector model (spec §1, §9)."""
import contextlib
import dataclasses
import io
import re
from pathlib import Path

import numpy as np
import pytest

from keldysh.lattice import RECIPROCAL, HoneycombModel
from keldysh.materials import (LIU_2013_GGA, NNN_VECTORS, PRESETS, Material, SpinSectorModel,
                               preset, so_function, so_function_gradient)

DOC = Path(__file__).resolve().parents[1] / "docs" / "materials.md"
RNG_K = np.random.default_rng(7).uniform(-4, 4, size=(300, 2))


# -- presets ------------------------------------------------------------------
def test_preset_lookup_is_case_insensitive_and_errors_list_the_names():
    assert preset("mos2") is PRESETS["MoS2"]
    assert preset(" WSe2 ") is PRESETS["WSe2"]
    with pytest.raises(ValueError, match="MoS2, WS2, MoSe2, WSe2"):
        preset("MoTe2")
    with pytest.raises(ValueError, match="unknown preset"):
        preset(3)


# Xiao et al., PRL 108, 196802 (2012), Table I: a (Å), t (eV), Δ (eV), 2λ (eV)
XIAO_TABLE = {
    "MoS2": (3.193, 1.10, 1.66, 0.15),
    "WS2": (3.197, 1.37, 1.79, 0.43),
    "MoSe2": (3.313, 0.94, 1.47, 0.18),
    "WSe2": (3.310, 1.19, 1.60, 0.46),
}


@pytest.mark.parametrize("name", list(XIAO_TABLE))
def test_preset_values_and_liu_cross_check(name):
    m = preset(name)
    a, t, gap, two_lambda = XIAO_TABLE[name]
    assert (m.lattice_constant_angstrom, m.dirac_hopping_eV, m.gap_eV) == (a, t, gap)
    assert m.spin_splitting_eV == pytest.approx(two_lambda, rel=1e-12)
    # independent source (Liu et al. PRB 88, 085433 (2013), GGA three-band fit)
    a_liu, lam_liu = LIU_2013_GGA[name]
    assert abs(a - a_liu) / a < 5e-3
    assert abs(two_lambda - 2 * lam_liu) / two_lambda < 3e-2


def test_mapping_hand_values_mos2():
    m = preset("MoS2")
    # hand: ħv = 3.193 * 1.10 = 3.5123 eV Å; d = 3.193/√3 = 1.843480 Å;
    # t_lat = 2 ħv / (3 d) = (2/√3) 1.10 = 1.270171 eV; δ/t = 1.66/1.270171 = 1.306911
    assert m.hbar_v_eV_angstrom == pytest.approx(3.5123, rel=1e-12)
    assert m.nn_distance_angstrom == pytest.approx(1.843480, rel=1e-6)
    assert m.t_eV == pytest.approx(1.270171, rel=1e-6)
    assert m.delta_over_t == pytest.approx(1.306911, rel=1e-6)
    assert m.lambda_over_t == pytest.approx(0.075 / 1.270171, rel=1e-6)
    assert (m.gap_A_eV, m.gap_B_eV) == pytest.approx((1.585, 1.735), rel=1e-12)


@pytest.mark.parametrize("name", list(XIAO_TABLE))
def test_dirac_limit_of_the_lattice_model(name):
    """|∇h| at K+ is (3/2) t d, so ħv = (3/2) t_lat d reproduces a t; the dispersion
    near K+ is the massive Dirac one up to O(q³) in E²."""
    m = preset(name)
    model = m.model()
    kp = model.valley_centres()["K+"]
    grad = model.grad_h(kp)
    assert np.abs(grad) == pytest.approx([1.5, 1.5], rel=1e-13)   # t = d = 1
    assert 1.5 * m.t_eV * m.nn_distance_angstrom == pytest.approx(
        m.lattice_constant_angstrom * m.dirac_hopping_eV, rel=1e-13)
    errors = []
    for q in (1e-2, 1e-3):
        k = kp + q * np.array([np.cos(0.3), np.sin(0.3)])
        dirac_sq = model.delta**2 / 4 + (1.5 * q) ** 2
        errors.append(abs(model.energy(k) ** 2 - dirac_sq))
    assert errors[0] < 10 * 1e-6 and errors[1] / errors[0] < 2e-3   # ~ q³


def test_overrides_validate_and_record_the_change():
    m = preset("MoS2")
    w = m.overrides(gap_eV=1.9)
    assert w.gap_eV == 1.9 and m.gap_eV == 1.66
    assert w.t_eV == m.t_eV and w.delta_over_t == pytest.approx(1.9 / m.t_eV)
    assert "overridden: gap_eV=1.9" in w.source
    assert m.overrides() is m
    with pytest.raises(ValueError, match="unknown override.*allowed"):
        m.overrides(gap=1.9)
    with pytest.raises(ValueError, match="gap_eV must be"):
        m.overrides(gap_eV=-1.0)
    with pytest.raises(ValueError, match="lambda_so_eV must satisfy"):
        m.overrides(lambda_so_eV=1.7)
    with pytest.raises(ValueError, match="lattice_constant_angstrom"):
        m.overrides(lattice_constant_angstrom=float("nan"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.gap_eV = 2.0  # type: ignore[misc]
    with pytest.raises(ValueError, match="sigma"):
        m.sector_gap_eV(0)


def test_material_models_are_in_units_of_t():
    m = preset("WS2")
    assert m.model() == HoneycombModel(delta=m.delta_over_t)
    s = m.model(-1)
    assert isinstance(s, SpinSectorModel)
    assert (s.delta, s.t, s.lambda_so, s.sigma) == (m.delta_over_t, 1.0, m.lambda_over_t, -1)


# -- the spin-orbit function g ----------------------------------------------------
def test_so_function_values_symmetries_and_gradient():
    centres = HoneycombModel(delta=1.0).valley_centres()
    assert np.allclose(NNN_VECTORS.sum(axis=0), 0, atol=1e-15)
    assert so_function(centres["K+"]) == pytest.approx(1.0, abs=1e-14)
    assert so_function(centres["K-"]) == pytest.approx(-1.0, abs=1e-14)
    g = so_function(RNG_K)
    assert np.allclose(so_function(-RNG_K), -g, atol=1e-14)
    for b in RECIPROCAL:
        assert np.allclose(so_function(RNG_K + b), g, atol=1e-12)
    # |g| ≤ 1 on a fine zone mesh, with the maximum at the valley centres
    u = np.linspace(0, 1, 241)
    u1, u2 = np.meshgrid(u, u, indexing="ij")
    mesh = u1.ravel()[:, None] * RECIPROCAL[0] + u2.ravel()[:, None] * RECIPROCAL[1]
    assert np.max(np.abs(so_function(mesh))) <= 1 + 1e-12
    assert np.allclose(so_function_gradient(centres["K+"]), 0, atol=1e-14)
    step = 1e-6
    fd = np.stack([(so_function(RNG_K + step * e) - so_function(RNG_K - step * e)) / (2 * step)
                   for e in np.eye(2)], axis=-1)
    assert np.allclose(so_function_gradient(RNG_K), fd, atol=1e-8)


# -- the sector model -------------------------------------------------------------
@pytest.mark.parametrize("delta", [0.25, 1.306911, 5.0])
@pytest.mark.parametrize("sigma", [1, -1])
def test_sector_model_without_spin_orbit_is_the_honeycomb_model(delta, sigma):
    base = HoneycombModel(delta=delta, t=1.3)
    s = SpinSectorModel(delta=delta, t=1.3, lambda_so=0.0, sigma=sigma)
    k = RNG_K
    tol = dict(rtol=0, atol=1e-14)
    np.testing.assert_allclose(s.hamiltonian(k), base.hamiltonian(k), **tol)
    np.testing.assert_allclose(s.bands(k), base.bands(k), **tol)
    for ours, theirs in zip(s.bloch_vectors(k), base.bloch_vectors(k)):
        np.testing.assert_allclose(ours, theirs, **tol)
    for ours, theirs in zip(s.velocity_elements(k), base.velocity_elements(k)):
        np.testing.assert_allclose(ours, theirs, **tol)
    np.testing.assert_allclose(s.eta(k), base.eta(k), **tol)
    for key in ("K+", "K-"):
        np.testing.assert_array_equal(s.valley_centres()[key], base.valley_centres()[key])


SECTORS = [(1.306911, 0.059047, 1), (1.306911, 0.059047, -1), (0.5, 0.4, 1), (0.5, 0.4, -1)]


@pytest.mark.parametrize("delta,lam,sigma", SECTORS)
def test_sector_model_bands_vectors_and_velocities(delta, lam, sigma):
    s = SpinSectorModel(delta=delta, lambda_so=lam, sigma=sigma)
    k = RNG_K
    H = s.hamiltonian(k)
    E = s.bands(k)
    assert np.allclose(np.linalg.eigvalsh(H), E, atol=1e-12)
    assert np.allclose(E.sum(axis=-1), sigma * lam * so_function(k), atol=1e-13)  # E1 + E2 = σλg
    u1, u2 = s.bloch_vectors(k)
    for a, u in enumerate((u1, u2)):
        assert np.allclose(np.linalg.norm(u, axis=-1), 1, atol=1e-14)
        assert np.allclose(np.einsum("kij,kj->ki", H, u), E[:, a, None] * u, atol=1e-12)
    # P± against finite differences of the full H_σ (the ∂(σλg) term included)
    step = 1e-6
    dH = [(s.hamiltonian(k + step * e) - s.hamiltonian(k - step * e)) / (2 * step) for e in np.eye(2)]
    for sign, P in zip((1, -1), s.velocity_elements(k)):
        D = dH[0] + sign * 1j * dH[1]
        direct = np.einsum("ki,kij,kj->k", np.conj(u2), D, u1)
        assert np.allclose(P, direct, atol=1e-8)


@pytest.mark.parametrize("delta,lam,sigma", SECTORS)
def test_sector_gap_offset_and_eta_at_the_valley_centres(delta, lam, sigma):
    s = SpinSectorModel(delta=delta, lambda_so=lam, sigma=sigma)
    c = s.valley_centres()
    for valley, tau in (("K+", 1), ("K-", -1)):
        e1, e2 = s.bands(c[valley])
        # Xiao's H_{τs} at q = 0 with s = σ: gap Δ - τσλ, offset τσλ/2
        assert e2 - e1 == pytest.approx(delta - tau * sigma * lam, abs=1e-14)
        assert (e1 + e2) / 2 == pytest.approx(tau * sigma * lam / 2, abs=1e-14)
        assert s.gap(valley) == pytest.approx(e2 - e1, abs=1e-14)
        assert s.offset(valley) == pytest.approx((e1 + e2) / 2, abs=1e-14)
        assert s.eta(c[valley]) == pytest.approx(tau, abs=1e-12)
    # P_+ at K+ is not changed by the spin-orbit term (∇g = 0 there)
    pp, _ = s.velocity_elements(c["K+"])
    pp0, _ = s.base.velocity_elements(c["K+"])
    assert pp == pytest.approx(pp0, abs=1e-14)
    with pytest.raises(ValueError, match="valley"):
        s.gap("K")


def test_A_transition_has_the_smaller_gap_and_it_is_the_global_minimum():
    m = preset("MoS2")
    a, b = m.model(+1), m.model(-1)
    assert a.gap("K+") < b.gap("K+")
    assert a.gap("K+") * m.t_eV == pytest.approx(m.gap_A_eV, rel=1e-12)
    assert b.gap("K+") * m.t_eV == pytest.approx(m.gap_B_eV, rel=1e-12)
    # the σ = +1 sector: E2 - E1 = 2 sqrt(m² + |h|²) ≥ δ - λ everywhere, attained at K+
    e = a.bands(RNG_K)
    assert np.min(e[:, 1] - e[:, 0]) >= a.gap("K+") - 1e-12


@pytest.mark.parametrize("delta,lam,sigma", SECTORS)
def test_time_reversal_partner(delta, lam, sigma):
    """(k, spin σ) and (-k, spin -σ): H_{-σ}(-k) = conj H_σ(k), same bands,
    P^{(-σ)}_±(-k) = -conj P^{(σ)}_∓(k) in the closed-form gauge."""
    s = SpinSectorModel(delta=delta, lambda_so=lam, sigma=sigma)
    r = SpinSectorModel(delta=delta, lambda_so=lam, sigma=-sigma)
    k = RNG_K
    np.testing.assert_allclose(r.hamiltonian(-k), np.conj(s.hamiltonian(k)), rtol=0, atol=1e-14)
    np.testing.assert_allclose(r.bands(-k), s.bands(k), rtol=0, atol=1e-13)
    pp, pm = s.velocity_elements(k)
    rp, rm = r.velocity_elements(-k)
    np.testing.assert_allclose(rp, -np.conj(pm), rtol=0, atol=1e-12)
    np.testing.assert_allclose(rm, -np.conj(pp), rtol=0, atol=1e-12)
    np.testing.assert_allclose(r.eta(-k), -s.eta(k), rtol=0, atol=1e-12)


@pytest.mark.parametrize("valley,tau", [("K+", 1), ("K-", -1)])
@pytest.mark.parametrize("sigma", [1, -1])
def test_sector_model_near_a_valley_is_xiaos_dirac_model(valley, tau, sigma):
    """Bands of H_σ at K + q against the eigenvalues of Xiao's 2x2 H_{τ s}(q), s = σ,
    with a t -> (3/2) t d = 3/2; the difference is O(q²) (band curvature, g - 1)."""
    delta, lam = 1.306911, 0.2
    s = SpinSectorModel(delta=delta, lambda_so=lam, sigma=sigma)
    centre = s.valley_centres()[valley]
    sx = np.array([[0, 1], [1, 0]])
    sy = np.array([[0, -1j], [1j, 0]])
    sz = np.diag([1.0, -1.0])
    errors = []
    for q in (1e-2, 1e-3):
        qv = q * np.array([np.cos(1.1), np.sin(1.1)])
        Hx = (1.5 * (tau * qv[0] * sx + qv[1] * sy) + delta / 2 * sz
              - lam * tau * sigma * (sz - np.eye(2)) / 2)
        errors.append(np.max(np.abs(s.bands(centre + qv) - np.linalg.eigvalsh(Hx))))
    assert errors[0] < 1e-4 and errors[1] / errors[0] < 2e-2


def test_sector_model_validation():
    with pytest.raises(ValueError, match="lambda_so"):
        SpinSectorModel(delta=1.0, lambda_so=1.0)
    with pytest.raises(ValueError, match="lambda_so"):
        SpinSectorModel(delta=1.0, lambda_so=-0.1)
    with pytest.raises(ValueError, match="sigma"):
        SpinSectorModel(delta=1.0, lambda_so=0.1, sigma=0)
    with pytest.raises(ValueError, match="delta"):
        SpinSectorModel(delta=0.0)


# -- docs/materials.md ----------------------------------------------------------
def test_docs_table_is_what_the_code_block_prints():
    text = DOC.read_text()
    block = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block, str(DOC), "exec"), {})
    table = re.search(r"<!-- table:begin -->\n(.*?)<!-- table:end -->", text, re.S).group(1)
    assert out.getvalue().strip() == table.strip()

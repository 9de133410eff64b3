"""``keldysh-plot FILE.h5 [--out DIR]``: one PNG per results file of ``keldysh-run``.

Figures by task (energies in units of t, momenta in units of 1/a, a the nearest-neighbour
distance; the run's parameters in the title):

* eta-map: η(k) (Eq. 2) over the Brillouin zone, colour scale -1..1, one panel per δ,
  zone boundary and valley centres K± marked;
* phase-diagram: V_c/t against Ω/Γ (log axis) or μ2/t; one colour per |V'|, one line style
  per method (closed forms Eqs. 14, 17; the paper criterion per route) and one marker per
  route of the full criterion, both branches; symlog V axis (the branches diverge at weak drive); the K+
  polarisation on a twin axis for μ2 scans;
* susceptibility: Re and Im of chi_± against ν for each route (chi(0) of the paper route as
  points at ν = 0);
* spectral: A(k, ω) and the distribution -iG^</A of the mode c_k2 along the cut through K+,
  and the populations n22_k, 1 - n11_k (Born-Markov and Keldysh);
* gap: the residual history of the accepted solve, and every attempt;
* gap-map: |Δ+|, |Δ−|, ν and max Re λ against V per branch (stable solid, unstable dashed),
  bifurcation points and folds marked;
* threshold (laboratory units): the threshold intensity (W/cm², log axis; right axis: the
  Rabi energy ħΩ_A in meV) of each criterion against the scanned parameter (its unit; top axis
  in units of t where it is an energy), open markers where not certified, triangles for a
  bound (no instability up to the maximum intensity); and every evaluation of the searches.

Uses matplotlib's Agg canvas directly (no pyplot state, no display needed).  Prints the
paths it wrote, one per line, and nothing else; exit status 2 for an unusable file.
"""
from __future__ import annotations

from solvers.app.plot.command import PLOTTERS, main, plot_file
from solvers.app.plot.style import _figure, _save, _title, _wrap  # noqa: F401 - used by the tests

__all__ = ["main", "plot_file", "PLOTTERS"]

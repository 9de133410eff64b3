"""Exact linear pair response by pole sums (package; the code is in :mod:`keldysh.response.poles` while it is split)."""
from .poles import (PoleResponse, pair_response_matrix_quadrature, pair_response_poles,
                    pair_response_poles_numpy)

__all__ = [
    "PoleResponse",
    "pair_response_poles",
    "pair_response_poles_numpy",
    "pair_response_matrix_quadrature",
]

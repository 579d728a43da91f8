"""Weight constraints: projections applied to a weight after each optimizer step (no gradient flows
through them). Each takes an array (or a Tensor, whose values are used) and returns the projected values
of the same kind; ``axis`` is the axis (or axes) the norm runs over, ‖w‖ = sqrt(Σ_axis w²).

    max_norm      w · min(‖w‖, c) / (ε + ‖w‖)                      (norms capped at c)
    non_neg       w · [w ≥ 0]                                       (negative entries set to 0)
    unit_norm     w / (ε + ‖w‖)                                     (norms set to 1)
    min_max_norm  w · (r·clip(‖w‖, lo, hi) + (1 − r)·‖w‖) / (ε + ‖w‖)  (norms moved into [lo, hi] at rate r)

These are the projections Keras's ``kernel_constraint=MaxNorm(3)`` and friends apply.
"""
import numpy as np

from ..tensor import Tensor

__all__ = ["max_norm", "non_neg", "unit_norm", "min_max_norm"]

_EPS = 1e-7


def _values(w):
    return np.asarray(w.array if isinstance(w, Tensor) else w)


def _like(w, values):
    return Tensor(values) if isinstance(w, Tensor) else values


def _norms(a, axis):
    return np.sqrt(np.sum(a * a, axis=axis, keepdims=True))


def max_norm(w, max_value=2.0, axis=0, eps=_EPS):
    a = _values(w)
    n = _norms(a, axis)
    return _like(w, (a * (np.clip(n, 0.0, max_value) / (eps + n))).astype(a.dtype, copy=False))


def non_neg(w):
    a = _values(w)
    return _like(w, a * (a >= 0).astype(a.dtype))


def unit_norm(w, axis=0, eps=_EPS):
    a = _values(w)
    return _like(w, (a / (eps + _norms(a, axis))).astype(a.dtype, copy=False))


def min_max_norm(w, min_value=0.0, max_value=1.0, rate=1.0, axis=0, eps=_EPS):
    a = _values(w)
    n = _norms(a, axis)
    desired = rate * np.clip(n, min_value, max_value) + (1 - rate) * n
    return _like(w, (a * (desired / (eps + n))).astype(a.dtype, copy=False))

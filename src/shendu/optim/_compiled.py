"""Compiled (numba) optimizer updates: the optional fast path of ``shendu.optim`` (Adam and AdamW).

Installed with ``pip install 'shendu[fast]'`` (numba) and switched with
``shendu.backend.set_compiled`` / ``SHENDU_COMPILED=0``; ``shendu.optim.adam`` imports this module on
the first step that may use it, so ``import shendu`` never imports numba.

The NumPy update in ``Adam._update`` stays the reference and carries the formulas. It makes about ten
passes over memory (the moments, then √v, the bias corrections, ε, the division, the step size, each
a NumPy call over the whole parameter); the kernel here makes one: it reads θ, g, m, v once and
writes θ, m, v once, with the same operations in the same order, in the array's own precision (the
scalars are passed in that dtype, as NumPy casts a Python float against a float32 array), without
fast-math, so the numbers are the NumPy path's bit for bit. ``error_model="numpy"`` lets the loop
vectorise: a division by zero gives inf or NaN there, as it does in NumPy.

Compiled once per dtype on first use (a second or two), then cached on disk (``cache=True``) where
numba can write its cache.
"""
import numpy as np

from ..ops._compiled import VERSION, _jit

__all__ = ["VERSION", "adam_update"]


@_jit(error_model="numpy")
def adam_update(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, decay, maximize, weight_decay, coupled,
                lerp_weight, lerp_from_target, beta2, one_minus_beta2, amsgrad, bias_correction2_sqrt, eps,
                step_size):
    """One Adam step over flat arrays of one dtype, in place (``max_exp_avg_sq`` is only read with
    ``amsgrad``)::

        θ ← θ·decay                                  (AdamW's 1 − η·λ; 1 otherwise)
        g ← ±grad (+ λ·θ when ``coupled``)
        m ← m + w·(g − m), or g − (1 − w)·(g − m)    (PyTorch's lerp, by the size of w = 1 − β₁)
        v ← β₂·v + (1 − β₂)·g·g ;  amsgrad: v̂ ← max(v̂, v) replaces v below (NaN wins, as np.maximum)
        θ ← θ − (m / (√v / √(1 − β₂ᵗ) + ε))·η/(1 − β₁ᵗ)
    """
    for i in range(param.size):
        p = param[i] * decay
        g = -grad[i] if maximize else grad[i]
        if coupled:
            g = g + weight_decay * p
        m = exp_avg[i]
        if lerp_from_target:
            m = g - (g - m) * lerp_weight
        else:
            m = m + (g - m) * lerp_weight
        v = exp_avg_sq[i] * beta2 + g * one_minus_beta2 * g
        exp_avg[i] = m
        exp_avg_sq[i] = v
        if amsgrad:
            s = max_exp_avg_sq[i]
            if not (s != s or s >= v):
                s = v
            max_exp_avg_sq[i] = s
            v = s
        param[i] = p - m / (np.sqrt(v) / bias_correction2_sqrt + eps) * step_size

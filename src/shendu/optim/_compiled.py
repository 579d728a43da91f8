"""Compiled (numba) optimizer updates: the optional fast path of ``shendu.optim`` (Adam, AdamW, SGD).

Installed with ``pip install 'shendu[fast]'`` (numba) and switched with
``shendu.backend.set_compiled`` / ``SHENDU_COMPILED=0``; ``shendu.optim.adam`` imports this module on
the first step that may use it, so ``import shendu`` never imports numba.

The NumPy updates in ``Adam._update`` and ``SGD._update`` stay the reference and carry the formulas.
Adam's makes about ten passes over memory (the moments, then √v, the bias corrections, ε, the
division, the step size, each a NumPy call over the whole parameter), SGD's with momentum four; each
kernel here makes one: Adam's reads θ, g, m, v once and writes θ, m, v once, SGD's reads θ, g, b and
writes θ, b, with the same operations in the same order, in the array's own precision (the
scalars are passed in that dtype, as NumPy casts a Python float against a float32 array), without
fast-math, so the numbers are the NumPy path's bit for bit. ``error_model="numpy"`` lets the loop
vectorise: a division by zero gives inf or NaN there, as it does in NumPy.

Compiled once per dtype on first use (a second or two), then cached on disk (``cache=True``) where
numba can write its cache.
"""
import numpy as np

from ..ops._compiled import VERSION, _jit

__all__ = ["VERSION", "adam_update", "sgd_update"]


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


@_jit(error_model="numpy")
def sgd_update(param, grad, buf, lr, maximize, weight_decay, coupled, momentum, first, one_minus_dampening,
               dampened, nesterov):
    """One SGD step over flat arrays of one dtype, in place (``buf`` is only used when ``momentum``
    is nonzero)::

        g ← ±grad (+ λ·θ when ``coupled``)
        b ← g on the ``first`` step, else μ·b + g, or μ·b + (1 − τ)·g when ``dampened``
        g ← g + μ·b with ``nesterov``, else b
        θ ← θ − g·η
    """
    for i in range(param.size):
        p = param[i]
        g = -grad[i] if maximize else grad[i]
        if coupled:
            g = g + weight_decay * p
        if momentum != 0:
            if first:
                b = g
            elif dampened:
                b = buf[i] * momentum + one_minus_dampening * g
            else:
                b = buf[i] * momentum + g
            buf[i] = b
            g = g + momentum * b if nesterov else b
        param[i] = p - g * lr

"""Compiled (numba) optimizer updates: the optional fast path of ``shendu.optim`` (Adam, AdamW, SGD,
RMSprop).

Installed with ``pip install 'shendu[fast]'`` (numba) and switched with
``shendu.backend.set_compiled`` / ``SHENDU_COMPILED=0``; ``shendu.optim.adam`` imports this module on
the first step that may use it, so ``import shendu`` never imports numba.

The NumPy updates (``_update`` of each optimizer) stay the reference and carry the formulas. Adam's
makes about ten passes over memory (the moments, then √v, the bias corrections, ε, the division, the
step size, each a NumPy call over the whole parameter), RMSprop's seven or more, SGD's with momentum
four; each kernel here makes one: it reads the parameter, the gradient and the state once and writes
the parameter and the state once, with the same operations in the same order, in the array's own
precision (the
scalars are passed in that dtype, as NumPy casts a Python float against a float32 array), without
fast-math, so the numbers are the NumPy path's bit for bit. ``error_model="numpy"`` lets the loop
vectorise: a division by zero gives inf or NaN there, as it does in NumPy. An array a kernel does not
use is passed as an empty one, never as another argument's memory: the vectorised loop checks its
arrays for overlap at run time and falls back to one element at a time when two overlap (centered
RMSprop without momentum, given its square average again for the unused buffer, ran 6x slower).

Compiled once per dtype on first use (a second or two), then cached on disk (``cache=True``) where
numba can write its cache.
"""
import numpy as np

from ..ops._compiled import VERSION, _jit

__all__ = ["VERSION", "adam_update", "rmsprop_update", "sgd_update"]


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
def sgd_update(param, grad, buf, lr, maximize, weight_decay, coupled, use_momentum, momentum, first,
               one_minus_dampening, dampened, nesterov):
    """One SGD step over flat arrays of one dtype, in place (``buf`` is only used with
    ``use_momentum``: a nonzero momentum)::

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
        if use_momentum:
            if first:
                b = g
            elif dampened:
                b = buf[i] * momentum + one_minus_dampening * g
            else:
                b = buf[i] * momentum + g
            buf[i] = b
            g = g + momentum * b if nesterov else b
        param[i] = p - g * lr


@_jit(error_model="numpy")
def rmsprop_update(param, grad, square_avg, grad_avg, buf, lr, maximize, weight_decay, coupled, alpha,
                   one_minus_alpha, centered, lerp_weight, lerp_from_target, eps, use_momentum, momentum):
    """One RMSprop step over flat arrays of one dtype, in place (``grad_avg`` is only used when
    ``centered``, ``buf`` with ``use_momentum``: a momentum above 0)::

        g ← ±grad (+ λ·θ when ``coupled``)
        v ← α·v + (1 − α)·g·g
        centered: ḡ ← lerp(ḡ, g, 1 − α) (as Adam's m), d = √(v − ḡ·ḡ), else d = √v;  d ← d + ε
        momentum: b ← μ·b + g/d, θ ← θ − b·η;  else θ ← θ − (g/d)·η
    """
    for i in range(param.size):
        p = param[i]
        g = -grad[i] if maximize else grad[i]
        if coupled:
            g = g + weight_decay * p
        v = square_avg[i] * alpha + g * one_minus_alpha * g
        square_avg[i] = v
        if centered:
            m = grad_avg[i]
            if lerp_from_target:
                m = g - (g - m) * lerp_weight
            else:
                m = m + (g - m) * lerp_weight
            grad_avg[i] = m
            d = np.sqrt(v - m * m)
        else:
            d = np.sqrt(v)
        d = d + eps
        if use_momentum:
            b = buf[i] * momentum + g / d
            buf[i] = b
            param[i] = p - b * lr
        else:
            param[i] = p - g / d * lr

"""Compiled (numba) kernels for batch normalization: the optional fast path of ``shendu.ops.norm``.

Installed with ``pip install 'shendu[fast]'`` (numba) and switched with
``shendu.backend.set_compiled`` / ``SHENDU_COMPILED=0``; the NumPy modules import this one on the
first call that may use it (see :func:`kernels`), so ``import shendu`` never imports numba. The NumPy
code stays the reference and carries the formulas; each kernel here does the same arithmetic in
fewer passes over memory.

Every kernel works on an (M, C) C-contiguous array: a channels-last convolution output seen per
pixel, or a BatchNorm1d input.

- Batch norm statistics: one read gives Σ(x − k) and Σ(x − k)² per channel, accumulated in float64
  around a per-channel shift k (the channel's first value), so σ² = Σ(x − k)²/M − (Σ(x − k)/M)² loses
  nothing to cancellation at float32 precision (the NumPy path gets there with two passes, the second
  over x − μ). The normalization then is one read and one write, the same operations in the same
  order as the NumPy path ((x − μ)·s + β in the array's dtype, no fast-math, so no fused multiply-add).
  Sums run over blocks of rows in the array's dtype (vector-wide), each block's sums joined in float64.
- Batch norm backward: one read of x and ∂L/∂y for Σ g and Σ g·(x − μ) (float64 accumulators), one
  read and one write for ∂L/∂x, again in the NumPy path's order of operations.

Compiled once per dtype on first use (a few seconds), then cached on disk (``cache=True``) where
numba can write its cache.
"""
import numba
import numpy as np

from ._compiled import _jit

VERSION = numba.__version__


# ----- batch normalization ---------------------------------------------------------------------------
_BLOCK = 64                 # rows summed in the array's dtype before joining the float64 totals


@_jit
def bn_stats(x, mean, var):
    """Per-column mean and biased variance of ``x`` (M, C) into float64 ``mean``, ``var`` (C,).

    Sums of x − k and (x − k)² (k: the column's first value) over blocks of ``_BLOCK`` rows in x's
    dtype (vector-wide), each block's sums added to float64 totals."""
    m, c = x.shape
    k = np.empty(c, x.dtype)
    b1 = np.empty(c, x.dtype)
    b2 = np.empty(c, x.dtype)
    s1 = np.zeros(c, np.float64)
    s2 = np.zeros(c, np.float64)
    for j in range(c):
        k[j] = x[0, j]
    for i0 in range(0, m, _BLOCK):
        for j in range(c):
            b1[j] = 0
            b2[j] = 0
        for i in range(i0, min(m, i0 + _BLOCK)):
            for j in range(c):
                d = x[i, j] - k[j]
                b1[j] += d
                b2[j] += d * d
        for j in range(c):
            s1[j] += b1[j]
            s2[j] += b2[j]
    for j in range(c):
        a = s1[j] / m
        mean[j] = k[j] + a
        v = s2[j] / m - a * a
        var[j] = v if v > 0.0 else 0.0


@_jit
def bn_apply(x, mean, scale, bias, out, has_bias):
    """out = (x − μ)·s (+ β), column-wise, ``x``/``out`` (M, C), the vectors (C,) in x's dtype."""
    m, c = x.shape
    for i in range(m):
        for j in range(c):
            v = (x[i, j] - mean[j]) * scale[j]
            if has_bias:
                v = v + bias[j]
            out[i, j] = v


@_jit
def bn_grad_sums(x, g, mean, sg, sgx):
    """Σ g and Σ g·(x − μ) per column into float64 ``sg``, ``sgx`` (C,) (blocks as in bn_stats)."""
    m, c = x.shape
    b1 = np.empty(c, x.dtype)
    b2 = np.empty(c, x.dtype)
    for j in range(c):
        sg[j] = 0.0
        sgx[j] = 0.0
    for i0 in range(0, m, _BLOCK):
        for j in range(c):
            b1[j] = 0
            b2[j] = 0
        for i in range(i0, min(m, i0 + _BLOCK)):
            for j in range(c):
                gv = g[i, j]
                b1[j] += gv
                b2[j] += gv * (x[i, j] - mean[j])
        for j in range(c):
            sg[j] += b1[j]
            sgx[j] += b2[j]


@_jit
def bn_grad_input(x, g, mean, a, b, scale, out):
    """∂L/∂x = (((x − μ)·a + g) − b)·s column-wise, with a = −Σ(g x̂)/(M σ), b = Σg/M (the NumPy
    path's four in-place passes, in its order, in one)."""
    m, c = x.shape
    for i in range(m):
        for j in range(c):
            out[i, j] = (((x[i, j] - mean[j]) * a[j] + g[i, j]) - b[j]) * scale[j]


# ----- max pooling -----------------------------------------------------------------------------------
@_jit
def max_pool_forward(x, best, arg, kh, kw, sh, sw, dh, dw):
    """Max pooling of channels-last ``x`` (N, H, W, C) without padding into ``best`` and ``arg``
    (N, H_out, W_out, C): the maximum of each window and the offset p·kW + q of its first maximum
    (strict >, windows read in row-major order); a NaN anywhere in a window makes the output NaN and
    ``arg`` the window's last NaN (as the NumPy code routes it)."""
    n, ho, wo, c = best.shape
    for s in range(n):
        for i in range(ho):
            for j in range(wo):
                b = best[s, i, j]
                a = arg[s, i, j]
                x0 = x[s, i * sh, j * sw]
                for t in range(c):
                    b[t] = x0[t]
                    a[t] = 0
                nan = False
                for t in range(c):
                    if x0[t] != x0[t]:
                        nan = True
                for p in range(kh):
                    for q in range(kw):
                        if p == 0 and q == 0:
                            continue
                        k = p * kw + q
                        v = x[s, i * sh + p * dh, j * sw + q * dw]
                        for t in range(c):
                            if v[t] > b[t]:
                                b[t] = v[t]
                                a[t] = k
                        for t in range(c):
                            if v[t] != v[t]:
                                nan = True
                if nan:                                  # rare: NaN outputs, routed to the last NaN
                    for t in range(c):
                        for p in range(kh):
                            for q in range(kw):
                                v = x[s, i * sh + p * dh, j * sw + q * dw, t]
                                if v != v:
                                    b[t] = v
                                    a[t] = p * kw + q


@_jit
def max_pool_values(x, best, kh, kw, sh, sw, dh, dw):
    """The window maxima alone (inference) of channels-last ``x`` (N, H, W, C) without padding into
    ``best`` (N, H_out, W_out, C): as ``max_pool_forward`` without the offsets; a NaN in a window
    makes the output NaN (it replaces the maximum and no number replaces it, as NumPy's maximum)."""
    n, ho, wo, c = best.shape
    for s in range(n):
        for i in range(ho):
            for j in range(wo):
                b = best[s, i, j]
                x0 = x[s, i * sh, j * sw]
                for t in range(c):
                    b[t] = x0[t]
                for p in range(kh):
                    for q in range(kw):
                        if p == 0 and q == 0:
                            continue
                        v = x[s, i * sh + p * dh, j * sw + q * dw]
                        for t in range(c):
                            if v[t] > b[t] or v[t] != v[t]:
                                b[t] = v[t]


@_jit
def max_pool_backward_tiled(g, arg, gx, kh, kw):
    """∂L/∂x of a max pooling whose windows tile the input (stride = kernel, no dilation/padding):
    each cell of a window in channels-last ``gx`` (N, H, W, C) gets g·[argmax = that cell] (the NumPy
    code's product, so a NaN g gives NaN there too); the rows/columns no window covers get 0."""
    n, h, w, c = gx.shape
    ho, wo = g.shape[1], g.shape[2]
    for s in range(n):
        for i in range(ho):
            for j in range(wo):
                gv = g[s, i, j]
                av = arg[s, i, j]
                for p in range(kh):
                    for q in range(kw):
                        k = p * kw + q
                        o = gx[s, i * kh + p, j * kw + q]
                        for t in range(c):
                            o[t] = gv[t] * (av[t] == k)
        for y in range(ho * kh, h):
            gx[s, y] = 0
        for y in range(ho * kh):
            gx[s, y, wo * kw:] = 0


@_jit
def relu_forward(a, out, zero):
    """y = max(a, 0) for ReLU, in one pass over flat arrays of one layout, with np.maximum's rules:
    NaN passes through and −0.0 becomes +0.0."""
    for e in range(a.size):
        x = a[e]
        out[e] = x if x > zero or x != x else zero


@_jit
def relu_backward(g, out, gx, zero, one):
    """∂L/∂x = ∂L/∂y · [y > 0] for ReLU, in one pass over flat arrays of one layout (the NumPy code
    ``g * (out > 0)`` makes a boolean mask first): the same products, so NaN and ∞ in ``g`` propagate
    exactly as there."""
    for e in range(g.size):
        gx[e] = g[e] * (one if out[e] > zero else zero)

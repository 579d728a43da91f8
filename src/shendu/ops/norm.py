"""Batch normalization and layer normalization, each ONE Function with its analytic backward.

Both compute x̂ = (x − μ) / √(σ² + ε) and y = γ·x̂ + β, with μ and the biased variance σ² taken over
a set of M elements (per channel over the batch for batch norm, per sample over the last dims for
layer norm). Backward, with ĝ = γ·∂L/∂y:

    ∂L/∂x = (1 / (M·√(σ² + ε))) · (M·ĝ − Σ ĝ − x̂·Σ(ĝ·x̂))
    ∂L/∂γ = Σ ∂L/∂y·x̂,   ∂L/∂β = Σ ∂L/∂y
"""
import numpy as np

from .. import backend as _backend
from ..autograd import Function, is_grad_enabled
from ..backend import xp
from ..errors import ShapeError


def compiled_kernels(dtype):
    """The compiled batch-norm and pooling kernels (``shendu.ops._compiled_conv``) for arrays of
    ``dtype``, or None for the NumPy code: switched off (``shendu.backend.set_compiled``), numba
    missing, or a dtype other than float32/float64. Imports numba on the first call that may use it."""
    if dtype not in (np.float32, np.float64):
        return None
    return _backend.compiled_module(f"{__package__}._compiled_conv")


def _kernels(ch, x, *vectors):
    """The kernels for this batch norm, or None: also None for a layout other than channels-innermost
    or γ, β in another dtype than x (the NumPy code's mixed-precision casts are then kept as they are)."""
    if not ch.fast or any(v is not None and v.dtype != x.dtype for v in vectors):
        return None
    return compiled_kernels(x.dtype)


class BatchNorm(Function):
    """Batch normalization of x: (N, C) or (N, C, *) over every axis but the channel axis 1.

    Training (``training=True``): μ, σ² are the batch statistics (σ² in two passes, Σ(x − μ)²/M, for
    precision); if running buffers are given they are updated in place: running ← (1 − m)·running +
    m·batch, storing the UNBIASED variance σ²·M/(M − 1) (PyTorch's rule; then M = 1 is an error), or
    σ² itself with ``unbiased=False`` (Keras's rule; one value per channel then normalizes to 0 and
    stores σ² = 0). Evaluation: μ, σ² are the running buffers and ∂L/∂x = γ·∂L/∂y / √(σ² + ε).

    Kept for backward: x, μ and 1/√(σ² + ε) (x − μ is recomputed there, x̂ never stored), so the
    forward pass is three passes over the data after μ: x − μ, Σ(x − μ)², y = (x − μ)·(γ/σ) + β, the
    last two in place. When the channel
    axis is the innermost in memory (a convolution's channels-last output, any (N, C) input) every pass
    runs on a flat (M, C) view through :class:`_Channels`.

    With the compiled kernels (``shendu[fast]``, see ``shendu.backend.set_compiled``) and that layout,
    the statistics take one read of x (shifted sums accumulated in float64), the normalization one
    read and one write, backward's two sums one read of x and ∂L/∂y and ∂L/∂x one more: the same
    operations in the same order as below, with sums at least as precise.
    """

    def forward(self, x, weight=None, bias=None, running_mean=None, running_var=None, training=True,
                momentum=0.1, eps=1e-5, unbiased=True):
        if x.ndim < 2:
            raise ShapeError(f"batch_norm: expected input of shape (N, C) or (N, C, ...), got {x.shape}")
        C = x.shape[1]
        ch = _Channels(x)
        self.ch = ch
        self.training = training
        self.kern = k = _kernels(ch, x, weight, bias)
        xc = None
        if training:
            M = x.size // C
            if M <= int(unbiased):
                raise ValueError(f"batch_norm: expected more than 1 value per channel when training, got "
                                 f"input of shape {x.shape}")
            if k is not None:
                mean64, var64 = xp.empty(C), xp.empty(C)
                k.bn_stats(ch._flat(x), mean64, var64)
                mean, var = mean64.astype(x.dtype), var64.astype(x.dtype)
            else:
                mean = ch.sum(x) / M
                xc = ch.op(xp.subtract, x, mean)
                var = ch.dot(xc, xc) / M                      # Σ (x − μ)² without a squared copy
            if running_mean is not None:
                running_mean *= 1 - momentum
                running_mean += momentum * mean
            if running_var is not None:
                running_var *= 1 - momentum
                running_var += (momentum * M / (M - 1) if unbiased else momentum) * var
        else:
            mean, var = running_mean, running_var
            if k is None:
                xc = ch.op(xp.subtract, x, mean.astype(x.dtype, copy=False))
        invstd = (1 / xp.sqrt(var + eps)).astype(x.dtype, copy=False)
        # kept: x itself (the input, alive in the graph anyway), μ and 1/σ; x − μ is recomputed in
        # backward (one pass) rather than kept: a full-size array less per layer at the step's peak
        self.x = x if is_grad_enabled() else None
        self.mean, self.invstd, self.weight = mean.astype(x.dtype), invstd, weight
        scale = invstd if weight is None else (weight * invstd).astype(x.dtype, copy=False)
        if k is not None:
            out, out2 = ch.empty(x.dtype)
            k.bn_apply(ch._flat(x), self.mean, scale, scale if bias is None else bias, out2, bias is not None)
            return out
        out = ch.op(xp.multiply, xc, scale, out=xc)           # xc is our own copy
        if bias is not None:
            ch.op(xp.add, out, bias.astype(x.dtype, copy=False), out=out)
        return out

    def backward(self, g):
        invstd, ch = self.invstd, self.ch
        gw = gb = xc = None
        need_w = len(self.needs_grad) > 1 and self.needs_grad[1]
        need_b = len(self.needs_grad) > 2 and self.needs_grad[2]
        g = ch.like(g)
        k = self.kern
        if k is not None and (need_w or need_b or self.needs_grad[0]) and g.dtype == self.x.dtype:
            return self._backward_compiled(k, g, need_w, need_b)
        if need_w or (self.needs_grad[0] and self.training):
            xc = ch.op(xp.subtract, self.x, self.mean)
            gw = ch.dot(g, xc) * invstd                       # Σ g ⊙ x̂ per channel, no product copy
        if need_b or (self.needs_grad[0] and self.training):
            gb = ch.sum(g)
        gx = None
        if self.needs_grad[0]:
            scale = invstd if self.weight is None else self.weight * invstd
            if self.training:
                # ∂L/∂x = s·(g − Σg/M − x̂·Σ(g x̂)/M), s = γ/σ, x̂ = (x − μ)/σ: four in-place passes
                # over the recomputed x − μ, no other full-size array
                M = xc.size // xc.shape[1]
                gx = ch.op(xp.multiply, xc, -gw * invstd / M, out=xc)
                gx += g
                ch.op(xp.subtract, gx, gb / M, out=gx)
                ch.op(xp.multiply, gx, scale, out=gx)
            else:
                gx = ch.op(xp.multiply, g, scale)
        return gx, (gw if need_w else None), (gb if need_b else None)

    def _backward_compiled(self, k, g, need_w, need_b):
        """:meth:`backward` through the compiled kernels: one read of x and g for Σ g and Σ g·(x − μ)
        (when any of them is needed), one read and one write for ∂L/∂x in training."""
        invstd, ch = self.invstd, self.ch
        gw = gb = gx = None
        x2, g2 = ch._flat(self.x), ch._flat(g)
        if need_w or need_b or self.training:
            C = x2.shape[1]
            sg, sgx = xp.empty(C), xp.empty(C)
            k.bn_grad_sums(x2, g2, self.mean, sg, sgx)
            gb = sg.astype(g.dtype)
            gw = sgx.astype(g.dtype) * invstd
        if self.needs_grad[0]:
            scale = invstd if self.weight is None else self.weight * invstd
            if self.training:
                M = x2.shape[0]
                gx, gx2 = ch.empty(g.dtype)
                k.bn_grad_input(x2, g2, self.mean, -gw * invstd / M, gb / M, scale, gx2)
            else:
                gx = ch.op(xp.multiply, g, scale)
        return gx, (gw if need_w else None), (gb if need_b else None)


class _Channels:
    """Per-channel arithmetic on (N, C, *) arrays, fast when the channels are innermost in memory.

    NumPy runs an elementwise call with a per-channel vector on a (M, C) channels-last array as M
    inner loops of C elements each (C = 16–64 here: slow), and a reduction over axis 0 of (M, C) row
    by row (600 µs for 64x32x28x28, against 90 µs when the rows are R·C long). So the (M, C) view is
    split into a (M // R, R·C) block, with the vector tiled R times, and the few leftover rows;
    reductions fold the R·C partial sums back to C. Arrays with another memory order use plain
    broadcasting over (1, C, 1, ...). Results keep the input's memory order.
    """

    _ROW = 512            # elements per row of the tiled view

    def __init__(self, x):
        self.shape, self.C = x.shape, x.shape[1]
        self.order = (0,) + tuple(range(2, x.ndim)) + (1,)
        self.fast = x.transpose(self.order).flags.c_contiguous
        self.bshape = (1, self.C) + (1,) * (x.ndim - 2)
        self.axes = (0,) + tuple(range(2, x.ndim))
        if self.fast:
            M = x.size // self.C
            self.R = max(1, min(M, self._ROW // max(1, self.C)))
            self.M0 = (M // self.R) * self.R
            self.inverse = tuple(xp.argsort(self.order))

    def _flat(self, a):
        """(M, C) view of a channels-last array."""
        return a.transpose(self.order).reshape(-1, self.C)

    def empty(self, dtype):
        """A new array of the input's shape and memory order, and its (M, C) view (fast layout only)."""
        out2 = xp.empty((int(np.prod(self.shape)) // self.C, self.C), dtype=dtype)
        return out2.reshape(tuple(self.shape[i] for i in self.order)).transpose(self.inverse), out2

    def _parts(self, a2):
        return a2[:self.M0].reshape(-1, self.R * self.C), a2[self.M0:]

    def like(self, g):
        """``g`` in the saved arrays' memory order (copied once when it differs)."""
        if not self.fast or g.transpose(self.order).flags.c_contiguous:
            return g
        out = xp.empty(tuple(g.shape[i] for i in self.order), dtype=g.dtype)
        out[...] = g.transpose(self.order)
        return out.transpose(self.inverse)

    def sum(self, a):
        """Σ over every axis but 1."""
        if not self.fast:
            return a.sum(axis=self.axes)
        return sum_rows(self._flat(a))

    def dot(self, a, b):
        """Σ over every axis but 1 of a ⊙ b, without materialising the product."""
        if not self.fast:
            return _channel_dot(a, b)
        am, at = self._parts(self._flat(a))
        bm, bt = self._parts(self._flat(b))
        s = xp.einsum("ij,ij->j", am, bm).reshape(self.R, self.C).sum(axis=0)
        return s + xp.einsum("ij,ij->j", at, bt) if len(at) else s

    def op(self, ufunc, a, vec, out=None):
        """ufunc(a, vec) with ``vec`` (C,) broadcast along the channel axis; into ``out`` if given."""
        vec = xp.asarray(vec)
        if not self.fast:
            return ufunc(a, vec.reshape(self.bshape), out=out)
        if out is None:
            out2 = xp.empty((a.size // self.C, self.C), dtype=xp.result_type(a.dtype, vec.dtype))
            out = out2.reshape(tuple(self.shape[i] for i in self.order)).transpose(self.inverse)
        else:
            out2 = self._flat(out)
        am, at = self._parts(self._flat(a))
        om, ot = self._parts(out2)
        ufunc(am, xp.tile(vec, self.R), out=om)
        if len(at):
            ufunc(at, vec, out=ot)
        return out


def sum_rows(a2):
    """Σ over axis 0 of a C-contiguous (M, C) array, as (M // R, R·C) row sums folded back to C (NumPy
    adds the rows of a narrow (M, C) array one short row at a time: 7x slower at C = 32)."""
    m, c = a2.shape
    r = max(1, min(m, _Channels._ROW // max(1, c)))
    m0 = (m // r) * r
    s = a2[:m0].reshape(-1, r * c).sum(axis=0).reshape(r, c).sum(axis=0)
    return s + a2[m0:].sum(axis=0) if m0 < m else s


def _channel_dot(a, b):
    """Σ over every axis but 1 of a ⊙ b, without materialising the product (einsum)."""
    letters = "abcdefghijklmnop"[:a.ndim]
    return xp.einsum(f"{letters},{letters}->{letters[1]}", a, b)


class LayerNorm(Function):
    """Layer normalization over the last ``len(normalized_shape)`` axes of each sample.

    γ and β have shape ``normalized_shape``; μ and σ² are per sample (biased variance).
    """

    def forward(self, x, weight=None, bias=None, normalized_ndim=1, eps=1e-5):
        k = normalized_ndim
        self.axes = tuple(range(x.ndim - k, x.ndim))
        mean = x.mean(axis=self.axes, keepdims=True)
        xc = x - mean
        var = (xc * xc).mean(axis=self.axes, keepdims=True)
        self.invstd = (1 / xp.sqrt(var + eps)).astype(x.dtype, copy=False)
        self.xhat = xc * self.invstd
        self.weight = weight
        out = self.xhat if weight is None else self.xhat * weight
        if bias is not None:
            out = out + bias
        return out

    def backward(self, g):
        xhat, axes = self.xhat, self.axes
        lead = tuple(range(xhat.ndim - len(axes)))
        gw = (g * xhat).sum(axis=lead) if len(self.needs_grad) > 1 and self.needs_grad[1] else None
        gb = g.sum(axis=lead) if len(self.needs_grad) > 2 and self.needs_grad[2] else None
        gx = None
        if self.needs_grad[0]:
            gh = g if self.weight is None else g * self.weight
            gx = (gh - gh.mean(axis=axes, keepdims=True)
                  - xhat * (gh * xhat).mean(axis=axes, keepdims=True)) * self.invstd
        return gx, gw, gb


class GroupNorm(Function):
    """Group normalization of x: (N, C, *): the C channels are split into G groups of C/G and each
    (sample, group) is normalized over its C/G channels and all spatial positions (M elements):

        x̂ = (x − μ_ng)/√(σ²_ng + ε),   y[n, c] = γ[c]·x̂[n, c] + β[c]

    Backward (per sample and group, ĝ = γ·∂L/∂y):
        ∂L/∂x = (ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) / √(σ² + ε)
        ∂L/∂γ[c] = Σ_{n,*} ∂L/∂y·x̂,   ∂L/∂β[c] = Σ_{n,*} ∂L/∂y
    With G = C it is instance normalization.
    """

    def forward(self, x, weight=None, bias=None, num_groups=1, eps=1e-5):
        N, C = x.shape[0], x.shape[1]
        G = num_groups
        xg = x.reshape(N, G, -1)
        mean = xg.mean(axis=2, keepdims=True)
        xc = xg - mean
        var = (xc * xc).mean(axis=2, keepdims=True)
        self.invstd = (1 / xp.sqrt(var + eps)).astype(x.dtype, copy=False)
        self.xhat = (xc * self.invstd).reshape(x.shape)
        self.bshape = (1, C) + (1,) * (x.ndim - 2)
        self.G, self.weight = G, weight
        out = self.xhat if weight is None else self.xhat * weight.reshape(self.bshape)
        if bias is not None:
            out = out + bias.reshape(self.bshape)
        return out

    def backward(self, g):
        xhat, bshape = self.xhat, self.bshape
        axes = (0,) + tuple(range(2, g.ndim))
        gw = (g * xhat).sum(axis=axes) if len(self.needs_grad) > 1 and self.needs_grad[1] else None
        gb = g.sum(axis=axes) if len(self.needs_grad) > 2 and self.needs_grad[2] else None
        gx = None
        if self.needs_grad[0]:
            N = g.shape[0]
            gh = (g if self.weight is None else g * self.weight.reshape(bshape)).reshape(N, self.G, -1)
            xh = xhat.reshape(N, self.G, -1)
            gx = ((gh - gh.mean(axis=2, keepdims=True) - xh * (gh * xh).mean(axis=2, keepdims=True))
                  * self.invstd).reshape(g.shape)
        return gx, gw, gb

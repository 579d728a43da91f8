"""Batch normalization and layer normalization, each ONE Function with its analytic backward.

Both compute x̂ = (x − μ) / √(σ² + ε) and y = γ·x̂ + β, with μ and the biased variance σ² taken over
a set of M elements (per channel over the batch for batch norm, per sample over the last dims for
layer norm). Backward, with ĝ = γ·∂L/∂y:

    ∂L/∂x = (1 / (M·√(σ² + ε))) · (M·ĝ − Σ ĝ − x̂·Σ(ĝ·x̂))
    ∂L/∂γ = Σ ∂L/∂y·x̂,   ∂L/∂β = Σ ∂L/∂y
"""
from ..autograd import Function
from ..backend import xp
from ..errors import ShapeError


class BatchNorm(Function):
    """Batch normalization of x: (N, C) or (N, C, *) over every axis but the channel axis 1.

    Training (``training=True``): μ, σ² are the batch statistics; if running buffers are given they
    are updated in place: running ← (1 − m)·running + m·batch, storing the UNBIASED variance
    σ²·M/(M − 1) (PyTorch's rule; then M = 1 is an error), or σ² itself with ``unbiased=False``
    (Keras's rule; one value per channel then normalizes to 0 and stores σ² = 0).
    Evaluation: μ, σ² are the running buffers and ∂L/∂x = γ·∂L/∂y / √(σ² + ε).
    """

    def forward(self, x, weight=None, bias=None, running_mean=None, running_var=None, training=True,
                momentum=0.1, eps=1e-5, unbiased=True):
        if x.ndim < 2:
            raise ShapeError(f"batch_norm: expected input of shape (N, C) or (N, C, ...), got {x.shape}")
        C = x.shape[1]
        self.axes = (0,) + tuple(range(2, x.ndim))
        bshape = (1, C) + (1,) * (x.ndim - 2)
        self.training = training
        if training:
            M = x.size // C
            if M <= int(unbiased):
                raise ValueError(f"batch_norm: expected more than 1 value per channel when training, got "
                                 f"input of shape {x.shape}")
            mean = x.mean(axis=self.axes)
            xc = x - mean.reshape(bshape)
            var = _channel_dot(xc, xc) / M                   # Σ (x − μ)² without a squared copy
            if running_mean is not None:
                running_mean *= 1 - momentum
                running_mean += momentum * mean
            if running_var is not None:
                running_var *= 1 - momentum
                running_var += (momentum * M / (M - 1) if unbiased else momentum) * var
        else:
            mean, var = running_mean, running_var
            xc = x - mean.reshape(bshape).astype(x.dtype, copy=False)
        invstd = (1 / xp.sqrt(var + eps)).astype(x.dtype, copy=False)
        xc *= invstd.reshape(bshape)                           # x̂, in place: xc is our own copy
        self.xhat = xc
        self.invstd, self.bshape, self.weight = invstd, bshape, weight
        out = xc * weight.reshape(bshape) if weight is not None else xc.copy()
        if bias is not None:
            out += bias.reshape(bshape)
        return out

    def backward(self, g):
        xhat, bshape, axes = self.xhat, self.bshape, self.axes
        gw = gb = None
        need_w = len(self.needs_grad) > 1 and self.needs_grad[1]
        need_b = len(self.needs_grad) > 2 and self.needs_grad[2]
        if need_w or (self.needs_grad[0] and self.training):
            gw = _channel_dot(g, xhat)                          # Σ g ⊙ x̂ per channel, no product copy
        if need_b or (self.needs_grad[0] and self.training):
            gb = g.sum(axis=axes)
        gx = None
        if self.needs_grad[0]:
            scale = self.invstd if self.weight is None else self.weight * self.invstd
            if self.training:
                # ∂L/∂x = s·(g − Σg/M − x̂·Σ(g x̂)/M), s = γ/σ: two passes over the data
                M = xhat.size // xhat.shape[1]
                gx = xhat * (-scale * gw / M).reshape(bshape)
                gx += g * scale.reshape(bshape)
                gx -= (scale * gb / M).reshape(bshape)
            else:
                gx = g * scale.reshape(bshape)
        return gx, (gw if need_w else None), (gb if need_b else None)


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

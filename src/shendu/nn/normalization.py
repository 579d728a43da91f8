"""``BatchNorm1d``, ``BatchNorm2d``, ``LayerNorm``, ``GroupNorm`` and ``InstanceNorm1d/2d/3d`` (one fused
Function each: :mod:`shendu.ops.norm`)."""
import warnings

import numpy as np

from ..backend import xp
from ..errors import ShapeError
from ..ops import norm as _norm
from ..tensor import Tensor, as_dtype, get_default_dtype
from . import functional as F
from .module import Module, as_input, match_float
from .parameter import Parameter

__all__ = ["BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm", "InstanceNorm1d", "InstanceNorm2d",
           "InstanceNorm3d"]


class _BatchNorm(Module):
    """y = γ·(x − μ)/√(σ² + ε) + β per channel.

    Training: μ, σ² are the batch's mean and biased variance over (N, *spatial); the buffers
    ``running_mean``/``running_var`` move towards them, running ← (1 − momentum)·running +
    momentum·batch, with the unbiased variance stored (momentum=None: cumulative average over
    ``num_batches_tracked`` batches). Eval: the running statistics are used instead.
    γ (``weight``) starts at 1 and β (``bias``) at 0, as in PyTorch.
    ``unbiased_running_var = False`` stores the biased variance instead (Keras's rule), which also
    accepts a batch holding one value per channel.
    """

    _expected_ndim = ()
    unbiased_running_var = True

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 device=None, dtype=None, *, bias=True):
        super().__init__()
        self.num_features, self.eps, self.momentum = int(num_features), eps, momentum
        self.affine, self.track_running_stats, self.use_bias = affine, track_running_stats, bias
        dtype = as_dtype(dtype) or get_default_dtype()
        if affine:
            self.weight = Parameter(xp.ones(self.num_features, dtype=dtype))
            if bias:
                self.bias = Parameter(xp.zeros(self.num_features, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(xp.zeros(self.num_features, dtype=dtype)))
            self.register_buffer("running_var", Tensor(xp.ones(self.num_features, dtype=dtype)))
            self.register_buffer("num_batches_tracked", Tensor(xp.zeros((), dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean.array[...] = 0
            self.running_var.array[...] = 1
            self.num_batches_tracked.array[...] = 0

    def reset_parameters(self):
        self.reset_running_stats()
        if self.affine:
            self.weight.array[...] = 1
            if self.bias is not None:
                self.bias.array[...] = 0

    def _check(self, x):
        if x.ndim not in self._expected_ndim or x.shape[1] != self.num_features:
            want = " or ".join(f"(N, {self.num_features}{', L' if n == 3 else ', H, W' if n == 4 else ''})"
                               for n in self._expected_ndim)
            raise ShapeError(f"{self._layer_name()}: got input of shape {tuple(x.shape)}, expected {want}")

    def forward(self, x):
        x = as_input(x)
        self._check(x)
        dtype = self.running_mean.dtype if self.running_mean is not None else (
            self.weight.dtype if self.weight is not None else x.dtype)
        if x.dtype != dtype:
            x = match_float(x, dtype, self)
        use_batch = self.training or self.running_mean is None
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.array += 1
            if self.momentum is None:
                momentum = 1.0 / float(self.num_batches_tracked.array)
        update = self.training and self.track_running_stats
        return _norm.BatchNorm.apply(
            x, self.weight, self.bias,
            running_mean=self.running_mean.array if update or not use_batch else None,
            running_var=self.running_var.array if update or not use_batch else None,
            training=use_batch, momentum=momentum, eps=self.eps, unbiased=self.unbiased_running_var)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.affine and self.use_bias}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalization of (N, C) or (N, C, L) input over N (and L)."""

    _expected_ndim = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalization of (N, C, H, W) input over N, H and W."""

    _expected_ndim = (4,)


class LayerNorm(Module):
    """y = γ·(x − μ)/√(σ² + ε) + β with μ, σ² over the last dims given by ``normalized_shape``
    (per sample, the same in training and evaluation). γ starts at 1, β at 0."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, device=None,
                 dtype=None):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.normalized_shape, self.eps, self.elementwise_affine = tuple(int(s) for s in shape), eps, \
            elementwise_affine
        self.use_bias = bias
        dtype = as_dtype(dtype) or get_default_dtype()
        if elementwise_affine:
            self.weight = Parameter(xp.ones(self.normalized_shape, dtype=dtype))
            if bias:
                self.bias = Parameter(xp.zeros(self.normalized_shape, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x):
        x = as_input(x)
        k = len(self.normalized_shape)
        if tuple(x.shape[x.ndim - k:]) != self.normalized_shape or x.ndim < k:
            raise ShapeError(f"{self._layer_name()}: got input of shape {tuple(x.shape)}, expected "
                             f"(*, {', '.join(map(str, self.normalized_shape))})")
        if self.weight is not None and x.dtype != self.weight.dtype:
            x = match_float(x, self.weight.dtype, self)
        return _norm.LayerNorm.apply(x, self.weight, self.bias, normalized_ndim=k, eps=self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.use_bias}")


class GroupNorm(Module):
    """y = γ·(x − μ)/√(σ² + ε) + β with μ, σ² over each group of ``num_channels / num_groups``
    channels and all spatial positions of one sample (the same in training and evaluation).

    Input (N, C, *) with C = ``num_channels``; γ (``weight``) and β (``bias``) have shape (C,) and
    start at 1 and 0. ``num_groups=1`` normalizes each sample over everything (LayerNorm over
    (C, *) with per-channel affine); ``num_groups=C`` is instance normalization.
    """

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None, dtype=None, *,
                 bias=True):
        super().__init__()
        self.num_groups, self.num_channels = int(num_groups), int(num_channels)
        if self.num_groups < 1 or self.num_channels % self.num_groups:
            raise ValueError(f"GroupNorm: num_channels={num_channels} must be divisible by "
                             f"num_groups={num_groups}")
        self.eps, self.affine, self.use_bias = eps, affine, bias
        dtype = as_dtype(dtype) or get_default_dtype()
        if affine:
            self.weight = Parameter(xp.ones(self.num_channels, dtype=dtype))
            if bias:
                self.bias = Parameter(xp.zeros(self.num_channels, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def reset_parameters(self):
        if self.affine:
            self.weight.numpy()[...] = 1
            if self.bias is not None:
                self.bias.numpy()[...] = 0

    def forward(self, x):
        x = as_input(x)
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ShapeError(f"{self._layer_name()}: got input of shape {tuple(x.shape)}, expected "
                             f"(N, {self.num_channels}, *)")
        if self.weight is not None and x.dtype != self.weight.dtype:
            x = match_float(x, self.weight.dtype, self)
        return _norm.GroupNorm.apply(x, self.weight, self.bias, num_groups=self.num_groups, eps=self.eps)

    def extra_repr(self):
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.affine and self.use_bias}")


class _InstanceNorm(_BatchNorm):
    """y = γ·(x − μ)/√(σ² + ε) + β with μ, σ² (biased) per sample and channel over the spatial axes.

    ``affine`` (default False) adds per-channel γ, β. ``track_running_stats`` (default False) keeps
    ``running_mean``/``running_var`` (running ← (1 − momentum)·running + momentum·(the batch mean of
    the per-instance statistics), unbiased variance), which evaluation mode then uses instead of
    the instance statistics, as in PyTorch. Unbatched input (C, *) is accepted.
    """

    _spatial = 1

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False, track_running_stats=False,
                 device=None, dtype=None, *, bias=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)

    def forward(self, x):
        x = as_input(x)
        nd = self._spatial
        if x.ndim not in (nd + 1, nd + 2):
            layout = {1: "L", 2: "H, W", 3: "D, H, W"}[nd]
            raise ShapeError(f"{self._layer_name()}: got input of shape {tuple(x.shape)}, expected "
                             f"{nd + 2}-D (N, C, {layout}) or {nd + 1}-D (C, {layout}) unbatched")
        unbatched = x.ndim == nd + 1
        if unbatched:
            x = x.reshape((1,) + tuple(x.shape))
        if x.shape[1] != self.num_features:
            if self.affine or self.track_running_stats:
                raise ShapeError(f"{self._layer_name()}: got input of shape {tuple(x.shape)} with "
                                 f"{x.shape[1]} channels, expected {self.num_features} (num_features)")
            warnings.warn(f"{self._layer_name()}: input has {x.shape[1]} channels but num_features is "
                          f"{self.num_features}; with affine=False the value is not used", UserWarning,
                          stacklevel=2)
        dtype = self.weight.dtype if self.weight is not None else (
            self.running_mean.dtype if self.running_mean is not None else x.dtype)
        if x.dtype != dtype:
            x = match_float(x, dtype, self)
        y = F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            use_input_stats=self.training or not self.track_running_stats,
                            momentum=0.0 if self.momentum is None else self.momentum, eps=self.eps)
        return y.reshape(tuple(y.shape[1:])) if unbatched else y


class InstanceNorm1d(_InstanceNorm):
    """Instance normalization of (N, C, L) (or unbatched (C, L)) over L; see :class:`_InstanceNorm`."""

    _spatial = 1


class InstanceNorm2d(_InstanceNorm):
    """Instance normalization of (N, C, H, W) (or unbatched (C, H, W)) over H and W (style transfer,
    GANs); see :class:`_InstanceNorm`."""

    _spatial = 2


class InstanceNorm3d(_InstanceNorm):
    """Instance normalization of (N, C, D, H, W) (or unbatched (C, D, H, W)) over D, H and W."""

    _spatial = 3

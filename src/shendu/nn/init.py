"""Weight initialisation, in place, with PyTorch's names and formulas (plus Keras's names).

Every function fills a Tensor/Parameter in place without recording a graph and returns it.
Randomness comes from ``shendu.random.generator()``, so ``shendu.manual_seed(n)`` reproduces it.

fan_in / fan_out of a weight of shape (out, in, k1, k2, ...) are in·k1·k2·… and out·k1·k2·….
"""
import math
import warnings

import numpy as np

from .. import random as _random
from ..tensor import Tensor

__all__ = ["calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "zeros_", "ones_", "eye_",
           "dirac_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
           "orthogonal_", "glorot_uniform_", "glorot_normal_", "he_uniform_", "he_normal_", "lecun_normal_",
           "lecun_uniform_", "variance_scaling_", "calculate_fan_in_and_fan_out"]


def _fill(tensor, values):
    if not isinstance(tensor, Tensor):
        raise TypeError(f"nn.init functions fill a Tensor or Parameter in place, got {type(tensor).__name__}")
    tensor.array[...] = values
    return tensor


def calculate_gain(nonlinearity, param=None):
    """The gain that keeps activations' variance steady: linear/conv/sigmoid 1, tanh 5/3, relu √2,
    leaky_relu √(2/(1+slope²)) (slope default 0.01), selu 3/4."""
    linear = {"linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
              "conv_transpose3d", "sigmoid"}
    if nonlinearity in linear:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        if isinstance(slope, bool) or not isinstance(slope, (int, float)):
            raise ValueError(f"calculate_gain: negative_slope {slope!r} is not a number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}; expected one of "
                     f"{sorted(linear | {'tanh', 'relu', 'leaky_relu', 'selu'})}")


def calculate_fan_in_and_fan_out(tensor):
    """(fan_in, fan_out) = (size(1)·receptive, size(0)·receptive) where receptive = Π of dims 2..."""
    shape = tuple(tensor.shape)
    if len(shape) < 2:
        raise ValueError(f"fan in and fan out need a tensor with at least 2 dimensions, got shape {shape}")
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


_calculate_fan_in_and_fan_out = calculate_fan_in_and_fan_out


def _fan(tensor, mode):
    if mode not in ("fan_in", "fan_out", "fan_avg"):
        raise ValueError(f"mode must be 'fan_in', 'fan_out' or 'fan_avg', got {mode!r}")
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    return {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]


def _gen(generator):
    return generator if generator is not None else _random.generator()


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """Fill with samples from U(a, b)."""
    return _fill(tensor, _gen(generator).uniform(a, b, tensor.shape))


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """Fill with samples from N(mean, std²)."""
    return _fill(tensor, _gen(generator).normal(mean, std, tensor.shape))


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """Fill with N(mean, std²) samples redrawn until they fall in [a, b]."""
    g = _gen(generator)
    out = g.normal(mean, std, tensor.shape)
    bad = (out < a) | (out > b)
    while bad.any():
        out[bad] = g.normal(mean, std, int(bad.sum()))
        bad = (out < a) | (out > b)
    return _fill(tensor, out)


def constant_(tensor, val):
    """Fill with the value ``val``."""
    return _fill(tensor, val)


def zeros_(tensor):
    return _fill(tensor, 0)


def ones_(tensor):
    return _fill(tensor, 1)


def eye_(tensor):
    """The identity matrix (a 2-D tensor only)."""
    if tensor.ndim != 2:
        raise ValueError(f"eye_ needs a 2-D tensor, got shape {tuple(tensor.shape)}")
    return _fill(tensor, np.eye(*tensor.shape))


def dirac_(tensor, groups=1):
    """Convolution weights that pass each input channel through unchanged (identity kernel)."""
    shape = tuple(tensor.shape)
    if len(shape) not in (3, 4, 5):
        raise ValueError(f"dirac_ needs a 3-, 4- or 5-D tensor, got shape {shape}")
    out = np.zeros(shape)
    per = shape[0] // groups
    n = min(per, shape[1])
    centre = tuple(s // 2 for s in shape[2:])
    for g in range(groups):
        for d in range(n):
            out[(g * per + d, d) + centre] = 1
    return _fill(tensor, out)


def xavier_uniform_(tensor, gain=1.0, generator=None):
    """Glorot uniform: U(±a) with a = gain·√(6 / (fan_in + fan_out))."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    """Glorot normal: N(0, σ²) with σ = gain·√(2 / (fan_in + fan_out))."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He uniform: U(±b) with b = gain·√(3 / fan), gain = calculate_gain(nonlinearity, a).

    ``nn.Linear`` and ``nn.Conv2d`` use a=√5, which gives b = 1/√fan_in.
    """
    if 0 in tensor.shape:
        warnings.warn("Initializing a zero-element tensor is a no-op", stacklevel=2)
        return tensor
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / _fan(tensor, mode))
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He normal: N(0, σ²) with σ = gain / √fan."""
    if 0 in tensor.shape:
        warnings.warn("Initializing a zero-element tensor is a no-op", stacklevel=2)
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return normal_(tensor, 0.0, std, generator)


def orthogonal_(tensor, gain=1.0, generator=None):
    """A (semi-)orthogonal matrix from the QR decomposition of a Gaussian matrix, times ``gain``.

    The tensor is viewed as (rows, cols) = (shape[0], rest); Q's signs are fixed by diag(R) so
    the result is uniformly distributed over orthogonal matrices.
    """
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_ needs at least 2 dimensions, got shape {tuple(tensor.shape)}")
    rows = tensor.shape[0]
    cols = tensor.array.size // rows
    flat = _gen(generator).standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, (gain * q).reshape(tensor.shape))


def glorot_uniform_(tensor, generator=None):
    """Keras's ``glorot_uniform`` (= ``xavier_uniform_``): U(±√(6 / (fan_in + fan_out)))."""
    return xavier_uniform_(tensor, 1.0, generator)


def check_variance_scaling(mode, distribution):
    """The distribution variance_scaling_ uses ('normal' means 'truncated_normal'); bad names raise."""
    distribution = "truncated_normal" if distribution == "normal" else distribution
    if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
        raise ValueError("VarianceScaling: distribution must be 'truncated_normal', 'untruncated_normal' or "
                         f"'uniform', got {distribution!r}")
    if mode not in ("fan_in", "fan_out", "fan_avg"):
        raise ValueError(f"VarianceScaling: mode must be 'fan_in', 'fan_out' or 'fan_avg', got {mode!r}")
    return distribution


def variance_scaling_(tensor, scale=1.0, mode="fan_in", distribution="truncated_normal", generator=None):
    """Keras's ``VarianceScaling``: samples of variance s = scale / max(1, fan), fan by ``mode``
    ('fan_in', 'fan_out', 'fan_avg' = (fan_in + fan_out)/2):

        'uniform'             U(±√(3s))
        'untruncated_normal'  N(0, s)
        'truncated_normal'    N(0, σ²) cut at ±2σ, σ = √s / 0.8796 (the cut's std correction); 'normal' too
    """
    distribution = check_variance_scaling(mode, distribution)
    s = scale / max(1.0, _fan(tensor, mode))
    if distribution == "uniform":
        limit = math.sqrt(3.0 * s)
        return uniform_(tensor, -limit, limit, generator)
    if distribution == "untruncated_normal":
        return normal_(tensor, 0.0, math.sqrt(s), generator)
    std = math.sqrt(s) / 0.87962566103423978
    return trunc_normal_(tensor, 0.0, std, -2 * std, 2 * std, generator)


def glorot_normal_(tensor, generator=None):
    """Keras's ``glorot_normal``: truncated normal (±2σ) with σ = √(2 / (fan_in + fan_out)) / 0.8796."""
    return variance_scaling_(tensor, 1.0, "fan_avg", "truncated_normal", generator)


def he_uniform_(tensor, generator=None):
    """Keras's ``he_uniform``: U(±√(6 / fan_in))."""
    return variance_scaling_(tensor, 2.0, "fan_in", "uniform", generator)


def he_normal_(tensor, generator=None):
    """Keras's ``he_normal``: truncated normal (±2σ) with σ = √(2 / fan_in) / 0.8796."""
    return variance_scaling_(tensor, 2.0, "fan_in", "truncated_normal", generator)


def lecun_normal_(tensor, generator=None):
    """Keras's ``lecun_normal``: truncated normal (±2σ) with σ = √(1 / fan_in) / 0.8796."""
    return variance_scaling_(tensor, 1.0, "fan_in", "truncated_normal", generator)


def lecun_uniform_(tensor, generator=None):
    """Keras's ``lecun_uniform``: U(±√(3 / fan_in))."""
    return variance_scaling_(tensor, 1.0, "fan_in", "uniform", generator)

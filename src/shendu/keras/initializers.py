"""Keras initializers (``kernel_initializer='glorot_uniform'``...), filled by :mod:`shendu.nn.init`.

An initializer called with a Keras shape returns a NumPy array in that shape::

    initializers.GlorotUniform()((64, 10))        # a Dense kernel (in, units)

Layers call :meth:`Initializer.fill_` on their PyTorch-layout parameters instead. Keras shapes put
the input and output axes last (``(kh, kw, in, out)``), PyTorch first (``(out, in, kh, kw)``); fan-in
and fan-out are the same numbers in both, so the distributions agree.
"""

import math

import numpy as np

from ..nn import init
from ..tensor import Tensor
from ._registry import Registry

__all__ = [
    "Initializer",
    "Zeros",
    "Ones",
    "Constant",
    "RandomUniform",
    "RandomNormal",
    "TruncatedNormal",
    "GlorotUniform",
    "GlorotNormal",
    "HeUniform",
    "HeNormal",
    "LecunUniform",
    "LecunNormal",
    "Orthogonal",
    "Identity",
    "VarianceScaling",
    "get",
    "serialize",
    "deserialize",
    "zeros",
    "ones",
    "constant",
    "glorot_uniform",
    "glorot_normal",
    "he_uniform",
    "he_normal",
    "lecun_uniform",
    "lecun_normal",
    "orthogonal",
    "random_uniform",
    "random_normal",
    "truncated_normal",
    "identity",
]


def _torch_axes(ndim):
    """Axes that turn a Keras-layout shape (*spatial, in, out) into PyTorch's (out, in, *spatial)."""
    if ndim < 2:
        return tuple(range(ndim))
    return (ndim - 1, ndim - 2) + tuple(range(ndim - 2))


class Initializer:
    """Base class: subclasses define ``fill_(tensor)`` on a PyTorch-layout Tensor."""

    def __init__(self, seed=None):
        self.seed = seed

    def _generator(self):
        return np.random.default_rng(self.seed) if self.seed is not None else None

    def fill_(self, tensor):
        raise NotImplementedError

    def __call__(self, shape, dtype=None):
        shape = tuple(int(s) for s in shape)
        dtype = np.dtype(dtype or "float32")
        if len(shape) == 1 and self._needs_fans:
            # Keras takes fan_in = fan_out = n for a vector: draw an (n, n) matrix, keep one row.
            t = Tensor(np.zeros((shape[0], shape[0]), dtype=dtype))
            self.fill_(t)
            return t.array[0].copy()
        axes = _torch_axes(len(shape))
        t = Tensor(np.zeros(tuple(shape[a] for a in axes), dtype=dtype))
        self.fill_(t)
        return np.ascontiguousarray(np.transpose(t.array, np.argsort(axes)))

    _needs_fans = False

    def get_config(self):
        return {"seed": self.seed} if self.seed is not None else {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Zeros(Initializer):
    """All zeros."""

    def __init__(self):
        super().__init__()

    def fill_(self, tensor):
        return init.zeros_(tensor)


class Ones(Initializer):
    """All ones."""

    def __init__(self):
        super().__init__()

    def fill_(self, tensor):
        return init.ones_(tensor)


class Constant(Initializer):
    """Every entry equals ``value``."""

    def __init__(self, value=0.0):
        super().__init__()
        self.value = value

    def fill_(self, tensor):
        return init.constant_(tensor, self.value)

    def get_config(self):
        return {"value": self.value}


class RandomUniform(Initializer):
    """U(minval, maxval); Keras's defaults ±0.05 (the ``'uniform'`` of Embedding)."""

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        super().__init__(seed)
        self.minval, self.maxval = minval, maxval

    def fill_(self, tensor):
        return init.uniform_(tensor, self.minval, self.maxval, generator=self._generator())

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, **super().get_config()}


class RandomNormal(Initializer):
    """N(mean, stddev²); Keras's default stddev 0.05."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def fill_(self, tensor):
        return init.normal_(tensor, self.mean, self.stddev, generator=self._generator())

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, **super().get_config()}


class TruncatedNormal(RandomNormal):
    """N(mean, stddev²) redrawn outside mean ± 2·stddev."""

    def fill_(self, tensor):
        return init.trunc_normal_(
            tensor,
            self.mean,
            self.stddev,
            self.mean - 2 * self.stddev,
            self.mean + 2 * self.stddev,
            generator=self._generator(),
        )


class VarianceScaling(Initializer):
    """Variance scale / fan: 'truncated_normal' (σ = √(scale/fan)/0.8796, cut at ±2σ), 'untruncated_normal'
    (σ = √(scale/fan)) or 'uniform' (U(±√(3·scale/fan))); fan by ``mode`` ('fan_in', 'fan_out', 'fan_avg')."""

    _needs_fans = True

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        super().__init__(seed)
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"VarianceScaling: mode must be 'fan_in', 'fan_out' or 'fan_avg', got {mode!r}")
        distribution = "truncated_normal" if distribution == "normal" else distribution
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError(
                "VarianceScaling: distribution must be 'truncated_normal', 'untruncated_normal' or "
                f"'uniform', got {distribution!r}"
            )
        self.scale, self.mode, self.distribution = scale, mode, distribution

    def fill_(self, tensor):
        fan_in, fan_out = init.calculate_fan_in_and_fan_out(tensor)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        scale = self.scale / max(1.0, fan)
        g = self._generator()
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * scale)
            return init.uniform_(tensor, -limit, limit, generator=g)
        if self.distribution == "untruncated_normal":
            return init.normal_(tensor, 0.0, math.sqrt(scale), generator=g)
        std = math.sqrt(scale) / 0.87962566103423978
        return init.trunc_normal_(tensor, 0.0, std, -2 * std, 2 * std, generator=g)

    def get_config(self):
        return {
            "scale": self.scale,
            "mode": self.mode,
            "distribution": self.distribution,
            **super().get_config(),
        }


class _Named(VarianceScaling):
    _args = ()

    def __init__(self, seed=None):
        super().__init__(*self._args, seed=seed)

    def get_config(self):
        return {"seed": self.seed} if self.seed is not None else {}


class GlorotUniform(_Named):
    """U(±√(6 / (fan_in + fan_out))): Keras's default kernel initializer."""

    _args = (1.0, "fan_avg", "uniform")


class GlorotNormal(_Named):
    """Truncated N(0, σ²), σ = √(2 / (fan_in + fan_out)) / 0.8796."""

    _args = (1.0, "fan_avg", "truncated_normal")


class HeUniform(_Named):
    """U(±√(6 / fan_in))."""

    _args = (2.0, "fan_in", "uniform")


class HeNormal(_Named):
    """Truncated N(0, σ²), σ = √(2 / fan_in) / 0.8796."""

    _args = (2.0, "fan_in", "truncated_normal")


class LecunUniform(_Named):
    """U(±√(3 / fan_in))."""

    _args = (1.0, "fan_in", "uniform")


class LecunNormal(_Named):
    """Truncated N(0, σ²), σ = √(1 / fan_in) / 0.8796."""

    _args = (1.0, "fan_in", "truncated_normal")


class Orthogonal(Initializer):
    """A (semi-)orthogonal matrix times ``gain``: Keras's default recurrent kernel initializer."""

    def __init__(self, gain=1.0, seed=None):
        super().__init__(seed)
        self.gain = gain

    def fill_(self, tensor):
        return init.orthogonal_(tensor, self.gain, generator=self._generator())

    def get_config(self):
        return {"gain": self.gain, **super().get_config()}


class Identity(Initializer):
    """``gain`` times the identity matrix (2-D only)."""

    def __init__(self, gain=1.0):
        super().__init__()
        self.gain = gain

    def fill_(self, tensor):
        init.eye_(tensor)
        tensor.array[...] *= self.gain
        return tensor

    def get_config(self):
        return {"gain": self.gain}


zeros, ones, constant = Zeros, Ones, Constant
glorot_uniform, glorot_normal = GlorotUniform, GlorotNormal
he_uniform, he_normal, lecun_uniform, lecun_normal = HeUniform, HeNormal, LecunUniform, LecunNormal
orthogonal, identity = Orthogonal, Identity
random_uniform, random_normal, truncated_normal = RandomUniform, RandomNormal, TruncatedNormal

_BY_NAME = {
    "zeros": Zeros,
    "zero": Zeros,
    "ones": Ones,
    "one": Ones,
    "constant": Constant,
    "glorot_uniform": GlorotUniform,
    "glorot_normal": GlorotNormal,
    "xavier_uniform": GlorotUniform,
    "xavier_normal": GlorotNormal,
    "he_uniform": HeUniform,
    "he_normal": HeNormal,
    "lecun_uniform": LecunUniform,
    "lecun_normal": LecunNormal,
    "orthogonal": Orthogonal,
    "identity": Identity,
    "random_uniform": RandomUniform,
    "uniform": RandomUniform,
    "random_normal": RandomNormal,
    "normal": RandomNormal,
    "truncated_normal": TruncatedNormal,
    "variance_scaling": VarianceScaling,
}


def get(identifier):
    """An Initializer from a name ('glorot_uniform'), a class, an instance, a config dict or a
    function ``f(shape, dtype=None) -> array``."""
    return _REGISTRY.get(identifier)


class _FunctionInitializer(Initializer):
    """Wraps a user function ``f(shape, dtype=None)`` that returns a Keras-layout array."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def fill_(self, tensor):
        raise NotImplementedError  # layers use fill_keras_ for these

    def __call__(self, shape, dtype=None):
        return np.asarray(self.fn(shape, dtype=dtype))


def serialize(initializer):
    return _REGISTRY.serialize(initializer)


def deserialize(config, custom_objects=None):
    return _REGISTRY.deserialize(config, custom_objects)


_REGISTRY = Registry("initializer", names=_BY_NAME, classes=set(_BY_NAME.values()), base=Initializer,
                     wrap=_FunctionInitializer)

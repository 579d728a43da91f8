"""Keras initializers (``kernel_initializer='glorot_uniform'``...): Keras names and arguments mapped onto
:mod:`shendu.nn.init`, one table row each.

An initializer called with a Keras shape returns a NumPy array in that shape::

    initializers.GlorotUniform()((64, 10))        # a Dense kernel (in, units)

Layers call :meth:`Initializer.fill_` on their PyTorch-layout parameters instead. Keras shapes put
the input and output axes last (``(kh, kw, in, out)``), PyTorch first (``(out, in, kh, kw)``); fan-in
and fan-out are the same numbers in both, so the distributions agree."""

import numpy as np

from ..nn import init
from ..tensor import Tensor
from ._registry import Configurable, Registry
from .backend import snake_case


def _torch_axes(ndim):
    """Axes that turn a Keras-layout shape (*spatial, in, out) into PyTorch's (out, in, *spatial)."""
    return tuple(range(ndim)) if ndim < 2 else (ndim - 1, ndim - 2) + tuple(range(ndim - 2))


class Initializer(Configurable):
    """Base class: subclasses define ``fill_(tensor)`` on a PyTorch-layout Tensor.

    Declared initializers list their Keras arguments in ``_params`` (name → default) and fill through
    ``_fill(tensor, generator, **arguments)``; ``get_config`` gives those arguments (``seed`` when set)."""

    _params = {"seed": None}  # a subclass of its own may still call super().__init__(seed)
    _needs_fans = False
    _fill = None

    def __init__(self, *args, **kwargs):
        self.seed = None  # set again by the arguments when the initializer declares a seed
        super().__init__(*args, **kwargs)
        self._check()

    def _check(self):
        pass

    def _generator(self):
        return np.random.default_rng(self.seed) if self.seed is not None else None

    def fill_(self, tensor):
        if self._fill is None:
            raise NotImplementedError(f"{type(self).__name__} must define fill_(tensor) or __call__(shape)")
        args = {k: getattr(self, k) for k in self._params if k != "seed"}
        return type(self)._fill(tensor, self._generator(), **args)

    def __call__(self, shape, dtype=None):
        shape = tuple(int(s) for s in shape)
        dtype = np.dtype(dtype or "float32")
        # Keras takes fan_in = fan_out = n for a vector: draw an (n, n) matrix, keep one row.
        vector, axes = len(shape) == 1 and self._needs_fans, _torch_axes(len(shape))
        t = Tensor(np.zeros((shape[0], shape[0]) if vector else tuple(shape[a] for a in axes), dtype=dtype))
        self.fill_(t)
        return t.array[0].copy() if vector else np.ascontiguousarray(np.transpose(t.array, np.argsort(axes)))

    def get_config(self):
        config = {k: getattr(self, k) for k in self._params if k != "seed"}
        return {**config, "seed": self.seed} if self.seed is not None else config

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_config().items())})"


class VarianceScaling(Initializer):
    """:func:`shendu.nn.init.variance_scaling_`: variance scale / fan, fan by ``mode``."""

    _params = {"scale": 1.0, "mode": "fan_in", "distribution": "truncated_normal", "seed": None}
    _needs_fans = True

    def _check(self):
        self.distribution = init.check_variance_scaling(self.mode, self.distribution)

    @staticmethod
    def _fill(t, g, scale, mode, distribution):
        return init.variance_scaling_(t, scale, mode, distribution, generator=g)


def _scaled(name, scale, mode, distribution, doc):
    """A named VarianceScaling (GlorotUniform...): only ``seed`` is an argument."""
    fixed = {"scale": scale, "mode": mode, "distribution": distribution}
    return type(name, (VarianceScaling,), {"__doc__": doc, "_params": {"seed": None}, "__module__": __name__,
                                            "_check": lambda self: self.__dict__.update(fixed),
                                            "fill_": lambda self, t: VarianceScaling._fill(
                                                t, self._generator(), **fixed)})


def _declare(name, params, fill, doc, base=Initializer):
    return type(name, (base,), {"__doc__": doc, "_params": params, "_fill": staticmethod(fill),
                                "__module__": __name__})


# Keras name, its arguments with Keras's defaults, and the nn.init call they become.
Zeros = _declare("Zeros", {}, lambda t, g: init.zeros_(t), "All zeros.")
Ones = _declare("Ones", {}, lambda t, g: init.ones_(t), "All ones.")
Constant = _declare("Constant", {"value": 0.0}, lambda t, g, value: init.constant_(t, value),
                    "Every entry equals ``value``.")
RandomUniform = _declare("RandomUniform", {"minval": -0.05, "maxval": 0.05, "seed": None},
                         lambda t, g, minval, maxval: init.uniform_(t, minval, maxval, generator=g),
                         "U(minval, maxval); Keras's defaults ±0.05 (the ``'uniform'`` of Embedding).")
RandomNormal = _declare("RandomNormal", {"mean": 0.0, "stddev": 0.05, "seed": None},
                        lambda t, g, mean, stddev: init.normal_(t, mean, stddev, generator=g),
                        "N(mean, stddev²); Keras's default stddev 0.05.")
TruncatedNormal = _declare("TruncatedNormal", {"mean": 0.0, "stddev": 0.05, "seed": None},
                           lambda t, g, mean, stddev: init.trunc_normal_(t, mean, stddev, mean - 2 * stddev,
                                                                         mean + 2 * stddev, generator=g),
                           "N(mean, stddev²) redrawn outside mean ± 2·stddev.", base=RandomNormal)
Orthogonal = _declare("Orthogonal", {"gain": 1.0, "seed": None},
                      lambda t, g, gain: init.orthogonal_(t, gain, generator=g),
                      "A (semi-)orthogonal matrix times ``gain``: the default recurrent kernel.")
Identity = _declare("Identity", {"gain": 1.0}, lambda t, g, gain: init.eye_(t).mul_(gain),
                    "``gain`` times the identity matrix (2-D only).")
GlorotUniform = _scaled("GlorotUniform", 1.0, "fan_avg", "uniform",
                        "U(±√(6 / (fan_in + fan_out))): Keras's default kernel initializer.")
GlorotNormal = _scaled("GlorotNormal", 1.0, "fan_avg", "truncated_normal",
                       "Truncated N(0, σ²), σ = √(2 / (fan_in + fan_out)) / 0.8796.")
HeUniform = _scaled("HeUniform", 2.0, "fan_in", "uniform", "U(±√(6 / fan_in)).")
HeNormal = _scaled("HeNormal", 2.0, "fan_in", "truncated_normal",
                   "Truncated N(0, σ²), σ = √(2 / fan_in) / 0.8796.")
LecunUniform = _scaled("LecunUniform", 1.0, "fan_in", "uniform", "U(±√(3 / fan_in)).")
LecunNormal = _scaled("LecunNormal", 1.0, "fan_in", "truncated_normal",
                      "Truncated N(0, σ²), σ = √(1 / fan_in) / 0.8796.")
_DECLARED = (Zeros, Ones, Constant, RandomUniform, RandomNormal, TruncatedNormal, Orthogonal, Identity,
             GlorotUniform, GlorotNormal, HeUniform, HeNormal, LecunUniform, LecunNormal)
_LOWER = {snake_case(c.__name__): c for c in _DECLARED}  # Keras's lower-case aliases, as module names too
globals().update(_LOWER)
_BY_NAME = {**_LOWER, "zero": Zeros, "one": Ones, "xavier_uniform": GlorotUniform, "uniform": RandomUniform,
            "xavier_normal": GlorotNormal, "normal": RandomNormal, "variance_scaling": VarianceScaling}
__all__ = ["Initializer", "VarianceScaling", *(c.__name__ for c in _DECLARED), *_LOWER, "get", "serialize",
           "deserialize"]


class _FunctionInitializer(Initializer):
    """Wraps a user function ``f(shape, dtype=None)`` that returns a Keras-layout array."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def __call__(self, shape, dtype=None):
        return np.asarray(self.fn(shape, dtype=dtype))


_REGISTRY = Registry("initializer", names=_BY_NAME, classes=set(_BY_NAME.values()), base=Initializer,
                     wrap=_FunctionInitializer)
get, serialize, deserialize = _REGISTRY.get, _REGISTRY.serialize, _REGISTRY.deserialize

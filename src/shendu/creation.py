"""Tensor factories. Sizes are given as ``zeros(2, 3)`` or ``zeros((2, 3))``; floats default to float32."""
import numpy as np

from .backend import xp
from .random import generator
from .tensor import Tensor, _shape_args, _to_array, as_dtype, get_default_dtype


def _make(array, requires_grad):
    return Tensor(array, requires_grad=requires_grad)


def tensor(data, dtype=None, requires_grad=False, device=None):
    """A new tensor holding a copy of ``data`` (a list, an array, a number or a tensor)."""
    return _make(_to_array(data, as_dtype(dtype), copy=True), requires_grad)


def as_tensor(data, dtype=None):
    """``data`` as a tensor, sharing memory with an ndarray when no conversion is needed."""
    return data if isinstance(data, Tensor) and dtype is None else Tensor(_to_array(data, as_dtype(dtype)))


from_numpy = as_tensor


def _float(dtype):
    return as_dtype(dtype) or get_default_dtype()


def zeros(*size, dtype=None, requires_grad=False):
    return _make(xp.zeros(_shape_args(size), _float(dtype)), requires_grad)


def ones(*size, dtype=None, requires_grad=False):
    return _make(xp.ones(_shape_args(size), _float(dtype)), requires_grad)


def empty(*size, dtype=None, requires_grad=False):
    return zeros(*size, dtype=dtype, requires_grad=requires_grad)


def full(size, fill_value, dtype=None, requires_grad=False):
    if dtype is None and isinstance(fill_value, (int, np.integer)) and not isinstance(fill_value, bool):
        dtype = np.int64
    return _make(xp.full(_shape_args((size,)), fill_value, _float(dtype)), requires_grad)


def rand(*size, dtype=None, requires_grad=False):
    """Uniform samples on [0, 1) from the library generator (see ``manual_seed``)."""
    return _make(generator().random(_shape_args(size)).astype(_float(dtype)), requires_grad)


def randn(*size, dtype=None, requires_grad=False):
    """Standard normal samples from the library generator."""
    return _make(generator().standard_normal(_shape_args(size)).astype(_float(dtype)), requires_grad)


def randint(low, high=None, size=(), dtype=None):
    if high is None:
        low, high = 0, low
    return _make(generator().integers(low, high, _shape_args((size,))).astype(as_dtype(dtype) or np.int64),
                 False)


def randperm(n):
    return Tensor(generator().permutation(n).astype(np.int64))


def arange(start, end=None, step=1, dtype=None, requires_grad=False):
    if end is None:
        start, end = 0, start
    floats = any(isinstance(v, float) for v in (start, end, step))
    default = get_default_dtype() if floats else np.int64
    return _make(xp.arange(start, end, step).astype(as_dtype(dtype) or default), requires_grad)


def linspace(start, end, steps, dtype=None, requires_grad=False):
    return _make(xp.linspace(start, end, steps).astype(_float(dtype)), requires_grad)


def eye(n, m=None, dtype=None, requires_grad=False):
    return _make(xp.eye(n, m, dtype=_float(dtype)), requires_grad)


def _like(t, dtype):
    return as_dtype(dtype) or t.dtype


def zeros_like(t, dtype=None, requires_grad=False):
    return _make(xp.zeros(t.shape, _like(t, dtype)), requires_grad)


def ones_like(t, dtype=None, requires_grad=False):
    return _make(xp.ones(t.shape, _like(t, dtype)), requires_grad)


def full_like(t, fill_value, dtype=None, requires_grad=False):
    return _make(xp.full(t.shape, fill_value, _like(t, dtype)), requires_grad)


def rand_like(t, dtype=None, requires_grad=False):
    return rand(t.shape, dtype=_like(t, dtype), requires_grad=requires_grad)


def randn_like(t, dtype=None, requires_grad=False):
    return randn(t.shape, dtype=_like(t, dtype), requires_grad=requires_grad)

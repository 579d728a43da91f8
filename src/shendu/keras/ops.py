"""``keras.ops``: Keras 3's backend-neutral tensor functions, each one line onto a shendu op.

    from shendu.keras import ops
    ops.mean(ops.square(y - ops.stop_gradient(t)), axis=-1)

Arguments follow Keras (``axis=``, ``keepdims=``, NumPy-style names); results are shendu Tensors,
differentiable wherever the underlying op is. Python numbers and lists become float32 (``floatx``)
tensors, NumPy arrays keep their dtype, and model weights (``model.trainable_weights``) are read in
Keras layout. docs/keras-ops.md lists every name with its shendu op and any difference."""

import ast
import builtins
import inspect
import math as _math
import operator as _operator

import numpy as np

import shendu as _sd

from .. import nn as _nn
from ..autograd import no_grad
from ..nn import functional as F
from ..tensor import Tensor
from . import backend as _backend

__all__ = []  # filled at the bottom with every public function


def _t(x, dtype=None):
    """A Tensor from a Tensor, a model weight, a number, a list or an array."""
    if isinstance(x, Tensor):
        return x if dtype is None else x.to(_dtype(dtype))
    if hasattr(x, "as_tensor"):  # a Keras-layout view of a model weight
        return x.as_tensor()
    a = np.asarray(getattr(x, "array", x))
    if dtype is not None:
        a = a.astype(_dtype(dtype))
    elif not isinstance(x, np.ndarray) and a.dtype == np.float64:
        a = a.astype(_backend.floatx())
    return Tensor(a)


def _dtype(dtype):
    if dtype is None:
        return None
    name = getattr(dtype, "name", None) if not isinstance(dtype, str) else dtype
    return np.dtype(name if name is not None else dtype)


def _ax(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def _ts(xs):
    return [_t(x) for x in xs]


_TENSOR_ARGS = ("x", "x1", "x2", "variable")


def _op(name, fn, params="x", what="element-wise"):
    """``keras.ops.<name>(<params>)``: ``fn`` called with the arguments in order, ``x``/``x1``/``x2`` as
    Tensors. ``params`` is the Keras signature, ``"x, k=0"``; keywords are accepted under Keras's names."""
    spec = [p.partition("=") for p in params.split(", ")]
    sig = inspect.Signature([inspect.Parameter(key, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=(
        ast.literal_eval(default) if eq else inspect.Parameter.empty)) for key, eq, default in spec])
    convert = [key in _TENSOR_ARGS for key, _, _ in spec]

    def op(*args, **kwargs):
        if kwargs or len(args) != len(convert):
            bound = sig.bind(*args, **kwargs)
            bound.apply_defaults()
            args = bound.args
        return fn(*(_t(a) if c else a for a, c in zip(args, convert)))
    op.__name__ = op.__qualname__ = name
    op.__module__, op.__signature__ = __name__, sig
    op.__doc__ = f"``keras.ops.{name}({params})``: {getattr(fn, '__name__', fn)} of the arguments, {what}."
    return op


# Keras name -> the shendu function it is (element-wise on one input, then on two).
_UNARY = {
    "negative": _operator.neg, "abs": _sd.abs, "sign": _sd.sign, "square": _sd.square, "sqrt": _sd.sqrt,
    "rsqrt": _sd.rsqrt, "reciprocal": _sd.reciprocal, "exp": _sd.exp, "expm1": _sd.expm1, "log": _sd.log,
    "log1p": _sd.log1p, "log2": _sd.log2, "log10": _sd.log10, "sin": _sd.sin, "cos": _sd.cos, "tan": _sd.tan,
    "arctan": _sd.atan, "sinh": _sd.sinh, "cosh": _sd.cosh, "tanh": _sd.tanh, "erf": _sd.erf,
    "floor": _sd.floor, "ceil": _sd.ceil, "isnan": _sd.isnan, "isinf": _sd.isinf, "isfinite": _sd.isfinite,
    "logical_not": _sd.logical_not, "relu": F.relu, "relu6": F.relu6, "sigmoid": F.sigmoid, "silu": F.silu,
    "selu": F.selu, "softplus": F.softplus, "softsign": F.softsign, "hard_sigmoid": F.hardsigmoid}
_BINARY = {
    "add": _operator.add, "subtract": _operator.sub, "multiply": _operator.mul, "divide": _operator.truediv,
    "floor_divide": _sd.floor_divide, "mod": _sd.remainder, "arctan2": _sd.atan2, "maximum": _sd.maximum,
    "minimum": _sd.minimum, "matmul": _sd.matmul, "equal": _sd.eq, "not_equal": _sd.ne, "greater": _sd.gt,
    "greater_equal": _sd.ge, "less": _sd.lt, "less_equal": _sd.le, "logical_and": _sd.logical_and,
    "logical_or": _sd.logical_or, "logical_xor": _sd.logical_xor}
# Keras name -> (the shendu function, Keras's arguments, all passed on in order): not element-wise.
_PASSED = {
    "expand_dims": (_sd.unsqueeze, "x, axis"), "squeeze": (_sd.squeeze, "x, axis=None"),
    "moveaxis": (_sd.moveaxis, "x, source, destination"), "swapaxes": (_sd.swapaxes, "x, axis1, axis2"),
    "repeat": (_sd.repeat_interleave, "x, repeats, axis=None"), "roll": (Tensor.roll, "x, shift, axis=None"),
    "tril": (_sd.tril, "x, k=0"), "triu": (_sd.triu, "x, k=0"), "diag": (_sd.diag, "x, k=0"),
    "clip": (_sd.clip, "x, x_min, x_max"), "tensordot": (_sd.tensordot, "x1, x2, axes=2"),
    "isclose": (_sd.isclose, "x1, x2, rtol=1e-05, atol=1e-08, equal_nan=False"),
    "argsort": (Tensor.argsort, "x, axis=-1"), "count_nonzero": (_sd.count_nonzero, "x, axis=None"),
    "elu": (F.elu, "x, alpha=1.0"), "leaky_relu": (F.leaky_relu, "x, negative_slope=0.2"),
    "softmax": (F.softmax, "x, axis=-1"), "log_softmax": (F.log_softmax, "x, axis=-1"),
    "shape": (Tensor.shape.fget, "x"), "ndim": (Tensor.ndim.fget, "x"), "size": (Tensor.numel, "x"),
    "ravel": (Tensor.flatten, "x"), "stop_gradient": (Tensor.detach, "variable"),
    "reshape": (Tensor.reshape, "x, newshape"), "tile": (_sd.tile, "x, repeats"),
    "broadcast_to": (_sd.broadcast_to, "x, shape"), "convert_to_numpy": (Tensor.numpy, "x"),
    "norm": (_sd.linalg.norm, "x, ord=None, axis=None, keepdims=False")}
globals().update({name: _op(name, fn) for name, fn in _UNARY.items()})
globals().update({name: _op(name, fn, "x1, x2") for name, fn in _BINARY.items()})
globals().update({name: _op(name, fn, ps, "as shendu defines it") for name, (fn, ps) in _PASSED.items()})
true_divide, absolute, swish, flatten = (globals()[n] for n in ("divide", "abs", "silu", "ravel"))


# ----- creation and conversion ---------------------------------------------------------------------
def convert_to_tensor(x, dtype=None, sparse=None):
    return _t(x, dtype)


def array(x, dtype=None):
    return _t(x, dtype)


def cast(x, dtype):
    return _t(x).to(_dtype(dtype))


def _creation(name, np_fn, params):
    """``keras.ops.<name>(<params>)``: ``np_fn``'s new array as a Tensor of ``dtype`` (default: floatx, or
    ``x``'s dtype for the ``*_like`` functions)."""
    def fn(*args):
        *args, dtype = args
        if params.startswith("x,"):
            return Tensor(np_fn(args[0].array, *args[1:], dtype=_dtype(dtype)))
        return Tensor(np_fn(*args, dtype=_dtype(dtype) or _backend.floatx()))
    fn.__name__ = f"numpy.{np_fn.__name__}"
    return _op(name, fn, params, "a new tensor")


# Keras name (and NumPy's) -> Keras's arguments.
_CREATION = {
    "zeros": "shape, dtype=None", "ones": "shape, dtype=None", "full": "shape, fill_value, dtype=None",
    "zeros_like": "x, dtype=None", "ones_like": "x, dtype=None", "full_like": "x, fill_value, dtype=None",
    "eye": "N, M=None, k=0, dtype=None", "identity": "n, dtype=None", "tri": "N, M=None, k=0, dtype=None"}
globals().update({name: _creation(name, getattr(np, name), params) for name, params in _CREATION.items()})


def arange(start, stop=None, step=1, dtype=None):
    return Tensor(np.arange(start, stop, step, dtype=_dtype(dtype)))


def linspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    return Tensor(np.linspace(start, stop, num, endpoint=endpoint, dtype=_dtype(dtype) or _backend.floatx()))


# ----- shape ---------------------------------------------------------------------------------------
def dtype(x):
    return str(_t(x).dtype)


def transpose(x, axes=None):
    return _t(x).permute(*(axes if axes is not None else reversed(range(_t(x).ndim))))


def concatenate(xs, axis=0):
    return _sd.cat(_ts(xs), axis=axis)


def stack(x, axis=0):
    return _sd.stack(_ts(x), axis=axis)


def unstack(x, num=None, axis=0):
    return list(_sd.unbind(_t(x), axis))


def split(x, indices_or_sections, axis=0):
    t = _t(x)
    n = t.shape[axis]
    sizes = [n // indices_or_sections] * indices_or_sections if isinstance(indices_or_sections, int) else \
        list(np.diff([0, *indices_or_sections, n]))
    return list(_sd.split(t, [int(s) for s in sizes], axis=axis))


def flip(x, axis=None):
    t = _t(x)
    return t.flip(*(range(t.ndim) if axis is None else ((axis,) if isinstance(axis, int) else axis)))


def pad(x, pad_width, mode="constant", constant_values=None):
    return _sd.pad(_t(x), pad_width, value=0.0 if constant_values is None else constant_values)


def _box(start_indices, shape):
    return tuple(builtins.slice(s, s + n) for s, n in zip(start_indices, shape))


def slice(inputs, start_indices, shape):  # noqa: A001
    return _t(inputs)[_box(start_indices, shape)]


def take(x, indices, axis=None):
    t, i = _t(x), _t(indices).to(np.int64)
    return t.reshape(-1)[i] if axis is None else _sd.index_select(t, axis, i.reshape(-1)).reshape(
        t.shape[:axis % t.ndim] + tuple(i.shape) + t.shape[axis % t.ndim + 1:])


def take_along_axis(x, indices, axis=None):
    return _sd.take_along_dim(_t(x), _t(indices).to(np.int64), dim=axis)


def meshgrid(*x, indexing="xy"):
    return list(_sd.meshgrid(*_ts(x), indexing=indexing))


# ----- arithmetic and element-wise math ------------------------------------------------------------
def power(x1, x2):
    return _sd.pow(_t(x1), _t(x2) if not isinstance(x2, (int, float)) else x2)


def round(x, decimals=0):  # noqa: A001
    return _sd.round(_t(x), decimals=decimals) if decimals else _sd.round(_t(x))


def where(condition, x1=None, x2=None):
    if x1 is None and x2 is None:
        return tuple(_sd.nonzero(_t(condition), as_tuple=True))
    return _sd.where(_t(condition).to(np.bool_), _t(x1), _t(x2))


def dot(x1, x2):
    a, b = _t(x1), _t(x2)
    return a * b if a.ndim == 0 or b.ndim == 0 else _sd.matmul(a, b)


def outer(x1, x2):
    return _sd.outer(_t(x1).reshape(-1), _t(x2).reshape(-1))


def einsum(subscripts, *operands):
    return _sd.einsum(subscripts, *_ts(operands))


def cumsum(x, axis=None, dtype=None):
    return _sd.cumsum(_t(x).reshape(-1), 0) if axis is None else _sd.cumsum(_t(x), axis)


def cumprod(x, axis=None, dtype=None):
    return _sd.cumprod(_t(x).reshape(-1), 0) if axis is None else _sd.cumprod(_t(x), axis)


# ----- reductions ----------------------------------------------------------------------------------
def _reduction(name, extra="", **fixed):
    """``keras.ops.<name>(x, axis=None, keepdims=False<extra>)``: the Tensor method ``name`` over ``axis``;
    the ``extra`` Keras arguments are accepted and not used."""
    def fn(x, axis, keepdims, *unused):
        return getattr(x, name)(axis=_ax(axis), keepdims=keepdims, **fixed)
    fn.__name__ = f"Tensor.{name}"
    return _op(name, fn, "x, axis=None, keepdims=False" + extra, "over ``axis`` (all axes when None)")


globals().update({n: _reduction(n) for n in ("sum", "mean", "all", "any", "logsumexp", "argmax", "argmin")})
std, var, prod = _reduction("std", ddof=0), _reduction("var", ddof=0), _reduction("prod", ", dtype=None")
max, min = amax, amin = _reduction("max", ", initial=None"), _reduction("min", ", initial=None")  # noqa: A001


def sort(x, axis=-1):
    return _t(x).sort(dim=axis)[0]


def top_k(x, k, sorted=True):  # noqa: A002
    return tuple(_t(x).topk(k, dim=-1, largest=True, sorted=sorted))


# ----- neural-network functions (keras.ops and keras.ops.nn) ---------------------------------------
def gelu(x, approximate=True):
    return F.gelu(_t(x), approximate="tanh" if approximate else "none")


def one_hot(x, num_classes, axis=-1, dtype=None):
    return F.one_hot(_t(x).to(np.int64), num_classes).to(_dtype(dtype) or _backend.floatx())


def binary_crossentropy(target, output, from_logits=False):
    y, p = _t(target), _t(output)
    return F.binary_cross_entropy_with_logits(p, y.to(p.dtype), reduction="none") if from_logits else \
        F.binary_cross_entropy(p.clamp(_backend.epsilon(), 1 - _backend.epsilon()), y.to(p.dtype),
                               reduction="none")


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    return F.categorical_crossentropy(_t(target), _t(output), from_logits=from_logits, axis=axis,
                                      reduction="none")


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    return F.sparse_categorical_crossentropy(_t(target), _t(output), from_logits=from_logits, axis=axis,
                                             reduction="none")


def moments(x, axes, keepdims=False):
    t = _t(x)
    return t.mean(axis=_ax(axes), keepdims=keepdims), t.var(axis=_ax(axes), keepdims=keepdims, ddof=0)


def normalize(x, axis=-1, order=2):
    t = _t(x)
    return t / _sd.linalg.norm(t, ord=order, dim=axis, keepdim=True).clamp(min=1e-12)


def _channels_first(x, ndim):
    return _t(x).permute(0, ndim + 1, *range(1, ndim + 1))


def _channels_last(x, ndim):
    return x.permute(0, *range(2, ndim + 2), 1)


def _pool(kind, inputs, pool_size, strides):
    nd = _t(inputs).ndim - 2
    pool = getattr(_nn, f"{kind}Pool{1 if nd == 1 else 2}d")(pool_size, strides or pool_size)
    return _channels_last(pool(_channels_first(inputs, nd)), nd)


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    return _pool("Max", inputs, pool_size, strides)


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    return _pool("Avg", inputs, pool_size, strides)


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """Channels-last ``inputs`` (N, *spatial, C) and a Keras kernel (*k, C, filters)."""
    x, k = _t(inputs), _t(kernel)
    nd = x.ndim - 2
    w = k.permute(nd + 1, nd, *range(nd))
    pad = "same" if padding == "same" else 0
    fn = F.conv1d if nd == 1 else F.conv2d
    return _channels_last(fn(_channels_first(x, nd), w, None, strides, pad, dilation_rate), nd)


# ----- control flow and structure ------------------------------------------------------------------
def cond(pred, true_fn, false_fn):
    return true_fn() if bool(np.asarray(getattr(pred, "array", pred))) else false_fn()


def fori_loop(lower, upper, body_fun, init_val):
    val = init_val
    for i in range(int(lower), int(upper)):
        val = body_fun(i, val)
    return val


def while_loop(cond, body, loop_vars, maximum_iterations=None):
    single = not isinstance(loop_vars, (tuple, list))
    vars_ = (loop_vars,) if single else tuple(loop_vars)
    n = 0
    while bool(np.asarray(getattr(c := cond(*vars_), "array", c))) and (maximum_iterations is None or
                                                                        n < maximum_iterations):
        out = body(*vars_)
        vars_ = (out,) if single else tuple(out)
        n += 1
    return vars_[0] if single else vars_


def vectorized_map(function, elements):
    return stack([function(e) for e in unstack(elements)])


def scatter(indices, values, shape):
    return scatter_update(Tensor(np.zeros(shape, _t(values).dtype)), indices, values)


def _assigned(inputs, index, updates):
    """A copy of ``inputs`` with ``updates`` written at ``index``."""
    with no_grad():
        out = _t(inputs).clone()
        out.array[index] = np.asarray(updates.array)
    return out


def scatter_update(inputs, indices, updates):
    return _assigned(inputs, tuple(np.asarray(getattr(indices, "array", indices)).T), _t(updates))


def slice_update(inputs, start_indices, updates):
    return _assigned(inputs, _box(start_indices, _t(updates).shape), _t(updates))


def is_tensor(x):
    return isinstance(x, Tensor)


# ----- image ops (keras.ops.image) -----------------------------------------------------------------
class image:  # noqa: N801  (a namespace, as keras.ops.image)
    """Image functions on channels-last batches (N, H, W, C) or single images (H, W, C)."""

    @staticmethod
    def resize(images, size, interpolation="bilinear", antialias=False, data_format=None, **kwargs):
        x = _t(images)
        single = x.ndim == 3
        x = x.unsqueeze(0) if single else x
        mode = {"bilinear": "bilinear", "nearest": "nearest", "bicubic": "bicubic"}[interpolation]
        out = _channels_last(F.interpolate(_channels_first(x, 2), size=tuple(size), mode=mode,
                                           align_corners=False if mode != "nearest" else None), 2)
        return out[0] if single else out

    @staticmethod
    def extract_patches(images, size, strides=None, dilation_rate=1, padding="valid", data_format=None):
        """Non-overlapping ``size`` patches, flattened: (N, H/p, W/p, p*p*C) (strides == size only)."""
        x = _t(images)
        p = (size, size) if isinstance(size, int) else tuple(size)
        if strides is not None and tuple(np.broadcast_to(strides, 2)) != p:
            raise NotImplementedError("ops.image.extract_patches: only strides equal to size are supported")
        n, h, w, c = x.shape
        x = x[:, : h // p[0] * p[0], : w // p[1] * p[1], :]
        x = x.reshape(n, h // p[0], p[0], w // p[1], p[1], c).permute(0, 1, 3, 2, 4, 5)
        return x.reshape(n, h // p[0], w // p[1], p[0] * p[1] * c)

    @staticmethod
    def rgb_to_grayscale(images, data_format=None):
        x = _t(images)
        return (x * Tensor(np.array([0.2989, 0.587, 0.114], dtype=x.dtype))).sum(axis=-1, keepdims=True)


nn = type("nn", (), {  # keras.ops.nn: the same functions under their nn path
    "__doc__": "``keras.ops.nn``: the neural-network functions of keras.ops.",
    **{n: staticmethod(globals()[n]) for n in (
        "relu", "relu6", "sigmoid", "silu", "swish", "gelu", "elu", "selu", "leaky_relu", "softplus",
        "softsign", "hard_sigmoid", "softmax", "log_softmax", "one_hot", "moments", "normalize",
        "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy", "max_pool",
        "average_pool", "conv")}})


__all__ = sorted(n for n, v in list(globals().items()) if not n.startswith("_") and callable(v)
                 and getattr(v, "__module__", None) == __name__)
pi = _math.pi

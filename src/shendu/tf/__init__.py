"""``import shendu.tf as tf``: the TensorFlow names that tf.keras programs call, on shendu.

    import shendu.tf as tf
    from shendu.tf import keras

    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(model(x) - y))
    grads = tape.gradient(loss, model.trainable_weights)
    optimizer.apply_gradients(zip(grads, model.trainable_weights))

``tf.keras`` is :mod:`shendu.keras`. Each function is one line onto a :mod:`shendu.keras.ops` function
(itself one shendu op); ``tf.shape(x)`` is a tuple of ints; ``tf.function`` runs the function as it
is. docs/keras-ops.md lists every name and its differences from TensorFlow.
"""

import builtins as _builtins
import functools as _functools

import numpy as _np

from .. import keras
from ..keras import ops as _k
from ..keras.variables import Variable
from ..tape import GradientTape
from ..tensor import Tensor
from . import compat, data, image, math, nn, random, strings
from .math import (  # tf.add is tf.math.add: one definition
    abs,
    add,
    divide,
    equal,
    exp,
    greater,
    less,
    log,
    maximum,
    minimum,
    multiply,
    sigmoid,
    sqrt,
    square,
    subtract,
    tanh,
)

__all__ = ["keras", "compat", "data", "image", "math", "nn", "random", "strings", "GradientTape", "Variable",
           "Tensor", "function",
           "constant", "convert_to_tensor", "cast", "shape", "rank", "size", "reshape", "concat", "stack",
           "unstack", "expand_dims", "squeeze", "transpose", "tile", "gather", "one_hot", "clip_by_value",
           "repeat", "linspace", "clip_by_norm", "clip_by_global_norm", "where", "argmax", "argmin", "range",
           "zeros", "ones",
           "zeros_like", "ones_like", "fill", "identity", "stop_gradient", "matmul", "add", "subtract",
           "multiply", "divide", "square", "sqrt", "exp", "log", "abs", "maximum", "minimum", "sigmoid",
           "tanh", "split", "reduce_sum", "reduce_mean", "reduce_max", "reduce_min", "reduce_prod",
           "reduce_any", "reduce_all", "reduce_std", "reduce_logsumexp", "equal", "greater", "less",
           "boolean_mask", "random_normal_initializer", "float16", "float32", "float64", "int32", "int64",
           "uint8", "bool", "string", "config", "print", "newaxis", "TensorShape", "TensorSpec"]

float16, float32, float64 = _np.float16, _np.float32, _np.float64
int32, int64, uint8, bool = _np.int32, _np.int64, _np.uint8, _np.bool_  # noqa: A001
string = _np.str_
newaxis = None
TensorShape = tuple


class TensorSpec:
    """``tf.TensorSpec(shape, dtype)``: the shape (``None`` for any size) and dtype an input must have."""

    def __init__(self, shape=None, dtype=float32, name=None):
        self.shape = None if shape is None else tuple(None if d is None else int(d) for d in shape)
        self.dtype, self.name = _np.dtype(dtype), name

    def is_compatible_with(self, value):
        shape = tuple(_np.shape(getattr(value, "array", value)))
        return self.shape is None or (len(shape) == len(self.shape) and
                                      all(d is None or d == n for d, n in zip(self.shape, shape)))

    def __repr__(self):
        return f"TensorSpec(shape={self.shape}, dtype={self.dtype.name}, name={self.name!r})"


def _conform(specs, args, who):
    """``args`` as the ``input_signature`` asks: each a Tensor of its spec's dtype and a compatible shape."""
    if len(args) != len(specs):
        raise TypeError(f"{who}: input_signature has {len(specs)} inputs, the call gave {len(args)}")
    out = []
    for i, (spec, arg) in enumerate(zip(specs, args)):
        if isinstance(spec, (list, tuple)):
            out.append(type(spec)(_conform(spec, list(arg), who)))
            continue
        if not spec.is_compatible_with(arg):
            raise ValueError(f"{who}: input {i} has shape {tuple(_np.shape(getattr(arg, 'array', arg)))}, "
                             f"which is not compatible with {spec}")
        out.append(_k.convert_to_tensor(arg, spec.dtype))
    return out


class _Function:
    """What ``tf.function`` returns: the Python function, run eagerly as written (there is no graph to
    trace; ``jit_compile``, ``reduce_retracing``, ``autograph`` are accepted and change nothing), with
    ``input_signature`` checked and its dtypes applied. Works on methods too."""

    def __init__(self, func, input_signature, instance=None):
        _functools.update_wrapper(self, func)
        self.python_function, self.input_signature, self._instance = func, input_signature, instance

    def __get__(self, instance, owner=None):
        return self if instance is None else _Function(self.python_function, self.input_signature, instance)

    def __call__(self, *args, **kwargs):
        if self.input_signature is not None:
            args = _conform(list(self.input_signature), args, f"tf.function {self.__name__}")
        if self._instance is not None:
            args = (self._instance, *args)
        return self.python_function(*args, **kwargs)


def function(func=None, input_signature=None, autograph=True, jit_compile=None, reduce_retracing=False,
             experimental_implements=None, experimental_autograph_options=None, experimental_attributes=None,
             experimental_relax_shapes=None, experimental_compile=None, experimental_follow_type_hints=None,
             name=None):
    """``@tf.function``, ``@tf.function(jit_compile=True)``, ``tf.function(f, input_signature=[...])``,
    ``reduce_retracing=True``...: see :class:`_Function`. Unknown arguments raise TypeError, as in TF."""
    if input_signature is not None and not isinstance(input_signature, (list, tuple)):
        raise TypeError(f"tf.function: input_signature must be a list of tf.TensorSpec, got "
                        f"{type(input_signature).__name__}")

    def decorate(f):
        return _Function(f, input_signature)

    return decorate if func is None else decorate(func)


def constant(value, dtype=None, shape=None, name=None):
    t = _k.convert_to_tensor(value, dtype)
    return t if shape is None else _k.broadcast_to(t, shape)


def convert_to_tensor(value, dtype=None, dtype_hint=None, name=None):
    return _k.convert_to_tensor(value, dtype)


def cast(x, dtype, name=None):
    return _k.cast(x, dtype)


def shape(input, out_type=None, name=None):  # noqa: A002
    return _k.shape(input)


def rank(input, name=None):  # noqa: A002
    return _k.ndim(input)


def size(input, out_type=None, name=None):  # noqa: A002
    return _k.size(input)


def reshape(tensor, shape, name=None):
    return _k.reshape(tensor, shape)


def concat(values, axis, name=None):
    return _k.concatenate(values, axis=axis)


def stack(values, axis=0, name=None):
    return _k.stack(values, axis=axis)


def unstack(value, num=None, axis=0, name=None):
    return _k.unstack(value, axis=axis)


def expand_dims(input, axis, name=None):  # noqa: A002
    return _k.expand_dims(input, axis)


def squeeze(input, axis=None, name=None):  # noqa: A002
    return _k.squeeze(input, axis)


def transpose(a, perm=None, conjugate=False, name=None):
    return _k.transpose(a, perm)


def tile(input, multiples, name=None):  # noqa: A002
    return _k.tile(input, multiples)


def gather(params, indices, axis=None, batch_dims=0, name=None):
    return _k.take(params, indices, axis=0 if axis is None else axis)


def one_hot(indices, depth, on_value=None, off_value=None, axis=None, dtype=None, name=None):
    return _k.one_hot(indices, depth, dtype=dtype)


def repeat(input, repeats, axis=None, name=None):  # noqa: A002
    """Each element repeated ``repeats`` times along ``axis`` (``None``: the flattened input)."""
    return _k.repeat(input, repeats, axis=axis)


def linspace(start, stop, num, name=None, axis=0):
    return _k.linspace(start, stop, int(num), axis=axis)


def clip_by_value(t, clip_value_min, clip_value_max, name=None):
    return _k.clip(t, clip_value_min, clip_value_max)


def clip_by_norm(t, clip_norm, axes=None, name=None):
    return _k.multiply(t, _k.minimum(1.0, clip_norm / _k.maximum(_k.norm(_k.reshape(t, (-1,))), 1e-12)))


def clip_by_global_norm(t_list, clip_norm, use_norm=None, name=None):
    """(clipped list, global norm): every tensor times clip_norm / max(global_norm, clip_norm)."""
    norm = use_norm if use_norm is not None else _k.sqrt(_builtins.sum(_k.sum(_k.square(t)) for t in t_list
                                                                        if t is not None))
    scale = clip_norm / _k.maximum(norm, clip_norm)
    return [None if t is None else _k.multiply(t, scale) for t in t_list], norm


def where(condition, x=None, y=None, name=None):
    return _k.where(condition, x, y)


def argmax(input, axis=None, output_type=None, name=None):  # noqa: A002
    return _k.argmax(input, axis=0 if axis is None else axis)


def argmin(input, axis=None, output_type=None, name=None):  # noqa: A002
    return _k.argmin(input, axis=0 if axis is None else axis)


def range(start, limit=None, delta=1, dtype=None, name=None):  # noqa: A001
    return _k.arange(start, limit, delta, dtype=dtype)


def zeros(shape, dtype=float32, name=None):
    return _k.zeros(shape, dtype)


def ones(shape, dtype=float32, name=None):
    return _k.ones(shape, dtype)


def zeros_like(input, dtype=None, name=None):  # noqa: A002
    return _k.zeros_like(input, dtype)


def ones_like(input, dtype=None, name=None):  # noqa: A002
    return _k.ones_like(input, dtype)


def fill(dims, value, name=None):
    return _k.full(dims, value, dtype=_np.asarray(value).dtype if not isinstance(value, float) else None)


def identity(input, name=None):  # noqa: A002
    return _k.convert_to_tensor(input) * 1


def stop_gradient(input, name=None):  # noqa: A002
    return _k.stop_gradient(input)


def matmul(a, b, transpose_a=False, transpose_b=False, name=None):
    a = _k.swapaxes(a, -1, -2) if transpose_a else a
    return _k.matmul(a, _k.swapaxes(b, -1, -2) if transpose_b else b)


def split(value, num_or_size_splits, axis=0, num=None, name=None):
    n = num_or_size_splits
    return _k.split(value, n if isinstance(n, int) else list(_np.cumsum(n)[:-1]), axis=axis)


def reduce_sum(input_tensor, axis=None, keepdims=False, name=None):
    return _k.sum(input_tensor, axis=axis, keepdims=keepdims)


def reduce_mean(input_tensor, axis=None, keepdims=False, name=None):
    return _k.mean(input_tensor, axis=axis, keepdims=keepdims)


def reduce_max(input_tensor, axis=None, keepdims=False, name=None):
    return _k.max(input_tensor, axis=axis, keepdims=keepdims)


def reduce_min(input_tensor, axis=None, keepdims=False, name=None):
    return _k.min(input_tensor, axis=axis, keepdims=keepdims)


def reduce_prod(input_tensor, axis=None, keepdims=False, name=None):
    return _k.prod(input_tensor, axis=axis, keepdims=keepdims)


def reduce_any(input_tensor, axis=None, keepdims=False, name=None):
    return _k.any(input_tensor, axis=axis, keepdims=keepdims)


def reduce_all(input_tensor, axis=None, keepdims=False, name=None):
    return _k.all(input_tensor, axis=axis, keepdims=keepdims)


def reduce_std(input_tensor, axis=None, keepdims=False, name=None):
    return _k.std(input_tensor, axis=axis, keepdims=keepdims)


def reduce_logsumexp(input_tensor, axis=None, keepdims=False, name=None):
    return _k.logsumexp(input_tensor, axis=axis, keepdims=keepdims)


def boolean_mask(tensor, mask, axis=None, name=None):
    return _k.convert_to_tensor(tensor)[_np.asarray(getattr(mask, "array", mask), dtype=_np.bool_)]


def random_normal_initializer(mean=0.0, stddev=0.05, seed=None):
    return keras.initializers.RandomNormal(mean=mean, stddev=stddev, seed=seed)


def print(*inputs, **kwargs):  # noqa: A001
    _builtins.print(*inputs, **{k: v for k, v in kwargs.items() if k in ("sep", "end")})


class config:  # noqa: N801
    """``tf.config``: eager execution is the only mode, so these change nothing."""

    @staticmethod
    def run_functions_eagerly(run_eagerly):
        return None

    @staticmethod
    def list_physical_devices(device_type=None):
        return [] if device_type == "GPU" else ["/physical_device:CPU:0"]


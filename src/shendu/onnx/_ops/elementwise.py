"""Pointwise arithmetic, comparison and logic: Add, Sub, Mul, Div, Pow, Sqrt, Exp, Erf, Where, Clip, ...

Float inputs that are Tensors go through shendu's differentiable ops; when every input is a constant
the op runs in NumPy (integer Div truncates toward zero, as ONNX says).
"""
import functools

import numpy as np

from ... import ops
from ...ops import elementwise as _elem
from . import register
from ._common import any_tensor, arr, is_tensor, tensor


def _np_div(a, b):
    if a.dtype.kind in "iu":
        return np.trunc(a / b).astype(a.dtype) if b.size else a[..., :0]
    return np.divide(a, b).astype(a.dtype, copy=False)


def _np_pow(a, b):
    out = np.power(a.astype(np.float64), b.astype(np.float64))
    return out.astype(a.dtype)


def _sd_pow(a, b):
    if not is_tensor(b) and np.ndim(b) == 0:  # x ** 2.0 as a number keeps the gradient simple
        b = arr(b).item()
        if float(b).is_integer():
            b = int(b)
        return ops.pow(a, b)
    return ops.pow(tensor(a), tensor(b) if is_tensor(b) else arr(b).astype(arr(a).dtype))


_BINARY = {
    "Add": (np.add, ops.add, 7), "Sub": (np.subtract, ops.sub, 7), "Mul": (np.multiply, ops.mul, 7),
    "Div": (_np_div, ops.div, 7), "Pow": (_np_pow, _sd_pow, 7),
}


def _binary(np_fn, sd_fn, ctx, inputs, attrs):
    a, b = inputs
    if attrs.get("broadcast") == 1 and attrs.get("axis") is not None:  # opset < 7 broadcasting
        b_arr = arr(b)
        shape = [1] * arr(a).ndim
        axis = attrs["axis"] % arr(a).ndim
        shape[axis:axis + b_arr.ndim] = b_arr.shape
        b = ops.reshape(b, shape) if is_tensor(b) else b_arr.reshape(shape)
    if not any_tensor(a, b) or arr(a).dtype.kind not in "fc":
        av, bv = arr(a), arr(b)
        out = np_fn(av, bv)
        return np.asarray(out).astype(av.dtype, copy=False)
    if sd_fn is ops.pow or sd_fn is _sd_pow:
        return _sd_pow(a, b)
    return sd_fn(a if is_tensor(a) else arr(a), b if is_tensor(b) else arr(b))


for _name, (_np_fn, _sd_fn, _since) in _BINARY.items():
    register(_name, 1)(functools.partial(_binary, _np_fn, _sd_fn))


def _unary(np_fn, sd_fn, ctx, inputs, attrs):
    (x,) = inputs
    if not is_tensor(x):
        xv = arr(x)
        return np.asarray(np_fn(xv)).astype(xv.dtype, copy=False)
    return sd_fn(x)


def _np_erf(x):
    return _elem.erf_array(x)


_UNARY = {
    "Sqrt": (np.sqrt, ops.sqrt), "Exp": (np.exp, ops.exp), "Log": (np.log, ops.log),
    "Neg": (np.negative, ops.neg), "Abs": (np.abs, ops.abs), "Reciprocal": (np.reciprocal, _elem.reciprocal),
    "Erf": (_np_erf, _elem.erf), "Floor": (np.floor, _elem.floor), "Ceil": (np.ceil, _elem.ceil),
    "Sin": (np.sin, ops.sin), "Cos": (np.cos, ops.cos), "Tan": (np.tan, _elem.tan),
    "Asin": (np.arcsin, _elem.asin), "Acos": (np.arccos, _elem.acos), "Atan": (np.arctan, _elem.atan),
    "Sinh": (np.sinh, _elem.sinh), "Cosh": (np.cosh, _elem.cosh), "Asinh": (np.arcsinh, _elem.asinh),
    "Acosh": (np.arccosh, _elem.acosh), "Atanh": (np.arctanh, _elem.atanh),
    "Sign": (np.sign, _elem.sign), "Round": (np.round, _elem.round),
}

for _name, (_np_fn, _sd_fn) in _UNARY.items():
    register(_name, 1)(functools.partial(_unary, _np_fn, _sd_fn))


# ----- comparison and logic: always constants (no gradient flows through a boolean) --------------------
_COMPARE = {"Equal": np.equal, "Less": np.less, "Greater": np.greater, "LessOrEqual": np.less_equal,
            "GreaterOrEqual": np.greater_equal, "And": np.logical_and, "Or": np.logical_or,
            "Xor": np.logical_xor}


def _compare(np_fn, ctx, inputs, attrs):
    a, b = (arr(v) for v in inputs)
    return np_fn(a, b)


for _name, _np_fn in _COMPARE.items():
    register(_name, 1)(functools.partial(_compare, _np_fn))


@register("Not", 1)
def _not(ctx, inputs, attrs):
    return np.logical_not(arr(inputs[0]))


@register("IsNaN", 9)
def _isnan(ctx, inputs, attrs):
    return np.isnan(arr(inputs[0]))


@register("IsInf", 10)
def _isinf(ctx, inputs, attrs):
    x = arr(inputs[0])
    pos, neg = attrs.get("detect_positive", 1), attrs.get("detect_negative", 1)
    return (np.isposinf(x) & bool(pos)) | (np.isneginf(x) & bool(neg))


@register("Mod", 10)
def _mod(ctx, inputs, attrs):
    """fmod=0: a − ⌊a/b⌋·b (the sign of b, integers only in ONNX but floats accepted); fmod=1: C's fmod,
    a − trunc(a/b)·b. Infinite operands take NumPy's limits (e.g. 3 mod ∞ = 3)."""
    a, b = inputs
    fmod = attrs.get("fmod", 0)
    np_fn = np.fmod if fmod else np.mod
    if not any_tensor(a, b):
        return np_fn(arr(a), arr(b)).astype(arr(a).dtype)
    rounding = _elem.trunc if fmod else _elem.floor
    expr = ops.sub(tensor(a), ops.mul(rounding(ops.div(tensor(a), tensor(b))), tensor(b)))
    finite = np.isfinite(arr(a)) & np.isfinite(arr(b))
    if finite.all():
        return expr
    return ops.where(finite, expr, np_fn(arr(a), arr(b)).astype(arr(expr).dtype))


@register("Where", 9)
def _where(ctx, inputs, attrs):
    cond, x, y = inputs
    cond = arr(cond).astype(bool)
    if not any_tensor(x, y):
        return np.where(cond, arr(x), arr(y))
    return ops.where(cond, tensor(x), tensor(y))


def _variadic(np_fn, sd_fn, ctx, inputs, attrs):
    vals = [v for v in inputs if v is not None]
    if not any_tensor(*vals):
        out = vals[0]
        for v in vals[1:]:
            out = np_fn(arr(out), arr(v))
        return np.asarray(out).astype(arr(vals[0]).dtype, copy=False)
    out = tensor(vals[0])
    for v in vals[1:]:
        out = sd_fn(out, tensor(v))
    return out


register("Max", 1)(functools.partial(_variadic, np.maximum, ops.maximum))
register("Min", 1)(functools.partial(_variadic, np.minimum, ops.minimum))
register("Sum", 1)(functools.partial(_variadic, np.add, ops.add))


@register("Mean", 1)
def _mean(ctx, inputs, attrs):
    vals = [v for v in inputs if v is not None]
    total = _variadic(np.add, ops.add, ctx, vals, attrs)
    if is_tensor(total):
        return ops.div(total, float(len(vals)))
    return (total / len(vals)).astype(total.dtype)


def _clip_bounds(ctx, inputs, attrs):
    if ctx.opset < 11:
        return attrs.get("min"), attrs.get("max")
    lo = inputs[1] if len(inputs) > 1 else None
    hi = inputs[2] if len(inputs) > 2 else None
    return (None if lo is None else arr(lo).item()), (None if hi is None else arr(hi).item())


@register("Clip", 1)
def _clip(ctx, inputs, attrs):
    x = inputs[0]
    lo, hi = _clip_bounds(ctx, inputs, attrs)
    if not is_tensor(x):
        xv = arr(x)
        return np.clip(xv, lo if lo is not None else None, hi if hi is not None else None).astype(xv.dtype)
    if lo is not None and hi is not None and lo > hi:  # ONNX: every value becomes max
        return ops.add(ops.mul(x, 0.0), float(hi))
    return ops.clip(x, lo, hi)


@register("Einsum", 12)
def _einsum(ctx, inputs, attrs):
    eq = attrs["equation"].replace(" ", "")
    if not any_tensor(*inputs):
        return np.einsum(eq, *[arr(v) for v in inputs])
    return _elem.einsum(eq, *[tensor(v) for v in inputs])


# ----- bitwise (integers only) --------------------------------------------------------------------------
_BITWISE = {"BitwiseAnd": np.bitwise_and, "BitwiseOr": np.bitwise_or, "BitwiseXor": np.bitwise_xor}
for _name, _np_fn in _BITWISE.items():
    register(_name, 18)(functools.partial(_compare, _np_fn))


@register("BitwiseNot", 18)
def _bitwise_not(ctx, inputs, attrs):
    return np.invert(arr(inputs[0]))


@register("BitShift", 11)
def _bitshift(ctx, inputs, attrs):
    a, b = arr(inputs[0]), arr(inputs[1])
    fn = np.left_shift if attrs["direction"] == "LEFT" else np.right_shift
    return fn(a, b.astype(a.dtype)).astype(a.dtype)

"""``tf.math``: the element-wise functions and reductions under their tf.math names."""

from ..keras import ops as _k

__all__ = ["reduce_sum", "reduce_mean", "reduce_max", "reduce_min", "reduce_prod", "reduce_std",
           "reduce_logsumexp", "reduce_any", "reduce_all", "log", "log1p", "exp", "sqrt", "square", "abs",
           "sigmoid", "tanh", "maximum", "minimum", "pow", "add", "subtract", "multiply", "divide", "floor",
           "ceil", "round", "sign", "equal", "not_equal", "greater", "less", "logical_and", "logical_or",
           "logical_not", "argmax", "argmin", "cumsum", "softplus", "is_nan", "is_finite", "top_k",
           "l2_normalize", "divide_no_nan", "erf", "rsqrt", "reciprocal", "negative"]


def reduce_sum(x, axis=None, keepdims=False, name=None):
    return _k.sum(x, axis, keepdims)


def reduce_mean(x, axis=None, keepdims=False, name=None):
    return _k.mean(x, axis, keepdims)


def reduce_max(x, axis=None, keepdims=False, name=None):
    return _k.max(x, axis, keepdims)


def reduce_min(x, axis=None, keepdims=False, name=None):
    return _k.min(x, axis, keepdims)


def reduce_prod(x, axis=None, keepdims=False, name=None):
    return _k.prod(x, axis, keepdims)


def reduce_std(x, axis=None, keepdims=False, name=None):
    return _k.std(x, axis, keepdims)


def reduce_logsumexp(x, axis=None, keepdims=False, name=None):
    return _k.logsumexp(x, axis, keepdims)


def reduce_any(x, axis=None, keepdims=False, name=None):
    return _k.any(x, axis, keepdims)


def reduce_all(x, axis=None, keepdims=False, name=None):
    return _k.all(x, axis, keepdims)


def log(x, name=None):
    return _k.log(x)


def log1p(x, name=None):
    return _k.log1p(x)


def exp(x, name=None):
    return _k.exp(x)


def sqrt(x, name=None):
    return _k.sqrt(x)


def square(x, name=None):
    return _k.square(x)


def abs(x, name=None):  # noqa: A001
    return _k.abs(x)


def sigmoid(x, name=None):
    return _k.sigmoid(x)


def tanh(x, name=None):
    return _k.tanh(x)


def maximum(x, y, name=None):
    return _k.maximum(x, y)


def minimum(x, y, name=None):
    return _k.minimum(x, y)


def pow(x, y, name=None):  # noqa: A001
    return _k.power(x, y)


def add(x, y, name=None):
    return _k.add(x, y)


def subtract(x, y, name=None):
    return _k.subtract(x, y)


def multiply(x, y, name=None):
    return _k.multiply(x, y)


def divide(x, y, name=None):
    return _k.divide(x, y)


def floor(x, name=None):
    return _k.floor(x)


def ceil(x, name=None):
    return _k.ceil(x)


def round(x, name=None):  # noqa: A001
    return _k.round(x)


def sign(x, name=None):
    return _k.sign(x)


def equal(x, y, name=None):
    return _k.equal(x, y)


def not_equal(x, y, name=None):
    return _k.not_equal(x, y)


def greater(x, y, name=None):
    return _k.greater(x, y)


def less(x, y, name=None):
    return _k.less(x, y)


def logical_and(x, y, name=None):
    return _k.logical_and(x, y)


def logical_or(x, y, name=None):
    return _k.logical_or(x, y)


def logical_not(x, name=None):
    return _k.logical_not(x)


def argmax(x, axis=None, output_type=None, name=None):
    return _k.argmax(x, 0 if axis is None else axis)


def argmin(x, axis=None, output_type=None, name=None):
    return _k.argmin(x, 0 if axis is None else axis)


def cumsum(x, axis=0, exclusive=False, reverse=False, name=None):
    return _k.cumsum(x, axis)


def softplus(x, name=None):
    return _k.softplus(x)


def is_nan(x, name=None):
    return _k.isnan(x)


def is_finite(x, name=None):
    return _k.isfinite(x)


def top_k(x, k=1, sorted=True, name=None):  # noqa: A002
    return _k.top_k(x, k, sorted)


def l2_normalize(x, axis=None, epsilon=1e-12, name=None):
    return _k.normalize(x, -1 if axis is None else axis)


def divide_no_nan(x, y, name=None):
    zero = _k.equal(y, 0)
    return _k.where(zero, _k.zeros_like(_k.divide(x, 1.0)), _k.divide(x, _k.where(zero, 1.0, y)))


def erf(x, name=None):
    return _k.erf(x)


def rsqrt(x, name=None):
    return _k.rsqrt(x)


def reciprocal(x, name=None):
    return _k.reciprocal(x)


def negative(x, name=None):
    return _k.negative(x)

"""Reductions: ReduceMean/Sum/Max/Min/Prod/L1/L2/SumSquare/LogSum/LogSumExp.

The axes are an attribute up to opset 12 (ReduceSum) or 17 (the others) and an optional input
afterwards; an empty axes list reduces over every axis unless ``noop_with_empty_axes`` is set.
"""
import functools

import numpy as np

from ... import ops
from . import register
from ._common import arr, ints, is_tensor, norm_axes


def _sd_l1(x, axis, keepdims):
    return ops.sum(ops.abs(x), axis=axis, keepdims=keepdims)


def _sd_l2(x, axis, keepdims):
    return ops.sqrt(ops.sum(ops.mul(x, x), axis=axis, keepdims=keepdims))


def _sd_sumsq(x, axis, keepdims):
    return ops.sum(ops.mul(x, x), axis=axis, keepdims=keepdims)


def _sd_logsum(x, axis, keepdims):
    return ops.log(ops.sum(x, axis=axis, keepdims=keepdims))


def _sd_logsumexp(x, axis, keepdims):
    return ops.logsumexp(x, axis=axis, keepdims=keepdims)


def _np_logsumexp(x, axis, keepdims):
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


_REDUCE = {
    # name: (numpy, shendu, opset where axes became an input)
    "ReduceSum": (np.sum, ops.sum, 13),
    "ReduceMean": (np.mean, ops.mean, 18),
    "ReduceMax": (np.max, ops.max, 18),
    "ReduceMin": (np.min, ops.min, 18),
    "ReduceProd": (np.prod, ops.prod, 18),
    "ReduceL1": (lambda x, axis, keepdims: np.sum(np.abs(x), axis=axis, keepdims=keepdims), _sd_l1, 18),
    "ReduceL2": (lambda x, axis, keepdims: np.sqrt(np.sum(x * x, axis=axis, keepdims=keepdims)), _sd_l2, 18),
    "ReduceSumSquare": (lambda x, axis, keepdims: np.sum(x * x, axis=axis, keepdims=keepdims), _sd_sumsq, 18),
    "ReduceLogSum": (lambda x, axis, keepdims: np.log(np.sum(x, axis=axis, keepdims=keepdims)),
                     _sd_logsum, 18),
    "ReduceLogSumExp": (_np_logsumexp, _sd_logsumexp, 18),
}


def _reduce(np_fn, sd_fn, axes_from_input, ctx, inputs, attrs):
    x = inputs[0]
    nd = arr(x).ndim
    keepdims = bool(attrs.get("keepdims", 1))
    if axes_from_input:
        axes = ints(inputs[1]) if len(inputs) > 1 and inputs[1] is not None else []
        if not axes and attrs.get("noop_with_empty_axes", 0):
            return x
    else:
        axes = attrs.get("axes") or []
    axes = norm_axes(axes, nd) if axes else tuple(range(nd))
    if not is_tensor(x) or arr(x).size == 0:
        v = arr(x)
        if v.size == 0 and np_fn in (np.max, np.min, _np_logsumexp):
            shape = [1 if i in axes else s for i, s in enumerate(v.shape)]
            if v.dtype == bool:
                fill = np_fn is np.min
            else:
                fill = np.inf if np_fn is np.min else -np.inf
            out = np.full(shape, fill, dtype=v.dtype)
            return out if keepdims else out.reshape([s for i, s in enumerate(v.shape) if i not in axes])
        return np.asarray(np_fn(v, axis=axes, keepdims=keepdims)).astype(v.dtype, copy=False)
    if nd == 0:
        return x
    return sd_fn(x, axis=axes, keepdims=keepdims)


for _name, (_np_fn, _sd_fn, _switch) in _REDUCE.items():
    register(_name, 1, _switch - 1)(functools.partial(_reduce, _np_fn, _sd_fn, False))
    register(_name, _switch)(functools.partial(_reduce, _np_fn, _sd_fn, True))

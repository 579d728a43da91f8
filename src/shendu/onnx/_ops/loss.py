"""Training losses and quantization: NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss,
QuantizeLinear, DequantizeLinear.

NLL: ℓ = −w[t]·x[n, t, d…] per element (0 where t = ignore_index); "mean" divides Σℓ by Σw[t] over the
kept elements. SoftmaxCrossEntropyLoss is NLL of log_softmax(scores, axis 1).
QuantizeLinear: y = saturate(round_half_even(x / scale) + zero_point); DequantizeLinear:
x = (y − zero_point)·scale; scale and zero point per tensor, per ``axis`` slice, or per block.
"""
import numpy as np

from ... import ops
from . import register
from ._common import DTYPES, arr, is_tensor, tensor


def _nll(logp, target, weight, attrs):
    target = arr(target).astype(np.int64)
    ignore = attrs.get("ignore_index")
    keep = np.ones(target.shape, bool) if ignore is None else target != ignore
    safe = np.where(keep, target, 0)
    picked = ops.getitem(ops.gather(logp, 1, safe[:, None]), (slice(None), 0))
    w = keep.astype(arr(logp).dtype)
    if weight is not None:
        w_t = ops.mul(ops.getitem(tensor(weight), safe), w)
    else:
        w_t = tensor(w)
    loss = ops.neg(ops.mul(picked, w_t))
    reduction = attrs.get("reduction", "mean")
    if reduction == "none":
        return loss
    total = ops.sum(loss)
    if reduction == "sum":
        return total
    return ops.div(total, ops.sum(w_t))


@register("NegativeLogLikelihoodLoss", 12)
def _nll_op(ctx, inputs, attrs):
    x, target = inputs[0], inputs[1]
    weight = inputs[2] if len(inputs) > 2 else None
    out = _nll(tensor(x), target, weight, attrs)
    return out if is_tensor(x) else out.array


@register("SoftmaxCrossEntropyLoss", 12)
def _sce_op(ctx, inputs, attrs):
    x, target = inputs[0], inputs[1]
    weight = inputs[2] if len(inputs) > 2 else None
    logp = ops.log_softmax(tensor(x), 1)
    loss = _nll(logp, target, weight, attrs)
    if not is_tensor(x):
        loss, logp = loss.array, logp.array
    return (loss, logp) if ctx.n_outputs > 1 else loss


def _broadcast_param(p, x_shape, axis, block):
    """A per-tensor, per-axis or blocked scale/zero point, shaped to broadcast against x."""
    p = arr(p)
    if p.ndim == 0 or p.size == 1 and block == 0:
        return p.reshape(())
    axis %= len(x_shape)
    if block:
        p = np.repeat(p, block, axis=axis)
        return np.take(p, np.arange(x_shape[axis]), axis=axis)
    shape = [1] * len(x_shape)
    shape[axis] = p.size
    return p.reshape(shape)


@register("QuantizeLinear", 10)
def _quantize(ctx, inputs, attrs):
    x, scale = arr(inputs[0]), inputs[1]
    zp = inputs[2] if len(inputs) > 2 and inputs[2] is not None else None
    if "output_dtype" in attrs and attrs["output_dtype"]:
        dtype = np.dtype(DTYPES[attrs["output_dtype"]])
    else:
        dtype = arr(zp).dtype if zp is not None else np.dtype(np.uint8)
    axis, block = attrs.get("axis", 1), attrs.get("block_size", 0)
    s = _broadcast_param(scale, x.shape, axis, block)
    z = _broadcast_param(zp, x.shape, axis, block).astype(np.float64) if zp is not None else 0.0
    q = np.rint(x.astype(np.float64) / s.astype(np.float64)) + z
    info = np.iinfo(dtype)
    return np.clip(q, info.min, info.max).astype(dtype)


@register("DequantizeLinear", 10)
def _dequantize(ctx, inputs, attrs):
    x, scale = arr(inputs[0]), inputs[1]
    zp = inputs[2] if len(inputs) > 2 and inputs[2] is not None else None
    axis, block = attrs.get("axis", 1), attrs.get("block_size", 0)
    s = _broadcast_param(scale, x.shape, axis, block)
    z = _broadcast_param(zp, x.shape, axis, block).astype(np.int64) if zp is not None else 0
    centred = (x.astype(np.int64) - z).astype(s.dtype)
    if is_tensor(scale):                     # a trainable scale keeps its gradient
        if block:
            ax = axis % x.ndim
            rows = np.repeat(np.arange(arr(scale).shape[ax]), block)[:x.shape[ax]]
            scale_t = ops.getitem(scale, (slice(None),) * ax + (rows,))
        else:
            scale_t = ops.reshape(scale, s.shape)
        return ops.mul(tensor(centred), scale_t)
    return centred * s

"""Attention (opset 23+): scaled dot-product attention with masks, a KV cache and grouped heads.

  Y = softmax(softcap(Q·√s · (K·√s)ᵀ) + bias) · V,   s = ``scale`` (default 1/√head_size)
where softcap(x) = c·tanh(x/c) when ``softcap`` c > 0, and bias is the sum of the attention mask
(additive floats, or booleans: True attends, False adds −∞; a mask shorter than the keys is padded
with −∞), a causal mask aligned to the bottom right (query i attends key j ≤ i + past length), a
sliding window and the per-batch padding of ``nonpad_kv_seqlen``. A query row with no key left gets
zero probabilities. 3-D inputs (batch, seq, heads·size) are split into ``q_num_heads`` /
``kv_num_heads``; with fewer KV heads than query heads each KV head serves a group of query heads.
``past_key``/``past_value`` are prepended along the sequence and returned as the present cache.
The bias (mask included) is a constant built in NumPy; Q, K and V keep their gradients.
"""
import numpy as np

from ... import ops
from . import register
from ._common import arr, is_tensor, tensor


def _heads(x, n):
    b, s, hidden = arr(x).shape
    return ops.transpose(ops.reshape(x, (b, s, n, hidden // n)), (0, 2, 1, 3))


def _bias(q_len, kv_len, batch, dtype, mask, causal, past, nonpad, left, right):
    bias = np.zeros((q_len, kv_len), dtype=dtype)
    neg = dtype.type(-np.inf)
    if mask is not None:
        m = arr(mask)
        pad = kv_len - m.shape[-1]
        if pad > 0:
            m = np.pad(m, [(0, 0)] * (m.ndim - 1) + [(0, pad)],
                       constant_values=False if m.dtype == np.bool_ else -np.inf)
        bias = bias + (np.where(m, dtype.type(0), neg) if m.dtype == np.bool_ else m.astype(dtype))
    if nonpad is not None and past is None:
        offset = (arr(nonpad).reshape(-1) - q_len).reshape(-1, 1, 1, 1)
    else:
        offset = past or 0
    i = np.arange(q_len).reshape(-1, 1)
    j = np.arange(kv_len).reshape(1, -1)
    if causal:
        bias = bias + np.where(j <= i + offset, dtype.type(0), neg)
    if left >= 0 or right >= 0:
        diff = (i + offset) - j
        allowed = np.ones(np.shape(diff), bool)
        if left >= 0:
            allowed &= diff <= left
        if right >= 0:
            allowed &= -diff <= right
        bias = bias + np.where(allowed, dtype.type(0), neg)
    if nonpad is not None:
        keep = np.arange(kv_len) < arr(nonpad).reshape(-1, 1)
        bias = bias + np.where(keep, dtype.type(0), neg).reshape(batch, 1, 1, kv_len)
    return bias


@register("Attention", 23)
def _attention(ctx, inputs, attrs):
    inputs = list(inputs) + [None] * (7 - len(inputs))
    q, k, v, mask, past_k, past_v, nonpad = inputs[:7]
    was_tensor = is_tensor(q)
    q, k, v = tensor(q), tensor(k), tensor(v)
    three_d = arr(q).ndim == 3
    if three_d:
        q = _heads(q, attrs["q_num_heads"])
        k = _heads(k, attrs["kv_num_heads"])
        v = _heads(v, attrs["kv_num_heads"])
    dtype = arr(q).dtype
    scale = attrs.get("scale")
    root = dtype.type(np.sqrt(1 / np.sqrt(arr(q).shape[3]) if scale is None else scale))
    if past_k is not None:
        k = ops.concatenate([tensor(past_k), k], axis=2)
        v = ops.concatenate([tensor(past_v), v], axis=2)
    present_k, present_v = k, v
    batch, hq, q_len = arr(q).shape[:3]
    hk, kv_len = arr(k).shape[1:3]
    if hq != hk and hq % hk == 0:                  # grouped-query attention
        groups = np.repeat(np.arange(hk), hq // hk)
        k = ops.getitem(k, (slice(None), groups))
        v = ops.getitem(v, (slice(None), groups))
    scores = ops.matmul(ops.mul(q, root), ops.transpose(ops.mul(k, root), (0, 1, 3, 2)))
    softcap = attrs.get("softcap", 0.0)
    if softcap and softcap > 0:
        scores = ops.mul(ops.tanh(ops.div(scores, softcap)), softcap)
    past = arr(past_k).shape[2] if past_k is not None else None
    bias = _bias(q_len, kv_len, batch, dtype, mask, attrs.get("is_causal", 0), past, nonpad,
                 attrs.get("left_window_size", -1), attrs.get("right_window_size", -1))
    dead = np.isneginf(np.max(bias, axis=-1, keepdims=True))      # rows with no key left
    with_bias = ops.add(scores, np.where(dead, dtype.type(0), bias))
    probs = ops.softmax(with_bias, -1)
    if dead.any():
        probs = ops.where(np.broadcast_to(dead, arr(probs).shape), np.zeros((), dtype), probs)
    y = ops.matmul(probs, v)
    if three_d:
        y = ops.transpose(y, (0, 2, 1, 3))
        y = ops.reshape(y, arr(y).shape[:2] + (-1,))
    mode = attrs.get("qk_matmul_output_mode", 0)
    qk = {2: with_bias, 3: probs}.get(mode, scores)
    outs = (y, present_k, present_v, qk)
    if not was_tensor:
        outs = tuple(o.array for o in outs)
    return outs[:ctx.n_outputs] if ctx.n_outputs > 1 else outs[0]

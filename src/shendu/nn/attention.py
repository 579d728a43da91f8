"""Attention: ``F.scaled_dot_product_attention``, ``F.multi_head_attention_forward`` and
``nn.MultiheadAttention``, with PyTorch's arguments, masks, parameter names and layout.

Scaled dot-product attention of queries Q (…, L, E) over keys K (…, S, E) and values V (…, S, Ev):

    A = softmax(Q Kᵀ · scale + B)        (…, L, S), scale = 1/√E unless given
    out = A V                            (…, L, Ev)

B is an additive mask: 0 where a query may look at a key, −∞ where it may not (a float mask is added
as it is). Everything is composed of differentiable ops (matmul, softmax, where, dropout, linear),
so the gradients are those of the pieces: with G = ∂L/∂out, ∂L/∂V = Aᵀ G, ∂L/∂A = G Vᵀ,
∂L/∂S = A ⊙ (∂L/∂A − Σⱼ ∂L/∂A ⊙ A) for the scores S, then ∂L/∂Q = scale·∂L/∂S K and
∂L/∂K = scale·∂L/∂Sᵀ Q.

Mask conventions follow PyTorch, and differ between the two entry points:

- ``scaled_dot_product_attention``: a bool ``attn_mask`` is True where attention is ALLOWED;
- ``MultiheadAttention`` (``attn_mask`` and ``key_padding_mask``): a bool mask is True where
  attention is NOT allowed (True = masked out, e.g. padding).

A query whose keys are all masked gets zeros from ``scaled_dot_product_attention`` (and from
``MultiheadAttention(need_weights=False)``, which uses it), but NaN from
``MultiheadAttention(need_weights=True)``, exactly as in PyTorch.
"""

import math
import warnings

import numpy as np

from .. import ops
from ..backend import xp
from ..errors import ShapeError
from ..ops import dropout as _dropout_ops
from ..tensor import Tensor, as_dtype, get_default_dtype
from . import init
from .linear import Linear
from .module import Module, as_input, match_float
from .parameter import Parameter

__all__ = [
    "attention_with_weights",
    "scaled_dot_product_attention",
    "multi_head_attention_forward",
    "MultiheadAttention",
    "NonDynamicallyQuantizableLinear",
]


def _array(x):
    """A mask's values as an array (no copy)."""
    return x.numpy() if isinstance(x, Tensor) else np.asarray(x)


def _is_float(x):
    return _array(x).dtype.kind == "f"


def _float_mask(mask, dtype, name, where):
    """``mask`` as an additive float Tensor: a bool mask becomes −∞ where True and 0 elsewhere; a
    float mask is kept (cast to ``dtype``) so a gradient can flow into it; other dtypes raise."""
    if mask is None:
        return None
    arr = _array(mask)
    if arr.dtype == np.bool_:
        out = np.zeros(arr.shape, dtype=dtype)
        out[arr] = -np.inf
        return Tensor(out)
    if arr.dtype.kind != "f":
        raise TypeError(f"{where}: only bool and floating {name} are supported, got dtype {arr.dtype}")
    if isinstance(mask, Tensor):
        return mask if mask.dtype == dtype else mask.to(dtype)
    return Tensor(arr.astype(dtype, copy=False))


def _attend(q, k, v, bias, dropout_p, scale, safe):
    """softmax(q kᵀ·scale + bias) v and the attention weights. ``safe``: a row whose scores are all
    −∞ gives zero weights (instead of NaN) and passes no gradient back."""
    scores = ops.matmul(q * scale, k.swapaxes(-1, -2))
    if bias is not None:
        scores = scores + bias
    dead = None
    if safe and bias is not None:  # only a mask can make a whole row −∞
        dead = np.isneginf(scores.numpy()).all(axis=-1, keepdims=True)
        if dead.any():
            scores = ops.where(dead, xp.zeros((), scores.dtype), scores)
        else:
            dead = None
    weights = ops.softmax(scores, axis=-1)
    if dead is not None:
        weights = ops.where(dead, xp.zeros((), weights.dtype), weights)
    if dropout_p > 0:
        weights = _dropout_ops.Dropout.apply(weights, p=dropout_p)
    return ops.matmul(weights, v), weights


def _causal(L, S, dtype):
    """The additive causal mask (L, S): 0 on and below the diagonal, −∞ above (top-left aligned)."""
    return Tensor(np.triu(np.full((L, S), -np.inf, dtype=dtype), 1))


def scaled_dot_product_attention(
    query,
    key,
    value,
    attn_mask=None,
    dropout_p=0.0,
    is_causal=False,  # noqa: D417
    scale=None,
    enable_gqa=False,
):
    """softmax(Q Kᵀ · scale + mask) V; see :func:`attention_with_weights` (this returns the output only)."""
    return attention_with_weights(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa)[0]


def attention_with_weights(
    query,
    key,
    value,
    attn_mask=None,
    dropout_p=0.0,
    is_causal=False,  # noqa: D417
    scale=None,
    enable_gqa=False,
):
    """(output, attention weights): the weights are softmax(Q Kᵀ · scale + mask), after dropout.

    softmax(Q Kᵀ · scale + mask) V over the last two dims; see the module docstring for the math.

    query (…, L, E), key (…, S, E), value (…, S, Ev) → (…, L, Ev). ``attn_mask`` broadcasts to
    (…, L, S): bool True = may attend, float = added to the scores. ``is_causal``: query i sees keys
    0..i (top-left aligned; not together with ``attn_mask``). ``scale`` defaults to 1/√E.
    ``dropout_p`` drops attention weights whenever it is > 0 (pass 0.0 in evaluation, as in PyTorch).
    ``enable_gqa``: key/value with fewer heads (dim −3) than query are repeated to match.
    """
    where = "scaled_dot_product_attention"
    q, k, v = as_input(query), as_input(key), as_input(value)
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2:
        raise ShapeError(
            f"{where}: query, key and value need at least 2 dims (…, L, E), got shapes "
            f"{tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}"
        )
    if q.dtype.kind != "f":
        raise TypeError(f"{where}: query must be floating point, got dtype {q.dtype}")
    if k.dtype != q.dtype:
        k = k.to(q.dtype)
    if v.dtype != q.dtype:
        v = v.to(q.dtype)
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ShapeError(
            f"{where}: query (…, L, E) {tuple(q.shape)}, key (…, S, E) {tuple(k.shape)} and value "
            f"(…, S, Ev) {tuple(v.shape)} do not fit: E and S must agree"
        )
    if not 0 <= dropout_p <= 1:
        raise ValueError(f"{where}: dropout_p must be between 0 and 1, got {dropout_p}")
    if enable_gqa and q.ndim >= 3 and k.shape[-3] != q.shape[-3]:
        hq, hk = q.shape[-3], k.shape[-3]
        if hq % hk or v.shape[-3] != hk:
            raise ShapeError(
                f"{where}: with enable_gqa the query heads ({hq}) must be a multiple of the "
                f"key/value heads ({hk}, {v.shape[-3]})"
            )
        k, v = (_repeat_heads(t, hq // hk) for t in (k, v))
    L, S = q.shape[-2], k.shape[-2]
    if is_causal:
        if attn_mask is not None:
            raise RuntimeError(f"{where}: an explicit attn_mask should not be set when is_causal=True")
        bias = _causal(L, S, q.dtype)
    elif attn_mask is None:
        bias = None
    elif _array(attn_mask).dtype == np.bool_:
        bias = _float_mask(~_array(attn_mask), q.dtype, "attn_mask", where)
    else:
        bias = _float_mask(attn_mask, q.dtype, "attn_mask", where)
    if bias is not None:
        try:
            np.broadcast_shapes(tuple(bias.shape), q.shape[:-2] + (L, S))
        except ValueError:
            raise ShapeError(
                f"{where}: attn_mask of shape {tuple(bias.shape)} does not broadcast to the "
                f"attention scores' shape {q.shape[:-2] + (L, S)} (…, L, S)"
            ) from None
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    return _attend(q, k, v, bias, dropout_p, scale, safe=True)


def _repeat_heads(t, n):
    """(…, H, S, E) → (…, H·n, S, E), each head repeated n times in a row (repeat_interleave)."""
    shape = t.shape
    t = ops.broadcast_to(ops.unsqueeze(t, -3), shape[:-2] + (n,) + shape[-2:])
    return t.reshape(shape[:-3] + (shape[-3] * n,) + shape[-2:])


def _check_mha_shapes(query, key, value, key_padding_mask, attn_mask, num_heads, where):
    """PyTorch's rules for batched (3-D) and unbatched (2-D) input; returns whether it is batched."""
    qd, kd, vd = query.ndim, key.ndim, value.ndim
    if qd not in (2, 3):
        raise ShapeError(
            f"{where}: query should be unbatched 2-D (L, E) or batched 3-D (L, N, E) "
            f"(N, L, E with batch_first), got shape {tuple(query.shape)}"
        )
    if kd != qd or vd != qd:
        raise ShapeError(
            f"{where}: for a {qd}-D query, key and value must be {qd}-D too, got shapes "
            f"{tuple(key.shape)} and {tuple(value.shape)}"
        )
    if key_padding_mask is not None and _array(key_padding_mask).ndim != qd - 1:
        raise ShapeError(
            f"{where}: for a {qd}-D query, key_padding_mask must be {qd - 1}-D "
            f"({'(N, S)' if qd == 3 else '(S,)'}), got shape {_array(key_padding_mask).shape}"
        )
    if attn_mask is not None:
        shape = _array(attn_mask).shape
        if len(shape) not in (2, 3):
            raise ShapeError(
                f"{where}: attn_mask must be 2-D (L, S) or 3-D (N·num_heads, L, S), got shape {shape}"
            )
        if qd == 2 and len(shape) == 3 and shape != (num_heads, query.shape[0], key.shape[0]):
            raise ShapeError(
                f"{where}: expected a 3-D attn_mask of shape "
                f"{(num_heads, query.shape[0], key.shape[0])} for unbatched input, got {shape}"
            )
    return qd == 3


def multi_head_attention_forward(
    query,
    key,
    value,
    embed_dim_to_check,
    num_heads,
    in_proj_weight,
    in_proj_bias,
    bias_k,
    bias_v,
    add_zero_attn,
    dropout_p,
    out_proj_weight,
    out_proj_bias,
    training=True,
    key_padding_mask=None,
    need_weights=True,
    attn_mask=None,
    use_separate_proj_weight=False,
    q_proj_weight=None,
    k_proj_weight=None,
    v_proj_weight=None,
    static_k=None,
    static_v=None,
    average_attn_weights=True,
    is_causal=False,
):
    """Multi-head attention in PyTorch's (L, N, E) layout (see ``MultiheadAttention`` for the math).

    query (L, N, E) or (L, E), key (S, N, kdim), value (S, N, vdim) → (output (L, N, E), weights
    (N, L, S) averaged over heads, (N, num_heads, L, S) if not ``average_attn_weights``, or None when
    not ``need_weights``). Masks: True (bool) = not allowed; float = added to the scores.
    """
    where = "multi_head_attention_forward"
    query, key, value = as_input(query), as_input(key), as_input(value)
    batched = _check_mha_shapes(query, key, value, key_padding_mask, attn_mask, num_heads, where)
    if not batched:
        query, key, value = (ops.unsqueeze(t, 1) for t in (query, key, value))
        if key_padding_mask is not None:
            key_padding_mask = _array(key_padding_mask)[None]
    L, N, E = query.shape
    dtype = query.dtype
    if dtype.kind != "f":
        raise TypeError(f"{where}: query must be floating point, got dtype {dtype}")
    if (
        key_padding_mask is not None
        and attn_mask is not None
        and _array(key_padding_mask).dtype != _array(attn_mask).dtype
    ):
        warnings.warn(
            "Support for mismatched key_padding_mask and attn_mask is deprecated. Use same type "
            "for both instead.",
            UserWarning,
            stacklevel=3,
        )
    key_padding_mask = _float_mask(key_padding_mask, dtype, "key_padding_mask", where)
    if is_causal and attn_mask is None:
        raise RuntimeError(
            "Need attn_mask if specifying the is_causal hint. You may use the Transformer "
            "module method `generate_square_subsequent_mask` to create this mask."
        )
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None  # the causal mask is built below
    else:
        attn_mask = _float_mask(attn_mask, dtype, "attn_mask", where)
        if key_padding_mask is not None:
            is_causal = False
    if E != embed_dim_to_check:
        raise ShapeError(
            f"{where}: was expecting embedding dimension of {embed_dim_to_check}, but got {E} "
            f"(query shape {tuple(query.shape)})"
        )
    head_dim = E // num_heads
    if head_dim * num_heads != E:
        raise ValueError(f"{where}: embed_dim {E} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if key.shape[:2] != value.shape[:2]:
            raise ShapeError(
                f"{where}: key's sequence and batch dims {tuple(key.shape[:2])} do not match "
                f"value's {tuple(value.shape[:2])}"
            )
    elif key.shape != value.shape:
        raise ShapeError(
            f"{where}: key shape {tuple(key.shape)} does not match value shape {tuple(value.shape)}"
        )
    if query.shape[1] != key.shape[1]:
        raise ShapeError(
            f"{where}: query batch size {query.shape[1]} differs from key batch size {key.shape[1]} "
            f"(shapes {tuple(query.shape)} and {tuple(key.shape)})"
        )

    # ---- input projections
    if not use_separate_proj_weight:
        if in_proj_weight is None:
            raise ValueError(f"{where}: use_separate_proj_weight is False but in_proj_weight is None")
        q, k, v = _in_projection_packed(query, key, value, in_proj_weight, in_proj_bias, E)
    else:
        if q_proj_weight is None or k_proj_weight is None or v_proj_weight is None:
            raise ValueError(f"{where}: use_separate_proj_weight is True but q/k/v_proj_weight is None")
        b = (
            (None,) * 3
            if in_proj_bias is None
            else (in_proj_bias[:E], in_proj_bias[E : 2 * E], in_proj_bias[2 * E :])
        )
        q = ops.linear(query, q_proj_weight, b[0])
        k = ops.linear(key, k_proj_weight, b[1])
        v = ops.linear(value, v_proj_weight, b[2])
    S = key.shape[0]

    # ---- masks as (1 or N·H, L, S) additive floats
    if attn_mask is not None:
        if attn_mask.ndim == 2:
            if tuple(attn_mask.shape) != (L, S):
                raise ShapeError(
                    f"{where}: the shape of the 2D attn_mask is {tuple(attn_mask.shape)}, but "
                    f"should be {(L, S)} (L, S)"
                )
            attn_mask = ops.unsqueeze(attn_mask, 0)
        elif tuple(attn_mask.shape) != (N * num_heads, L, S):
            raise ShapeError(
                f"{where}: the shape of the 3D attn_mask is {tuple(attn_mask.shape)}, but should be "
                f"{(N * num_heads, L, S)} (N·num_heads, L, S)"
            )

    def pad_key(mask):  # one more key: 0 (attend) in the additive masks
        return None if mask is None else ops.pad(mask, [(0, 0)] * (mask.ndim - 1) + [(0, 1)])

    if bias_k is not None and bias_v is not None:
        if static_k is not None or static_v is not None:
            raise ValueError(f"{where}: bias_k/bias_v cannot be added to a static key or value")
        k = ops.concatenate([k, ops.broadcast_to(bias_k, (1, N, E))], axis=0)
        v = ops.concatenate([v, ops.broadcast_to(bias_v, (1, N, E))], axis=0)
        attn_mask, key_padding_mask = pad_key(attn_mask), pad_key(key_padding_mask)
    elif bias_k is not None or bias_v is not None:
        raise ValueError(f"{where}: bias_k and bias_v must be given together")

    # ---- split heads: (N·H, L or S, head_dim)
    q = q.reshape(L, N * num_heads, head_dim).swapaxes(0, 1)
    k = _heads(k, static_k, N * num_heads, head_dim, "static_k", where)
    v = _heads(v, static_v, N * num_heads, head_dim, "static_v", where)
    if add_zero_attn:
        zeros = Tensor(xp.zeros((N * num_heads, 1, head_dim), dtype=k.dtype))
        k = ops.concatenate([k, zeros], axis=1)
        v = ops.concatenate([v, zeros], axis=1)
        attn_mask, key_padding_mask = pad_key(attn_mask), pad_key(key_padding_mask)
    S = k.shape[1]
    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (N, S):
            raise ShapeError(
                f"{where}: expected key_padding_mask of shape {(N, S)} (N, S), got "
                f"{tuple(key_padding_mask.shape)}"
            )
        kpm = ops.broadcast_to(key_padding_mask.reshape(N, 1, 1, S), (N, num_heads, 1, S))
        kpm = kpm.reshape(N * num_heads, 1, S)
        attn_mask = kpm if attn_mask is None else attn_mask + kpm
    if not training:
        dropout_p = 0.0
    if not need_weights and is_causal and attn_mask is None:
        attn_mask = _causal(L, S, dtype)

    out, weights = _attend(q, k, v, attn_mask, dropout_p, math.sqrt(1.0 / head_dim), safe=not need_weights)
    out = out.swapaxes(0, 1).reshape(L * N, E)
    out = ops.linear(out, out_proj_weight, out_proj_bias).reshape(L, N, out_proj_weight.shape[0])
    if not need_weights:
        return (out if batched else ops.squeeze(out, 1)), None
    weights = weights.reshape(N, num_heads, L, S)
    if average_attn_weights:
        weights = weights.mean(axis=1)
    if not batched:
        return ops.squeeze(out, 1), ops.squeeze(weights, 0)
    return out, weights


def _in_projection_packed(query, key, value, w, b, E):
    """q, k, v = x W_qᵀ + b_q, … with W = [W_q; W_k; W_v] (3E, E): one matmul for self-attention."""
    if query is key and key is value:
        qkv = ops.linear(query, w, b)
        return qkv[..., :E], qkv[..., E : 2 * E], qkv[..., 2 * E :]
    bq, bkv = (None, None) if b is None else (b[:E], b[E:])
    q = ops.linear(query, w[:E], bq)
    if key is value:
        kv = ops.linear(key, w[E:], bkv)
        return q, kv[..., :E], kv[..., E:]
    bk, bv = (None, None) if b is None else (b[E : 2 * E], b[2 * E :])
    return q, ops.linear(key, w[E : 2 * E], bk), ops.linear(value, w[2 * E :], bv)


def _heads(t, static, nh, head_dim, name, where):
    if static is None:
        return t.reshape(t.shape[0], nh, head_dim).swapaxes(0, 1)
    static = as_input(static)
    if tuple(static.shape[::2]) != (nh, head_dim) or static.ndim != 3:
        raise ShapeError(
            f"{where}: expected {name} of shape ({nh}, S, {head_dim}) (N·num_heads, S, head_dim), "
            f"got {tuple(static.shape)}"
        )
    return static


class NonDynamicallyQuantizableLinear(Linear):
    """The output projection of ``MultiheadAttention``: a plain ``Linear`` (PyTorch's class name)."""


class MultiheadAttention(Module):
    """Multi-head attention (Vaswani et al. 2017) with PyTorch's parameters, masks and outputs.

        MultiHead(Q, K, V) = Concat(head₁, …, head_h) W_oᵀ + b_o,
        headᵢ = softmax((Q W_qᵢᵀ + b_qᵢ)(K W_kᵢᵀ + b_kᵢ)ᵀ / √head_dim + mask)(V W_vᵢᵀ + b_vᵢ)

    Parameters (names and shapes as in PyTorch, so a PyTorch ``state_dict`` loads):
    ``in_proj_weight`` (3E, E) = [W_q; W_k; W_v] and ``in_proj_bias`` (3E,) when kdim = vdim = E;
    otherwise ``q_proj_weight`` (E, E), ``k_proj_weight`` (E, kdim), ``v_proj_weight`` (E, vdim);
    ``out_proj.weight`` (E, E), ``out_proj.bias`` (E,); ``bias_k``/``bias_v`` (1, 1, E) with
    ``add_bias_kv`` (one extra key/value appended). Projection weights start Xavier-uniform, biases at 0,
    ``bias_k``/``bias_v`` Xavier-normal, as in PyTorch.

    forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False) → (output, weights or None). Shapes: query (L, N, E)
    ((N, L, E) with ``batch_first``; (L, E) unbatched), key (S, N, kdim), value (S, N, vdim).
    ``key_padding_mask`` (N, S) and ``attn_mask`` (L, S) or (N·num_heads, L, S): bool True = may not
    attend; float = added to the scores. ``dropout`` acts on the attention weights in training.
    """

    def __init__(
        self,
        embed_dim,
        num_heads,
        dropout=0.0,
        bias=True,
        add_bias_kv=False,
        add_zero_attn=False,
        kdim=None,
        vdim=None,
        batch_first=False,
        device=None,
        dtype=None,
    ):
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(
                f"MultiheadAttention: embed_dim and num_heads must be greater than 0, got "
                f"embed_dim={embed_dim} and num_heads={num_heads} instead"
            )
        if not 0 <= dropout <= 1:
            raise ValueError(f"MultiheadAttention: dropout must be between 0 and 1, got {dropout}")
        dtype = as_dtype(dtype) or get_default_dtype()
        self.embed_dim = int(embed_dim)
        self.kdim = int(kdim) if kdim is not None else self.embed_dim
        self.vdim = int(vdim) if vdim is not None else self.embed_dim
        self._qkv_same_embed_dim = self.kdim == self.embed_dim and self.vdim == self.embed_dim
        self.num_heads = int(num_heads)
        self.dropout = dropout
        self.batch_first = bool(batch_first)
        self.head_dim = self.embed_dim // self.num_heads
        if self.head_dim * self.num_heads != self.embed_dim:
            raise ValueError(
                f"MultiheadAttention: embed_dim must be divisible by num_heads, got "
                f"embed_dim={embed_dim} and num_heads={num_heads}"
            )
        E = self.embed_dim
        if not self._qkv_same_embed_dim:
            self.q_proj_weight = Parameter(xp.empty((E, E), dtype=dtype))
            self.k_proj_weight = Parameter(xp.empty((E, self.kdim), dtype=dtype))
            self.v_proj_weight = Parameter(xp.empty((E, self.vdim), dtype=dtype))
            self.register_parameter("in_proj_weight", None)
        else:
            self.in_proj_weight = Parameter(xp.empty((3 * E, E), dtype=dtype))
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(xp.empty(3 * E, dtype=dtype))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(E, E, bias=bias, dtype=dtype)
        if add_bias_kv:
            self.bias_k = Parameter(xp.empty((1, 1, E), dtype=dtype))
            self.bias_v = Parameter(xp.empty((1, 1, E), dtype=dtype))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = bool(add_zero_attn)
        self._reset_parameters()

    def _reset_parameters(self):
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
        if self.bias_v is not None:
            init.xavier_normal_(self.bias_v)

    def _input(self, x, name, width):
        x = as_input(x)
        dtype = self.out_proj.weight.dtype
        if x.dtype != dtype:
            x = match_float(x, dtype, self)
        if x.ndim not in (2, 3) or x.shape[-1] != width:
            layout = "(N, L, E)" if self.batch_first else "(L, N, E)"
            raise ShapeError(
                f"{self._layer_name()}: got {name} of shape {tuple(x.shape)}, expected {layout} or "
                f"unbatched (L, E) with E = {width}"
            )
        return x

    def forward(
        self,
        query,
        key,
        value,
        key_padding_mask=None,
        need_weights=True,
        attn_mask=None,
        average_attn_weights=True,
        is_causal=False,
    ):
        same_kv, same_qk = key is value, query is key
        query = self._input(query, "query", self.embed_dim)
        key = query if same_qk else self._input(key, "key", self.kdim)
        value = key if same_kv else self._input(value, "value", self.vdim)
        batched = query.ndim == 3
        if self.batch_first and batched:
            query = query.swapaxes(0, 1)
            key = query if same_qk else key.swapaxes(0, 1)
            value = key if same_kv else value.swapaxes(0, 1)
        out, weights = multi_head_attention_forward(
            query,
            key,
            value,
            self.embed_dim,
            self.num_heads,
            self.in_proj_weight,
            self.in_proj_bias,
            self.bias_k,
            self.bias_v,
            self.add_zero_attn,
            self.dropout,
            self.out_proj.weight,
            self.out_proj.bias,
            training=self.training,
            key_padding_mask=key_padding_mask,
            need_weights=need_weights,
            attn_mask=attn_mask,
            use_separate_proj_weight=not self._qkv_same_embed_dim,
            q_proj_weight=self.q_proj_weight,
            k_proj_weight=self.k_proj_weight,
            v_proj_weight=self.v_proj_weight,
            average_attn_weights=average_attn_weights,
            is_causal=is_causal,
        )
        if self.batch_first and batched:
            out = out.swapaxes(0, 1)
        return out, weights

    def extra_repr(self):
        extra = f"embed_dim={self.embed_dim}, num_heads={self.num_heads}"
        if self.dropout:
            extra += f", dropout={self.dropout}"
        if self.batch_first:
            extra += ", batch_first=True"
        return extra

"""Functional forms of the layers and losses (``import shendu.nn.functional as F``), PyTorch's names.

Each function calls one Function from :mod:`shendu.ops` (see there for the derivative), so
``F.relu(x)`` and ``nn.ReLU()(x)`` compute the same thing. Inputs may be Tensors or NumPy arrays.
The Keras-named losses at the end (``categorical_crossentropy`` …) give Keras's numbers.
"""
import warnings

import numpy as np

from .. import ops
from ..backend import xp
from ..errors import ShapeError
from ..ops import dropout as _dropout_ops
from ..ops import embedding as _embedding_ops
from ..ops import loss as _loss
from ..ops import norm as _norm
from ..ops.conv import *  # noqa: F401,F403
from ..ops.conv import __all__ as _conv_all
from ..tensor import Tensor, _to_array

__all__ = ["linear", "relu", "relu6", "leaky_relu", "elu", "gelu", "silu", "hardtanh", "sigmoid", "tanh",
           "softmax", "log_softmax", "softplus", "dropout", "dropout2d", "batch_norm", "layer_norm",
           "group_norm", "instance_norm", "pixel_shuffle", "pixel_unshuffle",
           "embedding", "one_hot", "pad", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy", "nll_loss", "kl_div",
           "categorical_crossentropy", "sparse_categorical_crossentropy", "binary_crossentropy",
           "flatten", "conv_output_length", "same_padding", "padded_pool", "masked_mean"] + list(_conv_all)


def _t(x):
    return x if isinstance(x, Tensor) else Tensor(_to_array(x))


def _arr(x):
    """A non-differentiable argument (class weights, running statistics) as an array, or None."""
    if x is None:
        return None
    return x.array if isinstance(x, Tensor) else xp.asarray(x)


def _legacy_reduction(size_average, reduce, reduction):
    """PyTorch's deprecated ``size_average``/``reduce`` flags mapped to ``reduction``."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    return "none" if not reduce else ("mean" if size_average else "sum")


# ----- layers -------------------------------------------------------------------------------------
def linear(input, weight, bias=None):  # noqa: A002
    """y = x Wᵀ + b with W of shape (out_features, in_features) (one fused Function)."""
    return ops.linear(_t(input), weight, bias)


def relu(input, inplace=False):  # noqa: A002
    """max(x, 0)."""
    return ops.relu(_t(input))


def relu6(input, inplace=False):  # noqa: A002
    """min(max(x, 0), 6)."""
    return ops.clip(_t(input), 0.0, 6.0)


def leaky_relu(input, negative_slope=0.01, inplace=False):  # noqa: A002
    """x if x > 0 else negative_slope·x."""
    return ops.leaky_relu(_t(input), negative_slope)


def elu(input, alpha=1.0, inplace=False):  # noqa: A002
    """x if x > 0 else α(eˣ − 1)."""
    return ops.elu(_t(input), alpha)


def gelu(input, approximate="none"):  # noqa: A002
    """x·Φ(x); ``approximate="tanh"`` for the tanh approximation."""
    return ops.gelu(_t(input), approximate)


def silu(input, inplace=False):  # noqa: A002
    """x·σ(x)."""
    x = _t(input)
    return x * ops.sigmoid(x)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):  # noqa: A002
    return ops.clip(_t(input), min_val, max_val)


def sigmoid(input):  # noqa: A002
    """1 / (1 + e^(−x))."""
    return ops.sigmoid(_t(input))


def tanh(input):  # noqa: A002
    return ops.tanh(_t(input))


def softmax(input, dim=None, dtype=None, *, axis=None):  # noqa: A002
    """e^(xᵢ) / Σⱼ e^(xⱼ) along ``dim`` (PyTorch's legacy default axis when dim is None)."""
    from .activation import softmax_dim

    x = _t(input) if dtype is None else _t(input).to(dtype)
    dim = axis if axis is not None else dim
    return ops.softmax(x, axis=dim if dim is not None else softmax_dim(x.ndim))


def log_softmax(input, dim=None, dtype=None, *, axis=None):  # noqa: A002
    """xᵢ − log Σⱼ e^(xⱼ) along ``dim`` (stable)."""
    from .activation import softmax_dim

    x = _t(input) if dtype is None else _t(input).to(dtype)
    dim = axis if axis is not None else dim
    return ops.log_softmax(x, axis=dim if dim is not None else softmax_dim(x.ndim, "log_softmax"))


def softplus(input, beta=1.0, threshold=20.0):  # noqa: A002
    """(1/β)·log(1 + e^(βx)), linear above ``threshold``."""
    return ops.softplus(_t(input), beta, threshold)


def mish(input, inplace=False):  # noqa: A002
    """mish(x) = x · tanh(sp), sp = softplus(x); derivative tanh(sp) + x · sigmoid(x) · (1 − tanh²(sp))."""
    x = _t(input)
    return x * ops.tanh(ops.softplus(x))


def flatten(input, start_dim=0, end_dim=-1):  # noqa: A002
    return ops.flatten(_t(input), start_dim, end_dim)


def dropout(input, p=0.5, training=True, inplace=False):  # noqa: A002
    """Inverted dropout: zero each element with probability p, scale the rest by 1/(1 − p); identity
    when ``training`` is False or p = 0."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    x = _t(input)
    if not training or p == 0:
        return x
    return _dropout_ops.Dropout.apply(x, p=p)


def dropout2d(input, p=0.5, training=True, inplace=False):  # noqa: A002
    """Channel dropout for (N, C, H, W): whole feature maps are zeroed together."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    x = _t(input)
    if not training or p == 0:
        return x
    return _dropout_ops.Dropout.apply(x, p=p, channel_dims=max(x.ndim - 2, 0))


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,  # noqa: A002
               momentum=0.1, eps=1e-5):
    """Batch normalization over (N, C, *): y = γ·(x − μ)/√(σ² + ε) + β per channel.

    When ``training``, μ and σ² are batch statistics and ``running_mean``/``running_var`` (if given)
    are updated in place with ``momentum``; otherwise the running statistics are used.
    """
    x = _t(input)
    if not training and (running_mean is None or running_var is None):
        raise ValueError("batch_norm: evaluation mode needs running_mean and running_var")
    return _norm.BatchNorm.apply(x, weight, bias, running_mean=_arr(running_mean),
                                 running_var=_arr(running_var), training=training,
                                 momentum=0.0 if momentum is None else momentum, eps=eps)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):  # noqa: A002
    """Normalize each sample over its last ``len(normalized_shape)`` dims: y = γ·(x − μ)/√(σ² + ε) + β."""
    x = _t(input)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if tuple(x.shape[x.ndim - len(shape):]) != shape:
        raise ShapeError(f"layer_norm: input of shape {tuple(x.shape)} does not end with normalized_shape "
                         f"{shape}")
    return _norm.LayerNorm.apply(x, weight, bias, normalized_ndim=len(shape), eps=eps)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):  # noqa: A002
    """Normalize each sample over groups of C/num_groups channels; see ``nn.GroupNorm``."""
    x = _t(input)
    if x.ndim < 2 or x.shape[1] % num_groups:
        raise ShapeError(f"group_norm: input of shape {tuple(x.shape)} needs (N, C, *) with C divisible by "
                         f"num_groups={num_groups}")
    return _norm.GroupNorm.apply(x, weight, bias, num_groups=int(num_groups), eps=eps)


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,  # noqa: A002
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Normalize each (sample, channel) of (N, C, *) over its positions; see ``nn.InstanceNorm2d``.

    ``use_input_stats``: the per-instance statistics are used (and ``running_mean``/``running_var``, if
    given, move towards their batch mean: running ← (1 − momentum)·running + momentum·mean over N, the
    variance unbiased); otherwise the running statistics are used, per channel.
    """
    x = _t(input)
    if x.ndim < 3:
        raise ShapeError(f"instance_norm: expected (N, C, *) input with at least one spatial axis, got "
                         f"shape {tuple(x.shape)}")
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise ValueError("instance_norm: use_input_stats=False needs running_mean and running_var")
        return _norm.BatchNorm.apply(x, weight, bias, running_mean=_arr(running_mean),
                                     running_var=_arr(running_var), training=False, eps=eps)
    if running_mean is not None or running_var is not None:
        a = x.numpy().reshape(x.shape[0], x.shape[1], -1)
        M = a.shape[2]
        if M <= 1:
            raise ValueError(f"instance_norm: expected more than 1 spatial element when training, got input "
                             f"of shape {tuple(x.shape)}")
        for buf, stat in ((running_mean, a.mean(axis=2)), (running_var, a.var(axis=2) * (M / (M - 1)))):
            if buf is not None:
                arr = _arr(buf)
                arr *= 1 - momentum
                arr += momentum * stat.mean(axis=0)
    return _norm.GroupNorm.apply(x, weight, bias, num_groups=x.shape[1], eps=eps)


def pixel_shuffle(input, upscale_factor):  # noqa: A002
    """(*, C·r², H, W) → (*, C, H·r, W·r): out[..., c, h·r + i, w·r + j] = in[..., c·r² + i·r + j, h, w]."""
    x = _t(input)
    r = int(upscale_factor)
    if x.ndim < 3 or r < 1 or x.shape[-3] % (r * r):
        raise ShapeError(f"pixel_shuffle: input of shape {tuple(x.shape)} needs (*, C, H, W) with C "
                         f"divisible by upscale_factor² = {r * r}")
    *lead, c, h, w = x.shape
    n = len(lead)
    y = ops.reshape(x, (*lead, c // (r * r), r, r, h, w))
    y = ops.permute(y, *range(n), n, n + 3, n + 1, n + 4, n + 2)
    return ops.reshape(y, (*lead, c // (r * r), h * r, w * r))


def pixel_unshuffle(input, downscale_factor):  # noqa: A002
    """(*, C, H·r, W·r) → (*, C·r², H, W), the inverse of :func:`pixel_shuffle`."""
    x = _t(input)
    r = int(downscale_factor)
    if x.ndim < 3 or r < 1 or x.shape[-1] % r or x.shape[-2] % r:
        raise ShapeError(f"pixel_unshuffle: input of shape {tuple(x.shape)} needs (*, C, H, W) with H and W "
                         f"divisible by downscale_factor = {r}")
    *lead, c, h, w = x.shape
    n = len(lead)
    y = ops.reshape(x, (*lead, c, h // r, r, w // r, r))
    y = ops.permute(y, *range(n), n, n + 2, n + 4, n + 1, n + 3)
    return ops.reshape(y, (*lead, c * r * r, h // r, w // r))


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,  # noqa: A002
              scale_grad_by_freq=False, sparse=False):
    """Rows of ``weight`` picked by the integer indices in ``input``: out[...] = weight[input[...]].

    ``max_norm``: the looked-up rows of ``weight`` longer than it (in ``norm_type``-norm) are first
    scaled down to it, in place; ``scale_grad_by_freq`` divides each row's gradient by its count.
    """
    if sparse:
        raise NotImplementedError("embedding: sparse=True (sparse gradients) is not supported")
    idx = _arr(input)
    if padding_idx is not None and padding_idx < 0:
        padding_idx += weight.shape[0]
    if max_norm is not None:
        _embedding_ops.renorm_rows_(weight.numpy() if isinstance(weight, Tensor) else weight, idx, max_norm,
                                    norm_type)
    return _embedding_ops.Embedding.apply(weight, idx, padding_idx=padding_idx,
                                          scale_grad_by_freq=scale_grad_by_freq)


def one_hot(tensor, num_classes=-1):
    """Integer class indices (any shape) → int64 tensor with a trailing axis of ``num_classes`` 0/1 values."""
    idx = _arr(tensor)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expected integer class indices, got dtype {idx.dtype}")
    n = int(idx.max()) + 1 if num_classes == -1 else num_classes
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise ValueError(f"one_hot: class values must lie in [0, {n}), got min {idx.min()} max {idx.max()}")
    return Tensor((idx[..., None] == xp.arange(n)).astype(np.int64))


def pad(input, pad, mode="constant", value=None):  # noqa: A002
    """Pad the last len(pad)/2 dims; ``pad`` lists (left, right) of the LAST dim first, as in PyTorch.

    ``mode``: "constant" (with ``value``, default 0), "reflect", "replicate" or "circular".
    """
    x = _t(input)
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad: the pad tuple {tuple(pad)} needs an even length of at most 2·{x.ndim}")
    width = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        width[x.ndim - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
    if mode == "constant":
        if any(lo < 0 or hi < 0 for lo, hi in width):
            key = tuple(slice(-lo if lo < 0 else None, hi if hi < 0 else None) for lo, hi in width)
            x = x[key]
            width = [(max(lo, 0), max(hi, 0)) for lo, hi in width]
        return ops.pad(x, width, value=0.0 if value is None else value)
    np_mode = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}.get(mode)
    if np_mode is None:
        raise ValueError(f"pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', got {mode!r}")
    for d, (lo, hi) in enumerate(width):
        widest = max(lo, hi)
        if (mode == "reflect" and widest >= x.shape[d]) or (mode == "circular" and widest > x.shape[d]):
            raise ValueError(f"pad: padding ({lo}, {hi}) of dim {d} with mode={mode!r} must be "
                             f"{'smaller than' if mode == 'reflect' else 'at most'} that dim's size "
                             f"{x.shape[d]} (input of shape {tuple(x.shape)})")
        if lo or hi:
            idx = np.pad(np.arange(x.shape[d]), (lo, hi), mode=np_mode)
            x = ops.getitem(x, (slice(None),) * d + (idx,))
    return x


def masked_mean(input, mask, axis, keepdims=False):  # noqa: A002
    """Mean of ``input`` over ``axis`` counting only the positions where ``mask`` is true:
    Σ m·x / Σ m, with ``mask`` broadcastable against ``input`` (e.g. (N, T, 1) against (N, T, C))."""
    x = _t(input)
    m = Tensor(np.asarray(_arr(mask), dtype=x.dtype))
    return (x * m).sum(axis=axis, keepdims=keepdims) / m.sum(axis=axis, keepdims=keepdims)


def normalize(input, p=2.0, dim=1, eps=1e-12):  # noqa: A002
    """v / max(‖v‖_p, ε) along ``dim`` (PyTorch's ``F.normalize``)."""
    x = _t(input)
    norm = ops.sum(ops.abs(x) ** p, axis=dim, keepdims=True) ** (1.0 / p)
    return x / ops.clip(norm, eps, None)


def attention_mask_bias(batch, query_len, key_len, query_mask=None, key_masks=(), attn_mask=None,
                        causal=False, dtype="float32", masked_value=-1e9):
    """An additive attention mask (batch, 1, L, S) from boolean masks, True meaning "may attend", or None
    when no mask is given: ``query_mask`` (batch, L), each of ``key_masks`` (batch, S), ``attn_mask``
    (batch, L, S) or (L, S), ``causal`` query i sees keys 0..i. Where all allow it the bias is 0, elsewhere
    ``masked_value``; a finite one (−1e9) makes a query that may see no key attend uniformly, not NaN."""
    parts = [] if query_mask is None else [np.asarray(_arr(query_mask), dtype=bool)[:, :, None]]
    parts += [np.asarray(_arr(m), dtype=bool)[:, None, :] for m in key_masks if m is not None]
    if attn_mask is not None:
        am = np.asarray(_arr(attn_mask), dtype=bool)
        if am.ndim not in (2, 3):
            raise ValueError(f"attention_mask_bias: attn_mask must be (batch, L, S) or (L, S), got shape "
                             f"{am.shape}")
        parts.append(am)
    if causal:
        parts.append(np.tril(np.ones((query_len, key_len), dtype=bool)))
    if not parts:
        return None
    allowed = np.ones((batch, query_len, key_len), dtype=bool)
    for part in parts:
        allowed = allowed & part
    return Tensor(np.where(allowed[:, None], 0.0, masked_value).astype(dtype))


def standardize(input, mean, variance, axis=(-1,), eps=1e-7, invert=False):  # noqa: A002
    """y = (x − mean) / max(√variance, ε), with ``mean`` and ``variance`` laid out along the axes ``axis`` of
    ``input`` (one value for all when they hold one); ``invert=True`` maps back: x = mean + y·max(√var, ε)."""
    x = _t(input)
    axes = {a % x.ndim for a in axis}
    shape = tuple(x.shape[a] if a in axes else 1 for a in range(x.ndim))

    def stat(v):
        v = np.asarray(_arr(v), dtype=x.dtype)
        if v.size <= 1:
            return Tensor(v.reshape(()))
        return Tensor(v.reshape(shape) if v.size == np.prod(shape) else np.broadcast_to(v, shape))

    mean, denom = stat(mean), ops.clip(ops.sqrt(stat(variance)), eps, None)
    return mean + x * denom if invert else (x - mean) / denom


def mask_steps(input, mask_value=0.0):  # noqa: A002
    """(x·keep[..., None], keep): ``keep`` (all axes but the last) is true at the steps where some feature
    differs from ``mask_value``; the other steps are zeroed."""
    x = _t(input)
    keep = np.any(x.array != mask_value, axis=-1)
    return x * Tensor(keep[..., None].astype(x.dtype)), Tensor(keep)


__all__ += ["normalize", "attention_mask_bias", "standardize", "mask_steps"]


# ----- TensorFlow-style "same" padding and pooling ---------------------------------------------------
def conv_output_length(length, kernel, padding, stride, dilation=1):
    """Output length of a convolution or pooling window: "valid" ⌊(n − d(k−1) − 1)/s⌋ + 1,
    "same"/"causal" ⌈n / s⌉ (None stays None)."""
    if length is None:
        return None
    if padding in ("same", "causal"):
        return -(-length // stride)
    return max(0, (length - dilation * (kernel - 1) - 1) // stride + 1)


def same_padding(length, kernel, stride, dilation=1):
    """TensorFlow's "same" padding (before, after) of one axis: total = max((⌈n/s⌉ − 1)s + d(k−1) + 1 − n, 0),
    the odd cell after."""
    out = -(-length // stride)
    total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - length, 0)
    return total // 2, total - total // 2


def conv_transpose_padding(kernel, stride, padding, output_padding=None):
    """(nn padding, nn output_padding, cells to crop at the end) of one axis of a TensorFlow-style
    transposed convolution, whose output length :func:`conv_transpose_output_length` gives.

    Without ``output_padding``: "same" pads p = ⌊max(k − s, 0)/2⌋ and "valid" 0; the nn output
    (n − 1)s − 2p + k falls short of the target by d = s − k + 2p ("same") or max(s − k, 0) ("valid"):
    add d as output_padding when d ≥ 0, crop −d cells when d < 0. With ``output_padding`` given:
    p = ⌊(k − 1)/2⌋ ("same") or 0, that output_padding, no crop.
    """
    if output_padding is not None:
        return ((kernel - 1) // 2 if padding == "same" else 0), output_padding, 0
    if padding == "same":
        pad = max(kernel - stride, 0) // 2
        diff = stride - kernel + 2 * pad
    else:
        pad, diff = 0, max(stride - kernel, 0)
    return pad, max(diff, 0), max(-diff, 0)


def conv_transpose_output_length(length, kernel, stride, padding, output_padding=None):
    """Output length of a TensorFlow-style transposed convolution: n·s ("same"), n·s + max(k − s, 0)
    ("valid"); with ``output_padding`` (n − 1)s + k − 2p + output_padding, p as in
    :func:`conv_transpose_padding` (None stays None)."""
    if length is None:
        return None
    if output_padding is not None:
        pad = (kernel - 1) // 2 if padding == "same" else 0
        return (length - 1) * stride + kernel - 2 * pad + output_padding
    return length * stride if padding == "same" else length * stride + max(kernel - stride, 0)


__all__ += ["conv_transpose_padding", "conv_transpose_output_length"]


def padded_pool(input, kind, kernel_size, stride, padding):  # noqa: A002
    """Max (``kind="max"``) or average (``"avg"``) pooling of (N, C, L) or (N, C, H, W) after uneven padding
    ``padding`` = [(before, after) per spatial axis], as TensorFlow's "SAME" pooling does.

    Max pads with −∞, so padded cells never win. Average divides each window's sum by the number of
    cells of the window that lie inside the input: y = Σ_{window ∩ input} x / |window ∩ input|.
    """
    x = _t(input)
    rank = x.ndim - 2
    pools = {("max", 1): max_pool1d, ("max", 2): max_pool2d,  # noqa: F405
             ("avg", 1): avg_pool1d, ("avg", 2): avg_pool2d}  # noqa: F405
    if (kind, rank) not in pools:
        raise ValueError(f"padded_pool: kind must be 'max' or 'avg' on (N, C, L) or (N, C, H, W) input, got "
                         f"kind={kind!r} and an input of shape {tuple(x.shape)}")
    pool = pools[kind, rank]
    widths = [(0, 0), (0, 0)] + [tuple(int(v) for v in p) for p in padding]
    if kind == "max":
        return pool(ops.pad(x, widths, value=-np.inf), kernel_size, stride)
    ones = Tensor(np.ones((1, 1) + tuple(x.shape[2:]), dtype=x.dtype))
    return pool(ops.pad(x, widths), kernel_size, stride) / pool(ops.pad(ones, widths), kernel_size, stride)


# ----- losses -------------------------------------------------------------------------------------
def _check_broadcast(name, x, y):
    if x.shape != y.shape:
        warnings.warn(f"{name}: target shape {tuple(y.shape)} differs from input shape {tuple(x.shape)}; "
                      "they will be broadcast together, which is probably not what you want (e.g. (N, 1) "
                      "against (N,) gives (N, N)). Make the shapes equal.", UserWarning, stacklevel=3)


def _pointwise(name, kind, param, input, target, reduction):  # noqa: A002
    _loss.check_reduction(reduction, name)
    x, y = _t(input), target if isinstance(target, Tensor) else _t(target)
    _check_broadcast(name, x, y)
    if y.dtype != x.dtype and y.dtype.kind != "f" or (y.dtype.kind == "f" and y.dtype != x.dtype
                                                      and not y.requires_grad):
        y = Tensor(y.array.astype(x.dtype))
    return _loss.PointwiseLoss.apply(x, y, kind=kind, param=param, reduction=reduction)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):  # noqa: A002
    """Mean squared error: ℓ = (x − y)²."""
    return _pointwise("mse_loss", "mse", 1.0, input, target,
                      _legacy_reduction(size_average, reduce, reduction))


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean"):  # noqa: A002
    """Mean absolute error: ℓ = |x − y|."""
    return _pointwise("l1_loss", "l1", 1.0, input, target, _legacy_reduction(size_average, reduce, reduction))


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):  # noqa: A002
    """ℓ = ½(x − y)²/β where |x − y| < β, else |x − y| − ½β."""
    return _pointwise("smooth_l1_loss", "smooth_l1", float(beta), input, target,
                      _legacy_reduction(size_average, reduce, reduction))


def huber_loss(input, target, reduction="mean", delta=1.0):  # noqa: A002
    """ℓ = ½(x − y)² where |x − y| < δ, else δ·(|x − y| − ½δ)."""
    return _pointwise("huber_loss", "huber", float(delta), input, target, reduction)


def _float_target(target, dtype):
    y = target if isinstance(target, Tensor) else _t(target)
    if y.dtype != dtype and not y.requires_grad:
        y = Tensor(y.array.astype(dtype))
    return y


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,  # noqa: A002
                         reduction="mean"):
    """ℓ = −w·[y·log p + (1 − y)·log(1 − p)] for probabilities p (logs clamped at −100)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _loss.check_reduction(reduction, "binary_cross_entropy")
    x = _t(input)
    return _loss.BinaryCrossEntropy.apply(x, _float_target(target, x.dtype), weight=_arr(weight),
                                          reduction=reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,  # noqa: A002
                                     reduction="mean", pos_weight=None):
    """ℓ = −w·[pw·y·log σ(x) + (1 − y)·log(1 − σ(x))] for logits x, computed without overflow."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _loss.check_reduction(reduction, "binary_cross_entropy_with_logits")
    x = _t(input)
    return _loss.BinaryCrossEntropyWithLogits.apply(x, _float_target(target, x.dtype), weight=_arr(weight),
                                                    pos_weight=_arr(pos_weight), reduction=reduction)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,  # noqa: A002
                  reduction="mean", label_smoothing=0.0):
    """Cross-entropy of logits (N, C) or (N, C, d1, …) against class indices or class probabilities.

    ℓᵢ = −w_tᵢ·log softmax(xᵢ)_tᵢ (log-softmax + NLL in one Function); "mean" divides by the summed
    weights of the targets. Gradient: softmax(x) − target.
    """
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _loss.check_reduction(reduction, "cross_entropy")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    x = _t(input)
    if isinstance(target, Tensor):
        t = target if target.dtype.kind == "f" else target.array
    else:
        t = _to_array(target)
        if t.dtype.kind == "f":
            t = t.astype(x.dtype)
    if isinstance(t, Tensor) and t.dtype != x.dtype and not t.requires_grad:
        t = t.array.astype(x.dtype)
    return _loss.CrossEntropy.apply(x, t, weight=_arr(weight), ignore_index=ignore_index,
                                    label_smoothing=label_smoothing, reduction=reduction)


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,  # noqa: A002
             reduction="mean"):
    """ℓᵢ = −w_tᵢ·xᵢ,tᵢ for log-probabilities x; "mean" divides by the summed weights of the targets."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _loss.check_reduction(reduction, "nll_loss")
    return _loss.NLL.apply(_t(input), _arr(target), weight=_arr(weight), ignore_index=ignore_index,
                           reduction=reduction)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):  # noqa: A002
    """ℓ = y·(log y − x) for log-probabilities x; "batchmean" gives the KL divergence per sample."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _loss.check_reduction(reduction, "kl_div", extra=("batchmean",))
    x = _t(input)
    return _loss.KLDiv.apply(x, _float_target(target, x.dtype), reduction=reduction, log_target=log_target)


# ----- Keras-named losses (Keras's clipping and conventions; used by shendu.keras) ------------------
_EPSILON = 1e-7  # Keras's fuzz factor (shendu.keras.backend.set_epsilon changes it)


def keras_epsilon(value=None):
    """The ε of the Keras-named losses (1e-7); ``keras_epsilon(value)`` sets it and returns the new one."""
    global _EPSILON
    if value is not None:
        _EPSILON = float(value)
    return _EPSILON


def _keras_pair(y_true, y_pred):
    """Keras's shape rule: a trailing size-1 axis on one side is squeezed/added to match the other."""
    y_pred = _t(y_pred)
    y_true = y_true if isinstance(y_true, Tensor) else _t(y_true)
    if y_true.ndim == y_pred.ndim - 1 and y_pred.shape[-1] == 1:
        y_true = y_true.reshape(y_true.shape + (1,))
    elif y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
        y_true = y_true.reshape(y_true.shape[:-1])
    return y_true, y_pred


def _batch_reduce(per_sample, reduction):
    if reduction == "none":
        return per_sample
    if reduction == "sum":
        return per_sample.sum()
    return per_sample.mean()


def _classes_to_axis1(t):
    return t if t.ndim <= 2 else t.permute(0, t.ndim - 1, *range(1, t.ndim - 1))


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1,
                             reduction="mean"):
    """Keras's categorical cross-entropy with one-hot (or probability) ``y_true``, classes on the last axis.

    ℓᵢ = −Σc yᵢc·log p̂ᵢc where p̂ = clip(p / Σp, 1e-7, 1 − 1e-7) (from_logits: log p̂ = log_softmax(x)).
    ``reduction="mean"`` averages over the batch (Keras's "sum_over_batch_size"); "none" gives ℓᵢ.
    """
    y_true, y_pred = _keras_pair(y_true, y_pred)
    y = y_true.array.astype(y_pred.dtype) if not y_true.requires_grad else y_true
    C = y_pred.shape[axis]
    if label_smoothing:
        y = y * (1 - label_smoothing) + label_smoothing / C
    if tuple(y.shape) != tuple(y_pred.shape):
        raise ShapeError(f"categorical_crossentropy: y_true shape {tuple(y.shape)} differs from y_pred shape "
                         f"{tuple(y_pred.shape)}; for integer labels use sparse_categorical_crossentropy")
    if from_logits:
        logp = ops.log_softmax(y_pred, axis=axis)
    else:
        p = y_pred / y_pred.sum(axis=axis, keepdims=True)
        logp = ops.log(ops.clip(p, _EPSILON, 1 - _EPSILON))
    per_sample = -(logp * y).sum(axis=axis)
    return _batch_reduce(per_sample, reduction)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, axis=-1, ignore_class=None,
                                    reduction="mean"):
    """Keras's cross-entropy with integer labels: ℓᵢ = −log p̂ᵢ,yᵢ (p̂ clipped as in categorical_crossentropy).

    ``y_true`` may be (N,) or (N, 1). Every label must lie in [0, C) (a ValueError names the first that does
    not), except that with ``ignore_class=k`` (Keras's "void" class, often -1 or 255) labels k count as
    zero loss and are left out of the mean. No label is ignored by default (no PyTorch ``ignore_index``).
    """
    y_pred = _t(y_pred)
    t = _arr(y_true)
    if t.ndim == y_pred.ndim and t.shape[-1] == 1:
        t = t[..., 0]
    t = t.astype(np.int64)
    if ignore_class is not None and (
        isinstance(ignore_class, (bool, np.bool_)) or not isinstance(ignore_class, (int, np.integer))
    ):
        raise TypeError(f"sparse_categorical_crossentropy: ignore_class must be an integer class id or None, "
                        f"got {ignore_class!r}")
    C = y_pred.shape[axis]
    kept = t if ignore_class is None else t[t != ignore_class]
    outside = kept[(kept < 0) | (kept >= C)]
    if outside.size:
        hint = ("" if ignore_class is not None else
                "; to leave a label out of the loss, pass ignore_class=<label>")
        bad = int(outside.flat[0])
        raise ValueError(f"sparse_categorical_crossentropy: received a label value of {bad}, "
                         f"which is outside the valid range of [0, {C}) for predictions of {C} classes"
                         f"{hint}")
    ignore = -1 if ignore_class is None else int(ignore_class)  # -1: no label can equal it any more
    if from_logits:
        logp = _classes_to_axis1(ops.log_softmax(y_pred, axis=axis))
    else:
        p = y_pred / y_pred.sum(axis=axis, keepdims=True)
        logp = _classes_to_axis1(ops.log(ops.clip(p, _EPSILON, 1 - _EPSILON)))
    per_sample = _loss.NLL.apply(logp, t, ignore_index=ignore, reduction="none")
    if reduction == "mean" and ignore_class is not None:
        return per_sample.sum() / max(int((t != ignore_class).sum()), 1)
    return _batch_reduce(per_sample, reduction)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1, reduction="mean"):
    """Keras's binary cross-entropy: ℓ = −[y·log p̂ + (1 − y)·log(1 − p̂)], p̂ = clip(p, 1e-7, 1 − 1e-7),
    averaged over the last axis (from_logits: the stable logits form, unclipped)."""
    y_true, y_pred = _keras_pair(y_true, y_pred)
    y = y_true.array.astype(y_pred.dtype) if not y_true.requires_grad else y_true
    if label_smoothing:
        y = y * (1 - label_smoothing) + 0.5 * label_smoothing
    y = _t(y)
    if from_logits:
        el = _loss.BinaryCrossEntropyWithLogits.apply(y_pred, y, reduction="none")
    else:
        p = ops.clip(y_pred, _EPSILON, 1 - _EPSILON)
        el = -(y * ops.log(p) + (1 - y) * ops.log(1 - p))
    per_sample = el.mean(axis=axis) if el.ndim >= 2 else el
    return _batch_reduce(per_sample, reduction)


def sample_weighted_reduce(per_sample, sample_weight=None, reduction="mean"):
    """The one sample-weighted reduction of per-sample losses, shared by nn, train and keras.

    ℓᵢ is first averaged over every axis but the batch axis; then with weights wᵢ
    "mean" gives Σᵢ wᵢℓᵢ / N (Keras's "sum_over_batch_size"; N counts every sample, weighted or not),
    "sum" gives Σᵢ wᵢℓᵢ and "none" gives wᵢℓᵢ. ``sample_weight`` may be None, one weight per sample,
    or an array broadcastable against the per-sample values.
    """
    per = _t(per_sample)
    if per.ndim > 1:
        per = per.reshape(per.shape[0], -1).mean(axis=1)
    if sample_weight is not None:
        w = np.asarray(getattr(sample_weight, "array", sample_weight), dtype=per.dtype)
        per = per * Tensor(w.reshape(per.shape) if w.size == per.array.size else w)
    if reduction == "none":
        return per
    if reduction == "sum":
        return per.sum()
    if reduction not in ("mean", "sum_over_batch_size"):
        raise ValueError(f"sample_weighted_reduce: reduction must be 'mean' (or 'sum_over_batch_size'), "
                         f"'sum' or 'none', got {reduction!r}")
    return per.sum() / max(1, per.shape[0]) if per.ndim else per


def _keras_float_pair(y_true, y_pred):
    """``_keras_pair`` with y_true cast to y_pred's dtype."""
    y_true, y_pred = _keras_pair(y_true, y_pred)
    if y_true.dtype != y_pred.dtype:
        y_true = ops.cast(y_true, y_pred.dtype)
    return y_true, y_pred


def _keras_loss(formula):
    """A Keras-named loss ``fn(y_true, y_pred, ..., reduction="mean")`` from ``formula(y, p, ...)`` giving
    one value per sample (the mean over the last axis taken by the formula)."""
    def loss(y_true, y_pred, *args, reduction="mean", **kwargs):
        y_true, y_pred = _keras_float_pair(y_true, y_pred)
        return _batch_reduce(formula(y_true, y_pred, *args, **kwargs), reduction)

    loss.__name__ = loss.__qualname__ = formula.__name__
    loss.__doc__ = formula.__doc__
    return loss


def _last_mean(t):
    return t.mean(axis=-1) if t.ndim >= 2 else t


@_keras_loss
def mean_squared_error(y, p):
    """Keras's mean squared error: mean over the last axis of (y − p)²."""
    return _last_mean(mse_loss(p, y, reduction="none"))


@_keras_loss
def mean_absolute_error(y, p):
    """Keras's mean absolute error: mean over the last axis of |y − p|."""
    return _last_mean(l1_loss(p, y, reduction="none"))


@_keras_loss
def mean_absolute_percentage_error(y, p):
    """100 · mean |y − p| / max(|y|, ε), ε = 1e-7."""
    return _last_mean(ops.abs(y - p) / ops.clip(ops.abs(y), _EPSILON, None)) * 100.0


@_keras_loss
def mean_squared_logarithmic_error(y, p):
    """mean (log(max(p, ε) + 1) − log(max(y, ε) + 1))²."""
    d = ops.log(ops.clip(p, _EPSILON, None) + 1.0) - ops.log(ops.clip(y, _EPSILON, None) + 1.0)
    return _last_mean(d * d)


@_keras_loss
def huber(y, p, delta=1.0):
    """Keras's Huber loss: mean of ½x² where |x| ≤ δ, δ(|x| − ½δ) elsewhere (x = p − y)."""
    return _last_mean(huber_loss(p, y, reduction="none", delta=delta))


@_keras_loss
def kl_divergence(y, p):
    """Σ y·log(y / p) over the last axis, both clipped to [ε, 1]."""
    y, p = ops.clip(y, _EPSILON, 1.0), ops.clip(p, _EPSILON, 1.0)
    return ops.sum(y * ops.log(y / p), axis=-1)


def _signed(y):
    """Labels in {0, 1} become {−1, 1}, as Keras's hinge losses do."""
    data = y.array
    return y * 2.0 - 1.0 if data.size and np.all((data == 0) | (data == 1)) else y


@_keras_loss
def hinge(y, p):
    """mean max(1 − y·p, 0), y in {−1, 1} (0/1 labels converted)."""
    return _last_mean(ops.relu(1.0 - _signed(y) * p))


@_keras_loss
def squared_hinge(y, p):
    """mean max(1 − y·p, 0)²."""
    h = ops.relu(1.0 - _signed(y) * p)
    return _last_mean(h * h)


@_keras_loss
def categorical_hinge(y, p):
    """max(max_c (1 − y)·p − Σ y·p + 1, 0)."""
    return ops.relu(ops.max((1.0 - y) * p, axis=-1) - ops.sum(y * p, axis=-1) + 1.0)


@_keras_loss
def log_cosh(y, p):
    """mean log(cosh(x)) = x + softplus(−2x) − log 2, x = p − y."""
    x = p - y
    return _last_mean(x + ops.softplus(x * -2.0) - float(np.log(2.0)))


@_keras_loss
def poisson(y, p):
    """mean p − y·log(p + ε)."""
    return _last_mean(p - y * ops.log(p + _EPSILON))


@_keras_loss
def cosine_similarity(y, p, axis=-1):
    """−Σ ŷ·p̂ with both L2-normalised along ``axis`` (−1 means perfectly aligned)."""
    def unit(v):
        return v / ops.sqrt(ops.clip(ops.sum(v * v, axis=axis, keepdims=True), 1e-12, None))

    return -ops.sum(unit(y) * unit(p), axis=axis)


__all__ += ["sample_weighted_reduce", "keras_epsilon", "mean_squared_error", "mean_absolute_error",
            "mean_absolute_percentage_error", "mean_squared_logarithmic_error", "huber", "kl_divergence",
            "hinge", "squared_hinge", "categorical_hinge", "log_cosh", "poisson", "cosine_similarity"]


# ----- attention (defined in shendu.nn.attention) ----------------------------------------------------
from .attention import (  # noqa: E402
    attention_with_weights,
    multi_head_attention_forward,
    scaled_dot_product_attention,
)

__all__ += ["scaled_dot_product_attention", "multi_head_attention_forward", "attention_with_weights"]

# ----- 3-D convolution (a composition of conv2d, defined in shendu.nn.conv) ---------------------------
from .conv import conv3d  # noqa: E402

__all__ += ["conv3d"]


# ----- the rest of Keras's named activations (PyTorch's names) ---------------------------------------
_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772, 1.0507009873554805


def selu(input, inplace=False):  # noqa: A002
    """scale·elu(x, α) with α = 1.6732632…, scale = 1.0507009… (self-normalizing)."""
    return elu(input, _SELU_ALPHA) * _SELU_SCALE


def softsign(input):  # noqa: A002
    """x / (1 + |x|); derivative 1 / (1 + |x|)²."""
    x = _t(input)
    return x / (ops.abs(x) + 1.0)


def hardsigmoid(input, inplace=False):  # noqa: A002
    """clip(x/6 + 1/2, 0, 1) (= relu6(x + 3) / 6; Keras 3's ``hard_sigmoid``)."""
    return ops.clip(_t(input) / 6.0 + 0.5, 0.0, 1.0)


__all__ += ["selu", "softsign", "hardsigmoid"]

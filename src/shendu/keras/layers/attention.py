"""MultiHeadAttention with Keras's call signature and weight layouts, on nn.Linear projections and
``nn.functional.attention_with_weights``.

For heads i = 1..h:  Q_i = query·Wq_i + bq_i,  K_i = key·Wk_i + bk_i,  V_i = value·Wv_i + bv_i,
O_i = softmax(Q_i K_iᵀ / √key_dim + mask) V_i,  output = Σ_i O_i·Wo_i + bo.

Keras layouts: query/key kernel (d, h, key_dim), bias (h, key_dim); value kernel (d, h, value_dim);
attention_output kernel (h, value_dim, d_out), bias (d_out,). ``attention_mask`` (B, T, S) or (T, S) is
True where query position t may attend to key position s; masks carried by the inputs (from
``Embedding(mask_zero=True)`` or ``Masking``) are combined with it as Keras combines them.
"""

import math

import numpy as np

import shendu as sd

from ... import nn
from ...nn.functional import attention_mask_bias, attention_with_weights
from ...tensor import Tensor
from .base import Arg, Bool, Fixed, Float, Int, Layer, Plain, W, _jsonable_shape, _owner, weight_args

__all__ = ["MultiHeadAttention"]


def _output_shape(layer, name, v):
    if isinstance(v, (list, tuple)):
        if len(v) != 1:
            raise NotImplementedError(f"{_owner(layer)}: output_shape must be an int or a 1-tuple, got {v}")
        v = v[0]
    return None if v is None else Int(1).parse(layer, name, v)


def _projection(name, dim, source):
    """Keras kernel (d, heads, dim) and bias (heads, dim) of an nn.Linear (heads·dim, d)."""
    return (W(f"{name}/kernel", f"{name}_dense.weight",
              lambda s, c: (c[source][-1], s.num_heads, getattr(s, dim)), perm=(1, 0), args="kernel"),
            W(f"{name}/bias", f"{name}_dense.bias", lambda s, c: (s.num_heads, getattr(s, dim)), args="bias",
              when="use_bias"))


class MultiHeadAttention(Layer):
    """``MultiHeadAttention(num_heads=4, key_dim=16)(query, value, key=None, attention_mask=None,
    return_attention_scores=False, training=None, use_causal_mask=False)``."""

    keras_args = dict(num_heads=Int(1), key_dim=Int(1), value_dim=Int(1, default=None, optional=True),
                      dropout=Float(0.0), use_bias=Bool(True),
                      output_shape=Arg(None, _output_shape, attr="output_shape_arg"),
                      attention_axes=Fixed(None, " (attention over axis 1)", save=False),
                      **weight_args(kernel="glorot_uniform", bias="zeros"), seed=Plain(save=False))
    keras_weights = _projection("query", "key_dim", 0) + _projection("key", "key_dim", 2) + _projection(
        "value", "value_dim", 1) + (
        W("attention_output/kernel", "output_dense.weight",
          lambda s, c: (s.num_heads, s.value_dim, s._d_out(c)), perm=(1, 0), args="kernel"),
        W("attention_output/bias", "output_dense.bias", lambda s, c: (s._d_out(c),), args="bias",
          when="use_bias"),
    )

    def _setup(self):
        self.value_dim = self.key_dim if self.value_dim is None else self.value_dim
        self._shapes = None
        self._want_scores = False

    def _features(self, input_shape):
        return self._shapes

    def _d_out(self, shapes):
        return self.output_shape_arg or shapes[0][-1]

    # The layer is built from the query, value and key shapes together.
    def __call__(self, query=None, value=None, key=None, **kwargs):
        if value is None:
            raise TypeError(f"MultiHeadAttention '{self.name}': call it as layer(query, value[, key])")
        shape = lambda t: tuple(t.shape)  # noqa: E731
        self._shapes = (shape(query), shape(value), shape(key if key is not None else value))
        self._want_scores = bool(kwargs.get("return_attention_scores", False))
        if key is not None:
            kwargs["key"] = key
        return super().__call__(query, value, **kwargs)

    def build(self, input_shape):
        if self._shapes is None:
            raise ValueError(f"MultiHeadAttention '{self.name}': build it by calling it on (query, value)")
        (qs, vs, ks) = self._shapes
        h, kd, vd = self.num_heads, self.key_dim, self.value_dim
        self.query_dense = nn.Linear(qs[-1], h * kd, bias=self.use_bias)
        self.key_dense = nn.Linear(ks[-1], h * kd, bias=self.use_bias)
        self.value_dense = nn.Linear(vs[-1], h * vd, bias=self.use_bias)
        self.output_dense = nn.Linear(h * vd, self._d_out(self._shapes), bias=self.use_bias)

    def _heads(self, t, dim):
        b, n = t.shape[0], t.shape[1]
        return sd.permute(sd.reshape(t, (b, n, self.num_heads, dim)), (0, 2, 1, 3))

    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None,
             attention_mask=None, return_attention_scores=False, training=None, use_causal_mask=False):
        key = value if key is None else key
        query, value, key = (t if isinstance(t, Tensor) else Tensor(np.asarray(t, dtype=self.dtype))
                             for t in (query, value, key))
        if query.ndim != 3 or value.ndim != 3 or key.ndim != 3:
            raise ValueError(f"{_owner(self)}: query, value and key must be (batch, steps, features), got "
                             f"shapes {tuple(query.shape)}, {tuple(value.shape)}, {tuple(key.shape)}")
        b, t_len, s_len = query.shape[0], query.shape[1], value.shape[1]

        def carried(given, t):  # a mask passed in, or the one the input carries
            return given if given is not None else getattr(t, "_keras_mask", None)

        mask = attention_mask_bias(b, t_len, s_len, carried(query_mask, query),
                                   (carried(value_mask, value), carried(key_mask, key)), attention_mask,
                                   use_causal_mask, self.dtype)
        q = self._heads(self.query_dense(query), self.key_dim)
        k = self._heads(self.key_dense(key), self.key_dim)
        v = self._heads(self.value_dense(value), self.value_dim)
        p = self.dropout if training else 0.0
        o, scores = attention_with_weights(q, k, v, attn_mask=mask, dropout_p=p,
                                           scale=1.0 / math.sqrt(self.key_dim))
        o = sd.reshape(sd.permute(o, (0, 2, 1, 3)), (b, t_len, self.num_heads * self.value_dim))
        out = self.output_dense(o)
        return (out, scores) if return_attention_scores else out

    def compute_mask(self, inputs, mask=None):
        return mask

    def compute_output_shape(self, input_shape):
        qs, vs, _ = self._shapes
        out = tuple(qs[:-1]) + (self.output_shape_arg or qs[-1],)
        return (out, (qs[0], self.num_heads, qs[1], vs[1])) if self._want_scores else out

    def get_build_config(self):
        return {"shapes": _jsonable_shape(list(self._shapes))} if self.built else None

    def build_from_config(self, config):
        if config and config.get("shapes"):
            self._shapes = tuple(tuple(s) for s in config["shapes"])
            self._maybe_build(self._shapes[0])


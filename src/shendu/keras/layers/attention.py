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
from ...nn.functional import attention_with_weights
from ...tensor import Tensor
from .. import initializers as _initializers
from .. import regularizers as _regularizers
from .base import Layer, WeightSpec, int_arg
from .core import _serialize_init, init_param

__all__ = ["MultiHeadAttention"]


def _proj_specs(name, linear, heads, dim, reg_k, reg_b):
    def to_k(w):
        return np.ascontiguousarray(w.T.reshape(w.shape[1], heads, dim))

    def from_k(k):
        return np.ascontiguousarray(k.reshape(k.shape[0], heads * dim).T)

    specs = [WeightSpec(f"{name}/kernel", linear.weight, to_k, from_k, regularizer=reg_k)]
    if linear.bias is not None:
        specs.append(
            WeightSpec(
                f"{name}/bias",
                linear.bias,
                lambda b: b.reshape(heads, dim),
                lambda b: b.reshape(-1),
                regularizer=reg_b,
            )
        )
    return specs


def _mask_array(m):
    if m is None:
        return None
    return np.asarray(m.array if isinstance(m, Tensor) else m).astype(bool)


class MultiHeadAttention(Layer):
    """``MultiHeadAttention(num_heads=4, key_dim=16)(query, value, key=None, attention_mask=None,
    return_attention_scores=False, training=None, use_causal_mask=False)``."""

    def __init__(
        self,
        num_heads,
        key_dim,
        value_dim=None,
        dropout=0.0,
        use_bias=True,
        output_shape=None,
        attention_axes=None,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        owner = f"MultiHeadAttention '{self.name}'"
        for arg, value in (("kernel_constraint", kernel_constraint), ("bias_constraint", bias_constraint)):
            if value is not None:
                raise NotImplementedError(f"{owner}: {arg} is not supported")
        if attention_axes is not None:
            raise NotImplementedError(f"{owner}: attention_axes is not supported (attention over axis 1)")
        self.num_heads = int_arg(owner, "num_heads", num_heads, minimum=1)
        self.key_dim = int_arg(owner, "key_dim", key_dim, minimum=1)
        self.value_dim = (
            self.key_dim if value_dim is None else int_arg(owner, "value_dim", value_dim, minimum=1)
        )
        self.dropout = float(dropout)
        self.use_bias = bool(use_bias)
        if isinstance(output_shape, (list, tuple)):
            if len(output_shape) != 1:
                raise NotImplementedError(
                    f"{owner}: output_shape must be an int or a 1-tuple, got {output_shape}"
                )
            output_shape = output_shape[0]
        self.output_shape_arg = (
            None if output_shape is None else int_arg(owner, "output_shape", output_shape, 1)
        )
        self.kernel_initializer = _initializers.get(kernel_initializer)
        self.bias_initializer = _initializers.get(bias_initializer)
        self.kernel_regularizer = _regularizers.get(kernel_regularizer)
        self.bias_regularizer = _regularizers.get(bias_regularizer)
        self._shapes = None
        self._want_scores = False

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
        dq, dv, dk = qs[-1], vs[-1], ks[-1]
        h, kd, vd = self.num_heads, self.key_dim, self.value_dim
        d_out = self.output_shape_arg or dq
        self.query_dense = nn.Linear(dq, h * kd, bias=self.use_bias)
        self.key_dense = nn.Linear(dk, h * kd, bias=self.use_bias)
        self.value_dense = nn.Linear(dv, h * vd, bias=self.use_bias)
        self.output_dense = nn.Linear(h * vd, d_out, bias=self.use_bias)
        for spec in self._weight_specs():
            init = self.kernel_initializer if spec.name.endswith("kernel") else self.bias_initializer
            init_param(spec.tensor, init, spec.shape, spec.from_keras)

    def _weight_specs(self):
        h, kd, vd = self.num_heads, self.key_dim, self.value_dim
        rk, rb = self.kernel_regularizer, self.bias_regularizer
        out = self.output_dense

        def o_to(w):
            return np.ascontiguousarray(w.T.reshape(h, vd, w.shape[0]))

        def o_from(k):
            return np.ascontiguousarray(k.reshape(h * vd, k.shape[-1]).T)

        specs = (
            _proj_specs("query", self.query_dense, h, kd, rk, rb)
            + _proj_specs("key", self.key_dense, h, kd, rk, rb)
            + _proj_specs("value", self.value_dense, h, vd, rk, rb)
            + [WeightSpec("attention_output/kernel", out.weight, o_to, o_from, regularizer=rk)]
        )
        if out.bias is not None:
            specs.append(WeightSpec("attention_output/bias", out.bias, regularizer=rb))
        return specs + self._extra_specs

    def _heads(self, t, dim):
        b, n = t.shape[0], t.shape[1]
        return sd.permute(sd.reshape(t, (b, n, self.num_heads, dim)), (0, 2, 1, 3))

    def call(
        self,
        query,
        value,
        key=None,
        query_mask=None,
        value_mask=None,
        key_mask=None,
        attention_mask=None,
        return_attention_scores=False,
        training=None,
        use_causal_mask=False,
    ):
        owner = f"MultiHeadAttention '{self.name}'"
        key = value if key is None else key
        query, value, key = (
            t if isinstance(t, Tensor) else Tensor(np.asarray(t, dtype=self.dtype))
            for t in (query, value, key)
        )
        if query.ndim != 3 or value.ndim != 3 or key.ndim != 3:
            raise ValueError(
                f"{owner}: query, value and key must be (batch, steps, features), got shapes "
                f"{tuple(query.shape)}, {tuple(value.shape)}, {tuple(key.shape)}"
            )
        b, t_len, s_len = query.shape[0], query.shape[1], value.shape[1]
        mask = self._combined_mask(
            query,
            value,
            key,
            query_mask,
            value_mask,
            key_mask,
            attention_mask,
            use_causal_mask,
            b,
            t_len,
            s_len,
        )
        q = self._heads(self.query_dense(query), self.key_dim)
        k = self._heads(self.key_dense(key), self.key_dim)
        v = self._heads(self.value_dense(value), self.value_dim)
        p = self.dropout if training else 0.0
        o, scores = attention_with_weights(
            q, k, v, attn_mask=mask, dropout_p=p, scale=1.0 / math.sqrt(self.key_dim)
        )
        o = sd.reshape(sd.permute(o, (0, 2, 1, 3)), (b, t_len, self.num_heads * self.value_dim))
        out = self.output_dense(o)
        return (out, scores) if return_attention_scores else out

    def _combined_mask(
        self, query, value, key, query_mask, value_mask, key_mask, attention_mask, causal, b, t_len, s_len
    ):
        qm = _mask_array(query_mask if query_mask is not None else getattr(query, "_keras_mask", None))
        vm = _mask_array(value_mask if value_mask is not None else getattr(value, "_keras_mask", None))
        km = _mask_array(key_mask if key_mask is not None else getattr(key, "_keras_mask", None))
        am = _mask_array(attention_mask)
        parts = []
        if qm is not None:
            parts.append(qm[:, :, None])
        if vm is not None:
            parts.append(vm[:, None, :])
        if km is not None:
            parts.append(km[:, None, :])
        if am is not None:
            if am.ndim not in (2, 3):
                raise ValueError(
                    f"MultiHeadAttention '{self.name}': attention_mask must be (batch, T, S) or "
                    f"(T, S), got shape {am.shape}"
                )
            parts.append(am)
        if causal:
            parts.append(np.tril(np.ones((t_len, s_len), dtype=bool)))
        if not parts:
            return None
        m = np.ones((b, t_len, s_len), dtype=bool)
        for part in parts:
            m = m & part
        # as Keras: masked scores get −1e9 added, so a query that may see no key attends uniformly
        return Tensor(np.where(m[:, None], 0.0, -1e9).astype(self.dtype))

    def compute_mask(self, inputs, mask=None):
        return mask

    def compute_output_shape(self, input_shape):
        qs, vs, _ = self._shapes
        out = tuple(qs[:-1]) + (self.output_shape_arg or qs[-1],)
        if self._want_scores:
            return (out, (qs[0], self.num_heads, qs[1], vs[1]))
        return out

    def get_build_config(self):
        if not self.built:
            return None
        return {"shapes": [[None if d is None else int(d) for d in s] for s in self._shapes]}

    def build_from_config(self, config):
        if config and config.get("shapes"):
            self._shapes = tuple(tuple(s) for s in config["shapes"])
            self._maybe_build(self._shapes[0])

    def get_config(self):
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "key_dim": self.key_dim,
            "value_dim": self.value_dim,
            "dropout": self.dropout,
            "use_bias": self.use_bias,
            "output_shape": self.output_shape_arg,
            "kernel_initializer": _serialize_init(self.kernel_initializer),
            "bias_initializer": _serialize_init(self.bias_initializer),
            "kernel_regularizer": _regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": _regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": _regularizers.serialize(self.activity_regularizer),
        }

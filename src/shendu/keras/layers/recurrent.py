"""Recurrent layers with Keras's weights: SimpleRNN, LSTM, GRU (batch, steps, features) in.

Each wraps a one-layer ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU(batch_first=True)``. Keras layouts:

* LSTM: kernel (in, 4u), recurrent_kernel (u, 4u), bias (4u,), gates i, f, c, o — PyTorch's i, f, g, o
  in the same order, transposed. Keras has ONE bias: the nn module's ``bias_hh`` stays zero and frozen.
* GRU (reset_after=True): kernel (in, 3u), recurrent_kernel (u, 3u), bias (2, 3u) = [input bias,
  recurrent bias], gates z, r, h — PyTorch holds r, z, n, so the first two blocks swap.
* SimpleRNN: kernel (in, u), recurrent_kernel (u, u), bias (u,) (``bias_hh`` frozen at zero).

Keras's initialisation: glorot_uniform kernels, orthogonal recurrent kernels, zero biases, and the
LSTM forget gate's bias at 1 (``unit_forget_bias``).
"""

import numpy as np

import shendu as sd

from ... import nn
from ...tensor import Tensor
from .. import activations as _activations
from .. import constraints as _constraints
from .. import initializers as _initializers
from .. import regularizers as _regularizers
from .base import InputSpec, Layer, WeightSpec, _is_shape, int_arg
from .core import _serialize_init, init_param

__all__ = ["SimpleRNN", "LSTM", "GRU"]


def _reversed_mask(mask):
    m = np.asarray(mask.array if isinstance(mask, Tensor) else mask).astype(bool)
    return m[:, ::-1] if m.ndim == 2 else m


def _T(a):
    return np.ascontiguousarray(np.swapaxes(a, -1, -2))


def _swap_rz(rows):
    """Swap the first two gate blocks along axis 0 (PyTorch r, z, n <-> Keras z, r, h)."""
    u = rows.shape[0] // 3
    return np.concatenate([rows[u : 2 * u], rows[:u], rows[2 * u :]], axis=0)


def _gru_to_keras(w):
    return _T(_swap_rz(w))


def _gru_from_keras(k):
    return _swap_rz(_T(k))


class _GRUBiasSpec(WeightSpec):
    """Keras's GRU bias (2, 3u): row 0 the input bias, row 1 the recurrent bias (gates z, r, h)."""

    __slots__ = ("second",)

    def __init__(self, name, bias_ih, bias_hh, regularizer=None):
        super().__init__(name, bias_ih, regularizer=regularizer)
        self.second = bias_hh

    def get(self):
        return np.stack([_swap_rz(self.tensor.array), _swap_rz(self.second.array)])

    def set(self, value, layer_name="layer"):
        value = np.asarray(value)
        if value.shape != self.shape:
            raise ValueError(
                f"Layer '{layer_name}': weight '{self.name}' has shape {self.shape}, but the value "
                f"given has shape {tuple(value.shape)}"
            )
        self.tensor.array[...] = _swap_rz(value[0])
        self.second.array[...] = _swap_rz(value[1])

    @property
    def shape(self):
        return (2,) + tuple(self.tensor.array.shape)


class _RNN(Layer):
    _mode = "RNN"
    _gates = 1

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        time_major=False,
        **kwargs,
    ):
        kwargs.pop("seed", None)
        kwargs.pop("implementation", None)
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        name = type(self).__name__
        self.units = int_arg(f"{name} '{self.name}'", "units", units, minimum=1)
        self.activation = _activations.get(activation)
        self.recurrent_activation = _activations.get(recurrent_activation)
        act = _activations.serialize(self.activation)
        allowed = ("tanh", "relu") if self._mode == "RNN" else ("tanh",)
        if act not in allowed:
            raise NotImplementedError(f"{name}: activation={act!r} is not supported; use one of {allowed}")
        if self._mode != "RNN" and _activations.serialize(self.recurrent_activation) != "sigmoid":
            raise NotImplementedError(f"{name}: recurrent_activation must be 'sigmoid'")
        if stateful:
            raise NotImplementedError(f"{name}: stateful=True is not supported; pass initial_state= instead")
        if time_major:
            raise NotImplementedError(
                f"{name}: time_major=True is not supported; inputs are (batch, steps, ...)"
            )
        self.use_bias = bool(use_bias)
        self.kernel_initializer = _initializers.get(kernel_initializer)
        self.recurrent_initializer = _initializers.get(recurrent_initializer)
        self.bias_initializer = _initializers.get(bias_initializer)
        self.kernel_regularizer = _regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = _regularizers.get(recurrent_regularizer)
        self.bias_regularizer = _regularizers.get(bias_regularizer)
        self.kernel_constraint = _constraints.get(kernel_constraint)
        self.recurrent_constraint = _constraints.get(recurrent_constraint)
        self.bias_constraint = _constraints.get(bias_constraint)
        self.dropout_rate = float(dropout)
        self.recurrent_dropout = float(recurrent_dropout)
        if not 0.0 <= self.recurrent_dropout < 1.0:
            raise ValueError(f"{name}: recurrent_dropout must be in [0, 1), got {recurrent_dropout!r}")
        self.supports_masking = True
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.input_spec = InputSpec(ndim=3)

    def _make_module(self, n_in):
        if self._mode == "LSTM":
            return nn.LSTM(n_in, self.units, bias=self.use_bias, batch_first=True)
        if self._mode == "GRU":
            return nn.GRU(n_in, self.units, bias=self.use_bias, batch_first=True)
        return nn.RNN(
            n_in,
            self.units,
            nonlinearity=_activations.serialize(self.activation),
            bias=self.use_bias,
            batch_first=True,
        )

    def _planned_weights(self, input_shape):
        n_in = input_shape[-1] if _is_shape(input_shape) else None
        if n_in is None:
            return None
        u, g = self.units, self._gates
        planned = [("kernel", (n_in, g * u)), ("recurrent_kernel", (u, g * u))]
        if self.use_bias:
            planned.append(("bias", (2, g * u) if self._mode == "GRU" else (g * u,)))
        return planned

    def build(self, input_shape):
        n_in = input_shape[-1]
        if n_in is None:
            raise ValueError(
                f"{type(self).__name__} '{self.name}': the feature axis must be known, got {input_shape}"
            )
        n_in, u, g = int(n_in), self.units, self._gates
        self.rnn = self._make_module(n_in)
        to_k, from_k = (_gru_to_keras, _gru_from_keras) if self._mode == "GRU" else (_T, _T)
        init_param(self.rnn.weight_ih_l0, self.kernel_initializer, (n_in, g * u), from_k)
        init_param(self.rnn.weight_hh_l0, self.recurrent_initializer, (u, g * u), from_k)
        if self.use_bias:
            self._init_bias()

    def _init_bias(self):
        u = self.units
        init_param(self.rnn.bias_ih_l0, self.bias_initializer, (u,), lambda a: a)
        self.rnn.bias_hh_l0.array[...] = 0
        self.rnn.bias_hh_l0.requires_grad = False  # Keras has a single bias

    def _weight_specs(self):
        to_k, from_k = (_gru_to_keras, _gru_from_keras) if self._mode == "GRU" else (_T, _T)
        specs = [
            WeightSpec("kernel", self.rnn.weight_ih_l0, to_k, from_k, regularizer=self.kernel_regularizer,
                       constraint=self.kernel_constraint),
            WeightSpec(
                "recurrent_kernel",
                self.rnn.weight_hh_l0,
                to_k,
                from_k,
                regularizer=self.recurrent_regularizer,
                constraint=self.recurrent_constraint,
            ),
        ]
        if self.use_bias:
            if self._mode == "GRU":
                bias = _GRUBiasSpec("bias", self.rnn.bias_ih_l0, self.rnn.bias_hh_l0, self.bias_regularizer)
                bias.constraint = self.bias_constraint
                specs.append(bias)
            else:
                specs.append(WeightSpec("bias", self.rnn.bias_ih_l0, regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint))
        return specs + self._extra_specs

    def _apply_trainable(self):
        super()._apply_trainable()
        if self.built and self.use_bias and self._mode != "GRU":
            self.rnn.bias_hh_l0.requires_grad = False

    def call(self, inputs, initial_state=None, training=None, mask=None):
        x = inputs
        if self.go_backwards:
            x = x[:, ::-1]
            mask = None if mask is None else _reversed_mask(mask)
        hx = None
        if initial_state is not None:
            states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
            states = [s if isinstance(s, Tensor) else Tensor(np.asarray(s, dtype=x.dtype)) for s in states]
            states = [sd.unsqueeze(s, 0) for s in states]
            need = 2 if self._mode == "LSTM" else 1
            if len(states) != need:
                raise ValueError(
                    f"{type(self).__name__} '{self.name}': initial_state needs {need} tensor(s) of "
                    f"shape (batch, {self.units}), got {len(states)}"
                )
            hx = tuple(states) if self._mode == "LSTM" else states[0]
        out, state = nn.masked_rnn(self.rnn, x, hx, mask, dropout=self.dropout_rate,
                                   recurrent_dropout=self.recurrent_dropout, training=bool(training))
        if self._mode == "LSTM":
            h, c = state
            states = [sd.squeeze(h, 0), sd.squeeze(c, 0)]
        else:
            states = [sd.squeeze(state, 0)]
        y = out if self.return_sequences else states[0]
        return [y] + states if self.return_state else y

    def compute_mask(self, inputs, mask=None):
        return mask if (mask is not None and self.return_sequences) else None

    def compute_output_shape(self, input_shape):
        if not _is_shape(input_shape):  # called with [inputs, *initial_state]
            input_shape = input_shape[0]
        batch, steps = input_shape[0], input_shape[1]
        y = (batch, steps, self.units) if self.return_sequences else (batch, self.units)
        if self.return_state:
            n = 2 if self._mode == "LSTM" else 1
            return [y] + [(batch, self.units)] * n
        return y

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": _activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": _serialize_init(self.kernel_initializer),
            "recurrent_initializer": _serialize_init(self.recurrent_initializer),
            "bias_initializer": _serialize_init(self.bias_initializer),
            "kernel_regularizer": _regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": _regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": _regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": _constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": _constraints.serialize(self.recurrent_constraint),
            "bias_constraint": _constraints.serialize(self.bias_constraint),
            "dropout": self.dropout_rate,
            "recurrent_dropout": self.recurrent_dropout,
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
        }


class SimpleRNN(_RNN):
    """Fully connected RNN: h_t = activation(x_t·kernel + h_{t−1}·recurrent_kernel + bias)."""

    _mode, _gates = "RNN", 1

    def __init__(self, units, activation="tanh", **kwargs):
        kwargs.pop("recurrent_activation", None)
        super().__init__(units, activation=activation, **kwargs)


class LSTM(_RNN):
    """Long short-term memory (Keras gates i, f, c, o; ``unit_forget_bias=True`` starts f's bias at 1)."""

    _mode, _gates = "LSTM", 4

    def __init__(
        self, units, activation="tanh", recurrent_activation="sigmoid", unit_forget_bias=True, **kwargs
    ):
        super().__init__(units, activation=activation, recurrent_activation=recurrent_activation, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)

    def _init_bias(self):
        u = self.units
        base = self.bias_initializer
        chosen = base
        if self.unit_forget_bias:

            def values(shape, dtype=None):
                return np.concatenate(
                    [base((u,), dtype), np.ones(u, dtype=dtype or "float32"), base((2 * u,), dtype)]
                )

            chosen = _initializers.get(values)
        init_param(self.rnn.bias_ih_l0, chosen, (4 * u,), lambda a: a)
        self.rnn.bias_hh_l0.array[...] = 0
        self.rnn.bias_hh_l0.requires_grad = False

    def get_config(self):
        return {
            **super().get_config(),
            "unit_forget_bias": self.unit_forget_bias,
            "recurrent_activation": _activations.serialize(self.recurrent_activation),
        }


class GRU(_RNN):
    """Gated recurrent unit with ``reset_after=True`` (Keras 2/3's default; two biases, as in PyTorch)."""

    _mode, _gates = "GRU", 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", reset_after=True, **kwargs):
        if not reset_after:
            raise NotImplementedError(
                "GRU(reset_after=False) is not supported: shendu's GRU applies the reset gate "
                "after the recurrent matrix product (reset_after=True, Keras's default)"
            )
        super().__init__(units, activation=activation, recurrent_activation=recurrent_activation, **kwargs)
        self.reset_after = True

    def _init_bias(self):
        u = self.units
        keras_bias = np.stack([self.bias_initializer((3 * u,)), self.bias_initializer((3 * u,))])
        _GRUBiasSpec("bias", self.rnn.bias_ih_l0, self.rnn.bias_hh_l0).set(keras_bias, self.name)

    def get_config(self):
        return {
            **super().get_config(),
            "reset_after": True,
            "recurrent_activation": _activations.serialize(self.recurrent_activation),
        }

"""Recurrent layers over padded batches: a step mask, and dropout masks shared over time.

:func:`masked_rnn` runs a one-layer, one-direction ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` with

* ``mask`` (bool, (batch, steps)): where ``mask[b, t]`` is False the step is skipped for that sample.
  With m_t ∈ {0, 1} and the cell's step (h̃_t, c̃_t) = cell(x_t, h_{t−1}, c_{t−1}):

      h_t = m_t·h̃_t + (1 − m_t)·h_{t−1},   c_t = m_t·c̃_t + (1 − m_t)·c_{t−1},
      y_t = m_t·h̃_t + (1 − m_t)·y_{t−1},   y_{−1} = 0,

  so a masked step keeps the state and repeats the previous output (zeros before the first valid
  step). The final state is the state after the last valid step: for padding at the end of each
  sequence (a "suffix" mask) the outputs at the valid steps and the final state equal PyTorch's
  ``pack_padded_sequence`` results. Gradients flow through the kept branch only
  (∂h_t/∂h̃_t = m_t, ∂h_t/∂h_{t−1} = 1 − m_t through the select, plus the cell's own path).
* ``dropout``: one inverted-dropout mask d_x per sample and feature, shared over the steps:
  x_t ← x_t ⊙ d_x, d_x ∈ {0, 1/(1 − p)}.
* ``recurrent_dropout``: one mask d_h per sample and hidden unit, drawn once per call:
  the cell reads h_{t−1} ⊙ d_h instead of h_{t−1} (the state carried on is not masked).

Both dropout masks are drawn only when ``training`` is True, input mask first, from
``shendu.random.generator()``. Without a mask (or with an all-True one) and without recurrent dropout
the whole sequence runs as one fused call of the module.
"""
import numpy as np

from .. import ops
from ..errors import ShapeError
from ..tensor import Tensor
from . import functional as F
from .rnn import RNNBase

__all__ = ["masked_rnn"]


def _mask_array(mask, n, steps, owner):
    m = np.asarray(mask.array if isinstance(mask, Tensor) else mask)
    m = m.astype(bool)
    if m.shape != (n, steps):
        raise ShapeError(f"{owner}: the mask must have shape (batch, steps) = {(n, steps)}, got {m.shape}")
    return m


def masked_rnn(rnn, input, hx=None, mask=None, *, dropout=0.0, recurrent_dropout=0.0,  # noqa: A002
               training=False):
    """Run ``rnn`` (a one-layer, one-direction RNNBase) over ``input`` with a step mask and dropout.

    ``input`` is (N, L, F) if ``rnn.batch_first`` else (L, N, F); ``hx`` as for ``rnn``: h_0, or
    (h_0, c_0) for the LSTM, each (1, N, H). Returns (output, h_n) or (output, (h_n, c_n)) shaped like
    ``rnn``'s own results. See the module docstring for the formulas.
    """
    if not isinstance(rnn, RNNBase):
        raise TypeError(f"masked_rnn: expected an nn.RNN, nn.LSTM or nn.GRU, got {type(rnn).__name__}")
    owner = rnn._layer_name()
    if rnn.num_layers != 1 or rnn.bidirectional:
        raise NotImplementedError(f"{owner}: masked_rnn runs one layer in one direction "
                                  f"(got num_layers={rnn.num_layers}, bidirectional={rnn.bidirectional})")
    for name, p in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{owner}: {name} must be a probability in [0, 1], got {p!r}")
    x = input if isinstance(input, Tensor) else Tensor(np.asarray(input))
    if x.ndim != 3:
        raise ShapeError(f"{owner}: masked_rnn needs a batched 3-D input, got shape {tuple(x.shape)}")
    t_axis = 1 if rnn.batch_first else 0
    n, steps = x.shape[1 - t_axis], x.shape[t_axis]
    lstm = rnn.mode == "LSTM"
    if training and dropout:
        shape = (n, 1, x.shape[2]) if rnn.batch_first else (1, n, x.shape[2])
        x = x * F.dropout(Tensor(np.ones(shape, dtype=x.dtype)), dropout, training=True)
    keep = None if mask is None else _mask_array(mask, n, steps, owner)
    if keep is not None and keep.all():
        keep = None
    rec = None
    if training and recurrent_dropout:
        ones = Tensor(np.ones((1, n, rnn.hidden_size), dtype=x.dtype))
        rec = F.dropout(ones, recurrent_dropout, training=True)
    if keep is None and rec is None:
        return rnn(x, hx)

    zeros = Tensor(np.zeros((1, n, rnn.hidden_size), dtype=x.dtype))
    if hx is None:
        h, c = zeros, (zeros if lstm else None)
    else:
        h, c = hx if lstm else (hx, None)
    prev, outs = zeros[0], []
    for t in range(steps):
        x_t = x[:, t : t + 1] if rnn.batch_first else x[t : t + 1]
        h_in = h * rec if rec is not None else h
        o, state = rnn(x_t, (h_in, c) if lstm else h_in)
        h_new, c_new = state if lstm else (state, None)
        o = o[:, 0] if rnn.batch_first else o[0]
        if keep is not None:
            k = keep[:, t][None, :, None]
            h = ops.where(k, h_new, h)
            c = ops.where(k, c_new, c) if lstm else None
            o = ops.where(k[0], o, prev)
        else:
            h, c = h_new, c_new
        prev = o
        outs.append(o)
    out = ops.stack(outs, axis=t_axis)
    return out, ((h, c) if lstm else h)

"""Recurrent layers as whole-sequence Functions: one graph node per layer and direction.

Shapes (time-major): x (T, N, I), h0 and c0 (N, H), ``weight_ih`` (G·H, I), ``weight_hh`` (G·H, H),
``bias_ih`` and ``bias_hh`` (G·H,), output (T, N, H), h_n and c_n (N, H); G is the number of gate
blocks (1 for RNN, 4 for LSTM, 3 for GRU), stacked in PyTorch's order.

How the work is split, so that Python loops only where the math forces it to:

1. Forward, input side: the input projections of all T steps are ONE matrix product,
   XG = x W_ihᵀ + b  (T·N rows at once).
2. Forward, recurrent side: a loop over time adds h_{t−1} W_hhᵀ to XG_t and applies the cell.
   Every gate value is kept: the backward pass needs them.
3. Backward: the local derivatives of every gate (σ' = σ(1 − σ), tanh' = 1 − tanh², ...) do not
   depend on the incoming gradient, so they are computed for all steps at once before the loop.
   The loop over time (newest step first) only carries dh (and dc) back: it fills dA_t, the
   gradient of the pre-activations at step t, and sends dh_{t−1} = dA_t W_hh back one step.
4. After the loop, again ONE matrix product each:
   dW_hh = Σ_t dA_tᵀ h_{t−1},  dW_ih = Σ_t dA_tᵀ x_t,  dx = dA W_ih,  db = Σ_t Σ_n dA_t.

``reverse=True`` runs the same recurrence from the last step to the first (the backward direction
of a bidirectional layer): no copy of x is made, only the order of the loop changes.

Sigmoids are evaluated as σ(a) = 1 / (1 + e^(−a)). The minus sign is folded into the rows of the
weights before the loop, so each step spends one ``exp`` on all its sigmoid gates; e^(−a) may
overflow to inf for very negative a, which gives σ = 0 exactly (the overflow warning is silenced).
"""
import numpy as np

from ..autograd import Function
from ..backend import xp
from ..errors import ShapeError

__all__ = ["RNNLayer", "LSTMLayer", "GRULayer"]


# ----- shared pieces -------------------------------------------------------------------------------
def _check(name, x, h0, w_ih, w_hh, gates):
    """Shapes of a layer call, with messages that say what was expected."""
    if x.ndim != 3:
        raise ShapeError(f"{name}: input must be (T, N, input_size), got shape {x.shape}")
    gh, n_in = w_ih.shape
    hidden = w_hh.shape[1]
    if gh != gates * hidden or w_hh.shape[0] != gh:
        raise ShapeError(f"{name}: weight_ih {w_ih.shape} and weight_hh {w_hh.shape} do not stack "
                         f"{gates} gate(s) of hidden size {hidden}")
    if x.shape[2] != n_in:
        raise ShapeError(f"{name}: input has {x.shape[2]} features (shape {x.shape}), expected {n_in}")
    if h0.shape != (x.shape[1], hidden):
        raise ShapeError(f"{name}: initial state has shape {h0.shape}, expected {(x.shape[1], hidden)}")
    return x.shape[0], x.shape[1], hidden


def _offsets(reverse):
    """Where step t reads and writes in a (T+1, N, H) state buffer.

    Forward: h_{t−1} is slot t and h_t slot t+1 (slot 0 holds h0). Reverse: the recurrence runs
    t = T−1 … 0, the previous state of step t is slot t+1 and its new state slot t (slot T holds h0).
    Returns (prev, cur): read slot t+prev, write slot t+cur.
    """
    return (1, 0) if reverse else (0, 1)


def _steps(T, reverse, backward=False):
    """The order in which the forward pass visits time steps (the backward pass visits them reversed)."""
    forward_order = range(T - 1, -1, -1) if reverse else range(T)
    return reversed(forward_order) if backward else forward_order


def _projection(x, w_ih, bias, row_scale=None):
    """XG = x W_ihᵀ + bias for all steps in one product: (T, N, I) → (T, N, G·H).

    ``row_scale`` (G·H,) multiplies the result's columns (done on the small weight, not on XG).
    """
    w = w_ih if row_scale is None else w_ih * row_scale[:, None]
    T, N, n_in = x.shape
    xg = xp.matmul(x.reshape(T * N, n_in), w.T).reshape(T, N, w.shape[0])
    if bias is not None:
        xg += bias if row_scale is None else bias * row_scale
    return xg


def _hidden_weight(w_hh, row_scale=None):
    """W_hhᵀ as a C-contiguous matrix (faster in the per-step product), rows scaled if asked."""
    w = w_hh if row_scale is None else w_hh * row_scale[:, None]
    return xp.ascontiguousarray(w.T)


def _sum_bias(b_ih, b_hh):
    if b_ih is None:
        return b_hh
    return b_ih if b_hh is None else b_ih + b_hh


def _weight_grads(fn, dA_x, dA_h, x, h_prev, w_ih, first_weight):
    """The end-of-backward products: dx = dA_x W_ih, dW_ih = dA_xᵀ x, dW_hh = dA_hᵀ h_{t−1}, db = Σ dA.

    ``dA_x`` are the gradients of the input-side pre-activations, ``dA_h`` of the hidden-side ones
    (the same array except in the GRU). Returns (dx, dW_ih, dW_hh, db_ih, db_hh), None where the
    input needs no gradient. The inputs are (x, states..., w_ih, w_hh, b_ih, b_hh) with w_ih at
    position ``first_weight``; biases left out of the call need no gradient.
    """
    T, N, n_in = x.shape
    need = list(fn.needs_grad) + [False] * 4
    w = first_weight
    gx = dA_x.reshape(T * N, -1)
    gh = dA_h.reshape(T * N, -1)
    dx = xp.matmul(gx, w_ih).reshape(T, N, n_in) if need[0] else None
    dw_ih = xp.matmul(gx.T, x.reshape(T * N, n_in)) if need[w] else None
    dw_hh = xp.matmul(gh.T, h_prev.reshape(T * N, -1)) if need[w + 1] else None
    db_ih = gx.sum(axis=0) if need[w + 2] else None
    db_hh = gh.sum(axis=0) if need[w + 3] else None
    return dx, dw_ih, dw_hh, db_ih, db_hh


def _sigmoid_of_negated_(a):
    """In place: ``a`` holds −z and becomes σ(z) = 1 / (1 + e^(−z))."""
    xp.exp(a, out=a)
    a += 1
    xp.reciprocal(a, out=a)
    return a


def _tanh(z, out):
    """tanh(z) = 2σ(2z) − 1 = 2 / (1 + e^(−2z)) − 1 into ``out`` (NumPy's exp is faster than its tanh)."""
    xp.multiply(z, -2, out=out)
    xp.exp(out, out=out)
    out += 1
    xp.divide(2, out, out=out)
    out -= 1
    return out


def _gate_major(a, gates):
    """(T, N, G·H) → a contiguous (G, T, N, H) copy, so that each gate's block is one contiguous array."""
    T, N, GH = a.shape
    return xp.ascontiguousarray(a.reshape(T, N, gates, GH // gates).transpose(2, 0, 1, 3))


# ----- Elman RNN --------------------------------------------------------------------------------------
def _rnn_step(xg_t, h_prev, whh_t, h_out, relu):
    """h_t = φ(XG_t + h_{t−1} W_hhᵀ), φ = tanh or relu, written into ``h_out``."""
    xp.matmul(h_prev, whh_t, out=h_out)
    h_out += xg_t
    if relu:
        xp.maximum(h_out, 0, out=h_out)
    else:
        xp.tanh(h_out, out=h_out)


class RNNLayer(Function):
    """Elman RNN over a whole sequence: h_t = φ(x_t W_ihᵀ + b_ih + h_{t−1} W_hhᵀ + b_hh).

    φ = tanh (φ' = 1 − h_t²) or relu (φ' = 1 where h_t > 0). With dA_t = dh_t ⊙ φ'(a_t), where dh_t
    is the output gradient at step t plus dA_{t+1} W_hh from the step after it:
    dx_t = dA_t W_ih, dh_{t−1} ← dA_t W_hh, dW_ih = Σ dA_tᵀ x_t, dW_hh = Σ dA_tᵀ h_{t−1},
    db_ih = db_hh = Σ dA_t.

    ``RNNLayer.apply(x, h0, w_ih, w_hh, b_ih, b_hh, nonlinearity="tanh", reverse=False)``
    → (output (T, N, H), h_n (N, H)).
    """

    def forward(self, x, h0, w_ih, w_hh, b_ih=None, b_hh=None, nonlinearity="tanh", reverse=False):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNLayer: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        T, N, H = _check("RNNLayer", x, h0, w_ih, w_hh, 1)
        relu = nonlinearity == "relu"
        xg = _projection(x, w_ih, _sum_bias(b_ih, b_hh))
        whh_t = _hidden_weight(w_hh)
        prev, cur = _offsets(reverse)
        hs = xp.empty((T + 1, N, H), dtype=xg.dtype)
        hs[T * prev] = h0
        for t in _steps(T, reverse):
            _rnn_step(xg[t], hs[t + prev], whh_t, hs[t + cur], relu)
        self.saved = (x, w_ih, w_hh, hs, relu, reverse)
        return hs[cur:cur + T], hs[T * cur]

    def backward(self, d_out, d_hn):
        x, w_ih, w_hh, hs, relu, reverse = self.saved
        T = x.shape[0]
        prev, cur = _offsets(reverse)
        out = hs[cur:cur + T]
        # φ'(a_t) for every step at once
        k = (out > 0).astype(out.dtype) if relu else 1 - out * out
        dA = xp.empty_like(out)
        dh = xp.array(d_hn, dtype=out.dtype)
        for t in _steps(T, reverse, backward=True):
            dh += d_out[t]
            xp.multiply(dh, k[t], out=dA[t])
            dh = xp.matmul(dA[t], w_hh)
        dx, dw_ih, dw_hh, db_ih, db_hh = _weight_grads(self, dA, dA, x, hs[prev:prev + T], w_ih, 2)
        return dx, (dh if self.needs_grad[1] else None), dw_ih, dw_hh, db_ih, db_hh


# ----- LSTM -------------------------------------------------------------------------------------------
def _lstm_step(a, h_prev, c_prev, whh_t, c_out, tc_out, h_out):
    """One LSTM step, in place on the pre-activations ``a`` = XG_t (gates i, f, g, o; stored as −a,
    with the g block as −2a_g, see ``LSTMLayer``):

    i = σ(a_i), f = σ(a_f), g = tanh(a_g) = 2σ(2a_g) − 1, o = σ(a_o),
    c_t = f ⊙ c_{t−1} + i ⊙ g,  h_t = o ⊙ tanh(c_t).

    Afterwards ``a`` holds the gate values [i, f, g, o]; c_t, tanh(c_t), h_t go to the ``*_out`` arrays.
    """
    H = c_prev.shape[1]
    a += xp.matmul(h_prev, whh_t)
    _sigmoid_of_negated_(a)
    g = a[:, 2 * H:3 * H]
    g *= 2
    g -= 1
    xp.multiply(a[:, H:2 * H], c_prev, out=c_out)
    c_out += a[:, :H] * g
    _tanh(c_out, tc_out)
    xp.multiply(a[:, 3 * H:], tc_out, out=h_out)


def _lstm_local_derivatives(gates, c_prev, tc):
    """For all steps at once, how the cell's outputs move with each pre-activation.

    With dc_t the full gradient reaching c_t (from c_{t+1} and from h_t) and dh_t the one reaching h_t:
    dA_i = dc_t ⊙ g ⊙ i(1−i),  dA_f = dc_t ⊙ c_{t−1} ⊙ f(1−f),  dA_g = dc_t ⊙ i ⊙ (1−g²),
    dA_o = dh_t ⊙ tanh(c_t) ⊙ o(1−o),  and  dc_t = dc_{t+1} ⊙ f_{t+1} + dh_t ⊙ o ⊙ (1 − tanh²(c_t)).
    Returns K (4, T, N, H), the factors multiplying [dc, dc, dc, dh]; f (T, N, H); and
    o ⊙ (1 − tanh²(c_t)) (T, N, H). Gate-major and contiguous, so every line is one fast pass;
    K is built in place over a copy of the gates, one block at a time.
    """
    k = _gate_major(gates, 4)
    i, f, g, o = k
    f_gate = f.copy()
    dc_from_h = tc * tc
    xp.subtract(1, dc_from_h, out=dc_from_h)
    dc_from_h *= o
    tmp = 1 - o
    o *= tmp
    o *= tc                          # k_o = tanh(c) ⊙ o(1−o)
    xp.subtract(1, f, out=tmp)
    f *= tmp
    f *= c_prev                      # k_f = c_{t−1} ⊙ f(1−f)
    xp.multiply(i, g, out=tmp)       # i ⊙ g, before g is overwritten
    xp.multiply(g, g, out=g)
    xp.subtract(1, g, out=g)
    g *= i                           # k_g = i ⊙ (1−g²)
    xp.subtract(1, i, out=i)
    i *= tmp                         # k_i = g ⊙ i(1−i)
    return k, f_gate, dc_from_h


class LSTMLayer(Function):
    """LSTM over a whole sequence (PyTorch's gate order i, f, g, o):

    a_t = x_t W_ihᵀ + b_ih + h_{t−1} W_hhᵀ + b_hh = [a_i, a_f, a_g, a_o]
    i = σ(a_i), f = σ(a_f), g = tanh(a_g), o = σ(a_o)
    c_t = f ⊙ c_{t−1} + i ⊙ g,  h_t = o ⊙ tanh(c_t)

    Derivatives (σ' = σ(1−σ), tanh' = 1 − tanh²), newest step first, with dh_t = output gradient +
    dA_{t+1} W_hh and dc_t = dc_{t+1} ⊙ f_{t+1} + dh_t ⊙ o ⊙ tanh'(c_t):
    dA_i = dc_t ⊙ g ⊙ σ'(a_i), dA_f = dc_t ⊙ c_{t−1} ⊙ σ'(a_f), dA_g = dc_t ⊙ i ⊙ tanh'(a_g),
    dA_o = dh_t ⊙ tanh(c_t) ⊙ σ'(a_o); then dx = dA W_ih, dW_ih = Σ dAᵀ x, dW_hh = Σ dAᵀ h_{t−1},
    db = Σ dA, dh0 = dA_first W_hh, dc0 = dc_first ⊙ f_first.

    Speed: the rows of W_ih, W_hh and b are scaled by −1 (i, f, o) and −2 (g) before the loop, so
    one ``exp`` per step gives every gate: σ(a) = 1/(1 + e^(−a)) and tanh(a) = 2σ(2a) − 1.

    ``LSTMLayer.apply(x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse=False)`` → (output, h_n, c_n).
    """

    def forward(self, x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False):
        T, N, H = _check("LSTMLayer", x, h0, w_ih, w_hh, 4)
        if c0.shape != h0.shape:
            raise ShapeError(f"LSTMLayer: initial cell state has shape {c0.shape}, expected {h0.shape}")
        dtype = np.result_type(x.dtype, w_ih.dtype)
        scale = xp.full(4 * H, -1, dtype=dtype)
        scale[2 * H:3 * H] = -2
        gates = _projection(x, w_ih, _sum_bias(b_ih, b_hh), scale)   # becomes the gate values
        whh_t = _hidden_weight(w_hh, scale)
        prev, cur = _offsets(reverse)
        hs = xp.empty((T + 1, N, H), dtype=dtype)
        cs = xp.empty((T + 1, N, H), dtype=dtype)
        tc = xp.empty((T, N, H), dtype=dtype)
        hs[T * prev] = h0
        cs[T * prev] = c0
        with np.errstate(over="ignore"):
            for t in _steps(T, reverse):
                _lstm_step(gates[t], hs[t + prev], cs[t + prev], whh_t, cs[t + cur], tc[t], hs[t + cur])
        self.saved = (x, w_ih, w_hh, gates, hs, cs, tc, reverse)
        return hs[cur:cur + T], hs[T * cur], cs[T * cur]

    def backward(self, d_out, d_hn, d_cn):
        x, w_ih, w_hh, gates, hs, cs, tc, reverse = self.saved
        T, N, H = tc.shape
        prev, cur = _offsets(reverse)
        k, f, dc_from_h = _lstm_local_derivatives(gates, cs[prev:prev + T], tc)
        dA = xp.empty_like(gates)
        dA_ifg = dA.reshape(T, N, 4, H)[:, :, :3].transpose(0, 2, 1, 3)   # (T, 3, N, H) view
        dh = xp.array(d_hn, dtype=gates.dtype)
        dc = xp.array(d_cn, dtype=gates.dtype)
        for t in _steps(T, reverse, backward=True):
            dh += d_out[t]
            dc += dh * dc_from_h[t]
            xp.multiply(k[:3, t], dc, out=dA_ifg[t])
            xp.multiply(k[3, t], dh, out=dA[t, :, 3 * H:])
            dc *= f[t]
            dh = xp.matmul(dA[t], w_hh)
        dx, dw_ih, dw_hh, db_ih, db_hh = _weight_grads(self, dA, dA, x, hs[prev:prev + T], w_ih, 3)
        need = self.needs_grad
        return (dx, dh if need[1] else None, dc if need[2] else None, dw_ih, dw_hh, db_ih, db_hh)


# ----- GRU --------------------------------------------------------------------------------------------
def _gru_step(a, h_prev, whh_t, b_hh, hg_out, h_out):
    """One GRU step (PyTorch's gate order r, z, n), in place on ``a`` = XG_t (the r, z blocks stored
    negated, see ``GRULayer``):

    [m_r, m_z, m_n] = h_{t−1} W_hhᵀ + b_hh  (kept in ``hg_out``; the r, z blocks negated)
    r = σ(a_r + m_r), z = σ(a_z + m_z), n = tanh(a_n + r ⊙ m_n), h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}.

    Afterwards ``a`` holds [r, z, n] and ``h_out`` holds h_t = n + z ⊙ (h_{t−1} − n).
    """
    H = h_prev.shape[1]
    xp.matmul(h_prev, whh_t, out=hg_out)
    if b_hh is not None:
        hg_out += b_hh
    rz = a[:, :2 * H]
    rz += hg_out[:, :2 * H]
    _sigmoid_of_negated_(rz)
    n = a[:, 2 * H:]
    n += a[:, :H] * hg_out[:, 2 * H:]
    _tanh(n, n)
    xp.subtract(h_prev, n, out=h_out)
    h_out *= a[:, H:2 * H]
    h_out += n


def _gru_local_derivatives(gates, hg, h_prev):
    """For all steps at once, the factors that turn dh_t into pre-activation gradients:

    dA_n = dh_t ⊙ (1−z) ⊙ (1−n²)                 (input side: a_n;  hidden side: m_n gets dA_n ⊙ r)
    dA_z = dh_t ⊙ (h_{t−1} − n) ⊙ z(1−z)
    dA_r = dA_n ⊙ m_n ⊙ r(1−r)
    Returns (k_n, k_z, k_r, k_n ⊙ r, z), each (T, N, H) and contiguous, built in place over a
    gate-major copy of the gates where possible.
    """
    H = h_prev.shape[2]
    r, z, n = _gate_major(gates, 3)
    tmp = 1 - z
    k_z = h_prev - n
    k_z *= z
    k_z *= tmp                       # k_z = (h_{t−1} − n) ⊙ z(1−z)
    xp.multiply(n, n, out=n)
    xp.subtract(1, n, out=n)
    n *= tmp                         # k_n = (1−z) ⊙ (1−n²)
    xp.subtract(1, r, out=tmp)
    tmp *= r
    tmp *= hg[..., 2 * H:]           # k_r = m_n ⊙ r(1−r)
    r *= n                           # k_n ⊙ r
    return n, k_z, tmp, r, z


class GRULayer(Function):
    """GRU over a whole sequence (PyTorch's gate order r, z, n):

    r = σ(W_ir x_t + b_ir + W_hr h_{t−1} + b_hr),  z = σ(W_iz x_t + b_iz + W_hz h_{t−1} + b_hz)
    n = tanh(W_in x_t + b_in + r ⊙ (W_hn h_{t−1} + b_hn)),  h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}

    Derivatives, newest step first, with dh_t = output gradient + what step t+1 sends back, and
    m_n = W_hn h_{t−1} + b_hn:  dA_n = dh_t ⊙ (1−z) ⊙ (1−n²),  dA_z = dh_t ⊙ (h_{t−1} − n) ⊙ z(1−z),
    dA_r = dA_n ⊙ m_n ⊙ r(1−r). The input side gets [dA_r, dA_z, dA_n], the hidden side
    [dA_r, dA_z, dA_n ⊙ r]; dh_{t−1} = dh_t ⊙ z + [hidden side] W_hh.

    Speed: the r and z rows of the weights and biases are negated before the loop, so one ``exp``
    per step gives both sigmoid gates.

    ``GRULayer.apply(x, h0, w_ih, w_hh, b_ih, b_hh, reverse=False)`` → (output, h_n).
    """

    def forward(self, x, h0, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False):
        T, N, H = _check("GRULayer", x, h0, w_ih, w_hh, 3)
        dtype = np.result_type(x.dtype, w_ih.dtype)
        scale = xp.ones(3 * H, dtype=dtype)
        scale[:2 * H] = -1
        gates = _projection(x, w_ih, b_ih, scale)          # becomes the gate values [r, z, n]
        whh_t = _hidden_weight(w_hh, scale)
        bhh = None if b_hh is None else b_hh * scale
        prev, cur = _offsets(reverse)
        hs = xp.empty((T + 1, N, H), dtype=dtype)
        hg = xp.empty((T, N, 3 * H), dtype=dtype)
        hs[T * prev] = h0
        with np.errstate(over="ignore"):
            for t in _steps(T, reverse):
                _gru_step(gates[t], hs[t + prev], whh_t, bhh, hg[t], hs[t + cur])
        self.saved = (x, w_ih, w_hh, gates, hg, hs, reverse)
        return hs[cur:cur + T], hs[T * cur]

    def backward(self, d_out, d_hn):
        x, w_ih, w_hh, gates, hg, hs, reverse = self.saved
        T, H = x.shape[0], w_hh.shape[1]
        prev, cur = _offsets(reverse)
        k_n, k_z, k_r, k_nr, z = _gru_local_derivatives(gates, hg, hs[prev:prev + T])
        dA_x = xp.empty_like(gates)      # input side  [dA_r, dA_z, dA_n]
        dA_h = xp.empty_like(gates)      # hidden side [dA_r, dA_z, dA_n ⊙ r]
        dh = xp.array(d_hn, dtype=gates.dtype)
        for t in _steps(T, reverse, backward=True):
            dh += d_out[t]
            xp.multiply(dh, k_n[t], out=dA_x[t, :, 2 * H:])
            xp.multiply(dh, k_z[t], out=dA_h[t, :, H:2 * H])
            xp.multiply(dA_x[t, :, 2 * H:], k_r[t], out=dA_h[t, :, :H])
            xp.multiply(dh, k_nr[t], out=dA_h[t, :, 2 * H:])
            back = xp.matmul(dA_h[t], w_hh)
            dh *= z[t]
            dh += back
        dA_x[..., :2 * H] = dA_h[..., :2 * H]
        dx, dw_ih, dw_hh, db_ih, db_hh = _weight_grads(self, dA_x, dA_h, x, hs[prev:prev + T], w_ih, 2)
        return dx, (dh if self.needs_grad[1] else None), dw_ih, dw_hh, db_ih, db_hh

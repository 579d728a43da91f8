"""Recurrent layers as whole-sequence Functions: one graph node per layer and direction.

Shapes (time-major): x (T, N, I), h0 and c0 (N, H), ``weight_ih`` (G·H, I), ``weight_hh`` (G·H, H),
``bias_ih`` and ``bias_hh`` (G·H,), output (T, N, H), h_n and c_n (N, H); G is the number of gate
blocks (1 for RNN, 4 for LSTM, 3 for GRU), stacked in PyTorch's order.

How the work is split, so that Python loops only where the math forces it to:

1. Forward, input side: the input projections of all T steps are ONE matrix product,
   XG = x W_ihᵀ + b  (T·N rows at once).
2. Forward, recurrent side: a loop over time adds h_{t−1} W_hhᵀ to XG_t and applies the cell
   (``_lstm_step``, ``_gru_step``, ``_rnn_step``). Every gate value is kept for the backward pass.
3. Backward: a loop over time, newest step first, carries dh (and dc) back. At each step the cell's
   backward (``_lstm_step_backward``, ...) turns them into dA_t, the gradient of that step's
   pre-activations, and dh_{t−1} = dA_t W_hh goes one step further back.
4. After the loop, ONE matrix product each:
   dW_hh = Σ_t dA_tᵀ h_{t−1},  dW_ih = Σ_t dA_tᵀ x_t,  dx = dA W_ih,  db = Σ_t Σ_n dA_t.

Gate values and their gradients are stored gate-major, (G, T, N, H): every gate of every step is
one contiguous (N, H) block, so each NumPy call in the loops runs over contiguous memory. The
per-step products use the weights as G stacked (H, H) blocks (``np.matmul`` runs them as a batch).

``reverse=True`` runs the same recurrence from the last step to the first (the backward direction
of a bidirectional layer): no copy of x is made, only the order of the loop changes.

Sigmoids are evaluated as σ(a) = ½ + ½·tanh(a/2) (exact, and never overflows). The ½ inside the
tanh is folded into the rows of the weights before the loop, so one ``tanh`` call per step
serves every gate of the cell.

Compiled kernels (optional, ``pip install 'shendu[fast]'``): when numba imports and
``shendu.backend.compiled()`` is on, the LSTM and GRU loops on float32/float64 call the kernels of
``shendu.ops._compiled`` for the elementwise arithmetic between the matrix products and the ``tanh``
calls: a step forward is 6 calls instead of 10–11, a step backward 2 instead of about 20. They do
the same operations in the same order as the NumPy step functions here, which remain the
reference, so both paths give the same numbers.
"""
import numpy as np

from .. import _dnnl_rnn
from .. import backend as _backend
from ..autograd import Function, is_grad_enabled
from ..backend import gemm as _gemm
from ..backend import matmul as _mm
from ..backend import onednn as _onednn
from ..backend import onednn_threads as _onednn_threads
from ..backend import xp
from ..errors import ShapeError

__all__ = ["RNNLayer", "LSTMLayer", "GRULayer", "compiled_status"]


# ----- the optional compiled kernels ------------------------------------------------------------------
def _kernels(dtype):
    """The compiled kernels module (``shendu.ops._compiled``) for arrays of ``dtype``, or None for the
    NumPy path (switched off, numba missing, or a dtype other than float32/float64)."""
    if dtype not in (np.float32, np.float64):
        return None
    return _backend.compiled_module(f"{__package__}._compiled")


def compiled_status(warm_up=False):
    """Which path the LSTM/GRU loops take, as a phrase: ``"on (numba 0.68.1)"``, ``"off (switched
    off)"`` or ``"off (numba not installed)"``. With ``warm_up`` the kernels are compiled (or loaded
    from numba's cache) now for float32 and float64, so the first training step does not pay it."""
    if not _backend.compiled():
        return "off (switched off)"
    k = _kernels(np.float32)
    if k is None:
        return "off (numba not installed)"
    if warm_up:
        from ..autograd import enable_grad, no_grad

        for dt in (np.float32, np.float64):
            for cls, n, g in ((LSTMLayer, 2, 4), (GRULayer, 1, 3)):
                x = xp.ones((2, 1, 1), dtype=dt)
                h = [xp.zeros((1, 1), dtype=dt)] * n
                w = [xp.ones((g, 1), dtype=dt), xp.ones((g, 1), dtype=dt)]
                b = [xp.ones(g, dtype=dt)] * 2
                fn = cls()
                with enable_grad():
                    outs = fn.forward(x, *h, *w, *b)
                fn.needs_grad = (True,) * (1 + n + 4)
                fn.backward(*[xp.ones_like(o) for o in outs])
                with no_grad():
                    cls().forward(x, *h, *w, *b)
    return f"on (numba {k.VERSION})"


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


def _projection(x, w_ih, bias, gates, row_scale=None):
    """XG = x W_ihᵀ + bias for all steps at once, gate-major: (T, N, I) → (G, T, N, H).

    ``row_scale`` (G·H,) multiplies the rows of W_ih and b (done on the small weight, not on XG).
    """
    T, N, n_in = x.shape
    if row_scale is not None:
        w_ih = w_ih * row_scale[:, None]
        bias = None if bias is None else bias * row_scale
    H = w_ih.shape[0] // gates
    w_blocks = xp.ascontiguousarray(w_ih.reshape(gates, H, n_in).transpose(0, 2, 1))   # (G, I, H)
    xg = _mm(x.reshape(T * N, n_in), w_blocks).reshape(gates, T, N, H)
    if bias is not None:
        xg += bias.reshape(gates, 1, 1, H)
    return xg


def _hidden_blocks(w_hh, gates, row_scale=None, transpose=True):
    """W_hh as G contiguous (H, H) blocks, W_kᵀ for the forward product h W_kᵀ (``transpose``) or
    W_k for the backward product dA_k W_k; rows scaled if asked."""
    if row_scale is not None:
        w_hh = w_hh * row_scale[:, None]
    H = w_hh.shape[1]
    blocks = w_hh.reshape(gates, H, H)
    return xp.ascontiguousarray(blocks.transpose(0, 2, 1) if transpose else blocks)


def _sum_bias(b_ih, b_hh):
    if b_ih is None:
        return b_hh
    return b_ih if b_hh is None else b_ih + b_hh


def _weight_grads(fn, dA_x, dA_h, x, h_prev, w_ih, first_weight):
    """The end-of-backward products, with dA gate-major (G, T, N, H), one batched product each:

    dx = Σ_k dA_x,k W_ih,k,  dW_ih,k = dA_x,kᵀ x,  dW_hh,k = dA_h,kᵀ h_{t−1},  db = Σ_{t,n} dA.
    ``dA_x`` are the gradients of the input-side pre-activations, ``dA_h`` of the hidden-side ones
    (the same array except in the GRU). Returns (dx, dW_ih, dW_hh, db_ih, db_hh) in the gate order
    of dA, None where the input needs no gradient. The inputs are (x, states..., w_ih, w_hh, b_ih,
    b_hh) with w_ih at position ``first_weight``; biases left out of the call need no gradient.
    """
    T, N, n_in = x.shape
    G, H = dA_x.shape[0], dA_x.shape[3]
    need = list(fn.needs_grad) + [False] * 4
    w = first_weight
    gx = dA_x.reshape(G, T * N, H)
    gh = dA_h.reshape(G, T * N, H)
    dx = None
    if need[0]:
        dx = _mm(gx, w_ih.reshape(G, H, n_in)).sum(axis=0).reshape(T, N, n_in)
    dw_ih = dw_hh = None
    if need[w]:                       # xᵀ dA_k is dW_ih,kᵀ: that orientation is the faster product
        dw_ih = _mm(x.reshape(T * N, n_in).T, gx).transpose(0, 2, 1).reshape(G * H, n_in)
    if need[w + 1]:
        dw_hh = _mm(h_prev.reshape(T * N, H).T, gh).transpose(0, 2, 1).reshape(G * H, H)
    ones = xp.ones(T * N, dtype=gx.dtype)          # Σ over steps and samples, as a product
    db_ih = _mm(ones, gx).reshape(G * H) if need[w + 2] else None
    if not need[w + 3]:
        db_hh = None
    elif dA_h is dA_x and db_ih is not None:
        db_hh = db_ih.copy()                      # both biases feed the same pre-activations
    else:
        db_hh = _mm(ones, gh).reshape(G * H)
    return dx, dw_ih, dw_hh, db_ih, db_hh


def _loop_products(T):
    """The matrix product for each of the T steps of a loop: ``backend.matmul`` (which sets the
    thread count for the product's size) at the first step, ``backend.gemm`` on that count after it.
    Every step multiplies the same shapes, so the choice made at the first step holds for all of
    them, and the later steps skip the choice (a few microseconds, as much as a batch-1 product)."""
    yield _mm
    if T > 1:
        threads = _backend.current_threads()

        def step(a, b, out=None):
            return _gemm(a, b, out, threads)
        for _ in range(T - 1):
            yield step


def _sigmoid_of_half_(a):
    """In place: ``a`` holds z/2 and becomes σ(z) = ½ + ½·tanh(z/2)."""
    xp.tanh(a, out=a)
    a *= 0.5
    a += 0.5
    return a


# ----- Elman RNN --------------------------------------------------------------------------------------
def _rnn_step(xg_t, h_prev, whh_t, h_out, relu, mm=_mm):
    """h_t = φ(XG_t + h_{t−1} W_hhᵀ), φ = tanh or relu, written into ``h_out``."""
    mm(h_prev, whh_t, out=h_out)
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
        xg = _projection(x, w_ih, _sum_bias(b_ih, b_hh), 1)[0]
        whh_t = _hidden_blocks(w_hh, 1)[0]
        prev, cur = _offsets(reverse)
        hs = xp.empty((T + 1, N, H), dtype=xg.dtype)
        hs[T * prev] = h0
        for t, mm in zip(_steps(T, reverse), _loop_products(T)):
            _rnn_step(xg[t], hs[t + prev], whh_t, hs[t + cur], relu, mm)
        self.saved = (x, w_ih, w_hh, hs, relu, reverse)
        return hs[cur:cur + T], hs[T * cur].copy()        # h_n does not share the output's memory

    def backward(self, d_out, d_hn):
        x, w_ih, w_hh, hs, relu, reverse = self.saved
        T = x.shape[0]
        prev, cur = _offsets(reverse)
        out = hs[cur:cur + T]
        # φ'(a_t) for every step at once
        k = (out > 0).astype(out.dtype) if relu else 1 - out * out
        dA = xp.empty_like(out)
        dh = xp.array(d_hn, dtype=out.dtype)
        for t, mm in zip(_steps(T, reverse, backward=True), _loop_products(T)):
            dh += d_out[t]
            xp.multiply(dh, k[t], out=dA[t])
            dh = mm(dA[t], w_hh)
        dA = dA[None]
        dx, dw_ih, dw_hh, db_ih, db_hh = _weight_grads(self, dA, dA, x, hs[prev:prev + T], w_ih, 2)
        return dx, (dh if self.needs_grad[1] else None), dw_ih, dw_hh, db_ih, db_hh


# ----- LSTM -------------------------------------------------------------------------------------------
def _lstm_rows(H):
    """PyTorch stacks the gates i, f, g, o; inside the loop they are kept as i, f, o, g, so that the
    three sigmoid gates are one contiguous block. Swapping the last two blocks is its own inverse."""
    return np.r_[0:2 * H, 3 * H:4 * H, 2 * H:3 * H]


def _lstm_gate_rows(w, H, sigmoid_scale=1.0):
    """``w`` (4H, ...) or (4H,) in PyTorch's order i, f, g, o → a new contiguous array in the loop's
    order i, f, o, g, with the sigmoid rows (i, f, o) multiplied by ``sigmoid_scale`` (one pass)."""
    out = xp.empty(w.shape, dtype=w.dtype)
    if sigmoid_scale == 1.0:
        out[:2 * H] = w[:2 * H]
        out[2 * H:3 * H] = w[3 * H:]
    else:
        xp.multiply(w[:2 * H], sigmoid_scale, out=out[:2 * H])
        xp.multiply(w[3 * H:], sigmoid_scale, out=out[2 * H:3 * H])
    out[3 * H:] = w[2 * H:3 * H]
    return out


def _lstm_step(a, h_prev, c_prev, w_hh, hg, tmp, c_out, tc_out, h_out, mm=_mm):
    """One LSTM step on transposed (feature-major) states, in place on the pre-activations
    ``a`` = XG_t (4H, N) in the gate order i, f, o, g (the rows of i, f, o pre-scaled by ½, see
    ``LSTMLayer``); h and c are (H, N):

    i = σ(a_i), f = σ(a_f), o = σ(a_o), g = tanh(a_g),
    c_t = f ⊙ c_{t−1} + i ⊙ g,  h_t = o ⊙ tanh(c_t).

    ``w_hh`` is W_hh (4H, H), so the recurrent term is the single product W_hh h_{t−1} (into the
    scratch ``hg`` (4H, N)); every gate is then a contiguous (H, N) block of ``a``. ``tmp`` is (H, N)
    scratch. Afterwards ``a`` holds the gate values [i, f, o, g]; c_t, tanh(c_t), h_t go to the
    ``*_out`` arrays. Ten NumPy calls, one of them a matrix product, and no allocation. ``mm`` is
    the matrix product to use (see ``_loop_products``).
    """
    mm(w_hh, h_prev, out=hg)
    a += hg
    xp.tanh(a, out=a)
    H = h_prev.shape[0]
    sig = a[:3 * H]
    sig *= 0.5
    sig += 0.5
    g = a[3 * H:]
    xp.multiply(a[H:2 * H], c_prev, out=c_out)
    xp.multiply(a[:H], g, out=tmp)
    c_out += tmp
    xp.tanh(c_out, out=tc_out)
    xp.multiply(a[2 * H:3 * H], tc_out, out=h_out)


_ONE_SAMPLE_MV = True    # batch-1 inference: product and pre-activations in one kernel (lstm_pre_mv)


def _lstm_loop_compiled(k, raw, gates, hs, cs, tc, w_hh, hg, reverse, keep):
    """The forward loop of ``LSTMLayer`` with each step's elementwise arithmetic in compiled kernels:
    W_hh h_{t−1} (product, ``w_hh`` as given, in PyTorch's gate order), ``k.lstm_pre`` (the step's
    pre-activations from ``raw`` = the projected inputs and biases (T, 4H, N) and the product, into
    ``gates`` reordered and halved), tanh of all gates, ``k.lstm_cell`` (sigmoids and c_t),
    tanh(c_t), h_t = o ⊙ tanh(c_t): the same numbers as ``_lstm_step``. The per-step views are
    taken once, in lists, before the loop (indexing an array costs more than the batch-1 calls
    themselves). Buffers as in ``LSTMLayer.forward``: with ``keep`` gates (T, 4H, N), cs (T+1, H, N)
    and tc (T, H, N); else one step's gates (4H, N), cs (2, H, N) alternating and tc (H, N)."""
    T, H = raw.shape[0], hs.shape[1]
    prev, cur = _offsets(reverse)
    half = raw.dtype.type(0.5)
    order = list(_steps(T, reverse))
    X, S = list(raw), list(hs)
    if keep:
        G, O = list(gates), list(gates[:, 2 * H:3 * H])
        C, TC = list(cs), list(tc)
        cells = [(C[t + prev], C[t + cur], TC[t]) for t in order]
    else:
        G, O = [gates] * T, [gates[2 * H:3 * H]] * T
        cells = [(cs[j & 1], cs[1 - (j & 1)], tc) for j in range(2)] * ((T + 1) // 2)
    pre, tanh, mul, cell = k.lstm_pre, xp.tanh, xp.multiply, k.lstm_cell
    if (_ONE_SAMPLE_MV and not keep and T and raw.shape[2] == 1 and w_hh.flags.c_contiguous
            and w_hh.dtype == raw.dtype):
        # one sample, inference: the product and the pre-activations in one kernel per step, which
        # also finishes the step before (h_{t−1} = o ⊙ tanh(c_{t−1})); four calls a step
        pre_mv, X1, S1, a1 = k.lstm_pre_mv, list(raw[:, :, 0]), list(hs[:, :, 0]), gates[:, 0]
        o1, tc1 = a1[2 * H:3 * H], tc[:, 0]
        finish = False
        for t, (c_prev, c_out, _) in zip(order, cells):
            pre_mv(w_hh, o1, tc1, S1[t + prev], X1[t], a1, half, finish)
            tanh(gates, out=gates)
            cell(gates, c_prev, c_out, half)
            tanh(c_out, out=tc)
            finish = True
        mul(gates[2 * H:3 * H], tc, out=S[order[-1] + cur])
        return
    for t, (c_prev, c_out, tc_out), mm in zip(order, cells, _loop_products(T)):
        a = G[t]
        mm(w_hh, S[t + prev], out=hg)
        pre(X[t], hg, a, half)
        tanh(a, out=a)
        cell(a, c_prev, c_out, half)
        tanh(c_out, out=tc_out)
        mul(O[t], tc_out, out=S[t + cur])


def _lstm_step_backward(a, c_prev, tc, dh, dc, dA, tmp):
    """Backward of one LSTM step (feature-major like ``_lstm_step``). ``a`` holds the step's gates
    [i, f, o, g] (4H, N), ``tc`` = tanh(c_t), ``dh`` the whole gradient reaching h_t, ``dc`` the one
    reaching c_t from step t+1, all (H, N):

    dc_t = dc + dh ⊙ o ⊙ (1 − tanh²(c_t))               (c_t also feeds h_t)
    dA_i = dc_t ⊙ g ⊙ i(1−i),  dA_f = dc_t ⊙ c_{t−1} ⊙ f(1−f),  dA_o = dh ⊙ tanh(c_t) ⊙ o(1−o),
    dA_g = dc_t ⊙ i ⊙ (1−g²)                               (σ' = σ(1−σ), tanh' = 1 − tanh²)
    Writes dA (4H, N), and leaves dc_{t−1} = dc_t ⊙ f in ``dc``. ``tmp`` is (H, N) scratch space.
    """
    H = tc.shape[0]
    a4 = a.reshape(4, H, -1)
    d4 = dA.reshape(4, H, -1)
    i, f, o, g = a4
    xp.multiply(tc, tc, out=tmp)
    xp.subtract(1, tmp, out=tmp)
    tmp *= o
    tmp *= dh
    dc += tmp
    d_sig = d4[:3]
    xp.subtract(1, a4[:3], out=d_sig)
    d_sig *= a4[:3]                                  # σ(1−σ) for i, f, o at once
    d4[0] *= g
    d4[1] *= c_prev
    d4[2] *= tc
    d4[:2] *= dc                                     # i and f move c_t
    d4[2] *= dh                                      # o moves h_t
    d_g = d4[3]
    xp.multiply(g, g, out=d_g)
    xp.subtract(1, d_g, out=d_g)
    d_g *= i
    d_g *= dc
    dc *= f


def _lstm_threads(N, H):
    """Threads for oneDNN's LSTM primitive: the policy's count for one step's recurrent product
    (2·N·4H·H), the product the loop sizes its threads by."""
    return _onednn_threads(8.0 * N * H * H)


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

    Speed: inside, the gate blocks are reordered i, f, o, g and the sigmoid rows of W_ih, W_hh and b
    are halved, so that one ``tanh`` per step gives every gate (σ(a) = ½ + ½·tanh(a/2)). The loop
    runs on transposed states, h_t as (H, N) and the gates of step t as (4H, N): each step is then
    ONE 2-D product W_hh h_{t−1} forward and ONE product W_hhᵀ dA_t backward, and every gate is a
    contiguous block for the elementwise calls. The weight gradients are one product each over all
    T·N columns. With recording off (``no_grad``) nothing is kept for a backward pass: the cell
    state and tanh(c) live in buffers of one step each.

    ``LSTMLayer.apply(x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse=False)`` → (output, h_n, c_n).
    """

    def forward(self, x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False):
        T, N, H = _check("LSTMLayer", x, h0, w_ih, w_hh, 4)
        if c0.shape != h0.shape:
            raise ShapeError(f"LSTMLayer: initial cell state has shape {c0.shape}, expected {h0.shape}")
        bias = _sum_bias(b_ih, b_hh)
        keep = is_grad_enabled()
        if _onednn() and x.dtype == w_ih.dtype == np.float32:          # oneDNN's LSTM primitive
            if bias is None:
                bias = xp.zeros(4 * H, dtype=np.float32)
            args = (x, h0, c0, w_ih, w_hh, bias, reverse)
            r = _dnnl_rnn.forward(*args, keep, _lstm_threads(N, H))
            if r is not None:
                y, h_n, c_n, workspace = r
                if keep:
                    # flat, so that the graph frees the arrays once backward has run (autograd._release)
                    self.saved = ("onednn", *args, y, h_n, c_n, workspace, b_ih, b_hh)
                return y, h_n, c_n
        return self._forward_loop(x, h0, c0, w_ih, w_hh, bias, reverse, keep)

    def _forward_loop(self, x, h0, c0, w_ih, w_hh, bias, reverse, keep):
        """The forward pass as the loop over time steps described above (the reference)."""
        T, N, H = x.shape[0], x.shape[1], h0.shape[1]
        dtype = np.result_type(x.dtype, w_ih.dtype)
        # XG_tᵀ = W_ih x_tᵀ for every step, (T, 4H, N): one batched product over the steps; for one
        # sample (T, 4H) and (T, 4H, 1) are the same memory, and one 2-D product is faster
        kern = _kernels(dtype)
        if kern is not None:
            # the same numbers without reordering the weights at each call: project in PyTorch's gate
            # order; each step's kernel reorders and halves x_t W_ihᵀ + b + W_hh h_{t−1} (``lstm_pre``)
            if N == 1:
                raw = _mm(x.reshape(T, x.shape[2]), w_ih.T)
                if bias is not None:
                    raw += bias
                raw = raw.reshape(T, 4 * H, 1)
            else:
                raw = _mm(w_ih, x.transpose(0, 2, 1))
                if bias is not None:
                    raw += bias[:, None]
            gates = xp.empty(raw.shape if keep else raw.shape[1:], dtype=raw.dtype)
            w_hh_r = w_hh
        else:
            w_ih_r = _lstm_gate_rows(w_ih, H, 0.5)
            if N == 1:
                gates = _mm(x.reshape(T, x.shape[2]), w_ih_r.T).reshape(T, 4 * H, 1)
            else:
                gates = _mm(w_ih_r, x.transpose(0, 2, 1))
            if bias is not None:
                gates += _lstm_gate_rows(bias, H, 0.5)[:, None]
            w_hh_r = _lstm_gate_rows(w_hh, H, 0.5)
        prev, cur = _offsets(reverse)
        hs = xp.empty((T + 1, H, N), dtype=dtype)                 # h_tᵀ, slot layout of _offsets
        hs[T * prev] = h0.T
        hg = xp.empty((4 * H, N), dtype=dtype)
        tmp = xp.empty((H, N), dtype=dtype)
        if keep:
            cs = xp.empty((T + 1, H, N), dtype=dtype)
            tc = xp.empty((T, H, N), dtype=dtype)
            cs[T * prev] = c0.T
            c_n = cs[T * cur]
        else:
            cs = xp.empty((2, H, N), dtype=dtype)      # inference: c_{t−1} and c_t, alternating
            tc = xp.empty((H, N), dtype=dtype)
            cs[0] = c0.T
            c_n = cs[T & 1]
        if kern is not None:
            _lstm_loop_compiled(kern, raw, gates, hs, cs, tc, w_hh_r, hg, reverse, keep)
        elif keep:
            for t, mm in zip(_steps(T, reverse), _loop_products(T)):
                _lstm_step(gates[t], hs[t + prev], cs[t + prev], w_hh_r, hg, tmp, cs[t + cur], tc[t],
                           hs[t + cur], mm)
        else:
            for k, (t, mm) in enumerate(zip(_steps(T, reverse), _loop_products(T))):
                _lstm_step(gates[t], hs[t + prev], cs[k & 1], w_hh_r, hg, tmp, cs[1 - (k & 1)], tc,
                           hs[t + cur], mm)
        rows = xp.ascontiguousarray(hs.transpose(0, 2, 1))       # (T+1, N, H): the output and h0
        if keep:
            self.saved = (x, w_ih, w_hh, gates, rows, cs, tc, reverse)
        return rows[cur:cur + T], rows[T * cur].copy(), c_n.T.copy()   # h_n, c_n: memory of their own

    def backward(self, d_out, d_hn, d_cn):
        if isinstance(self.saved[0], str):      # "onednn"
            args, outputs, biases = self.saved[1:8], self.saved[8:12], self.saved[12:]
            N, H = args[1].shape
            d = [g.astype(np.float32, copy=False) for g in (d_out, d_hn, d_cn)]
            grads = _dnnl_rnn.backward(*args, *outputs, *d, _lstm_threads(N, H))
            if grads is None:           # oneDNN unusable since the forward pass: the loop from the start
                self._forward_loop(*args, keep=True)
                return self._backward_loop(d_out, d_hn, d_cn)
            need = list(self.needs_grad) + [False] * 7
            dx, dh0, dc0, dw_ih, dw_hh, db = grads
            db_ih = db if need[5] and biases[0] is not None else None
            db_hh = (db.copy() if db_ih is not None else db) if need[6] and biases[1] is not None else None
            firsts = tuple(g if n else None for g, n in zip((dx, dh0, dc0, dw_ih, dw_hh), need))
            return firsts + (db_ih, db_hh)
        return self._backward_loop(d_out, d_hn, d_cn)

    def _backward_loop(self, d_out, d_hn, d_cn):
        x, w_ih, w_hh, gates, rows, cs, tc, reverse = self.saved
        T, H, N = tc.shape
        n_in = x.shape[2]
        prev, cur = _offsets(reverse)
        w_hh_t = xp.ascontiguousarray(_lstm_gate_rows(w_hh, H).T)   # dh_{t−1} = W_hhᵀ dA_t
        d_out = xp.ascontiguousarray(d_out.transpose(0, 2, 1), dtype=gates.dtype)
        tmp = xp.empty((H, N), dtype=gates.dtype)
        dh = xp.array(d_hn.T, dtype=gates.dtype, order="C")
        dc = xp.array(d_cn.T, dtype=gates.dtype, order="C")
        kern = _kernels(gates.dtype)
        if kern is None:
            dA = xp.empty_like(gates)
            for t, mm in zip(_steps(T, reverse, backward=True), _loop_products(T)):
                dh += d_out[t]
                _lstm_step_backward(gates[t], cs[t + prev], tc[t], dh, dc, dA[t], tmp)
                mm(w_hh_t, dA[t], out=dh)
            dA2 = xp.ascontiguousarray(dA.transpose(1, 0, 2)).reshape(4 * H, T * N)   # (4H, T·N)
        else:      # the same step, its elementwise part one kernel call writing dA_t as (4H, T, N) rows
            one = tmp.dtype.type(1)
            dA = xp.empty((4 * H, T, N), dtype=gates.dtype)
            for t, mm in zip(_steps(T, reverse, backward=True), _loop_products(T)):
                kern.lstm_step_backward(gates[t], cs[t + prev], tc[t], dh, d_out[t], dc, dA, t, one)
                mm(w_hh_t, dA[:, t], out=dh)
            dA2 = dA.reshape(4 * H, T * N)
        need = list(self.needs_grad) + [False] * 7
        order = _lstm_rows(H)
        dx = dw_ih = dw_hh = db_ih = db_hh = None
        if need[0]:
            dx = _mm(dA2.T, _lstm_gate_rows(w_ih, H)).reshape(T, N, n_in)
        if need[3]:
            dw_ih = _mm(dA2, x.reshape(T * N, n_in))[order]
        if need[4]:
            dw_hh = _mm(dA2, rows[prev:prev + T].reshape(T * N, H))[order]
        if need[5] or need[6]:
            db = _mm(dA2, xp.ones(T * N, dtype=dA2.dtype))[order]
            db_ih = db if need[5] else None
            db_hh = (db.copy() if need[5] else db) if need[6] else None
        dh0 = xp.ascontiguousarray(dh.T) if need[1] else None
        dc0 = xp.ascontiguousarray(dc.T) if need[2] else None
        return (dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh)


# ----- GRU --------------------------------------------------------------------------------------------
def _gru_step(a, h_prev, w_hh, b_hn, hg, tmp, m_out, h_out, mm=_mm):
    """One GRU step (PyTorch's gate order r, z, n) on transposed (feature-major) states, in place on
    ``a`` = XG_t (3H, N), which already holds b_hr and b_hz (the r, z rows are pre-scaled by ½, see
    ``GRULayer``); h is (H, N), ``b_hn`` (H, 1) or None:

    [m_r, m_z, m_n] = W_hh h_{t−1} (ONE product, into the scratch ``hg`` (3H, N)), m_n += b_hn (kept
    in ``m_out``), r = σ(a_r + m_r), z = σ(a_z + m_z), n = tanh(a_n + r ⊙ m_n),
    h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}.

    Afterwards ``a`` holds [r, z, n] and ``h_out`` holds h_t = n + z ⊙ (h_{t−1} − n); every gate is a
    contiguous (H, N) block. ``tmp`` is (H, N) scratch space.
    """
    mm(w_hh, h_prev, out=hg)
    H = h_prev.shape[0]
    if b_hn is None:
        m_out[...] = hg[2 * H:]
    else:
        xp.add(hg[2 * H:], b_hn, out=m_out)
    rz = a[:2 * H]
    rz += hg[:2 * H]
    _sigmoid_of_half_(rz)
    r, z, n = a[:H], a[H:2 * H], a[2 * H:]
    xp.multiply(r, m_out, out=tmp)
    n += tmp
    xp.tanh(n, out=n)
    xp.subtract(h_prev, n, out=h_out)
    h_out *= z
    h_out += n


def _gru_step_compiled(a, h_prev, w_hh, b_hn, hg, tmp, m_out, h_out, mm, k):
    """``_gru_step`` with the elementwise arithmetic in compiled kernels: product, ``k.gru_pre``
    (m_n and a_rz + m_rz), tanh, ``k.gru_mid`` (r, z and a_n + r ⊙ m_n), tanh, ``k.gru_out`` (h_t)."""
    mm(w_hh, h_prev, out=hg)
    H = h_prev.shape[0]
    k.gru_pre(a, hg, tmp if b_hn is None else b_hn, m_out, b_hn is not None)
    xp.tanh(a[:2 * H], out=a[:2 * H])
    k.gru_mid(a, m_out, tmp.dtype.type(0.5))
    xp.tanh(a[2 * H:], out=a[2 * H:])
    k.gru_out(a, h_prev, h_out)


def _gru_step_backward(a, m_n, h_prev, dh, d_n, dA_h, tmp):
    """Backward of one GRU step (feature-major like ``_gru_step``). ``a`` holds the step's gates
    [r, z, n] (3H, N), ``m_n`` = W_hn h_{t−1} + b_hn, ``dh`` the whole gradient reaching h_t (H, N):

    dA_n = dh ⊙ (1−z) ⊙ (1−n²),  dA_z = dh ⊙ (h_{t−1} − n) ⊙ z(1−z),  dA_r = dA_n ⊙ m_n ⊙ r(1−r).
    Writes the hidden-side gradients [dA_r, dA_z, dA_n ⊙ r] into ``dA_h`` (3H, N) and dA_n into
    ``d_n`` (H, N): the input side's gradients are [dA_r, dA_z, dA_n], its r, z blocks are dA_h's.
    """
    H = dh.shape[0]
    r, z, n = a[:H], a[H:2 * H], a[2 * H:]
    xp.subtract(1, z, out=tmp)
    xp.multiply(n, n, out=d_n)
    xp.subtract(1, d_n, out=d_n)
    d_n *= dh
    d_n *= tmp
    d_z = dA_h[H:2 * H]
    xp.subtract(h_prev, n, out=d_z)
    d_z *= dh
    d_z *= z
    d_z *= tmp
    d_r = dA_h[:H]
    xp.subtract(1, r, out=d_r)
    d_r *= r
    d_r *= m_n
    d_r *= d_n
    xp.multiply(d_n, r, out=dA_h[2 * H:])


def _gru_scaled(w, H):
    """A copy of ``w`` (3H, ...) or (3H,) with the r and z rows halved (σ(a) = ½ + ½·tanh(a/2))."""
    out = xp.empty(w.shape, dtype=w.dtype)
    xp.multiply(w[:2 * H], 0.5, out=out[:2 * H])
    out[2 * H:] = w[2 * H:]
    return out


class GRULayer(Function):
    """GRU over a whole sequence (PyTorch's gate order r, z, n):

    r = σ(W_ir x_t + b_ir + W_hr h_{t−1} + b_hr),  z = σ(W_iz x_t + b_iz + W_hz h_{t−1} + b_hz)
    n = tanh(W_in x_t + b_in + r ⊙ (W_hn h_{t−1} + b_hn)),  h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}

    Derivatives, newest step first, with dh_t = output gradient + what step t+1 sends back, and
    m_n = W_hn h_{t−1} + b_hn:  dA_n = dh_t ⊙ (1−z) ⊙ (1−n²),  dA_z = dh_t ⊙ (h_{t−1} − n) ⊙ z(1−z),
    dA_r = dA_n ⊙ m_n ⊙ r(1−r). The input side gets [dA_r, dA_z, dA_n], the hidden side
    [dA_r, dA_z, dA_n ⊙ r]; dh_{t−1} = dh_t ⊙ z + [hidden side] W_hh.

    Speed: the r and z rows of the weights and biases are halved before the loop, so one ``tanh``
    per step gives both sigmoid gates (σ(a) = ½ + ½·tanh(a/2)). As in ``LSTMLayer`` the loop runs
    on transposed states (h_t as (H, N), the gates of step t as one (3H, N) block): one 2-D product
    per step each way, contiguous gate blocks, one product per weight gradient over all T·N columns,
    and under no_grad nothing kept for a backward pass.

    ``GRULayer.apply(x, h0, w_ih, w_hh, b_ih, b_hh, reverse=False)`` → (output, h_n).
    """

    def forward(self, x, h0, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False):
        T, N, H = _check("GRULayer", x, h0, w_ih, w_hh, 3)
        dtype = np.result_type(x.dtype, w_ih.dtype)
        bias = b_ih
        if b_hh is not None:                                  # b_hr, b_hz join the input side
            bias = xp.concatenate([b_hh[:2 * H], xp.zeros(H, dtype=b_hh.dtype)])
            bias = bias if b_ih is None else bias + b_ih
        w_ih_s = _gru_scaled(w_ih, H)
        if N == 1:                                             # (T, 3H) is (T, 3H, 1) in memory
            gates = _mm(x.reshape(T, x.shape[2]), w_ih_s.T).reshape(T, 3 * H, 1)
        else:
            gates = _mm(w_ih_s, x.transpose(0, 2, 1))           # (T, 3H, N), becomes [r, z, n]
        if bias is not None:
            gates += _gru_scaled(bias, H)[:, None]
        w_hh_s = _gru_scaled(w_hh, H)
        b_hn = None if b_hh is None else b_hh[2 * H:, None]
        keep = is_grad_enabled()
        prev, cur = _offsets(reverse)
        hs = xp.empty((T + 1, H, N), dtype=dtype)
        hs[T * prev] = h0.T
        m_n = xp.empty((T if keep else 1, H, N), dtype=dtype)
        hg = xp.empty((3 * H, N), dtype=dtype)
        tmp = xp.empty((H, N), dtype=dtype)
        kern = _kernels(dtype)
        step = _gru_step if kern is None else _gru_step_compiled
        extra = () if kern is None else (kern,)
        for t, mm in zip(_steps(T, reverse), _loop_products(T)):
            step(gates[t], hs[t + prev], w_hh_s, b_hn, hg, tmp, m_n[t if keep else 0], hs[t + cur], mm,
                 *extra)
        rows = xp.ascontiguousarray(hs.transpose(0, 2, 1))     # (T+1, N, H): the output and h0
        if keep:
            self.saved = (x, w_ih, w_hh, gates, m_n, hs, rows, reverse)
        return rows[cur:cur + T], rows[T * cur].copy()        # h_n does not share the output's memory

    def backward(self, d_out, d_hn):
        x, w_ih, w_hh, gates, m_n, hs, rows, reverse = self.saved
        T, H, N = m_n.shape
        n_in = x.shape[2]
        prev, cur = _offsets(reverse)
        dA_h = xp.empty_like(gates)      # hidden side [dA_r, dA_z, dA_n ⊙ r]
        dA_n = xp.empty_like(m_n)        # input side [dA_r, dA_z, dA_n] shares dA_h's r, z blocks
        w_hh_t = xp.ascontiguousarray(w_hh.T)                  # (H, 3H): W_hhᵀ dA_h
        d_out = xp.ascontiguousarray(d_out.transpose(0, 2, 1), dtype=gates.dtype)
        tmp = xp.empty((H, N), dtype=gates.dtype)
        back = xp.empty((H, N), dtype=gates.dtype)
        dh = xp.array(d_hn.T, dtype=gates.dtype, order="C")
        kern = _kernels(gates.dtype)
        if kern is None:
            for t, mm in zip(_steps(T, reverse, backward=True), _loop_products(T)):
                dh += d_out[t]
                _gru_step_backward(gates[t], m_n[t], hs[t + prev], dh, dA_n[t], dA_h[t], tmp)
                mm(w_hh_t, dA_h[t], out=back)              # W_hhᵀ dA_h, plus the direct path dh ⊙ z
                dh *= gates[t, H:2 * H]
                dh += back
        else:                        # the kernel adds back and d_out_t to dh first, and leaves dh ⊙ z
            one = tmp.dtype.type(1)
            back[...] = 0
            for t, mm in zip(_steps(T, reverse, backward=True), _loop_products(T)):
                kern.gru_step_backward(gates[t], m_n[t], hs[t + prev], dh, back, d_out[t], dA_n[t], dA_h[t],
                                       one)
                mm(w_hh_t, dA_h[t], out=back)
            dh += back
        need = list(self.needs_grad) + [False] * 6
        gh = xp.ascontiguousarray(dA_h.transpose(1, 0, 2)).reshape(3 * H, T * N)   # (3H, T·N)
        gn = xp.ascontiguousarray(dA_n.transpose(1, 0, 2)).reshape(H, T * N)       # input side's n
        grz = gh[:2 * H]
        dx = dw_ih = dw_hh = db_ih = db_hh = None
        if need[0]:
            dx = _mm(grz.T, w_ih[:2 * H])
            dx += _mm(gn.T, w_ih[2 * H:])
            dx = dx.reshape(T, N, n_in)
        if need[2]:
            x2 = x.reshape(T * N, n_in)
            dw_ih = xp.empty(w_ih.shape, dtype=gh.dtype)
            _mm(grz, x2, out=dw_ih[:2 * H])
            _mm(gn, x2, out=dw_ih[2 * H:])
        ones = xp.ones(T * N, dtype=gh.dtype)
        if need[4] or need[5]:
            db_hh = _mm(gh, ones)
            if need[4]:
                db_ih = db_hh.copy()
                db_ih[2 * H:] = _mm(gn, ones)
            if not need[5]:
                db_hh = None
        if need[3]:
            dw_hh = _mm(gh, rows[prev:prev + T].reshape(T * N, H))
        dh0 = xp.ascontiguousarray(dh.T) if need[1] else None
        return dx, dh0, dw_ih, dw_hh, db_ih, db_hh

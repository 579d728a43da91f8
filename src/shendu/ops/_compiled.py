"""Compiled (numba) kernels for the elementwise part of a recurrent step: the optional fast path.

Installed with ``pip install 'shendu[fast]'`` (numba) and switched with
``shendu.backend.set_compiled`` / ``SHENDU_COMPILED=0``; ``shendu.ops.rnn`` imports this module on
the first recurrent call that may use it, so ``import shendu`` never imports numba.

Each kernel does, in one pass over memory, exactly the arithmetic of the NumPy step functions in
``shendu.ops.rnn`` (``_lstm_step``, ``_lstm_step_backward``, ``_gru_step``, ``_gru_step_backward``),
which stay the reference and carry the formulas. The operations are the same and in the same order,
in the array's own precision (the constants ``one`` and ``half`` are passed in that dtype, since a
Python literal would promote float32 arithmetic to float64), without fast-math, so the results equal
the NumPy path's. The transcendental functions are NOT here: ``tanh`` stays a NumPy call on a whole
block, because NumPy's vectorised ``tanh`` is many times faster than the scalar one a compiled loop
calls. The matrix products stay NumPy/BLAS calls too.

All arrays are C-contiguous; a gate block (G·H, N) is seen as G consecutive blocks of H·N values, so
the loops run over flat memory and vectorise whatever the batch size.

Compiled once per dtype on first use (a few seconds; see docs/rnn.md), then cached on disk
(``cache=True``) where numba can write its cache, so later processes load the machine code instead.
"""
import numba

VERSION = numba.__version__


def _jit(fn=None, **options):
    """``numba.njit`` with an on-disk cache, or without one when no cache directory is writable.
    ``@_jit(error_model="numpy")`` passes options on: that one lets a loop with a division vectorise
    (x / 0 then gives inf or NaN, as NumPy does, instead of raising)."""
    if fn is None:
        return lambda f: _jit(f, **options)
    try:
        return numba.njit(cache=True, nogil=True, **options)(fn)
    except RuntimeError:            # "cannot cache function ...: no locator available"
        return numba.njit(cache=False, nogil=True, **options)(fn)


@_jit
def lstm_cell(a, c_prev, c_out, half):
    """After ``a`` = tanh([a_i, a_f, a_o, a_g]) (the i, f, o rows pre-halved): the sigmoid gates
    become ½ + ½·tanh in place, and c_t = f ⊙ c_{t−1} + i ⊙ g goes to ``c_out``."""
    m = c_prev.size
    a1 = a.reshape(a.size)
    cp = c_prev.reshape(m)
    co = c_out.reshape(m)
    for e in range(3 * m):
        a1[e] = a1[e] * half + half
    for e in range(m):
        co[e] = a1[m + e] * cp[e] + a1[e] * a1[3 * m + e]


@_jit
def lstm_step_backward(a, c_prev, tc, dh, d_out, dc, dA, t_step, one):
    """``_lstm_step_backward`` with the ``dh += d_out_t`` before it, in one pass: dh becomes the whole
    gradient reaching h_t, ``dA[:, t_step]`` the pre-activation gradients [i, f, o, g] (4H, N), dc
    becomes dc_{t−1} = dc_t ⊙ f. ``dA`` is the (4H, T, N) gradient of all steps, so the weight
    gradients read it as one (4H, T·N) matrix without a transposed copy."""
    H, n = tc.shape
    m = H * n
    a1 = a.reshape(a.size)
    cp = c_prev.reshape(m)
    t1 = tc.reshape(m)
    h1 = dh.reshape(m)
    o1 = d_out.reshape(m)
    c1 = dc.reshape(m)
    for j in range(H):
        for k in range(n):
            e = j * n + k
            i = a1[e]
            f = a1[m + e]
            o = a1[2 * m + e]
            g = a1[3 * m + e]
            t = t1[e]
            h = h1[e] + o1[e]
            h1[e] = h
            c = c1[e] + (one - t * t) * o * h
            dA[j, t_step, k] = (one - i) * i * g * c
            dA[H + j, t_step, k] = (one - f) * f * cp[e] * c
            dA[2 * H + j, t_step, k] = (one - o) * o * t * h
            dA[3 * H + j, t_step, k] = (one - g * g) * i * c
            c1[e] = c * f


@_jit
def gru_pre(a, hg, b_hn, m_out, has_bias):
    """The GRU step before its first ``tanh``: m_n = [W_hh h]_n + b_hn into ``m_out``, and
    a_rz += [W_hh h]_rz in place (``b_hn`` (H, 1), read only when ``has_bias``)."""
    H, n = m_out.shape
    m = H * n
    a1 = a.reshape(a.size)
    g1 = hg.reshape(hg.size)
    mo = m_out.reshape(m)
    for e in range(2 * m):
        a1[e] = a1[e] + g1[e]
    if has_bias:
        for j in range(H):
            b = b_hn[j, 0]
            for k in range(j * n, (j + 1) * n):
                mo[k] = g1[2 * m + k] + b
    else:
        for e in range(m):
            mo[e] = g1[2 * m + e]


@_jit
def gru_mid(a, m_n, half):
    """After ``a[:2H]`` = tanh(rz): r, z = ½ + ½·tanh in place, then a_n += r ⊙ m_n."""
    m = m_n.size
    a1 = a.reshape(a.size)
    mn = m_n.reshape(m)
    for e in range(2 * m):
        a1[e] = a1[e] * half + half
    for e in range(m):
        a1[2 * m + e] = a1[2 * m + e] + a1[e] * mn[e]


@_jit
def gru_out(a, h_prev, h_out):
    """After ``a[2H:]`` = n: h_t = n + z ⊙ (h_{t−1} − n) into ``h_out``."""
    m = h_prev.size
    a1 = a.reshape(a.size)
    hp = h_prev.reshape(m)
    ho = h_out.reshape(m)
    for e in range(m):
        n = a1[2 * m + e]
        ho[e] = (hp[e] - n) * a1[m + e] + n


@_jit
def gru_step_backward(a, m_n, h_prev, dh, back, d_out, d_n, dA_h, one):
    """``_gru_step_backward`` with what comes before it, in one pass. On entry ``dh`` holds
    dh_{t+1} ⊙ z_{t+1} and ``back`` W_hhᵀ dA_h,t+1 (zeros at the newest step); dh becomes the whole
    gradient reaching h_t, (dh + back) + d_out_t, then the kernel writes d_n = dA_n and
    dA_h = [dA_r, dA_z, dA_n ⊙ r], and leaves dh ⊙ z in ``dh`` for the step before."""
    m = m_n.size
    a1 = a.reshape(a.size)
    d1 = dA_h.reshape(dA_h.size)
    mn = m_n.reshape(m)
    hp = h_prev.reshape(m)
    h1 = dh.reshape(m)
    b1 = back.reshape(m)
    o1 = d_out.reshape(m)
    dn = d_n.reshape(m)
    for e in range(m):
        r = a1[e]
        z = a1[m + e]
        n = a1[2 * m + e]
        h = h1[e] + b1[e] + o1[e]
        omz = one - z
        x = (one - n * n) * h * omz
        dn[e] = x
        d1[m + e] = (hp[e] - n) * h * z * omz
        d1[e] = (one - r) * r * mn[e] * x
        d1[2 * m + e] = x * r
        h1[e] = h * z




@_jit
def lstm_pre(x_t, hg, a, half):
    """The pre-activations of one LSTM step in the loop's layout, from parts in PyTorch's gate order
    i, f, g, o: ``x_t`` = W_ih x_t + b_ih + b_hh (4H, N) and ``hg`` = W_hh h_{t−1} (4H, N); ``a``
    (4H, N) gets x_t + hg in the order i, f, o, g with the sigmoid rows times ``half``. Halving is
    exact in binary floating point, so this equals the NumPy path, which projects with reordered,
    halved weights and bias: ½(x + b) + ½h = ½((x + b) + h)."""
    m = a.size // 4
    x1 = x_t.reshape(x_t.size)
    g1 = hg.reshape(hg.size)
    a1 = a.reshape(a.size)
    for e in range(2 * m):                           # i, f
        a1[e] = (x1[e] + g1[e]) * half
    xo, go, ao = x1[3 * m:], g1[3 * m:], a1[2 * m:3 * m]
    for e in range(m):                               # o
        ao[e] = (xo[e] + go[e]) * half
    xg, gg, ag = x1[2 * m:3 * m], g1[2 * m:3 * m], a1[3 * m:]
    for e in range(m):                               # g
        ag[e] = xg[e] + gg[e]



def _jit_dot(fn):
    """``_jit`` for a kernel whose dot products may be reassociated and fused (so that they vectorise)."""
    return _jit(fn, fastmath={"reassoc", "nsz", "contract"})


@_jit_dot
def lstm_pre_mv(w_hh, o, tc, h_prev, x_t, a, half, finish_h):
    """``lstm_pre`` for ONE sample with the product W_hh h_{t−1} done here as well (one pass over
    W_hh (4H, H), kept in PyTorch's gate order): a (4H,) gets x_t + W_hh h_{t−1} reordered i, f, o, g,
    the sigmoid rows halved. With ``finish_h`` the previous step's last operation comes first:
    h_{t−1} = o ⊙ tanh(c_{t−1}) into ``h_prev`` (``o`` a view of ``a``, read before ``a`` is
    overwritten). The dot products are reassociated (vectorised) and fused, so they differ from the
    BLAS product in the last bits, as two BLAS builds do; used for inference only."""
    if finish_h:
        for j in range(h_prev.size):
            h_prev[j] = o[j] * tc[j]
    G, H = w_hh.shape
    m = G // 4
    one = half + half
    for k in range(4):
        d = k if k < 2 else 5 - k                   # i, f, g, o → i, f, o, g
        sc = one if k == 2 else half
        for j in range(m):
            r = k * m + j
            s = w_hh.dtype.type(0)
            for q in range(H):
                s += w_hh[r, q] * h_prev[q]
            a[d * m + j] = (x_t[r] + s) * sc

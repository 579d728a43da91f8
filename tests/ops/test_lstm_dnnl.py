"""LSTM layers through oneDNN's LSTM primitive (``shendu._dnnl_rnn``) against the loop over time steps
(``LSTMLayer._forward_loop``): the same outputs and gradients to float32 rounding, in training and in
inference, forward and reverse, with and without biases and initial states; the primitives taken
where they should be and declined (the loop then runs) where not; the workspace reused step to step."""
import numpy as np
import pytest

import shendu
from conftest import count_primitives, require_onednn
from shendu import _dnnl_rnn, _gemm, backend
from shendu.ops import rnn as ops_rnn

nn = shendu.nn


@pytest.fixture
def runs(monkeypatch):
    """Counts executions of the LSTM primitives by kind; restores the oneDNN switch afterwards."""
    require_onednn()
    before = backend.onednn()
    backend.set_onednn(True)
    yield count_primitives(monkeypatch, _dnnl_rnn, ("lstm_fwd", "lstm_inf", "lstm_bwd"))
    backend.set_onednn(before)


def _arrays(T, N, n_in, H, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    shapes = [(T, N, n_in), (N, H), (N, H), (4 * H, n_in), (4 * H, H), (4 * H,), (4 * H,)]
    return [(rng.standard_normal(s) * 0.5).astype(dtype) for s in shapes]


def _layer(arrays, reverse, bias=True, seed=1):
    """Outputs and every gradient of LSTMLayer on ``arrays`` with a random weighting of all three outputs."""
    ts = [shendu.tensor(a, requires_grad=True) for a in (arrays if bias else arrays[:5])]
    out, h, c = ops_rnn.LSTMLayer.apply(*ts, reverse=reverse)
    rng = np.random.default_rng(seed)
    loss = sum((o * shendu.tensor(rng.standard_normal(o.shape).astype(o.dtype))).sum() for o in (out, h, c))
    loss.backward()
    return [out.numpy(), h.numpy(), c.numpy()] + [t.grad.numpy() for t in ts]


def _loop(monkeypatch, fn):
    """``fn()`` with oneDNN's LSTM primitive declined: the loop over time steps."""
    with monkeypatch.context() as m:
        m.setattr(_dnnl_rnn, "forward", lambda *args: None)
        return fn()


def _close(got, want, rtol=1e-4):
    assert len(got) == len(want)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-5 * max(np.abs(b).max(), 1.0))


@pytest.mark.parametrize("T,N,n_in,H", [(7, 5, 3, 6), (28, 64, 28, 32), (1, 1, 4, 3), (3, 2, 9, 16)])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_primitive_equals_the_loop(runs, monkeypatch, T, N, n_in, H, reverse, bias):
    arrays = _arrays(T, N, n_in, H)
    want = _loop(monkeypatch, lambda: _layer(arrays, reverse, bias))
    assert runs == {"lstm_fwd": 0, "lstm_inf": 0, "lstm_bwd": 0}
    got = _layer(arrays, reverse, bias)
    assert runs == {"lstm_fwd": 1, "lstm_inf": 0, "lstm_bwd": 1}
    _close(got, want)


def test_inference_runs_the_inference_primitive(runs, monkeypatch):
    """With recording off nothing is kept: the inference primitive runs, without a workspace."""
    arrays = _arrays(6, 4, 5, 8)
    want = _loop(monkeypatch, lambda: ops_rnn.LSTMLayer().forward(*arrays))
    with shendu.no_grad():
        got = ops_rnn.LSTMLayer().forward(*arrays)
    assert runs == {"lstm_fwd": 0, "lstm_inf": 1, "lstm_bwd": 0}
    _close(got, want)


@pytest.mark.parametrize("batch_first", [False, True])
def test_nn_lstm_stacked_bidirectional_matches_the_loop(runs, monkeypatch, batch_first):
    """nn.LSTM with two layers, both directions and a batch-first input (a view that is copied to
    time-major memory): every layer and direction goes through the primitive."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 9, 5) if batch_first else (9, 4, 5)).astype(np.float32)

    def run():
        shendu.manual_seed(0)
        m = nn.LSTM(5, 7, num_layers=2, bidirectional=True, batch_first=batch_first)
        xt = shendu.tensor(x, requires_grad=True)
        out, (h, c) = m(xt)
        (out.sum() + (h * h).sum() + c.sum()).backward()
        return [out.numpy(), h.numpy(), c.numpy(), xt.grad.numpy()] + [p.grad.numpy() for p in m.parameters()]

    want = _loop(monkeypatch, run)
    got = run()
    assert runs["lstm_fwd"] == 4 and runs["lstm_bwd"] == 4
    _close(got, want)


def test_training_ends_at_the_same_weights(runs, monkeypatch):
    """A small LSTM classifier trained 5 Adam steps with and without the primitive ends at the same
    weights to float32 rounding; the workspace of each step is the one buffer reused."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((16, 10, 6)).astype(np.float32)
    y = rng.integers(0, 3, 16)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.LSTM(6, 12, batch_first=True)
            self.fc = nn.Linear(12, 3)

        def forward(self, x):
            out, _ = self.rnn(x)
            return self.fc(out[:, -1])

    def train():
        shendu.manual_seed(0)
        model = Net()
        opt = shendu.optim.Adam(model.parameters(), lr=1e-2)
        buffers = set()
        for _ in range(5):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(shendu.tensor(x)), shendu.tensor(y))
            loss.backward()
            opt.step()
            buffers |= {id(e[0]) for e in getattr(_dnnl_rnn._pool, "entries", [])}
        return [p.numpy().copy() for p in model.parameters()], buffers

    want, _ = _loop(monkeypatch, train)
    got, buffers = train()
    assert runs["lstm_fwd"] == 5 and runs["lstm_bwd"] == 5
    assert len(buffers) <= 2                   # the workspace comes from the pool, not a new one per step
    _close(got, want, rtol=1e-3)


def test_retained_graph_gives_the_same_gradients_twice(runs):
    arrays = _arrays(5, 3, 4, 6)
    ts = [shendu.tensor(a, requires_grad=True) for a in arrays]
    out, h, c = ops_rnn.LSTMLayer.apply(*ts)
    loss = (out * out).sum() + c.sum()
    loss.backward(retain_graph=True)
    first = [t.grad.numpy().copy() for t in ts]
    for t in ts:
        t.grad = None
    loss.backward()
    for a, t in zip(first, ts):
        np.testing.assert_array_equal(t.grad.numpy(), a)
    assert runs["lstm_bwd"] == 2


def test_workspace_pool_hands_out_free_buffers_only():
    _dnnl_rnn._pool.entries = []
    a = _dnnl_rnn._workspace(4000)
    b = _dnnl_rnn._workspace(4000)
    assert a.base is not b.base and len(_dnnl_rnn._pool.entries) == 2
    base = id(a.base)
    del a
    c = _dnnl_rnn._workspace(4000)
    assert id(c.base) == base                              # free again: reused
    d = _dnnl_rnn._workspace(4000)                         # both held: a new one, not kept
    assert all(d.base is not e[0] for e in _dnnl_rnn._pool.entries)
    del b, c, d
    big = _dnnl_rnn._workspace(40000)                      # larger than any: replaces the smallest free one
    assert big.size >= 10000 and len(_dnnl_rnn._pool.entries) == 2
    assert any(big.base is e[0] for e in _dnnl_rnn._pool.entries)


def test_declined_where_it_does_not_apply(runs, monkeypatch):
    """float64, empty sequences and a forked child run the loop; a backward whose primitive is declined after a
    forward that ran it recomputes with the loop and still gives the right gradients."""
    arrays = _arrays(4, 3, 5, 6, dtype=np.float64)
    _layer(arrays, False)
    assert runs == {"lstm_fwd": 0, "lstm_inf": 0, "lstm_bwd": 0}

    arrays = _arrays(4, 3, 5, 6)
    want = _loop(monkeypatch, lambda: _layer(arrays, True))
    with monkeypatch.context() as m:
        m.setattr(_dnnl_rnn, "backward", lambda *args: None)
        got = _layer(arrays, True)
    assert runs["lstm_fwd"] == 1
    _close(got, want)

    m = nn.LSTM(3, 4)
    for shape in [(0, 2, 3), (5, 0, 3)]:                   # empty sequences and batches: the loop
        xt = shendu.tensor(np.zeros(shape, np.float32), requires_grad=True)
        out, (h, c) = m(xt)
        assert out.shape == shape[:2] + (4,) and h.shape == (1, shape[1], 4)
        (out.sum() + h.sum()).backward()
        assert xt.grad.shape == shape

    monkeypatch.setattr(_gemm, "_FORKED", True)
    assert _dnnl_rnn.forward(*arrays[:5], arrays[5] + arrays[6], False, True, 1) is None


def test_cache_is_keyed_by_thread_count(runs):
    arrays = _arrays(3, 2, 4, 5)
    x, h0, c0, w_ih, w_hh, b_ih, b_hh = arrays
    y1 = _dnnl_rnn.forward(x, h0, c0, w_ih, w_hh, b_ih + b_hh, False, False, 1)[0]
    y2 = _dnnl_rnn.forward(x, h0, c0, w_ih, w_hh, b_ih + b_hh, False, False, 2)[0]
    np.testing.assert_allclose(y2, y1, rtol=1e-5, atol=1e-6)
    keys = [k for k in shendu._dnnl._cache() if k[0] == "lstm_inf" and k[1] == x.shape]
    assert {k[-1] for k in keys} >= {1, 2}

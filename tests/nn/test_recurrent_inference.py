"""The LSTM's and GRU's no_grad paths (nothing kept for backward) give the recording path's numbers."""
import numpy as np
import pytest

import shendu as sd
from shendu import nn
from shendu.ops import rnn as ops_rnn
from shendu.ops.rnn import LSTMLayer


@pytest.mark.parametrize("N", [1, 3])
@pytest.mark.parametrize("T", [1, 2, 5])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_no_grad_lstm_matches_recorded_forward(N, T, reverse, bias):
    rng = np.random.default_rng(T)
    I, H = 4, 5
    x = rng.standard_normal((T, N, I)).astype(np.float32)
    h0, c0 = (rng.standard_normal((N, H)).astype(np.float32) for _ in range(2))
    w = [sd.Tensor(rng.uniform(-0.5, 0.5, s).astype(np.float32), requires_grad=True)
         for s in [(4 * H, I), (4 * H, H)] + ([(4 * H,), (4 * H,)] if bias else [])]
    recorded = LSTMLayer.apply(x, h0, c0, *w, reverse=reverse)
    assert recorded[0].grad_fn is not None
    with sd.no_grad():
        plain = LSTMLayer.apply(x, h0, c0, *w, reverse=reverse)
    assert plain[0].grad_fn is None
    # one sample with the compiled kernels: the step's product is a vectorised dot product inside the
    # kernel (docs/rnn.md), equal to float rounding; otherwise the very same numbers
    loose = N == 1 and ops_rnn.compiled_status().startswith("on")
    for a, b in zip(recorded, plain):
        if loose:
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-7)
        else:
            np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_eval_lstm_under_no_grad_records_nothing():
    sd.manual_seed(0)
    lstm = nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True).eval()
    x = np.random.default_rng(0).standard_normal((2, 6, 3)).astype(np.float32)
    out, (h, c) = lstm(x)
    with sd.no_grad():
        out2, (h2, c2) = lstm(x)
    assert out2.grad_fn is None and h2.grad_fn is None
    for a, b in [(out, out2), (h, h2), (c, c2)]:
        np.testing.assert_array_equal(a.detach().numpy(), b.numpy())


@pytest.mark.parametrize("reverse", [False, True])
def test_single_sample_lstm_gradcheck(reverse):
    rng = np.random.default_rng(1)
    T, N, I, H = 4, 1, 3, 2
    x, h0, c0 = rng.standard_normal((T, N, I)), rng.standard_normal((N, H)), rng.standard_normal((N, H))
    w = [rng.uniform(-0.8, 0.8, s) for s in [(4 * H, I), (4 * H, H), (4 * H,), (4 * H,)]]
    assert sd.gradcheck(lambda *a: LSTMLayer.apply(*a, reverse=reverse), x, h0, c0, *w)


@pytest.mark.parametrize("N", [1, 3])
@pytest.mark.parametrize("reverse", [False, True])
def test_no_grad_gru_matches_recorded_forward(N, reverse):
    from shendu.ops.rnn import GRULayer

    rng = np.random.default_rng(N)
    T, I, H = 5, 4, 5
    x = rng.standard_normal((T, N, I)).astype(np.float32)
    h0 = rng.standard_normal((N, H)).astype(np.float32)
    w = [sd.Tensor(rng.uniform(-0.5, 0.5, s).astype(np.float32), requires_grad=True)
         for s in [(3 * H, I), (3 * H, H), (3 * H,), (3 * H,)]]
    recorded = GRULayer.apply(x, h0, *w, reverse=reverse)
    with sd.no_grad():
        plain = GRULayer.apply(x, h0, *w, reverse=reverse)
    assert plain[0].grad_fn is None
    for a, b in zip(recorded, plain):
        np.testing.assert_array_equal(a.detach().numpy(), b.numpy())


@pytest.mark.parametrize("bias", [True, False])
def test_single_sample_gru_gradcheck(bias):
    from shendu.ops.rnn import GRULayer

    rng = np.random.default_rng(2)
    T, N, I, H = 4, 1, 3, 2
    x, h0 = rng.standard_normal((T, N, I)), rng.standard_normal((N, H))
    w = [rng.uniform(-0.8, 0.8, s) for s in [(3 * H, I), (3 * H, H)] + ([(3 * H,), (3 * H,)] if bias else [])]
    assert sd.gradcheck(lambda *a: GRULayer.apply(*a), x, h0, *w)

"""The strided convolutions' input gradient, computed a few samples at a time (∂L/∂X_col and its fold
per chunk): the same numbers whether the batch is one chunk or many, float64 gradcheck, and PyTorch
parity at a batch large enough for several chunks."""
import numpy as np
import pytest

import shendu as sd
from conftest import require
from shendu.gradcheck import gradcheck
from shendu.ops import conv as C

CASES = [dict(kernel_size=3, stride=2, padding=1), dict(kernel_size=1, stride=2),
         dict(kernel_size=(3, 2), stride=(2, 3), padding=(1, 0)), dict(kernel_size=3, stride=2, dilation=2)]


def _input_grad(x, kw, seed=0):
    sd.manual_seed(seed)
    conv = sd.nn.Conv2d(x.shape[1], 4, **kw)
    if x.dtype == np.float64:
        conv = conv.double()
    t = sd.tensor(x, requires_grad=True)
    y = conv(t)
    g = np.random.default_rng(1).standard_normal(tuple(y.shape)).astype(x.dtype)
    y.backward(sd.tensor(g))
    return conv, t.grad.numpy(), g


@pytest.mark.parametrize("kw", CASES, ids=str)
def test_chunked_fold_matches_one_chunk(kw, monkeypatch):
    x = np.random.default_rng(0).standard_normal((5, 3, 9, 10))
    _, whole, _ = _input_grad(x, kw)
    monkeypatch.setattr(C, "_CHUNK_BYTES", 1)          # one sample per chunk
    _, chunked = _input_grad(x, kw)[:2]
    np.testing.assert_allclose(chunked, whole, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kw", CASES, ids=str)
def test_strided_conv_gradcheck_float64(kw, monkeypatch):
    monkeypatch.setattr(C, "_CHUNK_BYTES", 1)
    sd.manual_seed(0)
    conv = sd.nn.Conv2d(2, 3, **kw).double()
    x = sd.tensor(np.random.default_rng(2).standard_normal((3, 2, 7, 8)), requires_grad=True)
    assert gradcheck(lambda t: conv(t), x)


@pytest.mark.parametrize("kw", CASES[:2], ids=str)
def test_strided_conv_input_grad_matches_torch(kw):
    torch = require("torch")
    x = np.random.default_rng(3).standard_normal((48, 16, 28, 28)).astype(np.float32)
    conv, got, g = _input_grad(x, kw)
    assert len(C._sample_chunks(48, g.shape[2] * g.shape[3], 9 * 16, 4)) > 1
    tc = torch.nn.Conv2d(16, 4, bias=True, **kw)
    with torch.no_grad():
        tc.weight.copy_(torch.from_numpy(conv.weight.numpy()))
        tc.bias.copy_(torch.from_numpy(conv.bias.numpy()))
    tx = torch.from_numpy(x).requires_grad_(True)
    tc(tx).backward(torch.from_numpy(g))
    np.testing.assert_allclose(got, tx.grad.numpy(), rtol=1e-4, atol=1e-4)

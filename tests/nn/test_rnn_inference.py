"""Recurrent layers with recording off run on arrays directly (no graph): the same numbers, shapes
and dtypes as with recording on, for every layout."""
import numpy as np
import pytest

import shendu as sd
import shendu.nn as nn

CASES = [
    # (kind, layers, bidirectional, batch_first, bias, states given, unbatched)
    ("LSTM", 1, False, True, True, False, False),
    ("LSTM", 2, True, False, True, True, False),
    ("LSTM", 1, False, False, False, True, True),
    ("GRU", 2, False, True, True, True, False),
    ("GRU", 1, True, False, True, False, True),
    ("RNN", 2, True, True, False, True, False),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(map(str, c)))
@pytest.mark.parametrize("n", [1, 3])
def test_no_grad_path_equals_recorded_path(case, n):
    kind, layers, bi, bf, bias, given, unbatched = case
    sd.manual_seed(0)
    m = getattr(nn, kind)(4, 5, num_layers=layers, bias=bias, batch_first=bf, bidirectional=bi)
    m.eval()
    rng = np.random.default_rng(0)
    shape = (6, 4) if unbatched else ((n, 6, 4) if bf else (6, n, 4))
    x = sd.tensor(rng.standard_normal(shape).astype(np.float32))
    hx = None
    if given:
        hs = (layers * (2 if bi else 1), 5) if unbatched else (layers * (2 if bi else 1), n, 5)
        states = [sd.tensor(rng.standard_normal(hs).astype(np.float32)) for _ in range(2 if kind == "LSTM" else 1)]
        hx = tuple(states) if kind == "LSTM" else states[0]
    ref_out, ref_h = m(x, hx)
    with sd.no_grad():
        out, h = m(x, hx)
    assert out.grad_fn is None and not out.requires_grad
    ref = [ref_out] + list(ref_h if kind == "LSTM" else (ref_h,))
    got = [out] + list(h if kind == "LSTM" else (h,))
    # one sample, LSTM, compiled kernels on: the step's product is a vectorised dot product, not the BLAS
    # one (last-bit differences); everywhere else the very same numbers
    loose = kind == "LSTM" and (n == 1 or unbatched)
    for r, g in zip(ref, got):
        assert g.shape == r.shape and g.dtype == r.dtype
        if loose:
            np.testing.assert_allclose(g.numpy(), r.numpy(), rtol=1e-6, atol=1e-7)
        else:
            np.testing.assert_array_equal(g.numpy(), r.numpy())


def test_no_grad_in_training_mode_with_dropout_between_layers_still_drops():
    sd.manual_seed(0)
    m = nn.LSTM(3, 4, num_layers=2, dropout=0.5)
    x = sd.tensor(np.ones((5, 2, 3), dtype=np.float32))
    with sd.no_grad():
        sd.manual_seed(1)
        a = m(x)[0].numpy()
        sd.manual_seed(2)
        b = m(x)[0].numpy()
    assert not np.array_equal(a, b)

"""nn.functional's TensorFlow-style "same" padding and pooling (the math Keras layers borrow)."""
import numpy as np
import pytest

import shendu as sd
import shendu.nn.functional as F


def test_same_padding_and_output_length():
    assert F.same_padding(5, 2, 2) == (0, 1)          # ⌈5/2⌉ = 3 windows need one cell after
    assert F.same_padding(7, 3, 1) == (1, 1)
    assert F.same_padding(4, 3, 1, dilation=2) == (2, 2)
    assert F.conv_output_length(5, 2, "same", 2) == 3
    assert F.conv_output_length(5, 2, "valid", 2) == 2
    assert F.conv_output_length(None, 2, "valid", 2) is None


def _reference(x, kind, k, s, pad):
    """Windows over the real cells only, by loops."""
    n, c, h, w = x.shape
    (t, _), (le, _) = pad
    oh, ow = -(-h // s), -(-w // s)
    out = np.zeros((n, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            r0, c0 = i * s - t, j * s - le
            win = x[:, :, max(r0, 0):min(r0 + k, h), max(c0, 0):min(c0 + k, w)]
            out[:, :, i, j] = win.max(axis=(2, 3)) if kind == "max" else win.mean(axis=(2, 3))
    return out


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_padded_pool_counts_only_real_cells(kind):
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 4))
    pad = [F.same_padding(5, 2, 2), F.same_padding(4, 2, 2)]
    got = F.padded_pool(sd.tensor(x), kind, 2, 2, pad).numpy()
    np.testing.assert_allclose(got, _reference(x, kind, 2, 2, pad), rtol=1e-12)
    x1 = x[:, :, :, 0]
    got1 = F.padded_pool(sd.tensor(x1), kind, (3,), (2,), [F.same_padding(5, 3, 2)]).numpy()
    ref1 = _reference(x1[..., None], kind, 3, 2, [F.same_padding(5, 3, 2), (0, 0)])
    # the 2-D reference with a width-1 axis and k = 3 windows reads the same cells as the 1-D pool
    np.testing.assert_allclose(got1, ref1[..., 0], rtol=1e-12)


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_padded_pool_gradcheck(kind):
    x = np.random.default_rng(1).standard_normal((1, 2, 5, 5))
    assert sd.gradcheck(lambda t: F.padded_pool(t, kind, 2, 2, [(0, 1), (0, 1)]), x)


def test_padded_pool_rejects_other_kinds():
    with pytest.raises(ValueError, match="padded_pool"):
        F.padded_pool(sd.tensor(np.ones((1, 1, 4, 4))), "min", 2, 2, [(0, 0), (0, 0)])


def test_masked_mean_counts_only_kept_positions_and_gradchecks():
    x = np.random.default_rng(2).standard_normal((2, 4, 3))
    m = np.array([[1, 1, 0, 0], [1, 1, 1, 1]], dtype=bool)[:, :, None]
    got = F.masked_mean(sd.tensor(x), m, 1).numpy()
    np.testing.assert_allclose(got[0], x[0, :2].mean(0))
    np.testing.assert_allclose(got[1], x[1].mean(0))
    assert sd.gradcheck(lambda t: F.masked_mean(t, m, 1, keepdims=True), x)

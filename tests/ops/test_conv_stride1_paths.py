"""The stride-1 input gradient of Conv2d (a full correlation) against the im2col + col2im fold.

Both are exact algebra on the same numbers; in float64 they agree to rounding for every padding,
kernel size and dilation, including padding larger than d·(k − 1) (the gradient is then cropped).
"""
import numpy as np
import pytest

from shendu.ops import conv as C

CASES = [
    # (kernel, padding ((top, bottom), (left, right)), dilation)
    ((3, 3), ((1, 1), (1, 1)), (1, 1)),
    ((3, 3), ((0, 0), (0, 0)), (1, 1)),
    ((1, 1), ((0, 0), (0, 0)), (1, 1)),
    ((1, 1), ((1, 1), (2, 0)), (1, 1)),
    ((2, 4), ((0, 1), (1, 2)), (1, 1)),
    ((3, 2), ((2, 2), (1, 1)), (2, 1)),
    ((5, 5), ((3, 1), (0, 4)), (1, 1)),
    ((3, 3), ((4, 4), (3, 3)), (1, 1)),
]


def _fold_reference(g, weight, padded_shape, out_hw, kernel, dilation, padding, hw):
    cout, c, kh, kw = weight.shape
    wcol = weight.transpose(2, 3, 1, 0).reshape(kh * kw * c, cout)
    gm = g.reshape(-1, cout)
    parts = (gm @ wcol.T).reshape(gm.shape[0], kh * kw, c).transpose(1, 0, 2)
    dx = C._fold_offsets(parts, padded_shape, out_hw, kernel, (1, 1), dilation)
    (t, _), (l, _) = padding
    return dx[:, t:t + hw[0], l:l + hw[1], :]


@pytest.mark.parametrize("kernel,padding,dilation", CASES, ids=str)
def test_stride1_input_gradient_matches_fold(kernel, padding, dilation):
    rng = np.random.default_rng(0)
    n, c, cout, h, w = 2, 3, 5, 7, 6
    weight = rng.standard_normal((cout, c) + kernel)
    hp, wp = h + sum(padding[0]), w + sum(padding[1])
    ho = C._out_size(h, kernel[0], 1, sum(padding[0]), dilation[0])
    wo = C._out_size(w, kernel[1], 1, sum(padding[1]), dilation[1])
    g = rng.standard_normal((n, ho, wo, cout))
    got = C._input_grad_stride1(g, weight, padding, dilation, (h, w))
    want = _fold_reference(g, weight, (n, hp, wp, c), (ho, wo), kernel, dilation, padding, (h, w))
    assert got.shape == (n, h, w, c)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("pool", ["max", "avg"])
def test_pool_backward_with_gradient_in_another_layout(pool):
    """A channels-first gradient against a channels-last input: same numbers as all channels-first."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    g = rng.standard_normal((2, 3, 3, 3)).astype(np.float32)
    grads = []
    for layout in (x, np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)):
        f = C.MaxPool2d() if pool == "max" else C.AvgPool2d()
        f.needs_grad = (True,)
        f.forward(layout)
        grads.append(f.backward(g))
    np.testing.assert_array_equal(grads[0], grads[1])
    assert C._same_layout(g, x) is g

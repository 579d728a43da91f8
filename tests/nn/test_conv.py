"""Convolutions: parity with PyTorch (outputs and all gradients), gradient checks, layers and errors."""
import math

import numpy as np
import pytest

import shendu as sd
from shendu.errors import ShapeError
from shendu.nn import conv as nnc
from shendu.ops import conv as C
from shendu.tensor import Tensor

RTOL, ATOL = 1e-4, 2e-5
pytestmark = pytest.mark.filterwarnings("ignore:Using padding=.same. with even kernel")


def _parity(torch, fn_sd, fn_t, shapes, seed=0, bias_shape=None):
    """Run both functions on the same float32 data; compare the output and every input gradient."""
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    ts = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    tt = [torch.tensor(a, requires_grad=True) for a in arrays]
    y, yt = fn_sd(*ts), fn_t(*tt)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=RTOL, atol=ATOL)
    g = rng.standard_normal(tuple(yt.shape)).astype(np.float32)
    y.backward(Tensor(g))
    yt.backward(torch.tensor(g))
    for k, (a, b) in enumerate(zip(ts, tt)):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=RTOL, atol=ATOL,
                                   err_msg=f"gradient of input {k}")


CONV2D_CASES = [
    dict(),
    dict(stride=2),
    dict(padding=1),
    dict(padding="same"),
    dict(padding="valid"),
    dict(padding="same", dilation=2),
    dict(dilation=2, padding=2),
    dict(stride=(2, 1), padding=(1, 0)),
    dict(stride=3, padding=2, dilation=(1, 2)),
    dict(groups=2, stride=2, padding=1),
]


@pytest.mark.parametrize("kwargs", CONV2D_CASES, ids=str)
@pytest.mark.parametrize("kernel", [(3, 3), (2, 3), (1, 1)])
def test_conv2d_matches_torch(torch, kwargs, kernel):
    groups = kwargs.get("groups", 1)
    F = torch.nn.functional
    _parity(torch, lambda x, w, b: C.conv2d(x, w, b, **kwargs), lambda x, w, b: F.conv2d(x, w, b, **kwargs),
            [(2, 4, 9, 8), (6, 4 // groups) + kernel, (6,)])


def test_conv2d_without_bias_and_depthwise_match_torch(torch):
    F = torch.nn.functional
    _parity(torch, lambda x, w: C.conv2d(x, w, padding=1), lambda x, w: F.conv2d(x, w, padding=1),
            [(3, 2, 7, 7), (5, 2, 3, 3)])
    # depthwise with a channel multiplier of 2, 'same' padding with an even kernel
    _parity(torch, lambda x, w, b: C.conv2d(x, w, b, groups=4, padding="same"),
            lambda x, w, b: F.conv2d(x, w, b, groups=4, padding="same"),
            [(2, 4, 9, 8), (8, 1, 4, 3), (8,)])


@pytest.mark.parametrize("kwargs", [dict(), dict(stride=2, padding=2, dilation=2, groups=2),
                                    dict(padding="same", dilation=3), dict(stride=3)], ids=str)
def test_conv1d_matches_torch(torch, kwargs):
    F = torch.nn.functional
    groups = kwargs.get("groups", 1)
    _parity(torch, lambda x, w, b: C.conv1d(x, w, b, **kwargs), lambda x, w, b: F.conv1d(x, w, b, **kwargs),
            [(3, 4, 17), (6, 4 // groups, 3), (6,)])


CONVT_CASES = [
    dict(),
    dict(stride=2),
    dict(stride=2, padding=1, output_padding=1),
    dict(stride=(2, 3), padding=(0, 1), output_padding=(1, 2)),
    dict(dilation=2, padding=1),
    dict(stride=3, dilation=2, padding=2, output_padding=1, groups=2),
]


@pytest.mark.parametrize("kwargs", CONVT_CASES, ids=str)
def test_conv_transpose2d_matches_torch(torch, kwargs):
    F = torch.nn.functional
    groups = kwargs.get("groups", 1)
    _parity(torch, lambda x, w, b: C.conv_transpose2d(x, w, b, **kwargs),
            lambda x, w, b: F.conv_transpose2d(x, w, b, **kwargs),
            [(2, 4, 5, 6), (4, 3, 3, 2), (3 * groups,)])


def test_conv_transpose1d_matches_torch(torch):
    F = torch.nn.functional
    kw = dict(stride=2, padding=1, output_padding=1)
    _parity(torch, lambda x, w, b: C.conv_transpose1d(x, w, b, **kw),
            lambda x, w, b: F.conv_transpose1d(x, w, b, **kw), [(2, 4, 7), (4, 3, 3), (3,)])


def test_conv_output_is_channels_last_view_and_values_do_not_depend_on_layout():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    y1 = C.conv2d(Tensor(x), Tensor(w)).numpy()
    x_cl = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)   # same values, NHWC memory
    y2 = C.conv2d(Tensor(x_cl), Tensor(w)).numpy()
    np.testing.assert_array_equal(y1, y2)
    # float64 in, float64 out
    assert C.conv2d(Tensor(x.astype(np.float64)), Tensor(w.astype(np.float64))).dtype == np.float64


# ----- gradient checks in float64 ------------------------------------------------------------------
def test_gradcheck_conv2d_stride_padding_dilation_groups():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 4, 7, 6))
    w = rng.standard_normal((4, 2, 3, 2))
    b = rng.standard_normal(4)
    assert sd.gradcheck(lambda x, w, b: C.conv2d(x, w, b, stride=2, padding=(2, 1), dilation=(2, 1),
                                                 groups=2), x, w, b)


def test_gradcheck_conv1d():
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((2, 4, 9)), rng.standard_normal((6, 2, 3)), rng.standard_normal(6)
    assert sd.gradcheck(lambda x, w, b: C.conv1d(x, w, b, stride=2, padding=1, dilation=2, groups=2), x, w, b)


def test_gradcheck_conv_transpose2d():
    rng = np.random.default_rng(4)
    x, w, b = rng.standard_normal((2, 4, 3, 4)), rng.standard_normal((4, 2, 3, 2)), rng.standard_normal(4)
    assert sd.gradcheck(lambda x, w, b: C.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1,
                                                           groups=2, dilation=(1, 2)), x, w, b)


# ----- layers ----------------------------------------------------------------------------------------
def _copy_params(layer, tlayer):
    layer.weight.data[...] = tlayer.weight.detach().numpy()
    if tlayer.bias is not None:
        layer.bias.data[...] = tlayer.bias.detach().numpy()


@pytest.mark.parametrize("make", [
    lambda nn: nn.Conv2d(3, 8, 3),
    lambda nn: nn.Conv2d(4, 8, (3, 2), stride=2, padding=1, groups=2, bias=False),
    lambda nn: nn.Conv2d(4, 4, 3, padding="same", groups=4),
    lambda nn: nn.Conv1d(4, 6, 5, stride=2, padding=2),
    lambda nn: nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1),
    lambda nn: nn.ConvTranspose1d(4, 6, 3, stride=2),
], ids=["conv2d", "conv2d-groups", "depthwise-same", "conv1d", "convT2d", "convT1d"])
def test_layers_match_torch_modules(torch, make):
    tl = make(torch.nn)
    layer = make(nnc)
    assert [(k, tuple(v.shape)) for k, v in layer.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in tl.state_dict().items()]
    assert repr(layer) == repr(tl)
    _copy_params(layer, tl)
    nd = len(layer.kernel_size)
    x = np.random.default_rng(5).standard_normal((2, layer.in_channels) + (9, 8)[:nd]).astype(np.float32)
    xs, xt = Tensor(x.copy(), requires_grad=True), torch.tensor(x, requires_grad=True)
    y, yt = layer(xs), tl(xt)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=RTOL, atol=ATOL)
    (y * y).sum().backward()
    (yt * yt).sum().backward()
    np.testing.assert_allclose(xs.grad.numpy(), xt.grad.numpy(), rtol=RTOL, atol=1e-4)
    np.testing.assert_allclose(layer.weight.grad.numpy(), tl.weight.grad.numpy(), rtol=RTOL, atol=1e-4)
    if tl.bias is not None:
        np.testing.assert_allclose(layer.bias.grad.numpy(), tl.bias.grad.numpy(), rtol=RTOL, atol=1e-4)


def test_state_dict_from_torch_loads_and_gives_same_output(torch):
    tl = torch.nn.Conv2d(3, 5, 3, padding=1)
    layer = nnc.Conv2d(3, 5, 3, padding=1)
    layer.load_state_dict({k: v.detach().numpy() for k, v in tl.state_dict().items()})
    x = np.random.default_rng(6).standard_normal((1, 3, 6, 6)).astype(np.float32)
    np.testing.assert_allclose(layer(x).numpy(), tl(torch.tensor(x)).detach().numpy(), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("layer, fan_in", [
    (lambda: nnc.Conv2d(6, 8, (3, 2), groups=2), 3 * 3 * 2),
    (lambda: nnc.Conv1d(4, 8, 5), 4 * 5),
    (lambda: nnc.ConvTranspose2d(4, 6, 3, groups=2), 3 * 3 * 3),   # PyTorch: weight.shape[1] · k
])
def test_default_init_is_uniform_one_over_sqrt_fan_in(layer, fan_in):
    sd.manual_seed(0)
    m = layer()
    bound = 1 / math.sqrt(fan_in)
    for p in (m.weight, m.bias):
        a = p.numpy()
        assert a.dtype == np.float32
        assert np.abs(a).max() <= bound + 1e-7
        assert np.abs(a).max() > 0.8 * bound       # really spread over the range
    sd.manual_seed(0)
    np.testing.assert_array_equal(layer().weight.numpy(), m.weight.numpy())


def test_unbatched_input_like_torch(torch):
    layer = nnc.Conv2d(3, 4, 3)
    tl = torch.nn.Conv2d(3, 4, 3)
    _copy_params(layer, tl)
    x = np.random.default_rng(7).standard_normal((3, 6, 6)).astype(np.float32)
    y = layer(x)
    assert y.shape == (4, 4, 4)
    np.testing.assert_allclose(y.numpy(), tl(torch.tensor(x)).detach().numpy(), rtol=RTOL, atol=ATOL)


def test_conv_transpose_output_size_argument(torch):
    layer = nnc.ConvTranspose2d(2, 3, 3, stride=2, padding=1)
    tl = torch.nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1)
    _copy_params(layer, tl)
    x = np.random.default_rng(8).standard_normal((1, 2, 4, 4)).astype(np.float32)
    y = layer(x, output_size=(8, 8))
    assert y.shape == (1, 3, 8, 8)
    np.testing.assert_allclose(y.numpy(), tl(torch.tensor(x), output_size=[8, 8]).detach().numpy(),
                               rtol=RTOL, atol=ATOL)
    with pytest.raises(ShapeError, match="output_size"):
        layer(x, output_size=(12, 12))


def test_lazy_conv2d_infers_in_channels_and_then_is_a_conv2d():
    sd.manual_seed(0)
    lazy = nnc.LazyConv2d(8, 3, padding=1)
    assert lazy.weight is None and list(lazy.parameters()) == []
    y = lazy(np.zeros((2, 5, 6, 6), np.float32))
    assert y.shape == (2, 8, 6, 6)
    assert lazy.in_channels == 5 and lazy.weight.shape == (8, 5, 3, 3)
    sd.manual_seed(0)
    np.testing.assert_array_equal(nnc.Conv2d(5, 8, 3, padding=1).weight.numpy(), lazy.weight.numpy())
    # a state_dict materialises it too
    other = nnc.LazyConv2d(8, 3, padding=1)
    other.load_state_dict(lazy.state_dict())
    np.testing.assert_array_equal(other.weight.numpy(), lazy.weight.numpy())


# ----- errors -----------------------------------------------------------------------------------------
def test_wrong_channel_count_names_layer_and_counts():
    layer = nnc.Conv2d(3, 16, kernel_size=3)
    with pytest.raises(ShapeError, match=r"Conv2d\(3, 16.*got input of shape \(2, 1, 8, 8\) with 1 channel, "
                                         r"expected 3 channels"):
        layer(np.zeros((2, 1, 8, 8), np.float32))


def test_3d_input_to_conv2d_explains_the_expected_layout():
    layer = nnc.Conv2d(1, 16, kernel_size=3)
    with pytest.raises(ShapeError, match=r"expected \(N, C, H, W\).*\(C, H, W\).*unsqueeze\(1\)"):
        layer(np.zeros((32, 28, 28), np.float32))
    with pytest.raises(ShapeError, match=r"expected 4-D \(N, C, H, W\) or 3-D"):
        layer(np.zeros((28, 28), np.float32))


def test_input_smaller_than_kernel():
    with pytest.raises(ShapeError, match=r"Conv2d\(3, 4.*smaller than the kernel \(5, 5\)"):
        nnc.Conv2d(3, 4, 5)(np.zeros((1, 3, 4, 4), np.float32))
    with pytest.raises(ShapeError, match="smaller than the kernel"):
        C.conv1d(Tensor(np.zeros((1, 1, 2), np.float32)), Tensor(np.zeros((1, 1, 3), np.float32)))


def test_integer_input_is_a_type_error():
    with pytest.raises(TypeError, match=r"Conv2d\(3, 4.*int64"):
        nnc.Conv2d(3, 4, 3)(np.zeros((1, 3, 5, 5), np.int64))
    with pytest.raises(TypeError, match="conv2d: expected a floating-point tensor"):
        C.conv2d(Tensor(np.zeros((1, 3, 5, 5), np.int64)), Tensor(np.zeros((4, 3, 3, 3), np.float32)))


def test_argument_errors():
    x, w = Tensor(np.zeros((1, 4, 6, 6), np.float32)), Tensor(np.zeros((4, 4, 3, 3), np.float32))
    with pytest.raises(ValueError, match="'same' needs stride 1"):
        C.conv2d(x, w, stride=2, padding="same")
    with pytest.raises(ShapeError, match="groups=3 must divide"):
        C.conv2d(x, w, groups=3)
    with pytest.raises(ShapeError, match="bias must have shape"):
        C.conv2d(x, w, Tensor(np.zeros(3, np.float32)))
    with pytest.raises(ValueError, match="output_padding"):
        nnc.ConvTranspose2d(4, 4, 3, stride=2, output_padding=2)
    with pytest.raises(NotImplementedError, match="padding_mode='reflect'"):
        nnc.Conv2d(4, 4, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="groups=3 must divide"):
        nnc.Conv2d(4, 4, 3, groups=3)

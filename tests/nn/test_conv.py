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


def _upstream(shape, seed):
    """The upstream gradient both sides back-propagate through an output of this shape."""
    return np.random.default_rng((seed, 1)).standard_normal(tuple(shape)).astype(np.float32)


def _parity(reference, fn_sd, fn_t, shapes, seed=0):
    """Run fn_sd(*tensors) and fn_t(F, *tensors), F being PyTorch's nn.functional, on the same float32 data;
    compare the output and every input gradient with the live or recorded torch run."""
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]

    def torch_side(torch):
        tt = [torch.tensor(a, requires_grad=True) for a in arrays]
        yt = fn_t(torch.nn.functional, *tt)
        yt.backward(torch.tensor(_upstream(yt.shape, seed)))
        out = {f"grad.{k}": t.grad for k, t in enumerate(tt)}
        out["y"] = yt
        return out

    ref = reference(torch_side)
    ts = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    y = fn_sd(*ts)
    np.testing.assert_allclose(y.numpy(), ref["y"], rtol=RTOL, atol=ATOL)
    y.backward(Tensor(_upstream(y.shape, seed)))
    for k, a in enumerate(ts):
        np.testing.assert_allclose(a.grad.numpy(), ref[f"grad.{k}"], rtol=RTOL, atol=ATOL,
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
@pytest.mark.parametrize("kernel", [(3, 3), (2, 3), (1, 1)], ids=str)
def test_conv2d_matches_torch(reference, kwargs, kernel):
    groups = kwargs.get("groups", 1)
    _parity(reference, lambda x, w, b: C.conv2d(x, w, b, **kwargs), lambda F, x, w, b: F.conv2d(x, w, b, **kwargs),
            [(2, 4, 9, 8), (6, 4 // groups) + kernel, (6,)])


def test_conv2d_without_bias_and_depthwise_match_torch(reference):
    _parity(reference, lambda x, w: C.conv2d(x, w, padding=1), lambda F, x, w: F.conv2d(x, w, padding=1),
            [(3, 2, 7, 7), (5, 2, 3, 3)])
    # depthwise with a channel multiplier of 2, 'same' padding with an even kernel
    _parity(reference, lambda x, w, b: C.conv2d(x, w, b, groups=4, padding="same"),
            lambda F, x, w, b: F.conv2d(x, w, b, groups=4, padding="same"),
            [(2, 4, 9, 8), (8, 1, 4, 3), (8,)])


@pytest.mark.parametrize("kwargs", [dict(), dict(stride=2, padding=2, dilation=2, groups=2),
                                    dict(padding="same", dilation=3), dict(stride=3)], ids=str)
def test_conv1d_matches_torch(reference, kwargs):
    groups = kwargs.get("groups", 1)
    _parity(reference, lambda x, w, b: C.conv1d(x, w, b, **kwargs), lambda F, x, w, b: F.conv1d(x, w, b, **kwargs),
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
def test_conv_transpose2d_matches_torch(reference, kwargs):
    groups = kwargs.get("groups", 1)
    _parity(reference, lambda x, w, b: C.conv_transpose2d(x, w, b, **kwargs),
            lambda F, x, w, b: F.conv_transpose2d(x, w, b, **kwargs),
            [(2, 4, 5, 6), (4, 3, 3, 2), (3 * groups,)])


def test_conv_transpose1d_matches_torch(reference):
    kw = dict(stride=2, padding=1, output_padding=1)
    _parity(reference, lambda x, w, b: C.conv_transpose1d(x, w, b, **kw),
            lambda F, x, w, b: F.conv_transpose1d(x, w, b, **kw), [(2, 4, 7), (4, 3, 3), (3,)])


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
def _torch_state(tlayer):
    """A PyTorch layer's weights as ``state.<name>`` entries."""
    return {f"state.{k}": v.detach().clone() for k, v in tlayer.state_dict().items()}


def _copy_params(layer, ref):
    layer.weight.array[...] = ref["state.weight"]
    if "state.bias" in ref:
        layer.bias.array[...] = ref["state.bias"]


@pytest.mark.parametrize("make", [
    lambda nn: nn.Conv2d(3, 8, 3),
    lambda nn: nn.Conv2d(4, 8, (3, 2), stride=2, padding=1, groups=2, bias=False),
    lambda nn: nn.Conv2d(4, 4, 3, padding="same", groups=4),
    lambda nn: nn.Conv1d(4, 6, 5, stride=2, padding=2),
    lambda nn: nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1),
    lambda nn: nn.ConvTranspose1d(4, 6, 3, stride=2),
], ids=["conv2d", "conv2d-groups", "depthwise-same", "conv1d", "convT2d", "convT1d"])
def test_layers_match_torch_modules(reference, make):
    layer = make(nnc)
    nd = len(layer.kernel_size)
    x = np.random.default_rng(5).standard_normal((2, layer.in_channels) + (9, 8)[:nd]).astype(np.float32)

    def torch_side(torch):
        tl = make(torch.nn)
        out = _torch_state(tl)
        out["state_shapes"] = repr([(k, tuple(v.shape)) for k, v in tl.state_dict().items()])
        out["repr"] = repr(tl)
        xt = torch.tensor(x, requires_grad=True)
        yt = tl(xt)
        (yt * yt).sum().backward()
        out.update({"y": yt, "x.grad": xt.grad})
        out.update({f"grad.{k}": p.grad for k, p in tl.named_parameters()})
        return out

    ref = reference(torch_side)
    assert repr([(k, tuple(v.shape)) for k, v in layer.state_dict().items()]) == ref["state_shapes"]
    assert repr(layer) == ref["repr"]
    _copy_params(layer, ref)
    xs = Tensor(x.copy(), requires_grad=True)
    y = layer(xs)
    np.testing.assert_allclose(y.numpy(), ref["y"], rtol=RTOL, atol=ATOL)
    (y * y).sum().backward()
    np.testing.assert_allclose(xs.grad.numpy(), ref["x.grad"], rtol=RTOL, atol=1e-4)
    np.testing.assert_allclose(layer.weight.grad.numpy(), ref["grad.weight"], rtol=RTOL, atol=1e-4)
    if "grad.bias" in ref:
        np.testing.assert_allclose(layer.bias.grad.numpy(), ref["grad.bias"], rtol=RTOL, atol=1e-4)


def test_state_dict_from_torch_loads_and_gives_same_output(reference):
    x = np.random.default_rng(6).standard_normal((1, 3, 6, 6)).astype(np.float32)

    def torch_side(torch):
        tl = torch.nn.Conv2d(3, 5, 3, padding=1)
        out = _torch_state(tl)
        out["y"] = tl(torch.tensor(x))
        return out

    ref = reference(torch_side)
    layer = nnc.Conv2d(3, 5, 3, padding=1)
    layer.load_state_dict({k[len("state."):]: v for k, v in ref.items() if k.startswith("state.")})
    np.testing.assert_allclose(layer(x).numpy(), ref["y"], rtol=RTOL, atol=ATOL)


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


def test_unbatched_input_like_torch(reference):
    x = np.random.default_rng(7).standard_normal((3, 6, 6)).astype(np.float32)

    def torch_side(torch):
        tl = torch.nn.Conv2d(3, 4, 3)
        out = _torch_state(tl)
        out["y"] = tl(torch.tensor(x))
        return out

    ref = reference(torch_side)
    layer = nnc.Conv2d(3, 4, 3)
    _copy_params(layer, ref)
    y = layer(x)
    assert y.shape == (4, 4, 4)
    np.testing.assert_allclose(y.numpy(), ref["y"], rtol=RTOL, atol=ATOL)


def test_conv_transpose_output_size_argument(reference):
    x = np.random.default_rng(8).standard_normal((1, 2, 4, 4)).astype(np.float32)

    def torch_side(torch):
        tl = torch.nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1)
        out = _torch_state(tl)
        out["y"] = tl(torch.tensor(x), output_size=[8, 8])
        return out

    ref = reference(torch_side)
    layer = nnc.ConvTranspose2d(2, 3, 3, stride=2, padding=1)
    _copy_params(layer, ref)
    y = layer(x, output_size=(8, 8))
    assert y.shape == (1, 3, 8, 8)
    np.testing.assert_allclose(y.numpy(), ref["y"], rtol=RTOL, atol=ATOL)
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
    with pytest.raises(ValueError, match="padding_mode must be"):
        nnc.Conv2d(4, 4, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="only padding_mode='zeros'"):
        nnc.ConvTranspose2d(4, 4, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="groups=3 must divide"):
        nnc.Conv2d(4, 4, 3, groups=3)

"""GroupNorm, InstanceNorm, PixelShuffle/Unshuffle, interpolate/Upsample modes, convolution padding
modes and Embedding(max_norm=, scale_grad_by_freq=): outputs and gradients against PyTorch (float64,
the same weights) and float64 gradient checks."""
import numpy as np
import pytest

import shendu as sd
import shendu.nn.functional as F
from shendu.errors import ShapeError

# name: (builder(nn, float64 dtype) -> layer, input shape)
CASES = {
    "group_norm": (lambda nn, dt: nn.GroupNorm(3, 6, dtype=dt), (2, 6, 4, 5)),
    "group_norm_one_group_no_affine": (lambda nn, dt: nn.GroupNorm(1, 6, affine=False, dtype=dt), (2, 6, 3, 3)),
    "group_norm_sequence": (lambda nn, dt: nn.GroupNorm(2, 4, eps=1e-3, dtype=dt), (3, 4, 7)),
    "group_norm_no_bias": (lambda nn, dt: nn.GroupNorm(2, 4, bias=False, dtype=dt), (3, 4, 2, 2)),
    "instance_norm2d": (lambda nn, dt: nn.InstanceNorm2d(3, dtype=dt), (2, 3, 4, 5)),
    "instance_norm2d_affine": (lambda nn, dt: nn.InstanceNorm2d(3, affine=True, dtype=dt), (2, 3, 4, 5)),
    "instance_norm1d_affine": (lambda nn, dt: nn.InstanceNorm1d(3, affine=True, dtype=dt), (2, 3, 6)),
    "instance_norm1d_unbatched": (lambda nn, dt: nn.InstanceNorm1d(3, dtype=dt), (3, 6)),
    "pixel_shuffle": (lambda nn, dt: nn.PixelShuffle(2), (2, 8, 3, 4)),
    "pixel_shuffle_3": (lambda nn, dt: nn.PixelShuffle(3), (1, 9, 2, 2)),
    "pixel_unshuffle": (lambda nn, dt: nn.PixelUnshuffle(2), (2, 2, 4, 6)),
    "upsample_bilinear": (lambda nn, dt: nn.Upsample(scale_factor=2, mode="bilinear"), (2, 2, 3, 4)),
    "upsample_bilinear_corners": (lambda nn, dt: nn.Upsample(size=(7, 3), mode="bilinear", align_corners=True),
                                  (2, 2, 3, 4)),
    "upsample_bilinear_down": (lambda nn, dt: nn.Upsample(scale_factor=0.6, mode="bilinear"), (1, 2, 5, 7)),
    "upsampling_bilinear2d": (lambda nn, dt: nn.UpsamplingBilinear2d(scale_factor=1.5), (1, 2, 3, 4)),
    "upsample_bicubic": (lambda nn, dt: nn.Upsample(scale_factor=2, mode="bicubic"), (1, 2, 3, 4)),
    "upsample_bicubic_corners": (lambda nn, dt: nn.Upsample(size=(5, 6), mode="bicubic", align_corners=True),
                                 (1, 2, 4, 4)),
    "upsample_linear": (lambda nn, dt: nn.Upsample(scale_factor=2.5, mode="linear"), (2, 3, 5)),
    "upsample_linear_corners": (lambda nn, dt: nn.Upsample(size=9, mode="linear", align_corners=True), (2, 3, 5)),
    "upsample_trilinear": (lambda nn, dt: nn.Upsample(scale_factor=(2, 1.5, 1), mode="trilinear"), (1, 2, 2, 3, 4)),
    "conv2d_reflect": (lambda nn, dt: nn.Conv2d(2, 3, 3, padding=1, padding_mode="reflect", dtype=dt), (2, 2, 5, 6)),
    "conv2d_replicate": (lambda nn, dt: nn.Conv2d(2, 3, 3, padding=(2, 1), padding_mode="replicate", dtype=dt),
                         (2, 2, 5, 6)),
    "conv2d_circular": (lambda nn, dt: nn.Conv2d(2, 3, 3, padding=2, stride=2, padding_mode="circular", dtype=dt),
                        (2, 2, 5, 6)),
    "conv2d_circular_same": (lambda nn, dt: nn.Conv2d(2, 2, (4, 3), padding="same", dilation=(1, 2),
                                                      padding_mode="circular", dtype=dt), (1, 2, 6, 7)),
    "conv1d_reflect": (lambda nn, dt: nn.Conv1d(2, 3, 3, padding=2, padding_mode="reflect", dtype=dt), (2, 2, 6)),
    "conv1d_replicate_same": (lambda nn, dt: nn.Conv1d(2, 3, 4, padding="same", padding_mode="replicate",
                                                       dtype=dt), (2, 2, 6)),
}


def _weights(layer_params, seed):
    """Deterministic values for each named parameter, so both frameworks get the same weights."""
    rng = np.random.default_rng(seed)
    return {name: rng.standard_normal(tuple(shape)) * 0.5 + (1.0 if name.endswith("weight") else 0.0)
            for name, shape in layer_params}


def _run(module, name):
    """Build the case's layer in ``module`` (torch or shendu), set its weights, run forward and backward."""
    build, shape = CASES[name]
    seed = sum(map(ord, name))
    layer = build(module.nn, module.float64)
    params = dict(layer.named_parameters())
    for key, value in _weights([(k, p.shape) for k, p in params.items()], seed).items():
        if module is sd:
            params[key].numpy()[...] = value
        else:
            with module.no_grad():
                params[key].copy_(module.tensor(value))
    x = module.tensor(np.random.default_rng(seed + 1).standard_normal(shape), requires_grad=True)
    y = layer(x)
    g = np.random.default_rng(seed + 2).standard_normal(tuple(y.shape))
    y.backward(module.tensor(g))
    out = {"y": y, "x.grad": x.grad}
    out.update({f"{k}.grad": p.grad for k, p in params.items()})
    out["repr"] = repr(layer)
    return out


def _np(v):
    return v.numpy() if isinstance(v, sd.Tensor) else np.asarray(v)


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch_in_float64(reference, name):
    def torch_side(torch):
        out = _run(torch, name)
        return {k: (v.detach() if hasattr(v, "detach") else v) for k, v in out.items()}

    ref = reference(torch_side)
    ours = _run(sd, name)
    assert set(ours) == set(ref)
    assert ours["repr"] == ref["repr"]
    for key in ours:
        if key != "repr":
            np.testing.assert_allclose(_np(ours[key]), ref[key], rtol=1e-10, atol=1e-11, err_msg=key)


def test_instance_norm_running_stats_match_torch(reference):
    rng = np.random.default_rng(5)
    xs = [rng.standard_normal((2, 3, 4, 5)) * (i + 1) + i for i in range(3)]

    def run(module):
        layer = module.nn.InstanceNorm2d(3, affine=True, track_running_stats=True, momentum=0.2,
                                         dtype=module.float64)
        for x in xs:
            layer(module.tensor(x))
        layer.eval()
        x = module.tensor(xs[0], requires_grad=True)
        y = layer(x)
        y.backward(module.tensor(np.ones(y.shape)))
        return {"running_mean": layer.running_mean, "running_var": layer.running_var, "eval_y": y.detach(),
                "eval_grad": x.grad, "keys": " ".join(sorted(layer.state_dict()))}

    ref = reference(run)
    ours = run(sd)
    assert ours["keys"] == ref["keys"]
    for k in ("running_mean", "running_var", "eval_y", "eval_grad"):
        np.testing.assert_allclose(_np(ours[k]), ref[k], rtol=1e-10, atol=1e-12, err_msg=k)


EMBEDDING_CASES = {
    "max_norm": dict(max_norm=1.0),
    "max_norm_p1": dict(max_norm=1.5, norm_type=1.0),
    "scale_grad_by_freq": dict(scale_grad_by_freq=True, padding_idx=1),
    "max_norm_and_freq": dict(max_norm=0.5, scale_grad_by_freq=True),
}


@pytest.mark.parametrize("case", sorted(EMBEDDING_CASES))
def test_embedding_options_match_torch(reference, case):
    kwargs = EMBEDDING_CASES[case]
    rng = np.random.default_rng(2)
    w, ids, g = rng.standard_normal((6, 4)) * 2, np.array([[0, 2, 2], [5, 0, 1]]), rng.standard_normal((2, 3, 4))

    def run(module):
        layer = module.nn.Embedding(6, 4, _weight=module.tensor(w.copy()), **kwargs)
        y = layer(module.tensor(ids))
        y.backward(module.tensor(g))
        return {"y": y.detach(), "weight": layer.weight.detach(), "grad": layer.weight.grad, "repr": repr(layer)}

    ref = reference(run)
    ours = run(sd)
    assert ours["repr"] == ref["repr"]
    for k in ("y", "weight", "grad"):
        np.testing.assert_allclose(_np(ours[k]), ref[k], rtol=1e-12, atol=1e-12, err_msg=k)
    # the functional form renormalises the same rows of the array it is given
    if "max_norm" in kwargs:
        w2 = sd.tensor(w.copy(), requires_grad=True)
        F.embedding(sd.tensor(ids), w2, max_norm=kwargs["max_norm"], norm_type=kwargs.get("norm_type", 2.0))
        np.testing.assert_allclose(w2.numpy(), ref["weight"], rtol=1e-12)


R = np.random.default_rng(11)
GRADCHECKS = {
    "group_norm": (lambda x, w, b: F.group_norm(x, 2, w, b), [(2, 4, 3, 2), (4,), (4,)]),
    "instance_norm": (lambda x, w, b: F.instance_norm(x, weight=w, bias=b), [(2, 3, 5), (3,), (3,)]),
    "pixel_shuffle": (lambda x: F.pixel_shuffle(x, 2), [(1, 4, 2, 3)]),
    "pixel_unshuffle": (lambda x: F.pixel_unshuffle(x, 2), [(1, 1, 4, 2)]),
    "bilinear": (lambda x: F.interpolate(x, scale_factor=1.5, mode="bilinear"), [(1, 2, 3, 3)]),
    "bilinear_corners": (lambda x: F.interpolate(x, size=(4, 2), mode="bilinear", align_corners=True),
                         [(1, 1, 3, 3)]),
    "bicubic": (lambda x: F.interpolate(x, scale_factor=2, mode="bicubic"), [(1, 1, 3, 3)]),
    "linear": (lambda x: F.interpolate(x, size=7, mode="linear"), [(2, 1, 4)]),
    "trilinear": (lambda x: F.interpolate(x, scale_factor=2, mode="trilinear"), [(1, 1, 2, 2, 2)]),
    "pad_reflect": (lambda x: F.pad(x, (2, 1, 1, 2), mode="reflect"), [(1, 1, 3, 4)]),
    "pad_circular": (lambda x: F.pad(x, (2, 3), mode="circular"), [(1, 2, 3)]),
}


@pytest.mark.parametrize("name", sorted(GRADCHECKS))
def test_gradcheck(name):
    fn, shapes = GRADCHECKS[name]
    assert sd.gradcheck(fn, *[R.standard_normal(s) for s in shapes])


def test_gradcheck_conv_padding_modes():
    for mode in ("reflect", "replicate", "circular"):
        layer = sd.nn.Conv2d(2, 2, 3, padding=1, padding_mode=mode, dtype=sd.float64)
        assert sd.gradcheck(lambda x, layer=layer: layer(x), R.standard_normal((1, 2, 4, 4)))


def test_errors_name_the_layer():
    with pytest.raises(ValueError, match="divisible by num_groups=4"):
        sd.nn.GroupNorm(4, 6)
    with pytest.raises(ShapeError, match=r"GroupNorm.*\(2, 5, 3\).*\(N, 6, \*\)"):
        sd.nn.GroupNorm(3, 6)(np.zeros((2, 5, 3)))
    with pytest.raises(ShapeError, match=r"InstanceNorm2d.*4-D \(N, C, H, W\)"):
        sd.nn.InstanceNorm2d(3)(np.zeros((2, 3)))
    with pytest.raises(ShapeError, match="3 channels, expected 4"):
        sd.nn.InstanceNorm1d(4, affine=True)(np.zeros((2, 3, 5)))
    with pytest.raises(ShapeError, match="upscale_factor² = 4"):
        sd.nn.PixelShuffle(2)(np.zeros((1, 6, 2, 2)))
    with pytest.raises(ShapeError, match="needs a 4-D input"):
        F.interpolate(sd.zeros(1, 1, 4), scale_factor=2, mode="bilinear")
    with pytest.raises(ValueError, match="mode must be one of"):
        F.interpolate(sd.zeros(1, 1, 4), scale_factor=2, mode="area")
    with pytest.raises(ShapeError, match=r"Conv2d.*padding 3 with padding_mode='reflect'"):
        sd.nn.Conv2d(1, 1, 3, padding=3, padding_mode="reflect")(np.zeros((1, 1, 3, 3), np.float32))
    with pytest.raises(ValueError, match="smaller than that dim's size"):
        F.pad(sd.zeros(1, 1, 3), (3, 0), mode="reflect")
    with pytest.raises(NotImplementedError, match="sparse"):
        sd.nn.Embedding(3, 2, sparse=True)


def test_instance_norm_warns_on_channel_mismatch_without_affine():
    with pytest.warns(UserWarning, match="num_features is 4"):
        sd.nn.InstanceNorm1d(4)(np.ones((2, 3, 5), np.float32))

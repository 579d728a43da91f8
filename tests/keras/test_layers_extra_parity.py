"""The new convolution, normalization and attention layers against PyTorch with the same weights, and
gradient checks of the nn pieces under them."""

import numpy as np
import pytest

import shendu as sd
import shendu.nn as nn
import shendu.nn.functional as F
from shendu.keras import layers as L


@pytest.fixture(autouse=True)
def _seeded():
    sd.manual_seed(0)  # the layers' initial weights feed the recorded PyTorch side


def _rng():
    return np.random.default_rng(0)


def test_conv3d_matches_torch_and_gradchecks(reference):
    rng = _rng()
    x = rng.standard_normal((2, 4, 5, 6, 7))
    w = rng.standard_normal((6, 2, 3, 2, 3))
    b = rng.standard_normal(6)
    cases = [dict(), dict(stride=2, padding=1), dict(dilation=(2, 1, 1), groups=2, padding=(2, 0, 1))]

    def torch_side(torch):
        out = {}
        for i, kw in enumerate(cases):
            ww = w if kw.get("groups") else np.concatenate([w, w], axis=1)
            out[f"y{i}"] = torch.nn.functional.conv3d(
                torch.tensor(x), torch.tensor(ww), torch.tensor(b), **kw
            )
        return out

    ref = reference(torch_side)
    for i, kw in enumerate(cases):
        ww = w if kw.get("groups") else np.concatenate([w, w], axis=1)
        y = F.conv3d(sd.tensor(x), sd.tensor(ww), sd.tensor(b), **kw).numpy()
        np.testing.assert_allclose(y, ref[f"y{i}"], atol=1e-10)
    xs = sd.tensor(rng.standard_normal((1, 2, 4, 3, 3)), requires_grad=True)
    ws = sd.tensor(rng.standard_normal((2, 2, 2, 2, 2)), requires_grad=True)
    bs = sd.tensor(rng.standard_normal(2), requires_grad=True)
    assert sd.gradcheck(lambda a, k, c: F.conv3d(a, k, c, stride=(2, 1, 1), padding=1), xs, ws, bs)


def test_nn_conv3d_module_shapes_and_errors():
    m = nn.Conv3d(3, 5, 3, padding=1)
    assert m.weight.shape == (5, 3, 3, 3, 3)
    assert m(sd.randn(2, 3, 4, 5, 6)).shape == (2, 5, 4, 5, 6)
    assert m(sd.randn(3, 4, 5, 6)).shape == (5, 4, 5, 6)  # one unbatched sample
    with pytest.raises(Exception, match="Conv3d"):
        m(sd.randn(2, 4, 4, 5, 6))


def _same_pad(n, k, s):
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def test_keras_conv3d_matches_torch(reference):
    rng = _rng()
    x = rng.standard_normal((2, 5, 6, 7, 3)).astype("float32")
    layer = L.Conv3D(4, (3, 2, 3), strides=2, padding="same")
    y = layer(x).numpy()
    k, b = layer.get_weights()
    assert k.shape == (3, 2, 3, 3, 4) and y.shape == (2, 3, 3, 4, 4)
    pads = [_same_pad(n, kk, 2) for n, kk in zip(x.shape[1:4], k.shape[:3])]

    def torch_side(torch):
        t = torch.nn.functional.pad(
            torch.tensor(x).permute(0, 4, 1, 2, 3), [p for pair in reversed(pads) for p in pair]
        )
        out = torch.nn.functional.conv3d(t, torch.tensor(k).permute(4, 3, 0, 1, 2), torch.tensor(b), stride=2)
        return {"y": out.permute(0, 2, 3, 4, 1)}

    np.testing.assert_allclose(y, reference(torch_side)["y"], atol=1e-5)


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_conv1d_transpose_matches_torch(reference, padding):
    rng = _rng()
    x = rng.standard_normal((2, 7, 4)).astype("float32")
    layer = L.Conv1DTranspose(3, 4, strides=2, padding=padding)
    y = layer(x).numpy()
    k, b = layer.get_weights()
    assert k.shape == (4, 3, 4)
    assert y.shape == ((2, 16, 3) if padding == "valid" else (2, 14, 3))  # n·s + max(k − s, 0) / n·s

    def torch_side(torch):
        full = torch.nn.functional.conv_transpose1d(
            torch.tensor(x).permute(0, 2, 1), torch.tensor(k).permute(2, 1, 0), torch.tensor(b), stride=2
        )
        return {"full": full.permute(0, 2, 1)}

    full = reference(torch_side)["full"]  # (7 − 1)·2 + 4 = 16 steps
    if padding == "valid":
        np.testing.assert_allclose(y, full, atol=1e-5)
    else:  # TF's 'same': drop (k − s) = 2 steps, one at each end
        np.testing.assert_allclose(y, full[:, 1:15], atol=1e-5)


def test_depthwise_and_separable_match_torch(reference):
    rng = _rng()
    x = rng.standard_normal((2, 8, 8, 3)).astype("float32")
    dw = L.DepthwiseConv2D(3, depth_multiplier=2, padding="same")
    sep = L.SeparableConv2D(5, 3, depth_multiplier=2, strides=2)
    y_dw, y_sep = dw(x).numpy(), sep(x).numpy()
    kd, bd = dw.get_weights()
    k1, k2, b2 = sep.get_weights()
    assert kd.shape == (3, 3, 3, 2) and bd.shape == (6,)
    assert (k1.shape, k2.shape, b2.shape) == ((3, 3, 3, 2), (1, 1, 6, 5), (5,))

    def torch_side(torch):
        t = torch.tensor(x).permute(0, 3, 1, 2)
        wd = torch.tensor(kd).reshape(3, 3, 6).permute(2, 0, 1)[:, None]
        a = torch.nn.functional.conv2d(t, wd, torch.tensor(bd), padding=1, groups=3)
        w1 = torch.tensor(k1).reshape(3, 3, 6).permute(2, 0, 1)[:, None]
        d = torch.nn.functional.conv2d(t, w1, stride=2, groups=3)
        s = torch.nn.functional.conv2d(d, torch.tensor(k2).permute(3, 2, 0, 1), torch.tensor(b2))
        return {"dw": a.permute(0, 2, 3, 1), "sep": s.permute(0, 2, 3, 1)}

    ref = reference(torch_side)
    np.testing.assert_allclose(y_dw, ref["dw"], atol=1e-5)
    np.testing.assert_allclose(y_sep, ref["sep"], atol=1e-5)


def test_group_and_layer_normalization_match_torch(reference):
    rng = _rng()
    x = rng.standard_normal((2, 3, 4, 6)).astype("float32") * 2 + 1
    gn = L.GroupNormalization(groups=3, gamma_initializer="random_normal", beta_initializer="random_normal")
    ln = L.LayerNormalization()
    y_gn, y_ln = gn(x).numpy(), ln(x).numpy()
    gamma, beta = gn.get_weights()

    def torch_side(torch):
        t = torch.tensor(x)
        g = torch.nn.functional.group_norm(
            t.permute(0, 3, 1, 2), 3, torch.tensor(gamma), torch.tensor(beta), 1e-3
        )
        return {"gn": g.permute(0, 2, 3, 1), "ln": torch.nn.functional.layer_norm(t, (6,), eps=1e-3)}

    ref = reference(torch_side)
    np.testing.assert_allclose(y_gn, ref["gn"], atol=1e-5)
    np.testing.assert_allclose(y_ln, ref["ln"], atol=1e-5)
    with pytest.raises(ValueError, match="multiple of groups"):
        L.GroupNormalization(groups=4)(x)


def test_group_normalization_channels_first_axis():
    x = np.random.default_rng(1).standard_normal((2, 6, 3, 3)).astype("float32")
    y = L.GroupNormalization(groups=2, axis=1)(x).numpy()
    g = x.reshape(2, 2, -1)
    ref = ((g - g.mean(-1, keepdims=True)) / np.sqrt(g.var(-1, keepdims=True) + 1e-3)).reshape(x.shape)
    np.testing.assert_allclose(y, ref, atol=1e-5)


def test_multi_head_attention_matches_torch_with_the_same_weights(reference):
    rng = _rng()
    q = rng.standard_normal((2, 5, 8)).astype("float32")
    kv = rng.standard_normal((2, 7, 8)).astype("float32")
    mask = rng.random((2, 5, 7)) > 0.3
    mask[:, :, 0] = True  # every query sees at least one key
    mha = L.MultiHeadAttention(num_heads=2, key_dim=4, bias_initializer="random_normal")
    y, scores = mha(q, kv, attention_mask=mask, return_attention_scores=True)
    qk, qb, kk, kb, vk, vb, ok, ob = mha.get_weights()
    assert qk.shape == (8, 2, 4) and qb.shape == (2, 4) and ok.shape == (2, 4, 8) and ob.shape == (8,)

    def torch_side(torch):
        t = torch.nn.MultiheadAttention(8, 2, batch_first=True)
        with torch.no_grad():
            t.in_proj_weight.copy_(torch.cat([torch.tensor(a).reshape(8, 8).T for a in (qk, kk, vk)]))
            t.in_proj_bias.copy_(torch.cat([torch.tensor(a).reshape(-1) for a in (qb, kb, vb)]))
            t.out_proj.weight.copy_(torch.tensor(ok).reshape(8, 8).T)
            t.out_proj.bias.copy_(torch.tensor(ob))
        m = ~torch.tensor(mask).repeat_interleave(2, dim=0)  # torch: True = not allowed
        out, w = t(
            torch.tensor(q), torch.tensor(kv), torch.tensor(kv), attn_mask=m, average_attn_weights=False
        )
        return {"y": out, "w": w}

    ref = reference(torch_side)
    np.testing.assert_allclose(y.numpy(), ref["y"], atol=1e-5)
    np.testing.assert_allclose(scores.numpy(), ref["w"], atol=1e-5)


def test_multi_head_attention_shapes_causal_and_functional():
    from shendu import keras

    x = np.random.default_rng(2).standard_normal((2, 4, 6)).astype("float32")
    mha = L.MultiHeadAttention(3, 2, value_dim=5, output_shape=7)
    y, s = mha(x, x, return_attention_scores=True, use_causal_mask=True)
    assert y.shape == (2, 4, 7) and s.shape == (2, 3, 4, 4)
    assert np.all(np.triu(s.numpy()[0, 0], 1) == 0)
    inp = keras.Input((4, 6))
    out = L.MultiHeadAttention(2, 3)(inp, inp)
    model = keras.Model(inp, out)
    assert model(x).shape == (2, 4, 6)
    assert model.output_shape == (None, 4, 6)


def test_attention_with_weights_gradcheck():
    rng = _rng()
    q, k, v = (
        sd.tensor(rng.standard_normal(s), requires_grad=True) for s in [(2, 3, 4), (2, 5, 4), (2, 5, 3)]
    )
    assert sd.gradcheck(lambda a, b, c: F.attention_with_weights(a, b, c)[0], q, k, v)
    assert sd.gradcheck(lambda a, b, c: F.attention_with_weights(a, b, c)[1], q, k, v)


def test_multi_head_attention_fully_masked_query_attends_uniformly_as_keras():
    x = np.random.default_rng(3).standard_normal((1, 3, 4)).astype("float32")
    mask = np.ones((1, 3, 3), dtype=bool)
    mask[0, 1] = False
    _, scores = L.MultiHeadAttention(1, 2)(x, x, attention_mask=mask, return_attention_scores=True)
    np.testing.assert_allclose(scores.numpy()[0, 0, 1], [1 / 3] * 3, atol=1e-6)

"""``nn.MultiheadAttention`` and ``F.scaled_dot_product_attention`` against PyTorch: outputs, attention
weights and every parameter and input gradient for the same weights (float64, eval mode), plus gradient
checks and the errors a person sees."""
import numpy as np
import pytest

import shendu as sd
import shendu.nn as nn
import shendu.nn.functional as F

E, H, L, S, N = 8, 2, 4, 5, 3


def _rand(seed, *shape):
    return np.random.default_rng(seed).standard_normal(shape)


def _lib_tensor(lib, value, grad):
    if value.dtype == np.bool_:
        return lib.tensor(value)
    return lib.tensor(value, dtype=lib.float64, requires_grad=grad)


def _run(lib, module, call, inputs, masks):
    """Run ``call(module, xs, ms)`` and backpropagate Σ r ⊙ out for fixed random r; collect everything."""
    xs = {k: _lib_tensor(lib, v, True) for k, v in inputs.items()}
    ms = {k: _lib_tensor(lib, v, False) for k, v in masks.items()}
    outs = call(module, xs, ms)
    outs = {k: v for k, v in outs.items() if v is not None}
    loss = None
    for i, (_, v) in enumerate(sorted(outs.items())):
        r = lib.tensor(_rand(100 + i, *tuple(v.shape)), dtype=lib.float64)
        term = (v * r).sum()
        loss = term if loss is None else loss + term
    loss.backward()
    got = {f"out.{k}": v for k, v in outs.items()}
    got.update({f"dx.{k}": x.grad for k, x in xs.items()})
    if module is not None:
        got.update({f"grad.{k}": p.grad for k, p in module.named_parameters()})
    return got


def _numpy(v):
    return v.detach().numpy() if hasattr(v, "detach") else np.asarray(v)


def check_parity(reference, build, call, inputs, masks=None, rtol=1e-9, atol=1e-10):
    """``build(nn)`` makes the module under test (torch.nn or shendu.nn); PyTorch's initial weights are
    loaded into shendu's, both run ``call`` in float64 eval mode and every output and gradient is compared."""
    masks = masks or {}

    def torch_side(torch):
        m = build(torch.nn)
        if m is not None:
            m = m.double().eval()
        got = _run(torch, m, call, inputs, masks)
        if m is not None:
            got.update({f"state.{k}": v for k, v in m.state_dict().items()})
            got["keys"] = ",".join(m.state_dict())
        return got

    ref = reference(torch_side)
    m = build(nn)
    if m is not None:
        m = m.double().eval()
        assert ",".join(m.state_dict()) == ref["keys"], "state_dict keys differ from PyTorch's"
        m.load_state_dict({k[6:]: v for k, v in ref.items() if k.startswith("state.")})
    ours = _run(sd, m, call, inputs, masks)
    expected = {k for k in ref if not k.startswith("state.") and k != "keys"}
    assert set(ours) == expected, f"outputs/gradients differ: {sorted(set(ours) ^ expected)}"
    for k in sorted(expected):
        assert ours[k] is not None, f"{k}: no gradient"
        np.testing.assert_allclose(_numpy(ours[k]), ref[k].reshape(tuple(ours[k].shape)), rtol=rtol, atol=atol,
                                   err_msg=k)
    return ours


# ----- MultiheadAttention -------------------------------------------------------------------------------
def _causal_bool(n, m=None):
    return np.triu(np.ones((n, m or n), dtype=bool), 1)


KPM = np.zeros((N, S), dtype=bool)
KPM[0, -2:] = True
KPM[2, 2] = True
KPM_FLOAT = np.where(KPM, -1e9, 0.0) + _rand(3, N, S) * 0.1

# name: (constructor kwargs, query/key/value shapes (or "self"), forward kwargs, masks)
MHA_CASES = {
    "self": (dict(), "self", dict(), {}),
    "batch_first_per_head": (dict(batch_first=True), "self", dict(average_attn_weights=False), {}),
    "cross_kdim_vdim": (dict(kdim=6, vdim=3), ((L, N, E), (S, N, 6), (S, N, 3)), dict(), {}),
    "cross_same_dims": (dict(), ((L, N, E), (S, N, E), (S, N, E)), dict(), {}),
    "key_is_value": (dict(batch_first=True), "kv", dict(), {}),
    "no_bias": (dict(bias=False), "self", dict(), {}),
    "bool_masks": (dict(), ((L, N, E), (S, N, E), (S, N, E)), dict(),
                   {"key_padding_mask": KPM, "attn_mask": _causal_bool(L, S)}),
    "float_masks_3d": (dict(batch_first=True), ((N, L, E), (N, S, E), (N, S, E)), dict(),
                       {"key_padding_mask": KPM_FLOAT, "attn_mask": _rand(4, N * H, L, S)}),
    "bool_mask_3d": (dict(), ((L, N, E), (S, N, E), (S, N, E)), dict(),
                     {"attn_mask": np.random.default_rng(5).random((N * H, L, S)) < 0.3}),
    "bias_kv_zero_attn": (dict(add_bias_kv=True, add_zero_attn=True), ((L, N, E), (S, N, E), (S, N, E)),
                          dict(), {"key_padding_mask": KPM, "attn_mask": _causal_bool(L, S)}),
    "no_weights_causal": (dict(batch_first=True), "self", dict(need_weights=False, is_causal=True),
                          {"attn_mask": _causal_bool(L)}),
    "no_weights_masks": (dict(), ((L, N, E), (S, N, E), (S, N, E)), dict(need_weights=False),
                         {"key_padding_mask": KPM, "attn_mask": _rand(6, L, S)}),
    "unbatched": (dict(batch_first=True), ((L, E), (S, E), (S, E)), dict(average_attn_weights=False),
                  {"key_padding_mask": KPM[0], "attn_mask": _causal_bool(L, S)}),
    "four_heads_kdim": (dict(num_heads=4, kdim=5), ((L, N, E), (S, N, 5), (S, N, E)), dict(), {}),
}


@pytest.mark.parametrize("name", sorted(MHA_CASES))
def test_multihead_attention_matches_torch(reference, name):
    kwargs, shapes, fwd, masks = MHA_CASES[name]
    kwargs = dict(kwargs)
    heads = kwargs.pop("num_heads", H)
    batch_first = kwargs.get("batch_first", False)
    if shapes in ("self", "kv"):
        q_shape = (N, L, E) if batch_first else (L, N, E)
        k_shape = (N, S, E) if batch_first else (S, N, E)
        inputs = {"x": _rand(1, *q_shape)} if shapes == "self" else {"q": _rand(1, *q_shape), "kv": _rand(2, *k_shape)}
    else:
        inputs = {"q": _rand(1, *shapes[0]), "k": _rand(2, *shapes[1]), "v": _rand(3, *shapes[2])}

    def call(m, xs, ms):
        if "x" in xs:
            q = k = v = xs["x"]
        elif "kv" in xs:
            q, k, v = xs["q"], xs["kv"], xs["kv"]
        else:
            q, k, v = xs["q"], xs["k"], xs["v"]
        out, w = m(q, k, v, **fwd, **ms)
        return {"y": out, "w": w}

    ours = check_parity(reference, lambda lib: lib.MultiheadAttention(E, heads, **kwargs), call, inputs, masks)
    if fwd.get("need_weights", True) is False:
        assert "out.w" not in ours


def test_multihead_attention_parameters_named_and_initialised_like_torch(reference):
    def torch_side(torch):
        m = torch.nn.MultiheadAttention(E, H, add_bias_kv=True, kdim=6)
        return {"keys": ",".join(f"{k}{tuple(v.shape)}" for k, v in m.state_dict().items())}

    ref = reference(torch_side)
    m = nn.MultiheadAttention(E, H, add_bias_kv=True, kdim=6)
    state = m.state_dict()
    assert ",".join(f"{k}{tuple(v.shape)}" for k, v in state.items()) == ref["keys"]
    assert np.all(state["in_proj_bias"].numpy() == 0) and np.all(state["out_proj.bias"].numpy() == 0)
    assert np.abs(state["q_proj_weight"].numpy()).max() <= np.sqrt(6 / (E + E))  # xavier_uniform_
    assert np.abs(state["k_proj_weight"].numpy()).max() <= np.sqrt(6 / (E + 6))
    assert type(m.out_proj).__name__ == "NonDynamicallyQuantizableLinear" and isinstance(m.out_proj, nn.Linear)


def test_multihead_attention_gradcheck():
    rng = np.random.default_rng(0)
    e, h = 4, 2
    q, k, v = rng.standard_normal((3, 2, e)), rng.standard_normal((4, 2, e)), rng.standard_normal((4, 2, e))
    w_in, b_in = rng.standard_normal((3 * e, e)) * 0.5, rng.standard_normal(3 * e) * 0.1
    w_out, b_out = rng.standard_normal((e, e)) * 0.5, rng.standard_normal(e) * 0.1
    bias_k, bias_v = rng.standard_normal((1, 1, e)), rng.standard_normal((1, 1, e))
    kpm = np.array([[False, False, True, False], [False, False, False, False]])

    def fn(q, k, v, w_in, b_in, w_out, b_out, bias_k, bias_v):
        out, w = F.multi_head_attention_forward(q, k, v, e, h, w_in, b_in, bias_k, bias_v, True, 0.0, w_out, b_out,
                                                training=False, key_padding_mask=kpm)
        return out, w

    assert sd.gradcheck(fn, q, k, v, w_in, b_in, w_out, b_out, bias_k, bias_v)


def test_multihead_attention_loads_a_torch_state_dict_and_gives_torch_outputs(reference):
    x = _rand(9, N, L, E).astype(np.float32)

    def torch_side(torch):
        m = torch.nn.MultiheadAttention(E, H, batch_first=True).eval()
        with torch.no_grad():  # PyTorch's fused fast path
            y, w = m(torch.tensor(x), torch.tensor(x), torch.tensor(x))
        return {"y": y, "w": w} | {f"state.{k}": v for k, v in m.state_dict().items()}

    ref = reference(torch_side)
    m = nn.MultiheadAttention(E, H, batch_first=True).eval()
    m.load_state_dict({k[6:]: v for k, v in ref.items() if k.startswith("state.")})
    with sd.no_grad():
        y, w = m(x, x, x)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.numpy(), ref["y"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(w.numpy(), ref["w"], rtol=1e-5, atol=1e-6)


def test_multihead_attention_dropout_acts_in_training_only():
    sd.manual_seed(0)
    m = nn.MultiheadAttention(E, H, dropout=0.5, batch_first=True)
    x = sd.tensor(_rand(0, N, L, E))
    m.double()
    _, w_train = m(x, x, x, average_attn_weights=False)
    assert (w_train.numpy() == 0).any()
    m.eval()
    _, w_eval = m(x, x, x, average_attn_weights=False)
    np.testing.assert_allclose(w_eval.numpy().sum(-1), 1.0)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_fully_masked_query_gives_nan_with_weights_and_zero_without():
    """PyTorch's two paths: softmax of an all −∞ row is NaN; the need_weights=False path gives 0."""
    m = nn.MultiheadAttention(E, H, batch_first=True, bias=False).double().eval()
    x = sd.tensor(_rand(0, N, L, E), requires_grad=True)
    kpm = np.zeros((N, L), dtype=bool)
    kpm[0] = True
    y, w = m(x, x, x, key_padding_mask=kpm)
    assert np.isnan(y.numpy()[0]).all() and np.isnan(w.numpy()[0]).all() and not np.isnan(y.numpy()[1:]).any()
    y, _ = m(x, x, x, key_padding_mask=kpm, need_weights=False)
    assert np.all(y.numpy()[0] == 0) and not np.isnan(y.numpy()).any()
    y.sum().backward()
    assert not np.isnan(x.grad.numpy()).any()


def test_multihead_attention_errors_name_the_problem():
    with pytest.raises(ValueError, match="divisible by num_heads"):
        nn.MultiheadAttention(10, 3)
    m = nn.MultiheadAttention(E, H)
    x = sd.randn(L, N, E)
    with pytest.raises(sd.ShapeError, match=r"MultiheadAttention.*query of shape \(4, 3, 5\)"):
        m(sd.randn(L, N, 5), x, x)
    with pytest.raises(sd.ShapeError, match=r"2D attn_mask is \(4, 3\), but should be \(4, 4\)"):
        m(x, x, x, attn_mask=np.zeros((L, 3), dtype=bool))
    with pytest.raises(sd.ShapeError, match=r"3D attn_mask is \(2, 4, 4\), but should be \(6, 4, 4\)"):
        m(x, x, x, attn_mask=np.zeros((2, L, L), dtype=bool))
    with pytest.raises(sd.ShapeError, match=r"key_padding_mask of shape \(3, 4\)"):
        m(x, x, x, key_padding_mask=np.zeros((N, 5), dtype=bool))
    with pytest.raises(TypeError, match="only bool and floating key_padding_mask"):
        m(x, x, x, key_padding_mask=np.zeros((N, L), dtype=np.int64))
    with pytest.raises(RuntimeError, match="Need attn_mask if specifying the is_causal hint"):
        m(x, x, x, is_causal=True)
    with pytest.warns(UserWarning, match="mismatched key_padding_mask and attn_mask"):
        m(x, x, x, key_padding_mask=np.zeros((N, L), dtype=bool), attn_mask=np.zeros((L, L)))


# ----- scaled_dot_product_attention --------------------------------------------------------------------
B, HQ = 2, 4
SDPA_CASES = {
    "plain_4d": ((B, HQ, L, E), (B, HQ, S, E), (B, HQ, S, 3), dict(), {}),
    "plain_3d": ((B, L, E), (B, S, E), (B, S, E), dict(), {}),
    "bool_mask": ((B, HQ, L, E), (B, HQ, S, E), (B, HQ, S, E), dict(),
                  {"attn_mask": np.random.default_rng(8).random((L, S)) < 0.7}),
    "float_mask_broadcast": ((B, HQ, L, E), (B, HQ, S, E), (B, HQ, S, E), dict(), {"attn_mask": _rand(9, B, 1, L, S)}),
    "causal_rect": ((B, HQ, L, E), (B, HQ, S, E), (B, HQ, S, E), dict(is_causal=True), {}),
    "causal_square_scale": ((B, HQ, L, E), (B, HQ, L, E), (B, HQ, L, E), dict(is_causal=True, scale=0.3), {}),
    "gqa": ((B, HQ, L, E), (B, 2, S, E), (B, 2, S, E), dict(enable_gqa=True), {}),
    "fully_masked_row": ((B, HQ, L, E), (B, HQ, S, E), (B, HQ, S, E), dict(),
                         {"attn_mask": np.vstack([np.zeros((1, S), bool), np.ones((L - 1, S), bool)])}),
}


@pytest.mark.parametrize("name", sorted(SDPA_CASES))
def test_scaled_dot_product_attention_matches_torch(reference, name):
    qs, ks, vs, kwargs, masks = SDPA_CASES[name]
    inputs = {"q": _rand(1, *qs), "k": _rand(2, *ks), "v": _rand(3, *vs)}

    def call(m, xs, ms):
        lib_f = F if isinstance(xs["q"], sd.Tensor) else __import__("torch").nn.functional
        return {"y": lib_f.scaled_dot_product_attention(xs["q"], xs["k"], xs["v"], **kwargs, **ms)}

    ours = check_parity(reference, lambda lib: None, call, inputs, masks)
    if name == "fully_masked_row":
        assert np.all(ours["out.y"].numpy()[:, :, 0] == 0)


def test_scaled_dot_product_attention_gradcheck():
    rng = np.random.default_rng(1)
    q, k, v = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4)), rng.standard_normal((2, 5, 2))
    mask = rng.standard_normal((3, 5))
    assert sd.gradcheck(lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m), q, k, v, mask)
    assert sd.gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=0.7), q, k, v)


def test_scaled_dot_product_attention_errors():
    q = sd.randn(2, 3, 4)
    with pytest.raises(RuntimeError, match="attn_mask should not be set when is_causal"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=np.ones((3, 3), bool), is_causal=True)
    with pytest.raises(sd.ShapeError, match=r"attn_mask of shape \(2, 2\) does not broadcast"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=np.ones((2, 2), bool))
    with pytest.raises(sd.ShapeError, match="E and S must agree"):
        F.scaled_dot_product_attention(q, sd.randn(2, 3, 5), q)
    with pytest.raises(sd.ShapeError, match="multiple of the key/value heads"):
        F.scaled_dot_product_attention(sd.randn(1, 3, 2, 4), sd.randn(1, 2, 2, 4), sd.randn(1, 2, 2, 4),
                                       enable_gqa=True)

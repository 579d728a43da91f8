"""Recurrent layers: parity with PyTorch (outputs, states, every gradient), gradient checks, dropout,
shapes and error messages."""
import math

import numpy as np
import pytest

import shendu as sd
import shendu.nn as nn
from shendu.errors import ShapeError
from shendu.ops.rnn import GRULayer, LSTMLayer, RNNLayer

F32 = dict(rtol=1e-4, atol=1e-5)


S_CLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def _torch_record(t_mod):
    """A PyTorch module's state (``state.*``), parameter gradients (``grad.*``) and parameter order."""
    out = {f"state.{k}": v for k, v in t_mod.state_dict().items()}
    out.update({f"grad.{k}": p.grad for k, p in t_mod.named_parameters()})
    out["names"] = ",".join(n for n, _ in t_mod.named_parameters())
    return out


def _load(s_mod, ref):
    """Copy the recorded PyTorch weights into a shendu module by name."""
    s_mod.load_state_dict({k[6:]: v for k, v in ref.items() if k.startswith("state.")})
    return s_mod


def _compare_grads(s_mod, ref, **tol):
    names = [n for n, _ in s_mod.named_parameters()]
    assert ",".join(names) == ref["names"]
    for name, p in s_mod.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), ref[f"grad.{name}"], err_msg=name, **tol)


CONFIGS = [
    dict(),
    dict(num_layers=2, bidirectional=True, batch_first=True),
    dict(num_layers=2, bias=False),
    dict(bidirectional=True),
]
KINDS = [("rnn", {}), ("rnn", {"nonlinearity": "relu"}), ("lstm", {}), ("gru", {})]


@pytest.mark.parametrize("kind,extra", KINDS, ids=["rnn_tanh", "rnn_relu", "lstm", "gru"])
@pytest.mark.parametrize("config", CONFIGS, ids=["plain", "2layer_bi_batchfirst", "2layer_nobias", "bi"])
@pytest.mark.parametrize("with_state", [False, True], ids=["zero_state", "given_state"])
def test_layer_matches_torch(reference, kind, extra, config, with_state):
    I, H, L, N = 5, 6, 4, 3
    kw = dict(input_size=I, hidden_size=H, **config, **extra)
    rng = np.random.default_rng(1)
    shape = (N, L, I) if config.get("batch_first") else (L, N, I)
    x = rng.standard_normal(shape).astype(np.float32)
    D = 2 if config.get("bidirectional") else 1
    state_shape = (D * config.get("num_layers", 1), N, H)
    n_states = 2 if kind == "lstm" else 1
    given = [rng.standard_normal(state_shape).astype(np.float32) for _ in range(n_states * with_state)]
    # a loss that reaches every output: the sequence and the final state(s)
    r = rng.standard_normal(shape[:2] + (D * H,)).astype(np.float32)
    ws = [rng.standard_normal(state_shape).astype(np.float32) * (k + 1) for k in range(n_states)]

    def torch_side(torch):
        t = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind](**kw)
        xt = torch.tensor(x, requires_grad=True)
        given_t = [torch.tensor(a, requires_grad=True) for a in given]
        args = (tuple(given_t),) if kind == "lstm" and given_t else tuple(given_t)
        out_t, st_t = t(xt, *args)
        states_t = st_t if kind == "lstm" else (st_t,)
        loss_t = (out_t * torch.tensor(r)).sum()
        for b, w in zip(states_t, ws):
            loss_t = loss_t + (b * torch.tensor(w)).sum()
        loss_t.backward()
        res = {"out": out_t, "x.grad": xt.grad, **_torch_record(t)}
        res.update({f"state_out.{k}": b for k, b in enumerate(states_t)})
        res.update({f"given.{k}.grad": a.grad for k, a in enumerate(given_t)})
        return res

    ref = reference(torch_side)
    s = _load(S_CLS[kind](**kw), ref)
    xs = sd.tensor(x, requires_grad=True)
    given_s = [sd.tensor(a, requires_grad=True) for a in given]
    args_s = (tuple(given_s),) if kind == "lstm" and given_s else tuple(given_s)
    out_s, st_s = s(xs, *args_s)
    assert tuple(out_s.shape) == ref["out"].shape
    np.testing.assert_allclose(out_s.numpy(), ref["out"], **F32)
    states_s = st_s if kind == "lstm" else (st_s,)
    assert len(states_s) == n_states
    for k, a in enumerate(states_s):
        assert tuple(a.shape) == state_shape
        np.testing.assert_allclose(a.numpy(), ref[f"state_out.{k}"], **F32)

    loss_s = (out_s * sd.tensor(r)).sum()
    for a, w in zip(states_s, ws):
        loss_s = loss_s + (a * sd.tensor(w)).sum()
    loss_s.backward()
    np.testing.assert_allclose(xs.grad.numpy(), ref["x.grad"], **F32)
    _compare_grads(s, ref, **F32)
    for k, a in enumerate(given_s):
        np.testing.assert_allclose(a.grad.numpy(), ref[f"given.{k}.grad"], **F32)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_weights_from_shendu_into_torch(reference, kind):
    sd.manual_seed(3)
    s = S_CLS[kind](4, 5, num_layers=2, bidirectional=True)
    state = {k: v.numpy().copy() for k, v in s.state_dict().items()}
    x = np.random.default_rng(0).standard_normal((7, 2, 4)).astype(np.float32)

    def torch_side(torch):
        t = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind](4, 5, num_layers=2,
                                                                                  bidirectional=True)
        t.load_state_dict({k: torch.tensor(v) for k, v in state.items()})
        return {"out": t(torch.tensor(x))[0], "keys": ",".join(t.state_dict())}

    ref = reference(torch_side)
    assert ",".join(state) == ref["keys"]
    np.testing.assert_allclose(s(x)[0].numpy(), ref["out"], **F32)


def test_float64_matches_torch_closely(reference):
    x = np.random.default_rng(0).standard_normal((6, 2, 3))

    def torch_side(torch):
        t = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True).double()
        xt = torch.tensor(x, requires_grad=True)
        ot, (ht, ct) = t(xt)
        (ot.sum() + ht.sum() + ct.sum()).backward()
        return {"out": ot, "x.grad": xt.grad, **_torch_record(t)}

    ref = reference(torch_side)
    s = _load(nn.LSTM(3, 4, num_layers=2, bidirectional=True, dtype=np.float64), ref)
    xs = sd.tensor(x, requires_grad=True)
    os_, (hs, cs) = s(xs)
    (os_.sum() + hs.sum() + cs.sum()).backward()
    np.testing.assert_allclose(os_.numpy(), ref["out"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(xs.grad.numpy(), ref["x.grad"], rtol=1e-10, atol=1e-12)
    _compare_grads(s, ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", ["rnn_tanh", "rnn_relu", "lstm", "gru"])
def test_cells_match_torch(reference, kind):
    name = kind.split("_")[0]
    extra = {"nonlinearity": kind.split("_")[1]} if name == "rnn" else {}
    rng = np.random.default_rng(2)
    xs_np = rng.standard_normal((4, 3, 5)).astype(np.float32)
    h0 = rng.standard_normal((3, 6)).astype(np.float32)

    def torch_side(torch):
        t = {"rnn": torch.nn.RNNCell, "lstm": torch.nn.LSTMCell, "gru": torch.nn.GRUCell}[name](5, 6, **extra)
        # a hand-written loop over time, starting from a given state
        ht = torch.tensor(h0, requires_grad=True)
        state_t = (ht, torch.tensor(h0 * 0.5)) if name == "lstm" else ht
        res, loss_t = {}, 0.0
        for i, step in enumerate(xs_np):
            state_t = t(torch.tensor(step), state_t)
            ht_t = state_t[0] if name == "lstm" else state_t
            res[f"h.{i}"] = ht_t
            loss_t = loss_t + (ht_t * ht_t).sum()
        loss_t.backward()
        res.update({"h0.grad": ht.grad, **_torch_record(t)})
        # no state given, and an unbatched input
        out_t = t(torch.tensor(xs_np[0][0]))
        res.update({f"unbatched.{k}": b for k, b in enumerate(out_t if name == "lstm" else (out_t,))})
        return res

    ref = reference(torch_side)
    s = {"rnn": nn.RNNCell, "lstm": nn.LSTMCell, "gru": nn.GRUCell}[name](5, 6, **extra)
    assert [n for n, _ in s.named_parameters()] == ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
    _load(s, ref)
    hs = sd.tensor(h0, requires_grad=True)
    state_s = (hs, sd.tensor(h0 * 0.5)) if name == "lstm" else hs
    loss_s = 0.0
    for i, step in enumerate(xs_np):
        state_s = s(step, state_s)
        hs_t = state_s[0] if name == "lstm" else state_s
        np.testing.assert_allclose(hs_t.numpy(), ref[f"h.{i}"], **F32)
        loss_s = loss_s + (hs_t * hs_t).sum()
    loss_s.backward()
    np.testing.assert_allclose(hs.grad.numpy(), ref["h0.grad"], **F32)
    _compare_grads(s, ref, **F32)
    out_s = s(xs_np[0][0])
    outs = out_s if name == "lstm" else (out_s,)
    assert len(outs) == len([k for k in ref if k.startswith("unbatched.")])
    for k, a in enumerate(outs):
        assert tuple(a.shape) == (6,)
        np.testing.assert_allclose(a.numpy(), ref[f"unbatched.{k}"], **F32)


# ----- gradient checks in float64 -------------------------------------------------------------------
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("kind", ["tanh", "relu", "lstm", "gru"])
def test_layer_functions_gradcheck(kind, reverse):
    rng = np.random.default_rng(0)
    T, N, I, H = 3, 2, 3, 2
    G = {"tanh": 1, "relu": 1, "lstm": 4, "gru": 3}[kind]
    x = rng.standard_normal((T, N, I))
    h0 = rng.standard_normal((N, H))
    c0 = rng.standard_normal((N, H))
    w = [rng.uniform(-0.8, 0.8, shape) for shape in [(G * H, I), (G * H, H), (G * H,), (G * H,)]]
    if kind == "lstm":
        def fn(x, h0, c0, *w):
            return LSTMLayer.apply(x, h0, c0, *w, reverse=reverse)
        assert sd.gradcheck(fn, x, h0, c0, *w)
    elif kind == "gru":
        def fn(x, h0, *w):
            return GRULayer.apply(x, h0, *w, reverse=reverse)
        assert sd.gradcheck(fn, x, h0, *w)
    else:
        if kind == "relu":
            x = np.abs(x) + 0.5      # keep pre-activations away from relu's kink
            w = [np.abs(a) for a in w]

        def fn(x, h0, *w):
            return RNNLayer.apply(x, h0, *w, nonlinearity=kind, reverse=reverse)
        assert sd.gradcheck(fn, x, h0, *w)


@pytest.mark.parametrize("cls", [nn.RNN, nn.LSTM, nn.GRU])
def test_module_gradcheck(cls):
    sd.manual_seed(0)
    layer = cls(3, 2, num_layers=2, bidirectional=True, batch_first=True, dtype=np.float64)
    x = np.random.default_rng(0).standard_normal((2, 3, 3))

    def fn(x):
        out, state = layer(x)
        h = state[0] if isinstance(state, tuple) else state
        return out, h
    assert sd.gradcheck(fn, x)


# ----- structure, initialisation, graph ------------------------------------------------------------
def test_parameter_names_shapes_and_init_like_torch(reference):
    def torch_side(torch):
        res = {}
        for name in ["RNN", "LSTM", "GRU"]:
            t = getattr(torch.nn, name)(7, 20, num_layers=3, bidirectional=True)
            res[f"shapes.{name}"] = repr([(n, tuple(p.shape)) for n, p in t.named_parameters()])
            res[f"count.{name}"] = np.array(sum(p.numel() for p in t.parameters()), dtype=np.int64)
        return res

    ref = reference(torch_side)
    for s_cls, G in [(nn.RNN, 1), (nn.LSTM, 4), (nn.GRU, 3)]:
        name = s_cls.__name__
        s = s_cls(7, 20, num_layers=3, bidirectional=True)
        s_shapes = [(n, tuple(p.shape)) for n, p in s.named_parameters()]
        assert repr(s_shapes) == ref[f"shapes.{name}"]
        assert s.num_parameters() == int(ref[f"count.{name}"].item())
        assert dict(s_shapes)["weight_ih_l1_reverse"] == (G * 20, 40)
        bound = 1 / math.sqrt(20)
        for _, p in s.named_parameters():
            assert p.dtype == np.float32
            assert np.abs(p.numpy()).max() <= bound
            assert np.abs(p.numpy()).max() > 0.8 * bound      # uniform over the whole range


def test_init_is_reproducible_with_manual_seed():
    sd.manual_seed(5)
    a = nn.LSTM(3, 4).weight_hh_l0.numpy().copy()
    sd.manual_seed(5)
    b = nn.LSTM(3, 4).weight_hh_l0.numpy()
    np.testing.assert_array_equal(a, b)


def test_one_graph_node_per_layer_and_direction():
    lstm = nn.LSTM(3, 4, num_layers=2)
    out, (h, c) = lstm(np.zeros((50, 2, 3), np.float32))
    node = out.grad_fn
    assert type(node).__name__ == "LSTMLayer"
    assert type(node.inputs[0].grad_fn).__name__ == "LSTMLayer"      # layer 1 fed by layer 0
    assert node.inputs[0].grad_fn.inputs[0].grad_fn is None           # layer 0 fed by the input


def test_shapes_batch_first_and_unbatched():
    gru = nn.GRU(3, 4, num_layers=2, bidirectional=True, batch_first=True)
    x = np.random.default_rng(0).standard_normal((5, 7, 3)).astype(np.float32)    # (N, L, in)
    out, h = gru(x)
    assert out.shape == (5, 7, 8) and h.shape == (4, 5, 4)
    # the last step of the forward direction is h_n of the top layer's forward direction
    np.testing.assert_allclose(out.numpy()[:, -1, :4], h.numpy()[2], rtol=1e-6)
    np.testing.assert_allclose(out.numpy()[:, 0, 4:], h.numpy()[3], rtol=1e-6)
    # unbatched (L, in) gives what a batch of one gives
    out1, h1 = gru(x[0])
    assert out1.shape == (7, 8) and h1.shape == (4, 4)
    np.testing.assert_allclose(out1.numpy(), out.numpy()[0], rtol=1e-5, atol=1e-6)
    lstm = nn.LSTM(3, 4)
    out2, (h2, c2) = lstm(x[0], (np.zeros((1, 4), np.float32), np.zeros((1, 4), np.float32)))
    assert out2.shape == (7, 4) and h2.shape == (1, 4) and c2.shape == (1, 4)


def test_repr_like_torch():
    assert repr(nn.LSTM(28, 128, batch_first=True)) == "LSTM(28, 128, batch_first=True)"
    assert repr(nn.GRU(3, 4, num_layers=2, dropout=0.5, bidirectional=True)) == \
        "GRU(3, 4, num_layers=2, dropout=0.5, bidirectional=True)"
    assert repr(nn.RNN(3, 4, nonlinearity="relu")) == "RNN(3, 4, nonlinearity='relu')"
    assert repr(nn.LSTMCell(3, 4)) == "LSTMCell(3, 4)"


# ----- dropout between layers ----------------------------------------------------------------------
def test_dropout_between_layers_only_in_training():
    sd.manual_seed(0)
    x = np.random.default_rng(0).standard_normal((6, 4, 3)).astype(np.float32)
    lstm = nn.LSTM(3, 8, num_layers=2, dropout=0.5)
    plain = nn.LSTM(3, 8, num_layers=2)
    plain.load_state_dict(lstm.state_dict())
    a, _ = lstm(x)
    b, _ = lstm(x)
    ref, (h_ref, _) = plain(x)
    assert not np.allclose(a.numpy(), b.numpy())          # a fresh mask each call
    assert not np.allclose(a.numpy(), ref.numpy())
    lstm.eval()
    e, (h_e, _) = lstm(x)
    np.testing.assert_allclose(e.numpy(), ref.numpy(), rtol=1e-6)
    np.testing.assert_allclose(h_e.numpy(), h_ref.numpy(), rtol=1e-6)
    # the first layer's output is not dropped: h_n of layer 0 is the same with and without dropout
    lstm.train()
    _, (h_t, _) = lstm(x)
    np.testing.assert_allclose(h_t.numpy()[0], h_ref.numpy()[0], rtol=1e-6)


def test_dropout_is_reproducible_and_scaled():
    x = np.ones((2, 1000, 1), np.float32)
    rnn = nn.RNN(1, 1, num_layers=2, dropout=0.5, nonlinearity="relu", bias=False)
    with sd.no_grad():
        rnn.weight_ih_l0.array[...] = 1.0
        rnn.weight_hh_l0.array[...] = 0.0
        rnn.weight_ih_l1.array[...] = 1.0
        rnn.weight_hh_l1.array[...] = 0.0
    sd.manual_seed(1)
    a = rnn(x)[0].numpy()
    sd.manual_seed(1)
    b = rnn(x)[0].numpy()
    np.testing.assert_array_equal(a, b)
    assert set(np.unique(a)) <= {0.0, 2.0}                  # kept values scaled by 1/(1−p)
    assert 0.4 < (a == 0).mean() < 0.6


def test_dropout_warning_with_one_layer():
    with pytest.warns(UserWarning, match="num_layers=1"):
        nn.GRU(3, 4, dropout=0.2)


# ----- errors ------------------------------------------------------------------------------------------
def test_error_messages_name_the_layer_and_shapes():
    lstm = nn.LSTM(10, 20, batch_first=True)
    with pytest.raises(ShapeError, match=r"LSTM\(10, 20, batch_first=True\).*7.*input_size=10"):
        lstm(np.zeros((2, 5, 7), np.float32))
    with pytest.raises(ShapeError, match=r"LSTM.*3-D.*\(N, L, input_size\).*\(2, 3, 4, 10\)"):
        lstm(np.zeros((2, 3, 4, 10), np.float32))
    with pytest.raises(ShapeError, match=r"h_0 has shape \(1, 3, 20\), expected \(1, 2, 20\)"):
        lstm(np.zeros((2, 5, 10), np.float32), (np.zeros((1, 3, 20)), np.zeros((1, 2, 20))))
    with pytest.raises(TypeError, match="tuple"):
        lstm(np.zeros((2, 5, 10), np.float32), np.zeros((1, 2, 20), np.float32))
    gru = nn.GRU(4, 3, num_layers=2)
    with pytest.raises(ShapeError, match=r"GRU.*hx has shape \(1, 5, 3\), expected \(2, 5, 3\)"):
        gru(np.zeros((6, 5, 4), np.float32), np.zeros((1, 5, 3), np.float32))
    with pytest.raises(TypeError, match="GRU.*int64"):
        gru(np.zeros((6, 5, 4), np.int64))
    cell = nn.GRUCell(4, 3)
    with pytest.raises(ShapeError, match=r"GRUCell\(4, 3\).*5.*input_size=4"):
        cell(np.zeros((2, 5), np.float32))
    with pytest.raises(ShapeError, match=r"GRUCell.*hx has shape \(2, 4\), expected \(2, 3\)"):
        cell(np.zeros((2, 4), np.float32), np.zeros((2, 4), np.float32))
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="dropout"):
        nn.LSTM(3, 4, dropout=1.5)


def test_training_reduces_loss():
    """A tiny sequence task: say whether the sum of a sequence is positive."""
    sd.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 10, 1)).astype(np.float32)
    y = (x.sum(axis=(1, 2)) > 0).astype(np.int64)
    gru = nn.GRU(1, 16, batch_first=True)
    head = nn.Linear(16, 2)
    opt = sd.optim.Adam(list(gru.parameters()) + list(head.parameters()), lr=0.02)
    loss_fn = nn.CrossEntropyLoss()
    losses = []
    for _ in range(60):
        out, _ = gru(x)
        loss = loss_fn(head(out[:, -1, :]), sd.tensor(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]

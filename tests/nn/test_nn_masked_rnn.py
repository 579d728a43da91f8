"""nn.masked_rnn: masked steps keep the state and repeat the output; gradients checked in float64; a
suffix (padding) mask gives PyTorch's pack_padded_sequence results; dropout masks shared over time."""
import numpy as np
import pytest

import shendu as sd
import shendu.nn as nn
from shendu.errors import ShapeError

S_CLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
LENGTHS = [5, 3, 1, 4]


def _suffix_mask(lengths, steps):
    return np.arange(steps)[None, :] < np.asarray(lengths)[:, None]


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_masked_steps_keep_state_and_repeat_output(kind):
    sd.manual_seed(0)
    m = S_CLS[kind](3, 4, batch_first=True)
    x = np.random.default_rng(0).standard_normal((2, 5, 3)).astype(np.float32)
    mask = np.array([[True, False, True, True, False], [False, True, True, False, True]])
    out, state = nn.masked_rnn(m, x, mask=mask)
    h = state[0] if kind == "lstm" else state
    # the same thing by hand: run only the valid steps of each sample
    for b in range(2):
        valid = np.flatnonzero(mask[b])
        o_b, s_b = m(x[b : b + 1, valid])
        h_b = s_b[0] if kind == "lstm" else s_b
        np.testing.assert_allclose(h.numpy()[0, b], h_b.numpy()[0, 0], rtol=1e-5, atol=1e-6)
        expected, last, k = [], np.zeros(4, np.float32), 0
        for t in range(5):
            if mask[b, t]:
                last = o_b.numpy()[0, k]
                k += 1
            expected.append(last)
        np.testing.assert_allclose(out.numpy()[b], np.stack(expected), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("batch_first", [True, False])
def test_masked_rnn_gradcheck_float64(kind, batch_first):
    sd.manual_seed(1)
    m = S_CLS[kind](3, 2, batch_first=batch_first, dtype=np.float64)
    rng = np.random.default_rng(2)
    shape = (3, 4, 3) if batch_first else (4, 3, 3)
    x = rng.standard_normal(shape)
    h0 = rng.standard_normal((1, 3, 2))
    c0 = rng.standard_normal((1, 3, 2))
    mask = np.array([[True, True, False, True], [False, True, True, True], [True, False, False, False]])

    def fn(x, h0, c0):
        hx = (h0, c0) if kind == "lstm" else h0
        out, state = nn.masked_rnn(m, x, hx, mask=mask)
        return (out, *state) if kind == "lstm" else (out, state)

    assert sd.gradcheck(fn, x, h0, c0 if kind == "lstm" else np.zeros(1))


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_suffix_mask_matches_torch_pack_padded_sequence(reference, kind):
    N, L, I, H = len(LENGTHS), max(LENGTHS), 3, 4
    rng = np.random.default_rng(3)
    x = rng.standard_normal((N, L, I)).astype(np.float32)
    valid = _suffix_mask(LENGTHS, L)
    r = rng.standard_normal((N, L, H)).astype(np.float32) * valid[..., None]
    w = rng.standard_normal((1, N, H)).astype(np.float32)

    def torch_side(torch):
        from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

        torch.manual_seed(0)
        t = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind](I, H, batch_first=True)
        xt = torch.tensor(x, requires_grad=True)
        packed = pack_padded_sequence(xt, torch.tensor(LENGTHS), batch_first=True, enforce_sorted=False)
        out_p, state = t(packed)
        out, _ = pad_packed_sequence(out_p, batch_first=True, total_length=L)
        h_n = state[0] if kind == "lstm" else state
        loss = (out * torch.tensor(r)).sum() + (h_n * torch.tensor(w)).sum()
        if kind == "lstm":
            loss = loss + (state[1] * torch.tensor(w)).sum() * 0.5
        loss.backward()
        res = {"out": out, "h_n": h_n, "x.grad": xt.grad}
        if kind == "lstm":
            res["c_n"] = state[1]
        res.update({f"state.{k}": v for k, v in t.state_dict().items()})
        res.update({f"grad.{k}": p.grad for k, p in t.named_parameters()})
        return res

    ref = reference(torch_side)
    s = S_CLS[kind](I, H, batch_first=True)
    s.load_state_dict({k[6:]: v for k, v in ref.items() if k.startswith("state.")})
    xs = sd.tensor(x, requires_grad=True)
    out, state = nn.masked_rnn(s, xs, mask=valid)
    h_n = state[0] if kind == "lstm" else state
    tol = dict(rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(out.numpy() * valid[..., None], ref["out"], **tol)
    np.testing.assert_allclose(h_n.numpy(), ref["h_n"], **tol)
    loss = (out * sd.tensor(r)).sum() + (h_n * sd.tensor(w)).sum()
    if kind == "lstm":
        np.testing.assert_allclose(state[1].numpy(), ref["c_n"], **tol)
        loss = loss + (state[1] * sd.tensor(w)).sum() * 0.5
    loss.backward()
    np.testing.assert_allclose(xs.grad.numpy(), ref["x.grad"], **tol)
    for name, p in s.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), ref[f"grad.{name}"], err_msg=name, **tol)


def test_without_mask_or_dropout_it_is_the_module_itself():
    sd.manual_seed(0)
    m = nn.GRU(3, 4, batch_first=True)
    x = np.random.default_rng(0).standard_normal((2, 5, 3)).astype(np.float32)
    out, h = m(x)
    for mask in (None, np.ones((2, 5), bool)):
        o2, h2 = nn.masked_rnn(m, x, mask=mask, dropout=0.5, recurrent_dropout=0.5, training=False)
        np.testing.assert_array_equal(o2.numpy(), out.numpy())
        np.testing.assert_array_equal(h2.numpy(), h.numpy())


def test_dropout_masks_are_shared_over_time():
    m = nn.RNN(3, 4, batch_first=True, bias=False)
    for p in m.parameters():
        p.array[...] = 0.0
    m.weight_ih_l0.array[:3] = np.eye(3)  # h_t = tanh(x_t) on units 0..2 when W_hh = 0
    x = np.ones((5, 6, 3), np.float32)
    sd.manual_seed(0)
    out, _ = nn.masked_rnn(m, x, dropout=0.5, training=True)
    y = out.numpy()[..., :3]
    kept = y[:, 0] != 0
    assert kept.any() and not kept.all()
    for t in range(6):  # the same features are dropped at every step
        np.testing.assert_array_equal(y[:, t] != 0, kept)
    np.testing.assert_allclose(y[:, 0][kept], np.tanh(2.0), rtol=1e-6)  # kept inputs are scaled by 1/(1−p)

    m.weight_ih_l0.array[...] = 0.0
    m.weight_hh_l0.array[:] = np.eye(4)  # h_t = tanh(h_{t−1} ⊙ d_h) from h_0 = 1
    sd.manual_seed(1)
    out, h = nn.masked_rnn(m, x, np.ones((1, 5, 4), np.float32), recurrent_dropout=0.5, training=True)
    first = out.numpy()[:, 0] != 0
    assert first.any() and not first.all()
    np.testing.assert_array_equal(out.numpy()[:, -1] != 0, first)


def test_errors_name_the_module():
    m = nn.LSTM(3, 4, batch_first=True)
    with pytest.raises(ShapeError, match=r"mask must have shape \(batch, steps\) = \(2, 5\)"):
        nn.masked_rnn(m, np.zeros((2, 5, 3), np.float32), mask=np.ones((2, 4), bool))
    with pytest.raises(NotImplementedError, match="one layer in one direction"):
        nn.masked_rnn(nn.LSTM(3, 4, num_layers=2), np.zeros((5, 2, 3), np.float32))
    with pytest.raises(ValueError, match="recurrent_dropout"):
        nn.masked_rnn(m, np.zeros((2, 5, 3), np.float32), recurrent_dropout=1.5)
    with pytest.raises(TypeError, match="nn.RNN"):
        nn.masked_rnn(nn.Linear(3, 4), np.zeros((2, 5, 3), np.float32))

"""Transformer layers against PyTorch for the same weights (outputs and every parameter and input gradient,
float64, eval mode), their construction rules (deep-copied layers, Xavier reset, the causal mask), and a
tiny Transformer language model whose loss falls when trained."""
import numpy as np
import pytest
from test_attention import _rand, check_parity

import shendu as sd
import shendu.nn as nn
import shendu.optim as optim

E, H, FF, S, T, N = 8, 2, 16, 5, 4, 3


def _causal(n):
    return np.triu(np.full((n, n), -np.inf), 1)


SRC_KPM = np.zeros((N, S), dtype=bool)
SRC_KPM[0, -2:] = True
SRC_KPM[1, 1] = True
TGT_KPM = np.zeros((N, T), dtype=bool)
TGT_KPM[2, -1] = True


def _seq(batch_first, n_seq, batch=N, seed=1):
    return _rand(seed, *((batch, n_seq, E) if batch_first else (n_seq, batch, E)))


# name: (constructor kwargs, forward kwargs, masks, unbatched)
ENCODER_LAYER_CASES = {
    "post_norm_relu": (dict(), dict(), {}, False),
    "pre_norm_gelu_masks": (dict(norm_first=True, activation="gelu", batch_first=True, layer_norm_eps=1e-3),
                            dict(), {"src_mask": _causal(S), "src_key_padding_mask": SRC_KPM}, False),
    "callable_activation_no_bias": (dict(activation="silu", bias=False, layer_norm_eps=1e-4), dict(), {}, False),
    "is_causal": (dict(batch_first=True), dict(is_causal=True), {"src_mask": _causal(S)}, False),
    "bool_mask_unbatched": (dict(), dict(), {"src_mask": np.triu(np.ones((S, S), bool), 1)}, True),
}


def _tol(kwargs):
    """GELU's Φ is a fit with relative error < 1.2e-7 (shendu.ops.activation), so gelu cases are compared
    to that accuracy; everything else to float64 round-off."""
    return dict(rtol=1e-6, atol=1e-7) if kwargs.get("activation") == "gelu" else {}


def _activation(lib, kwargs):
    kwargs = dict(kwargs)
    if kwargs.get("activation") == "silu":
        kwargs["activation"] = lib.functional.silu
    return kwargs


@pytest.mark.parametrize("name", sorted(ENCODER_LAYER_CASES))
def test_encoder_layer_matches_torch(reference, name):
    kwargs, fwd, masks, unbatched = ENCODER_LAYER_CASES[name]
    x = _seq(kwargs.get("batch_first", False), S)
    x = x[:, 0] if unbatched else x

    def call(m, xs, ms):
        return {"y": m(xs["src"], **fwd, **ms)}

    check_parity(reference, lambda lib: lib.TransformerEncoderLayer(E, H, FF, **_activation(lib, kwargs)),
                 call, {"src": x}, masks, **_tol(kwargs))


DECODER_LAYER_CASES = {
    "post_norm_masks": (dict(), {"tgt_mask": _causal(T), "memory_key_padding_mask": SRC_KPM}),
    "pre_norm_gelu_batch_first": (dict(norm_first=True, activation="gelu", batch_first=True),
                                  {"tgt_key_padding_mask": TGT_KPM, "memory_mask": _rand(7, T, S)}),
    "no_bias_eps": (dict(bias=False, layer_norm_eps=1e-2), {}),
}


@pytest.mark.parametrize("name", sorted(DECODER_LAYER_CASES))
def test_decoder_layer_matches_torch(reference, name):
    kwargs, masks = DECODER_LAYER_CASES[name]
    bf = kwargs.get("batch_first", False)

    def call(m, xs, ms):
        return {"y": m(xs["tgt"], xs["memory"], **ms)}

    check_parity(reference, lambda lib: lib.TransformerDecoderLayer(E, H, FF, **kwargs), call,
                 {"tgt": _seq(bf, T, seed=2), "memory": _seq(bf, S, seed=3)}, masks, **_tol(kwargs))


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_stack_matches_torch(reference, norm_first):
    def build(lib):
        layer = lib.TransformerEncoderLayer(E, H, FF, batch_first=True, norm_first=norm_first)
        return lib.TransformerEncoder(layer, 2, norm=lib.LayerNorm(E), enable_nested_tensor=False)

    def call(m, xs, ms):
        return {"y": m(xs["src"], **ms)}

    check_parity(reference, build, call, {"src": _seq(True, S)},
                 {"mask": _causal(S), "src_key_padding_mask": SRC_KPM})


def test_decoder_stack_matches_torch(reference):
    def build(lib):
        return lib.TransformerDecoder(lib.TransformerDecoderLayer(E, H, FF), 2, norm=lib.LayerNorm(E))

    def call(m, xs, ms):
        return {"y": m(xs["tgt"], xs["memory"], **ms)}

    check_parity(reference, build, call, {"tgt": _seq(False, T, seed=2), "memory": _seq(False, S, seed=3)},
                 {"tgt_mask": _causal(T), "tgt_key_padding_mask": TGT_KPM, "memory_key_padding_mask": SRC_KPM})


@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer_matches_torch(reference, batch_first):
    def build(lib):
        return lib.Transformer(E, H, num_encoder_layers=2, num_decoder_layers=1, dim_feedforward=FF,
                               batch_first=batch_first, norm_first=batch_first, activation="gelu")

    def call(m, xs, ms):
        return {"y": m(xs["src"], xs["tgt"], **ms)}

    check_parity(reference, build, call, {"src": _seq(batch_first, S, seed=4), "tgt": _seq(batch_first, T, seed=5)},
                 {"src_key_padding_mask": SRC_KPM, "memory_key_padding_mask": SRC_KPM, "tgt_mask": _causal(T),
                  "tgt_key_padding_mask": TGT_KPM}, **_tol({"activation": "gelu"}))


def test_square_subsequent_mask_matches_torch(reference):
    def torch_side(torch):  # recorded as exp(mask) (1 where visible, 0 where −∞): a file holds no −∞
        return {"m": torch.nn.Transformer.generate_square_subsequent_mask(4).exp(),
                "d": torch.nn.Transformer.generate_square_subsequent_mask(3, dtype=torch.float64).exp()}

    ref = reference(torch_side)
    m, d = nn.Transformer.generate_square_subsequent_mask(4), nn.Transformer.generate_square_subsequent_mask(
        3, dtype=sd.float64)
    assert m.dtype == np.float32 and d.dtype == np.float64
    assert set(np.unique(m.numpy())) == {0.0, -np.inf}
    np.testing.assert_array_equal(np.exp(m.numpy()), ref["m"])
    np.testing.assert_array_equal(np.exp(d.numpy()), ref["d"])


def test_state_dict_keys_and_shapes_equal_torch(reference):
    def keys(m):
        return ",".join(f"{k}{tuple(v.shape)}" for k, v in m.state_dict().items())

    ref = reference(lambda torch: {"keys": keys(torch.nn.Transformer(E, H, 2, 2, FF))})
    assert keys(nn.Transformer(E, H, 2, 2, FF)) == ref["keys"]


def test_stacks_deep_copy_the_layer_and_transformer_resets_xavier():
    sd.manual_seed(0)
    layer = nn.TransformerEncoderLayer(E, H, FF)
    enc = nn.TransformerEncoder(layer, 3, enable_nested_tensor=True)
    w = [lay.self_attn.in_proj_weight for lay in enc.layers]
    assert len(enc.layers) == 3 and w[0] is not w[1] and w[0] is not layer.self_attn.in_proj_weight
    np.testing.assert_array_equal(w[0].numpy(), w[2].numpy())  # copies start equal, as in PyTorch
    w[0].numpy()[...] = 0
    assert not np.all(w[1].numpy() == 0)
    t = nn.Transformer(E, H, 2, 2, FF)
    a, b = t.encoder.layers[0].linear1.weight.numpy(), t.encoder.layers[1].linear1.weight.numpy()
    assert not np.array_equal(a, b) and np.abs(a).max() <= np.sqrt(6 / (E + FF))  # redrawn Xavier-uniform
    assert isinstance(t.encoder.norm, nn.LayerNorm) and isinstance(t.decoder.norm, nn.LayerNorm)


def test_errors_name_the_problem():
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        nn.TransformerEncoderLayer(E, H, FF, activation="tanh")
    with pytest.raises(ValueError, match=r"d_model \(8\) must be divisible by nhead \(3\)"):
        nn.TransformerDecoderLayer(E, 3, FF)
    t = nn.Transformer(E, H, 1, 1, FF, batch_first=True)
    with pytest.raises(RuntimeError, match="batch number of src and tgt must be equal"):
        t(sd.randn(2, S, E), sd.randn(3, T, E))
    with pytest.raises(RuntimeError, match=r"equal to d_model \(8\)"):
        t(sd.randn(2, S, E), sd.randn(2, T, 6))


def test_tiny_transformer_language_model_learns():
    """Embedding → causal TransformerEncoder → Linear, predicting the next token of a fixed pattern."""
    sd.manual_seed(0)
    vocab, d, seq = 7, 16, 8

    class TinyLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(vocab, d)
            self.pos = nn.Parameter(sd.randn(seq, d) * 0.1)
            layer = nn.TransformerEncoderLayer(d, 2, 32, dropout=0.0, batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, 1)
            self.head = nn.Linear(d, vocab)

        def forward(self, tokens):
            x = self.embed(tokens) + self.pos
            mask = nn.Transformer.generate_square_subsequent_mask(tokens.shape[1])
            return self.head(self.encoder(x, mask=mask, is_causal=True))

    data = np.array([[(i + j) % vocab for j in range(seq + 1)] for i in range(4)])
    x, y = sd.tensor(data[:, :-1]), sd.tensor(data[:, 1:])
    model = TinyLM()
    opt = optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _ in range(15):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x).reshape(-1, vocab), y.reshape(-1))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses

"""Mask propagation (Embedding(mask_zero=True), Masking) into the recurrent layers, and recurrent_dropout."""

import numpy as np
import pytest

import shendu as sd
from shendu import keras
from shendu.keras import layers as L

IDS = np.array([[3, 5, 2, 0, 0], [1, 4, 0, 0, 0], [7, 1, 2, 3, 9]])
LENGTHS = [3, 2, 5]


@pytest.mark.parametrize("cls", [L.LSTM, L.GRU, L.SimpleRNN])
def test_mask_zero_gives_the_output_of_the_unpadded_sequence(cls):
    emb = L.Embedding(10, 4, mask_zero=True)
    rnn = cls(3)
    y = rnn(emb(IDS)).numpy()
    vectors = emb(IDS).numpy()
    for b, n in enumerate(LENGTHS):
        np.testing.assert_allclose(y[b], rnn(vectors[b : b + 1, :n]).numpy()[0], atol=1e-6)
    # without the mask the padded steps change the result
    assert np.abs(rnn(vectors).numpy()[0] - y[0]).max() > 1e-4


def test_masked_steps_carry_state_and_output_in_sequences():
    emb = L.Embedding(10, 4, mask_zero=True)
    lstm = L.LSTM(3, return_sequences=True, return_state=True)
    ids = np.array([[3, 0, 2, 0]])
    seq, h, c = lstm(emb(ids))
    seq = seq.numpy()
    np.testing.assert_array_equal(seq[0, 1], seq[0, 0])  # masked step repeats the previous output
    np.testing.assert_array_equal(seq[0, 3], seq[0, 2])
    np.testing.assert_allclose(h.numpy()[0], seq[0, 2])
    unpadded = lstm(emb(np.array([[3, 2]])).numpy())[0].numpy()
    np.testing.assert_allclose(seq[0, [0, 2]], unpadded[0], atol=1e-6)
    # a leading masked step outputs zeros (nothing has been seen yet)
    lead = lstm(emb(np.array([[0, 3]])))[0].numpy()
    np.testing.assert_array_equal(lead[0, 0], 0.0)


def test_mask_flows_through_sequential_functional_and_stacked_layers():
    seq = keras.Sequential([L.Embedding(10, 4, mask_zero=True), L.LSTM(3, return_sequences=True), L.GRU(2)])
    y = seq(IDS).numpy()
    emb, lstm, gru = seq.layers
    for b, n in enumerate(LENGTHS):
        ref = gru(lstm(emb(IDS[b : b + 1, :n]).numpy())).numpy()
        np.testing.assert_allclose(y[b], ref[0], atol=1e-6)
    inp = keras.Input((5,), dtype="int64")
    out = gru(lstm(emb(inp)))
    model = keras.Model(inp, out)
    np.testing.assert_allclose(model(IDS).numpy(), y, atol=1e-6)
    np.testing.assert_allclose(model.predict(IDS, verbose=0), y, atol=1e-6)


def test_masking_layer_masks_all_equal_steps_and_zeroes_them():
    x = np.array([[[1.0, 2.0], [-1.0, -1.0], [3.0, 1.0]]])
    mk = L.Masking(mask_value=-1.0)
    out = mk(x)
    np.testing.assert_array_equal(out.numpy()[0, 1], 0.0)
    np.testing.assert_array_equal(out._keras_mask.numpy(), [[True, False, True]])
    lstm = L.LSTM(2)
    np.testing.assert_allclose(lstm(out).numpy(), lstm(x[:, [0, 2]]).numpy(), atol=1e-6)


def test_go_backwards_with_mask_reads_the_real_steps_in_reverse():
    emb = L.Embedding(10, 4, mask_zero=True)
    rnn = L.GRU(3, go_backwards=True)
    y = rnn(emb(IDS)).numpy()
    v = emb(IDS).numpy()
    for b, n in enumerate(LENGTHS):
        np.testing.assert_allclose(y[b], rnn(v[b : b + 1, :n]).numpy()[0], atol=1e-6)


def test_dense_and_dropout_pass_the_mask_and_non_sequence_output_drops_it():
    emb = L.Embedding(10, 4, mask_zero=True)
    d = L.Dense(3)(emb(IDS))
    assert d._keras_mask is not None
    out = L.LSTM(2)(d)
    assert getattr(out, "_keras_mask", None) is None


def test_mask_trains_through_fit():
    model = keras.Sequential([L.Embedding(10, 4, mask_zero=True), L.LSTM(4), L.Dense(1)])
    model.compile("adam", "mse")
    y = np.array([[0.5], [-0.5], [1.0]])
    h = model.fit(IDS, y, epochs=5, verbose=0)
    assert h.history["loss"][-1] < h.history["loss"][0]


@pytest.mark.parametrize("cls", [L.LSTM, L.GRU, L.SimpleRNN])
def test_recurrent_dropout_acts_in_training_only(cls):
    x = np.random.default_rng(0).standard_normal((4, 6, 3)).astype("float32")
    rnn = cls(5, recurrent_dropout=0.5)
    plain = cls(5)
    plain(x)
    rnn(x)
    plain.set_weights(rnn.get_weights())
    np.testing.assert_allclose(rnn(x).numpy(), plain(x).numpy(), atol=1e-6)  # inference: no dropout
    sd.manual_seed(1)
    a = rnn(x, training=True).numpy()
    sd.manual_seed(1)
    b = rnn(x, training=True).numpy()
    np.testing.assert_array_equal(a, b)  # seeded
    assert np.abs(a - plain(x).numpy()).max() > 1e-3
    # the gradient reaches the recurrent kernel
    t = sd.tensor(x)
    rnn.train()
    rnn(t).sum().backward()
    assert np.abs(rnn.rnn.weight_hh_l0.grad.numpy()).sum() > 0


def test_recurrent_dropout_is_one_mask_on_the_previous_state():
    """h_{t-1} is multiplied by one fixed 0-or-2 mask (rate 0.5) before each step, as in Keras."""
    x = np.random.default_rng(1).standard_normal((2, 4, 3))
    rnn = L.SimpleRNN(4, recurrent_dropout=0.5)
    rnn(x)
    k, rk, bias = rnn.get_weights()
    sd.manual_seed(3)
    got = rnn(x, training=True).numpy()
    sd.manual_seed(3)
    mask = sd.nn.functional.dropout(sd.ones((1, 2, 4)), 0.5, training=True).numpy()[0]
    h = np.zeros((2, 4))
    for t in range(4):
        h = np.tanh(x[:, t] @ k + (h * mask) @ rk + bias)
    np.testing.assert_allclose(got, h, atol=1e-5)


def test_recurrent_dropout_out_of_range_raises():
    with pytest.raises(ValueError, match="recurrent_dropout"):
        L.LSTM(3, recurrent_dropout=1.0)


def test_global_average_pooling_1d_averages_the_unmasked_steps():
    emb = L.Embedding(10, 4, mask_zero=True)
    pooled = L.GlobalAveragePooling1D()(emb(IDS)).numpy()
    v = emb(IDS).numpy()
    for b, n in enumerate(LENGTHS):
        np.testing.assert_allclose(pooled[b], v[b, :n].mean(0), atol=1e-6)
    model = keras.Sequential([L.Embedding(10, 4, mask_zero=True), L.GlobalAveragePooling1D(), L.Dense(1)])
    model.compile("adam", "mse")
    model.fit(IDS, np.ones((3, 1)), epochs=2, verbose=0)


def test_bidirectional_with_mask_matches_the_unpadded_sequences():
    emb = L.Embedding(10, 4, mask_zero=True)
    bi = L.Bidirectional(L.LSTM(3))
    y = bi(emb(IDS)).numpy()
    v = emb(IDS).numpy()
    for b, n in enumerate(LENGTHS):
        np.testing.assert_allclose(y[b], bi(v[b : b + 1, :n]).numpy()[0], atol=1e-6)
    seq = L.Bidirectional(L.GRU(2, return_sequences=True))(emb(IDS))
    assert seq._keras_mask is not None

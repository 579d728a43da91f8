"""Keras fit's shortcuts compute what the general path computes."""
import numpy as np
import pytest

import shendu as sd
from shendu.keras import Sequential, layers, losses
from shendu.keras.models import _fused_sparse_ce
from shendu.nn import functional as F


def test_fused_sparse_crossentropy_matches_the_per_sample_path():
    fn = losses.SparseCategoricalCrossentropy(from_logits=True)
    rng = np.random.default_rng(0)
    z = sd.tensor(rng.standard_normal((64, 10)).astype(np.float32) * 3, requires_grad=True)
    t = rng.integers(0, 10, 64)
    fused = _fused_sparse_ce(fn, z, t[:, None])
    fused.backward()
    g_fused, z.grad = z.grad.numpy().copy(), None
    general = F.sample_weighted_reduce(fn.call(t, z), None, "mean")
    general.backward()
    assert fused.item() == general.item()
    np.testing.assert_allclose(g_fused, z.grad.numpy(), rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("fn, labels", [
    (losses.SparseCategoricalCrossentropy(from_logits=False), [0, 1]),
    (losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1), [0, -1]),
    (losses.SparseCategoricalCrossentropy(from_logits=True), [0, 10]),   # out of range: the Keras error
])
def test_fused_sparse_crossentropy_leaves_other_cases_to_the_general_path(fn, labels):
    assert _fused_sparse_ce(fn, sd.zeros(2, 10), np.array(labels)) is None


def test_fit_reports_a_label_out_of_range_with_the_keras_message():
    m = Sequential([layers.Input((3,)), layers.Dense(4)])
    m.compile(optimizer="adam", loss=losses.SparseCategoricalCrossentropy(from_logits=True))
    with pytest.raises(ValueError, match="outside the valid range"):
        m.fit(np.zeros((4, 3), np.float32), np.array([0, 1, 2, 7]), verbose=0)


def test_conv_pool_stack_gives_the_numbers_of_layers_called_one_by_one():
    sd.manual_seed(0)
    stack = [layers.Conv2D(4, 3, activation="relu"), layers.MaxPooling2D(2),
             layers.Conv2D(6, 3, activation="tanh", padding="same"), layers.AveragePooling2D(2),
             layers.Conv2D(3, 1, activation="softmax")]
    x = np.random.default_rng(1).random((2, 12, 12, 2), dtype=np.float32)
    out = [None, None]
    grads = [None, None]
    for run in range(2):
        h = xt = sd.tensor(x, requires_grad=True)
        for layer in stack:
            h = layer(h if run == 0 else h * 1.0)   # run 1: a fresh tensor between layers, no shortcut
        (h * h).sum().backward()
        out[run], grads[run] = h.numpy(), [xt.grad.numpy()] + [p.grad.numpy() for p in
                                                                _params(stack)]
        for p in _params(stack):
            p.grad = None
    np.testing.assert_array_equal(out[0], out[1])
    for a, b in zip(*grads):
        np.testing.assert_array_equal(a, b)


def _params(stack):
    return [p for layer in stack for p in layer.parameters()]


def test_add_loss_terms_still_join_the_loss_during_fit():
    class Penalty(layers.Layer):
        def call(self, x):
            self.add_loss(100.0 * sd.mean(x * x))
            return x

    x, y = np.ones((8, 3), np.float32), np.zeros(8, np.int64)
    m = Sequential([layers.Input((3,)), layers.Dense(4), Penalty()])
    m.compile(optimizer="sgd", loss=losses.SparseCategoricalCrossentropy(from_logits=True))
    plain = m.evaluate(x, y, verbose=0)
    history = m.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    assert history.history["loss"][0] == pytest.approx(plain, rel=1e-5)


def test_a_conv_output_changed_in_place_is_not_taken_back_stale():
    conv, pool = layers.Conv2D(2, 3), layers.MaxPooling2D(2)
    x = sd.tensor(np.random.default_rng(2).random((1, 6, 6, 1), dtype=np.float32))
    with sd.no_grad():
        h = conv(x)
        h.array = h.array + 5.0   # a new array behind the same Tensor
        got = pool(h).numpy()
        want = pool(sd.tensor(h.numpy())).numpy()
    np.testing.assert_array_equal(got, want)

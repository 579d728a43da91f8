"""Weight constraints: nn.constraints' projections, applied by Keras optimizers after every step."""
import numpy as np
import pytest

import shendu as sd
from shendu.keras import constraints, layers, models, optimizers
from shendu.nn import constraints as C

RNG = np.random.default_rng(0)
W = RNG.standard_normal((5, 3)) * 3


def _norms(w, axis=0):
    return np.sqrt((w * w).sum(axis=axis, keepdims=True))


def test_projections_match_their_formulas():
    n = _norms(W)
    np.testing.assert_allclose(C.max_norm(W, 2.0), W * np.minimum(n, 2.0) / (1e-7 + n))
    np.testing.assert_allclose(C.non_neg(W), np.where(W >= 0, W, 0.0))
    np.testing.assert_allclose(_norms(C.unit_norm(W)), 1.0, rtol=1e-6)
    np.testing.assert_allclose(_norms(C.unit_norm(W, axis=1), 1), 1.0, rtol=1e-6)
    half = C.min_max_norm(W, 1.0, 2.0, rate=0.5)
    np.testing.assert_allclose(_norms(half), 0.5 * np.clip(n, 1.0, 2.0) + 0.5 * n, rtol=1e-6)
    t = C.max_norm(sd.tensor(W), 1.0)
    assert isinstance(t, sd.Tensor)
    assert (_norms(t.numpy()) <= 1.0 + 1e-6).all()


def test_dense_kernel_max_norm_holds_after_fit_and_round_trips():
    model = models.Sequential([
        layers.Input((4,)),
        layers.Dense(3, kernel_constraint=constraints.MaxNorm(0.5), bias_constraint="non_neg"),
    ])
    model.compile(optimizer=optimizers.SGD(learning_rate=1.0), loss="mse")
    x = RNG.standard_normal((32, 4)).astype(np.float32)
    y = (x @ (np.ones((4, 3)) * 5) - 3).astype(np.float32)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    kernel, bias = model.layers[0].get_weights()
    assert (_norms(kernel) <= 0.5 + 1e-5).all()  # norm of each unit's incoming weights (Keras's axis 0)
    assert (bias >= 0).all()
    config = model.layers[0].get_config()
    assert config["kernel_constraint"] == {"class_name": "MaxNorm", "config": {"max_value": 0.5, "axis": 0}}
    again = layers.Dense.from_config(config)
    assert isinstance(again.kernel_constraint, constraints.MaxNorm) and isinstance(again.bias_constraint,
                                                                                   constraints.NonNeg)


def test_apply_gradients_projects_and_custom_callables_work(tmp_path):
    class Layer(layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(2,), initializer="ones", constraint=lambda w: sd.clip(w, 0.0, 1.5))

        def call(self, x):
            return x * self.w

    layer = Layer()
    layer(sd.tensor(np.ones((1, 2), np.float32)))
    opt = optimizers.SGD(learning_rate=1.0)
    opt.apply_gradients([(np.array([-3.0, 3.0], np.float32), layer.w)])
    np.testing.assert_allclose(layer.w.numpy(), [1.5, 0.0])


@pytest.mark.parametrize("cls", [layers.LSTM, layers.GRU, layers.SimpleRNN])
def test_recurrent_constraints_apply_in_keras_layout(cls):
    layer = cls(3, kernel_constraint="unit_norm", recurrent_constraint=constraints.MaxNorm(0.1),
                bias_constraint="non_neg")
    model = models.Sequential([layers.Input((5, 2)), layer])
    model.compile(optimizer=optimizers.SGD(learning_rate=0.5), loss="mse")
    model.fit(RNG.standard_normal((8, 5, 2)).astype(np.float32), np.ones((8, 3), np.float32) * 9, epochs=1,
              verbose=0)
    kernel, recurrent, bias = layer.get_weights()
    np.testing.assert_allclose(_norms(kernel), 1.0, rtol=1e-4)
    assert (_norms(recurrent) <= 0.1 + 1e-5).all()
    assert (bias >= 0).all()


def test_normalization_and_embedding_take_constraints():
    bn = layers.BatchNormalization(gamma_constraint=constraints.MinMaxNorm(0.0, 0.5, axis=0))
    ln = layers.LayerNormalization(beta_constraint="non_neg")
    emb = layers.Embedding(10, 4, embeddings_constraint=constraints.UnitNorm(axis=1))
    for layer in (bn, ln, emb):
        assert layer.get_config()[next(k for k in layer.get_config() if k.endswith("_constraint")
                                       and layer.get_config()[k])]
    model = models.Sequential([layers.Input((3,), dtype="int64"), emb, ln, bn])
    model.compile(optimizer=optimizers.SGD(learning_rate=1.0), loss="mse")
    model.fit(RNG.integers(0, 10, (16, 3)), RNG.standard_normal((16, 3, 4)).astype(np.float32) * 5, verbose=0)
    np.testing.assert_allclose(_norms(emb.get_weights()[0], 1), 1.0, rtol=1e-4)
    assert (ln.get_weights()[1] >= 0).all()
    assert np.linalg.norm(bn.get_weights()[0]) <= 0.5 + 1e-5


def test_unknown_constraint_names_raise():
    with pytest.raises(ValueError, match="Unknown constraint 'nope'"):
        layers.Dense(2, kernel_constraint="nope")

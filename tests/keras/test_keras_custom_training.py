"""Custom training the Keras way: GradientTape, train_step/test_step/predict_step overrides, compute_loss,
compiled_loss/compiled_metrics, metric trackers, apply_gradients on the model's weights, a two-optimizer GAN."""
import numpy as np
import pytest

import shendu as sd
import shendu.keras as keras
from shendu.keras import layers, ops


def _data(n=128, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    return x, (x @ np.array([1.0, -2.0, 0.5, 0.0], "float32") > 0).astype("float32")[:, None]


def _mlp():
    return keras.Sequential([keras.Input((4,)), layers.Dense(8, activation="tanh"), layers.Dense(1)])


# ----- GradientTape --------------------------------------------------------------------------------
def test_tape_gradients_equal_backward_on_model_weights():
    x, y = _data(16)
    model = _mlp()
    loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)
    with sd.GradientTape() as tape:
        loss = loss_fn(y, model(x))
    grads = tape.gradient(loss, model.trainable_weights)
    loss2 = loss_fn(y, model(x))
    loss2.backward()
    for g, v in zip(grads, model.trainable_weights):
        tensors, to_keras = v._tape_source()
        assert tuple(g.shape) == v.shape
        np.testing.assert_allclose(g.numpy(), to_keras([t.grad.numpy() for t in tensors]), rtol=1e-5, atol=1e-7)


def test_tape_and_apply_gradients_on_a_stacked_weight():
    """A GRU's Keras bias (2, 3u) is two nn tensors: its gradient has the weight's shape and holds both
    halves, and apply_gradients moves both."""
    rng = np.random.default_rng(0)
    x, y = rng.random((4, 5, 3), dtype=np.float32), rng.random((4, 1), dtype=np.float32)
    model = keras.Sequential([keras.Input((5, 3)), layers.GRU(2), layers.Dense(1)])
    bias = model.layers[0].weights[2]
    assert bias.shape == (2, 6)
    with sd.GradientTape() as tape:
        loss = sd.mean((model(x) - sd.from_numpy(y)) ** 2)
    grads = tape.gradient(loss, model.trainable_weights)
    assert [tuple(g.shape) for g in grads] == [v.shape for v in model.trainable_weights]
    loss2 = sd.mean((model(x) - sd.from_numpy(y)) ** 2)
    loss2.backward()
    rnn = model.layers[0].rnn
    want = bias._spec.grad_to_keras([rnn.bias_ih_l0.grad.numpy(), rnn.bias_hh_l0.grad.numpy()])
    np.testing.assert_allclose(grads[2].numpy(), want, rtol=1e-5, atol=1e-7)
    assert np.abs(grads[2].numpy()[1]).max() > 0  # the recurrent half is followed
    before = bias.numpy()
    keras.optimizers.SGD(0.1).apply_gradients(zip(grads, model.trainable_weights))
    np.testing.assert_allclose(bias.numpy(), before - 0.1 * grads[2].numpy(), rtol=1e-5, atol=1e-7)


def test_tape_nested_sources_persistent_watch_and_stop_recording():
    x = sd.tensor([1.0, 2.0, 3.0], dtype=sd.float64)
    w = keras.Variable(np.array([0.5, -1.0, 2.0]), dtype="float64")
    with sd.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = ops.sum(x * x * w)
        with tape.stop_recording():
            z = x * 3
    g = tape.gradient(y, {"x": x, "pair": [w, (x,)]})
    np.testing.assert_allclose(g["x"].numpy(), 2 * x.numpy() * w.numpy())
    np.testing.assert_allclose(g["pair"][0].numpy(), x.numpy() ** 2)
    np.testing.assert_allclose(g["pair"][1][0].numpy(), g["x"].numpy())
    assert not z.requires_grad
    assert tape.gradient(y, sd.tensor([1.0])) is None  # not watched: None, as TensorFlow
    assert tape.gradient(y, [sd.tensor([1.0])], unconnected_gradients="zero")[0].numpy().tolist() == [0.0]
    once = sd.GradientTape()
    with once:
        q = ops.sum(w * w)
    once.gradient(q, w)
    with pytest.raises(RuntimeError, match="non-persistent"):
        once.gradient(q, w)


def test_tape_gradients_agree_with_gradcheck_shaped_values():
    v = keras.Variable(np.array([[1.0, 2.0], [3.0, 4.0]]), dtype="float64")
    with sd.GradientTape() as tape:
        y = ops.matmul(v, v)  # a non-scalar target is summed
    g = tape.gradient(y, v).numpy()
    ones = np.ones((2, 2))
    np.testing.assert_allclose(g, ones @ v.numpy().T + v.numpy().T @ ones)


def test_apply_gradients_and_apply_take_model_weights():
    x, y = _data()
    model = _mlp()
    opt = keras.optimizers.SGD(0.5)
    loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)
    first = float(loss_fn(y, model(x)))
    for step in range(30):
        with sd.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        if step % 2:
            opt.apply_gradients(zip(grads, model.trainable_variables))
        else:
            opt.apply(grads, model.trainable_variables)
    assert float(loss_fn(y, model(x))) < 0.7 * first
    assert opt.iterations == 30


# ----- train_step / test_step / predict_step overrides ------------------------------------------------
class Keras3Model(keras.Model):
    """The Keras 3 guide's shape: compute_loss, a loop over self.metrics, optimizer.apply."""

    def train_step(self, data):
        x, y = data
        with sd.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred)
        self.optimizer.apply(tape.gradient(loss, self.trainable_variables), self.trainable_variables)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        x, y = data
        y_pred = self(x, training=False)
        loss = self.compute_loss(y=y, y_pred=y_pred)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}

    def predict_step(self, data):
        return ops.sigmoid(self(data, training=False))


def _functional(cls):
    inp = keras.Input((4,))
    out = layers.Dense(1)(layers.Dense(8, activation="tanh")(inp))
    return cls(inp, out)


def test_keras3_train_step_override_runs_through_fit_evaluate_predict():
    x, y = _data()
    model = _functional(Keras3Model)
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss=keras.losses.BinaryCrossentropy(from_logits=True),
                  metrics=[keras.metrics.BinaryAccuracy(threshold=0.0)])
    hist = model.fit(x, y, epochs=6, batch_size=32, validation_data=(x, y), verbose=0)
    assert set(hist.history) == {"loss", "binary_accuracy", "val_loss", "val_binary_accuracy"}
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    assert hist.history["binary_accuracy"][-1] > 0.85
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert logs["binary_accuracy"] > 0.85
    probs = model.predict(x, verbose=0)
    assert probs.min() >= 0 and probs.max() <= 1  # predict_step applied the sigmoid


class TF2Model(keras.Model):
    """tf.keras 2's shape: compiled_loss with regularization_losses, compiled_metrics, self.metrics."""

    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.seen = keras.metrics.Mean(name="batch_size")

    def train_step(self, data):
        x, y = data
        with sd.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compiled_loss(y, y_pred, regularization_losses=self.losses)
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
        self.compiled_metrics.update_state(y, y_pred)
        self.seen.update_state(float(ops.shape(x)[0]))
        return {m.name: m.result() for m in self.metrics}


def test_tf2_compiled_loss_and_metrics_and_trackers_reset_each_epoch():
    keras.utils.set_random_seed(0)  # the loss must fall whatever tests ran before
    x, y = _data(100)
    model = _functional(TF2Model)
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    hist = model.fit(x, y, epochs=3, batch_size=40, verbose=0)
    assert set(hist.history) == {"loss", "mae", "batch_size"}
    # batches of 40, 40, 20 in every epoch: a tracker that was not reset would drift
    assert hist.history["batch_size"] == pytest.approx([100 / 3] * 3)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    assert [m.name for m in model.metrics] == ["loss", "compile_metrics", "batch_size"]


def test_super_train_step_is_the_default_step():
    class Plain(keras.Model):
        def train_step(self, data):
            logs = super().train_step(data)
            return {**logs, "extra": 1.0}

    x, y = _data()
    model = _functional(Plain)
    model.compile(optimizer="adam", loss="mse")
    hist = model.fit(x, y, epochs=2, verbose=0)
    assert hist.history["extra"] == [1.0, 1.0] and len(hist.history["loss"]) == 2


def test_unpack_x_y_sample_weight():
    from shendu.keras.utils import pack_x_y_sample_weight, unpack_x_y_sample_weight

    assert unpack_x_y_sample_weight((1, 2)) == (1, 2, None)
    assert unpack_x_y_sample_weight(1) == (1, None, None)
    assert pack_x_y_sample_weight(1, 2) == (1, 2)


# ----- a Keras-style GAN: compile(d_optimizer, g_optimizer, loss_fn), train_step, fit ------------------
class GAN(keras.Model):
    def __init__(self, discriminator, generator, latent_dim):
        super().__init__()
        self.discriminator, self.generator, self.latent_dim = discriminator, generator, latent_dim
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.seed_generator = keras.random.SeedGenerator(1337)

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]

    def compile(self, d_optimizer, g_optimizer, loss_fn):
        super().compile()
        self.d_optimizer, self.g_optimizer, self.loss_fn = d_optimizer, g_optimizer, loss_fn

    def train_step(self, real):
        batch = ops.shape(real)[0]
        z = keras.random.normal((batch, self.latent_dim), seed=self.seed_generator)
        fake = self.generator(z)
        combined = ops.concatenate([fake, real], axis=0)
        labels = ops.concatenate([ops.ones((batch, 1)), ops.zeros((batch, 1))], axis=0)
        with sd.GradientTape() as tape:
            d_loss = self.loss_fn(labels, self.discriminator(combined))
        grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))
        z = keras.random.normal((batch, self.latent_dim), seed=self.seed_generator)
        with sd.GradientTape() as tape:
            g_loss = self.loss_fn(ops.zeros((batch, 1)), self.discriminator(self.generator(z)))
        grads = tape.gradient(g_loss, self.generator.trainable_weights)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {"d_loss": self.d_loss_tracker.result(), "g_loss": self.g_loss_tracker.result()}


def test_gan_with_two_optimizers_trains_through_fit():
    sd.manual_seed(0)
    disc = keras.Sequential([keras.Input((2,)), layers.Dense(16, activation="relu"), layers.Dense(1)])
    gen = keras.Sequential([keras.Input((4,)), layers.Dense(16, activation="relu"), layers.Dense(2)])
    gan = GAN(disc, gen, 4)
    gan.compile(d_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.Adam(1e-3),
                loss_fn=keras.losses.BinaryCrossentropy(from_logits=True))
    real = (np.random.default_rng(0).normal(size=(256, 2)) * 0.3 + 3).astype("float32")
    d0 = [w.numpy() for w in disc.trainable_weights]
    g0 = [w.numpy() for w in gen.trainable_weights]
    hist = gan.fit(real, epochs=4, batch_size=32, verbose=0)
    d, g = hist.history["d_loss"], hist.history["g_loss"]
    assert len(d) == len(g) == 4
    assert abs(d[-1] - d[0]) > 1e-3 and abs(g[-1] - g[0]) > 1e-3
    assert all(not np.allclose(a, w.numpy()) for a, w in zip(d0, disc.trainable_weights))
    assert all(not np.allclose(a, w.numpy()) for a, w in zip(g0, gen.trainable_weights))
    # the generator moves toward the data (which sits at (3, 3))
    fake = gen.predict(np.random.default_rng(1).normal(size=(64, 4)).astype("float32"), verbose=0)
    assert np.isfinite(fake).all()


def test_custom_layer_called_on_a_list_of_symbolic_inputs():
    import shendu.tf as tf

    class Sampling(layers.Layer):
        def call(self, inputs):
            mean, log_var = inputs
            eps = tf.keras.backend.random_normal(shape=(tf.shape(mean)[0], tf.shape(mean)[1]))
            return mean + tf.exp(0.5 * log_var) * eps

    inp = keras.Input((3,))
    z = Sampling()([layers.Dense(2)(inp), layers.Dense(2)(inp)])
    assert tuple(z.shape) == (None, 2)
    assert keras.Model(inp, z).predict(np.zeros((5, 3), "float32"), verbose=0).shape == (5, 2)

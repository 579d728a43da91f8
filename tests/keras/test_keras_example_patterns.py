"""Patterns the official Keras examples use, each written here as a small program of its own."""
import numpy as np
import pytest

import shendu.tf as tf
from conftest import require
from shendu import keras
from shendu.keras import layers


def test_compat_as_bytes_finds_a_jpeg_marker(tmp_path):
    Image = require("PIL.Image")
    good, bad = tmp_path / "a.jpg", tmp_path / "b.jpg"
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(good)
    bad.write_bytes(b"plain bytes, no marker")
    found = []
    for p in (good, bad):
        with open(p, "rb") as f:
            found.append(tf.compat.as_bytes("JFIF") in f.peek(10))
    assert found == [True, False]
    assert tf.compat.as_bytes(b"x") == b"x" and tf.compat.as_text(b"\xc3\xa9") == "é"
    assert tf.compat.as_str("s") == "s" and tf.compat.as_str_any(3) == "3"
    assert tf.compat.path_to_str(tmp_path) == str(tmp_path)
    with pytest.raises(TypeError):
        tf.compat.as_bytes(3)


def test_mnist_load_data_reads_the_keras_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    (tmp_path / "datasets").mkdir()
    r = np.random.default_rng(1)
    arrays = {"x_train": r.integers(0, 256, (7, 28, 28)), "y_train": r.integers(0, 10, 7),
              "x_test": r.integers(0, 256, (3, 28, 28)), "y_test": r.integers(0, 10, 3)}
    np.savez(tmp_path / "datasets" / "mnist.npz", **{k: v.astype(np.uint8) for k, v in arrays.items()})
    (x, y), (xt, yt) = keras.datasets.mnist.load_data()
    assert x.dtype == np.uint8 and x.shape == (7, 28, 28) and xt.shape == (3, 28, 28)
    np.testing.assert_array_equal(y, arrays["y_train"])
    np.testing.assert_array_equal(xt, arrays["x_test"])
    other = tmp_path / "elsewhere.npz"
    np.savez(other, **{k: v[:2].astype(np.uint8) for k, v in arrays.items()})
    assert keras.datasets.mnist.load_data(path=str(other))[0][0].shape == (2, 28, 28)


def test_batchnorm_keeps_the_biased_variance_and_takes_one_value_per_channel():
    r = np.random.default_rng(2)
    x = r.normal(size=(5, 3)).astype("float32")
    bn = layers.BatchNormalization(momentum=0.9)
    bn(x, training=True)
    _, _, mean, var = bn.get_weights()
    np.testing.assert_allclose(mean, 0.1 * x.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(var, 0.9 + 0.1 * x.var(0), rtol=1e-5)
    # a 1x1 feature map of a single image: every channel holds one value, normalized to beta
    inputs = keras.Input(shape=(2, 2, 4))
    h = layers.Conv2D(6, 2)(inputs)
    model = keras.Model(inputs, layers.Dense(1)(layers.Flatten()(layers.BatchNormalization()(h))))
    model.compile(optimizer="adam", loss="mse")
    model.fit(r.normal(size=(3, 2, 2, 4)).astype("float32"), np.ones((3, 1)), batch_size=2, epochs=1, verbose=0)
    single = model.layers[2]
    out = single(r.normal(size=(1, 1, 1, 6)).astype("float32"), training=True)
    np.testing.assert_allclose(np.asarray(out).ravel(), single.get_weights()[1], atol=1e-6)


def test_one_hot_labels_spread_over_an_image_with_repeat_and_reshape():
    labels = np.eye(3, dtype="float32")[[2, 0]]                     # (2, 3) one-hot
    planes = tf.reshape(tf.repeat(labels[:, :, None, None], repeats=[4 * 4]), (-1, 4, 4, 3))
    expected = np.repeat(labels.ravel(), 16).reshape(2, 4, 4, 3)    # flattened, then each value 16 times
    np.testing.assert_array_equal(planes.numpy(), expected)
    noise = tf.reshape(tf.repeat(np.arange(3.0)[None], repeats=2), (2, 3))
    np.testing.assert_array_equal(noise.numpy(), [[0, 0, 1], [1, 2, 2]])   # element-wise repeat
    mix = tf.cast(tf.linspace(0, 1, 5)[:, None], tf.float32)
    assert mix.shape == (5, 1) and np.allclose(mix.numpy().ravel(), [0, 0.25, 0.5, 0.75, 1])


def test_tf_image_functions():
    r = np.random.default_rng(3)
    img = r.integers(0, 256, (2, 6, 4, 3)).astype(np.uint8)
    big = tf.image.resize(img, (12, 8))
    assert big.numpy().dtype == np.float32 and big.shape == (2, 12, 8, 3)
    torch = require("torch")
    ref = torch.nn.functional.interpolate(torch.tensor(img, dtype=torch.float32).permute(0, 3, 1, 2), (12, 8),
                                          mode="bilinear", align_corners=False).permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(big.numpy(), ref, rtol=1e-5, atol=1e-4)
    near = tf.image.resize(img, (3, 2), method="nearest").numpy()
    np.testing.assert_array_equal(near, img[:, ::2, ::2].astype(np.float32))
    np.testing.assert_array_equal(tf.image.flip_left_right(img).numpy(), img[:, :, ::-1])
    np.testing.assert_array_equal(tf.image.flip_up_down(img).numpy(), img[:, ::-1])
    gray = tf.image.rgb_to_grayscale(img.astype("float32")).numpy()
    np.testing.assert_allclose(gray[..., 0], img @ np.array([0.2989, 0.587, 0.114]), rtol=1e-4)
    patches = tf.image.extract_patches(img, sizes=[1, 2, 2, 1], strides=[1, 2, 2, 1], rates=[1, 1, 1, 1],
                                       padding="VALID").numpy()
    assert patches.shape == (2, 3, 2, 12)
    np.testing.assert_array_equal(patches[1, 2, 1], img[1, 4:6, 2:4].reshape(-1))
    with pytest.raises(NotImplementedError):
        tf.image.extract_patches(img, [1, 2, 2, 1], [1, 1, 1, 1], [1, 1, 1, 1], "VALID")


class _SquaredErrorHead(layers.Layer):
    """Turns scores into predictions and, given targets, adds its own loss and two logged metrics."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hits = keras.metrics.BinaryAccuracy(name="hits")

    def call(self, scores, answers=None, weights=None):
        probs = tf.nn.sigmoid(scores)
        if answers is not None:
            self.add_loss(tf.reduce_mean(weights * tf.square(probs - answers)))
            self.add_metric(self.hits(answers, probs))
            self.add_metric(tf.reduce_mean(probs), name="mean_prob")
        return probs


def _head_data(n=64):
    r = np.random.default_rng(4)
    x = r.normal(size=(n, 5)).astype("float32")
    return {"inputs": x, "answers": (x[:, :1] > 0).astype("float32"), "weights": np.ones((n, 1), "float32")}


def test_functional_model_trained_by_its_add_loss_terms_from_a_dict():
    inputs = keras.Input((5,), name="inputs")
    answers, weights = keras.Input((1,), name="answers"), keras.Input((1,), name="weights")
    probs = _SquaredErrorHead()(layers.Dense(1)(inputs), answers, weights)
    model = keras.Model([inputs, answers, weights], probs)
    model.compile(keras.optimizers.Adam(0.05))                       # no loss: add_loss is the loss
    history = model.fit(_head_data(), epochs=8, batch_size=16, verbose=0).history
    assert set(history) == {"loss", "hits", "mean_prob"}
    assert history["loss"][-1] < history["loss"][0] and history["hits"][-1] > 0.8
    assert 0 < history["mean_prob"][-1] < 1
    with pytest.raises(ValueError, match="No loss to compute"):
        plain = keras.Sequential([keras.Input((5,)), layers.Dense(1)])
        plain.compile("adam")
        plain.fit(_head_data()["inputs"], np.zeros((64, 1)), verbose=0)


def test_subclassed_model_gets_the_dict_and_passes_the_first_argument_by_name():
    class Scorer(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(1)
            self.head = _SquaredErrorHead()

        def call(self, inputs):
            return self.head(scores=self.dense(inputs["inputs"]), answers=inputs["answers"],
                             weights=inputs["weights"])

    model = Scorer()
    model.compile(keras.optimizers.Adam(0.05))
    history = model.fit(_head_data(), epochs=6, batch_size=16, verbose=0).history
    assert history["loss"][-1] < history["loss"][0] and "hits" in history
    with pytest.raises(ValueError, match="name="):
        layers.Layer().add_metric(1.0)

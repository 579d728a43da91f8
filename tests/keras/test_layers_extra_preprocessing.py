"""TextVectorization, Normalization, Rescaling, the augmentation layers, and .keras round trips of every
new layer."""

import numpy as np
import pytest

import shendu as sd
from shendu import keras
from shendu.keras import layers as L
from shendu.keras import models

TEXTS = ["The cat sat.", "the dog sat!", "a cat"]


def test_text_vectorization_vocabulary_and_int_output():
    tv = L.TextVectorization(max_tokens=6, output_sequence_length=4)
    tv.adapt(TEXTS)
    # '' and '[UNK]' first, then by count (the 2, sat 2, cat 2 -> ties in reverse order), cut at 6
    assert tv.get_vocabulary() == ["", "[UNK]", "the", "sat", "cat", "dog"]
    out = tv(["the cat ran", "sat"]).numpy()
    np.testing.assert_array_equal(out, [[2, 4, 1, 0], [3, 0, 0, 0]])
    assert out.dtype == np.int64
    long = tv(["the the the the the the"]).numpy()
    assert long.shape == (1, 4)  # truncated to output_sequence_length
    free = L.TextVectorization(vocabulary=["a", "b"])
    assert free(["b a c", "a"]).numpy().tolist() == [[3, 2, 1], [2, 0, 0]]  # padded to the longest


def test_text_vectorization_bag_modes_and_ngrams():
    docs = ["a b a", "b c"]
    for mode in ("multi_hot", "count", "tf_idf"):
        tv = L.TextVectorization(output_mode=mode)
        tv.adapt(docs)
        assert tv.get_vocabulary() == ["[UNK]", "b", "a", "c"]
        y = tv(["a a z"]).numpy()[0]
        if mode == "multi_hot":
            np.testing.assert_array_equal(y, [1, 0, 1, 0])
        elif mode == "count":
            np.testing.assert_array_equal(y, [1, 0, 2, 0])
        else:  # count · idf, idf = log(1 + N / (1 + df)); OOV gets the mean idf
            idf = np.log(1 + 2 / (1 + np.array([2, 1, 1])))
            np.testing.assert_allclose(y, [np.mean(idf), 0, 2 * idf[1], 0], rtol=1e-6)
    tv = L.TextVectorization(ngrams=2, output_mode="multi_hot", standardize=None)
    tv.adapt(["x y"])
    assert set(tv.get_vocabulary()) == {"[UNK]", "x", "y", "x y"}
    wide = L.TextVectorization(max_tokens=10, output_mode="count", pad_to_max_tokens=True)
    wide.adapt(docs)
    assert wide(["a"]).shape == (1, 10)


def test_text_vectorization_standardize_split_and_dataset_adapt():
    tv = L.TextVectorization(standardize="lower", split="character")
    tv.adapt(iter([["Ab"], ["b!"]]))  # an iterable of batches
    assert tv.get_vocabulary() == ["", "[UNK]", "b", "a", "!"]
    custom = L.TextVectorization(standardize=lambda s: np.array([t.replace("<br />", " ") for t in s]))
    custom.adapt(["x<br />y"])
    assert custom.get_vocabulary() == ["", "[UNK]", "y", "x"]
    with pytest.raises(ValueError, match="adapt"):
        L.TextVectorization()(["a"])


def test_text_vectorization_in_a_string_input_model_and_round_trip(tmp_path):
    tv = L.TextVectorization(max_tokens=20, output_sequence_length=5)
    tv.adapt(TEXTS)
    inp = keras.Input(shape=(1,), dtype="string")
    x = L.Embedding(20, 3)(tv(inp))
    model = keras.Model(inp, L.Dense(1)(L.GlobalAveragePooling1D()(x)))
    data = np.array([["the cat"], ["a dog sat"]])
    y = model(data).numpy()
    path = tmp_path / "tv.keras"
    model.save(path)
    loaded = models.load_model(path)
    np.testing.assert_allclose(loaded(data).numpy(), y, atol=1e-6)
    assert loaded.layers[1].get_vocabulary() == tv.get_vocabulary()


def test_normalization_adapt_formula_batches_and_invert():
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, (200, 3)).astype("float32")
    norm = L.Normalization()
    norm.adapt(x)
    mean, var, count = norm.get_weights()
    np.testing.assert_allclose(mean, x.mean(0), rtol=1e-5)
    np.testing.assert_allclose(var, x.var(0), rtol=1e-5)
    assert int(count) == 200
    np.testing.assert_allclose(norm(x).numpy(), (x - x.mean(0)) / x.std(0), atol=1e-4)
    batched = L.Normalization()
    batched.adapt([x[:50], x[50:120], x[120:]])  # batch by batch gives the same statistics
    np.testing.assert_allclose(batched.get_weights()[1], var, rtol=1e-5)
    inv = L.Normalization(mean=2.0, variance=9.0, invert=True)
    np.testing.assert_allclose(inv(np.array([[1.0, -1.0]])).numpy(), [[5.0, -1.0]])
    whole = L.Normalization(axis=None)
    whole.adapt(x)
    np.testing.assert_allclose(whole(x).numpy().std(), 1.0, rtol=1e-3)
    images = L.Normalization(axis=-1)
    images.adapt(rng.random((4, 5, 5, 3)))
    assert images.get_weights()[0].shape == (3,)


def test_rescaling_casts_integers():
    y = L.Rescaling(1 / 255.0, offset=-0.5)(np.array([[255, 0]], dtype=np.uint8))
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.numpy(), [[0.5, -0.5]])


def test_augmentation_is_identity_at_inference_and_seeded_in_training():
    x = np.random.default_rng(0).random((4, 6, 6, 2)).astype("float32") * 255
    for cls, args in [
        (L.RandomFlip, ()),
        (L.RandomRotation, (0.2,)),
        (L.RandomZoom, (0.3,)),
        (L.RandomTranslation, (0.2, 0.2)),
        (L.RandomContrast, (0.5,)),
    ]:
        a, b = cls(*args, seed=7), cls(*args, seed=7)
        np.testing.assert_array_equal(a(x).numpy(), x)
        ya, yb = a(x, training=True).numpy(), b(x, training=True).numpy()
        np.testing.assert_array_equal(ya, yb)
        assert ya.shape == x.shape and np.abs(ya - x).max() > 0
        assert a(x[0], training=True).shape == x.shape[1:]


def test_augmentation_formulas():
    img = np.arange(25, dtype="float32").reshape(1, 5, 5, 1)
    rot = L.RandomRotation((0.25, 0.25), interpolation="nearest", fill_mode="constant")
    np.testing.assert_array_equal(rot(img, training=True).numpy()[0, :, :, 0], np.rot90(img[0, :, :, 0]))
    sh = L.RandomTranslation((0.2, 0.2), (-0.2, -0.2), fill_mode="constant", interpolation="nearest")
    moved = sh(img, training=True).numpy()[0, :, :, 0]  # one row down, one column left
    np.testing.assert_array_equal(moved[1:, :-1], img[0, :-1, 1:, 0])
    np.testing.assert_array_equal(moved[0], 0)
    wrap = L.RandomTranslation((0.2, 0.2), 0.0, fill_mode="wrap", interpolation="nearest")
    np.testing.assert_array_equal(
        wrap(img, training=True).numpy()[0, :, :, 0], np.roll(img[0, :, :, 0], 1, 0)
    )
    flip = L.RandomFlip("horizontal", seed=0)
    y = flip(np.repeat(img, 8, 0), training=True).numpy()
    for s in y:
        assert np.array_equal(s, img[0]) or np.array_equal(s, img[0, :, ::-1])
    zoom = L.RandomZoom((-0.5, -0.5), interpolation="nearest")  # zoom in 2x about the centre
    np.testing.assert_array_equal(zoom(img, training=True).numpy()[0, 2, 2], img[0, 2, 2])
    c = L.RandomContrast(0.5, seed=3)  # y = (x − mean)·c + mean, one c ~ U(0.5, 1.5) per image
    x = np.array([[[[10.0], [30.0]], [[50.0], [70.0]]]] * 3)
    y = c(x, training=True).numpy()
    factors = (y - 40.0) / (x - 40.0)
    for f in factors:
        assert np.allclose(f, f.flat[0]) and 0.5 <= f.flat[0] <= 1.5
    assert np.ptp(factors[:, 0, 0, 0]) > 0


def test_augmentation_runs_in_fit():
    sd.manual_seed(0)
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            L.RandomFlip("horizontal"),
            L.RandomRotation(0.05),
            L.Rescaling(1 / 255.0),
            L.SeparableConv2D(4, 3),
            L.GroupNormalization(2),
            L.GlobalMaxPooling2D(),
            L.Dense(2),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy")
    x = np.random.default_rng(0).random((16, 8, 8, 1)) * 255
    y = (x.mean(axis=(1, 2, 3)) > 127).astype(int)
    h = model.fit(x, y, epochs=3, verbose=0)
    assert np.isfinite(h.history["loss"]).all()


def _round_trip(model, x, tmp_path):
    y = model(x).numpy()
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = models.load_model(path)
    np.testing.assert_allclose(loaded(x).numpy(), y, atol=1e-6)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    return loaded


def test_new_layers_save_and_load(tmp_path):
    rng = np.random.default_rng(0)
    img = keras.Input((6, 6, 3))
    a = L.DepthwiseConv2D(3, depth_multiplier=2, padding="same")(img)
    a = L.SeparableConv2D(4, 3, padding="same")(a)
    a = L.GroupNormalization(2)(a)
    a = L.RandomZoom(0.1)(a)
    norm = L.Normalization()
    norm.adapt(rng.random((10, 6, 6, 4)))
    a = norm(a)
    m2 = keras.Model(img, L.GlobalMaxPooling2D()(a))
    _round_trip(m2, rng.random((2, 6, 6, 3)).astype("float32"), tmp_path)

    vol = keras.Input((4, 4, 4, 2))
    m3 = keras.Model(vol, L.Conv3D(3, 2, padding="same")(vol))
    _round_trip(m3, rng.random((2, 4, 4, 4, 2)).astype("float32"), tmp_path)

    seq = keras.Input((6, 3))
    s = L.Conv1DTranspose(4, 3, strides=2, padding="same")(seq)
    s = L.MultiHeadAttention(2, 3)(s, s)
    s = L.LayerNormalization()(s)
    s = L.Masking()(s)
    m1 = keras.Model(seq, L.LSTM(2, recurrent_dropout=0.2)(s))
    loaded = _round_trip(m1, rng.random((2, 6, 3)).astype("float32"), tmp_path)
    assert loaded.layers[-1].recurrent_dropout == 0.2


def test_augmentation_fill_modes_and_errors():
    img = np.arange(25, dtype="float32").reshape(1, 5, 5, 1)
    down = {
        m: L.RandomTranslation((0.2, 0.2), 0.0, fill_mode=m, interpolation="nearest")
        for m in ("reflect", "nearest", "mirror", "constant")
    }
    rows = {m: layer(img, training=True).numpy()[0, 0, :, 0] for m, layer in down.items()}
    np.testing.assert_array_equal(rows["reflect"], img[0, 0, :, 0])  # d c b a | a b c d
    np.testing.assert_array_equal(rows["nearest"], img[0, 0, :, 0])
    np.testing.assert_array_equal(rows["mirror"], img[0, 1, :, 0])  # d c b | a b c d
    np.testing.assert_array_equal(rows["constant"], 0)
    with pytest.raises(ValueError, match="fill_mode"):
        L.RandomRotation(0.1, fill_mode="bogus")
    with pytest.raises(ValueError, match="RandomFlip"):
        L.RandomFlip("diagonal")
    with pytest.raises(ValueError, match="output_mode"):
        L.TextVectorization(output_mode="bag")

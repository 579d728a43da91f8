"""keras.utils data helpers: *_dataset_from_directory, timeseries windows, split_dataset, PyDataset, images."""
import numpy as np
import pytest

from conftest import require
from shendu import keras
from shendu.keras import utils


def _image_folder(root, sizes=((12, 10), (8, 8), (20, 16)), per_class=4):
    Image = require("PIL.Image")
    rng = np.random.default_rng(0)
    for c, name in enumerate(["cats", "dogs"]):
        d = root / name
        d.mkdir(parents=True)
        for i in range(per_class):
            h, w = sizes[i % len(sizes)]
            pixels = np.full((h, w, 3), 60 + 120 * c, np.uint8) + rng.integers(0, 20, (h, w, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(d / f"{i}.png")
    (root / "cats" / "notes.txt").write_text("not an image")
    return root


def test_image_dataset_from_directory_shapes_labels_and_fit(tmp_path, capsys):
    root = _image_folder(tmp_path / "imgs")
    ds = utils.image_dataset_from_directory(root, image_size=(6, 5), batch_size=3, seed=1)
    assert "Found 8 files belonging to 2 classes." in capsys.readouterr().out
    assert ds.class_names == ["cats", "dogs"] and len(ds) == 3 and len(ds.file_paths) == 8
    batches = list(ds)
    x, y = batches[0]
    assert x.shape == (3, 6, 5, 3) and str(x.dtype) == "float32" and y.numpy().dtype == np.int32
    xs = np.concatenate([b[0].numpy() for b in batches])
    ys = np.concatenate([b[1].numpy() for b in batches])
    assert sorted(ys.tolist()) == [0] * 4 + [1] * 4
    np.testing.assert_array_less(np.abs(xs.mean(axis=(1, 2, 3)) - np.where(ys == 1, 190, 70)), 15)
    cat = utils.image_dataset_from_directory(root, image_size=(4, 4), label_mode="categorical", verbose=False,
                                             color_mode="grayscale", crop_to_aspect_ratio=True)
    x, y = next(iter(cat))
    assert x.shape[1:] == (4, 4, 1) and y.shape[1:] == (2,)
    binary = utils.image_dataset_from_directory(root, image_size=(4, 4), label_mode="binary", verbose=False)
    model = keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Rescaling(1 / 255) if hasattr(
        keras.layers, "Rescaling") else keras.layers.Lambda(lambda t: t / 255), keras.layers.Flatten(),
        keras.layers.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    hist = model.fit(binary, epochs=2, verbose=0)
    assert len(hist.history["loss"]) == 2
    assert model.predict(binary, verbose=0).shape == (8, 1)
    assert len(model.evaluate(binary, verbose=0)) == 2


def test_directory_validation_split_and_errors(tmp_path):
    root = _image_folder(tmp_path / "imgs", per_class=5)
    train, val = utils.image_dataset_from_directory(root, image_size=(4, 4), validation_split=0.2,
                                                    subset="both", seed=7, verbose=False)
    assert len(train.file_paths) == 8 and len(val.file_paths) == 2
    assert not set(train.file_paths) & set(val.file_paths)
    again = utils.image_dataset_from_directory(root, image_size=(4, 4), validation_split=0.2,
                                               subset="validation", seed=7, verbose=False)
    assert again.file_paths == val.file_paths
    with pytest.raises(ValueError, match="seed"):
        utils.image_dataset_from_directory(root, validation_split=0.2, subset="training")
    with pytest.raises(ValueError, match="does not exist"):
        utils.image_dataset_from_directory(tmp_path / "nope")
    unlabeled = utils.image_dataset_from_directory(root, labels=None, image_size=(4, 4), verbose=False,
                                                   shuffle=False)
    first = next(iter(unlabeled))
    assert first.shape == (10, 4, 4, 3)


def test_text_dataset_from_directory(tmp_path):
    for label, texts in {"neg": ["bad film", "awful", "boring plot"], "pos": ["great", "loved it"]}.items():
        (tmp_path / label).mkdir()
        for i, t in enumerate(texts):
            (tmp_path / label / f"{i}.txt").write_text(t)
    ds = utils.text_dataset_from_directory(tmp_path, batch_size=2, seed=3, verbose=False)
    assert ds.class_names == ["neg", "pos"]
    seen = {}
    for text_batch, label_batch in ds:
        for t, lab in zip(text_batch.numpy(), label_batch.numpy()):
            seen[t] = int(lab)
    assert seen == {"bad film": 0, "awful": 0, "boring plot": 0, "great": 1, "loved it": 1}
    short = utils.text_dataset_from_directory(tmp_path, batch_size=8, max_length=3, shuffle=False,
                                              verbose=False)
    texts, _ = next(iter(short))
    assert list(texts) == ["bad", "awf", "bor", "gre", "lov"]     # files in name order, class by class
    only_text = ds.map(lambda x, y: x)
    assert sum(len(b) for b in only_text) == 5


def test_timeseries_dataset_from_array_matches_the_window_rule():
    data = np.arange(100).reshape(50, 2).astype(np.float32)
    targets = np.arange(50) * 10
    ds = utils.timeseries_dataset_from_array(data, targets, sequence_length=5, sequence_stride=3, sampling_rate=2,
                                             batch_size=4, start_index=2, end_index=40)
    xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in ds])
    x, y = np.concatenate(xs), np.concatenate(ys)
    starts = list(range(2, 40 - 8, 3))
    assert len(x) == len(starts) and len(ds) == -(-len(starts) // 4)
    for k, p in enumerate(starts):
        np.testing.assert_array_equal(x[k], data[p:p + 10:2])
        assert y[k] == targets[p]
    shuffled = utils.timeseries_dataset_from_array(data, targets, 5, batch_size=64, shuffle=True, seed=0)
    sx, sy = next(iter(shuffled))
    np.testing.assert_array_equal(sx.numpy()[:, 0, 0] * 5, sy.numpy())      # windows keep their targets
    assert not np.array_equal(sy.numpy(), np.sort(sy.numpy()))
    no_targets = utils.timeseries_dataset_from_array(data, None, 10, batch_size=None)
    assert next(iter(no_targets)).shape == (10, 2)
    with pytest.raises(ValueError, match="sequence_length"):
        utils.timeseries_dataset_from_array(data, None, 0)


def test_split_dataset():
    x = np.arange(20).reshape(10, 2)
    y = np.arange(10)
    left, right = utils.split_dataset((x, y), left_size=0.8)
    assert len(left) == 8 and len(right) == 2
    xb, yb = next(iter(right.batch(10)))
    np.testing.assert_array_equal(yb.numpy(), [8, 9])
    left, right = utils.split_dataset(x, right_size=3, shuffle=True, seed=1)
    rows = np.concatenate([next(iter(left.batch(10))).numpy(), next(iter(right.batch(10))).numpy()])
    assert sorted(rows[:, 0].tolist()) == list(range(0, 20, 2))
    a, b = utils.split_dataset(left)
    assert len(a) + len(b) == 7
    with pytest.raises(ValueError, match="exceeds"):
        utils.split_dataset(x, left_size=8, right_size=5)


class Batches(utils.Sequence):
    def __init__(self, x, y, batch_size):
        super().__init__()
        self.x, self.y, self.batch_size = x, y, batch_size
        self.epochs_ended = 0

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, i):
        s = slice(i * self.batch_size, (i + 1) * self.batch_size)
        return self.x[s], self.y[s]

    def on_epoch_end(self):
        self.epochs_ended += 1


def test_pydataset_and_sequence_feed_fit_evaluate_predict():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.float32)
    data = Batches(x, y, 16)
    assert isinstance(data, keras.utils.PyDataset) and data.num_batches == 3
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile("sgd", "binary_crossentropy", metrics=["accuracy"])
    hist = model.fit(data, epochs=3, verbose=0)
    assert len(hist.history["loss"]) == 3 and data.epochs_ended == 3
    assert model.predict(data, verbose=0).shape == (40, 1)
    assert len(model.evaluate(data, verbose=0)) == 2


def test_image_array_round_trip(tmp_path):
    require("PIL.Image")
    from shendu.keras.preprocessing import image

    arr = np.random.default_rng(0).integers(0, 256, (5, 7, 3)).astype(np.float32)
    img = image.array_to_img(arr, scale=False)
    assert img.size == (7, 5) and img.mode == "RGB"
    np.testing.assert_array_equal(image.img_to_array(img), arr)
    assert image.img_to_array(img, data_format="channels_first").shape == (3, 5, 7)
    scaled = utils.img_to_array(utils.array_to_img(arr / 255.0 * 2 - 1))
    assert scaled.min() == 0 and scaled.max() == 255
    path = tmp_path / "x.png"
    utils.save_img(path, arr, scale=False)
    np.testing.assert_array_equal(utils.img_to_array(utils.load_img(path)), arr)
    gray = utils.load_img(path, color_mode="grayscale", target_size=(10, 14))
    assert gray.size == (14, 10) and utils.img_to_array(gray).shape == (10, 14, 1)
    with pytest.raises(ValueError, match="rank 3"):
        utils.array_to_img(np.zeros((2, 2)))

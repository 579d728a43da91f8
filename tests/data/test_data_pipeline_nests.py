"""tf.data-style Dataset over nested structures and string columns (as pandas frames give them)."""

import numpy as np

from shendu.data.pipeline import Dataset, Text


def test_slices_of_a_dict_inside_a_tuple():
    features = {"n": np.arange(4), "word": np.array(["a", "b", "c", "d"], dtype=object)}
    labels = np.array([0, 1, 0, 1])
    ds = Dataset.from_tensor_slices((features, labels))
    assert len(ds) == 4
    x, y = next(iter(ds))
    assert int(x["n"]) == 0 and int(np.asarray(getattr(y, "array", y))) == 0
    word = x["word"]
    assert isinstance(word, Text) and word == "a"
    assert word.dtype == "string" and word.shape == () and word.numpy() == b"a"
    assert not (np.asarray(3).dtype == "string")
    batch = next(iter(ds.batch(4)))[0]
    assert list(batch["word"]) == ["a", "b", "c", "d"] and batch["n"].shape == (4,)


def test_bytes_elements_become_text():
    ds = Dataset.from_tensor_slices(np.array([b"x", b"yz"], dtype=object))
    assert [str(t) for t in ds] == ["x", "yz"]

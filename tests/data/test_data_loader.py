"""Datasets, samplers and the DataLoader."""

import numpy as np
import pytest

import shendu as sd
from shendu.data import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    TensorDataset,
    TransformDataset,
    WeightedRandomSampler,
    batch_getter,
    default_collate,
    random_split,
)


def _data(n=10):
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    y = np.arange(n, dtype=np.int64)
    return x, y


class ListDataset(Dataset):
    """A generic dataset without arrays: forces the per-item path."""

    def __init__(self, x, y):
        self.x, self.y = x, y
        self.calls = 0

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        self.calls += 1
        return self.x[i], int(self.y[i])


def _labels(loader):
    return np.concatenate([np.asarray(b[1]) for b in loader])


def test_tensor_dataset_items_and_lengths():
    x, y = _data()
    ds = TensorDataset(x, y)
    assert len(ds) == 10
    xi, yi = ds[3]
    np.testing.assert_array_equal(xi, x[3])
    assert yi == 3
    assert ds.tensors[0] is x  # no copy
    with pytest.raises(ValueError, match="same first dimension"):
        TensorDataset(x, y[:5])


def test_tensor_dataset_accepts_shendu_tensors():
    x, y = _data()
    ds = TensorDataset(sd.tensor(x), y)
    np.testing.assert_array_equal(ds[2][0], x[2])
    assert isinstance(ds.arrays[0], np.ndarray)


def test_default_batch_size_is_one_and_len():
    x, y = _data(10)
    loader = DataLoader(TensorDataset(x, y), as_numpy=True)
    assert len(loader) == 10
    batches = list(loader)
    assert len(batches) == 10 and batches[0][0].shape == (1, 3)
    assert len(DataLoader(TensorDataset(x, y), batch_size=4)) == 3
    assert len(DataLoader(TensorDataset(x, y), batch_size=4, drop_last=True)) == 2


def test_drop_last():
    x, y = _data(10)
    sizes = [len(b[1]) for b in DataLoader(TensorDataset(x, y), batch_size=4, as_numpy=True)]
    assert sizes == [4, 4, 2]
    sizes = [len(b[1]) for b in DataLoader(TensorDataset(x, y), batch_size=4, drop_last=True, as_numpy=True)]
    assert sizes == [4, 4]


def test_epoch_covers_every_sample_once_when_shuffled():
    x, y = _data(103)
    loader = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True, generator=1, as_numpy=True)
    labels = _labels(loader)
    assert sorted(labels.tolist()) == list(range(103))
    assert labels.tolist() != list(range(103))
    for xb, yb in loader:  # inputs stay aligned with their targets
        np.testing.assert_array_equal(xb, x[yb])


def test_seeded_shuffle_is_reproducible():
    x, y = _data(50)
    ds = TensorDataset(x, y)
    a = _labels(DataLoader(ds, batch_size=8, shuffle=True, generator=7, as_numpy=True))
    b = _labels(DataLoader(ds, batch_size=8, shuffle=True, generator=7, as_numpy=True))
    c = _labels(DataLoader(ds, batch_size=8, shuffle=True, generator=8, as_numpy=True))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_manual_seed_makes_default_shuffle_reproducible():
    x, y = _data(50)
    loader = DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True, as_numpy=True)
    sd.manual_seed(123)
    first, second = _labels(loader), _labels(loader)
    sd.manual_seed(123)
    again = _labels(loader)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, second)  # a new order each epoch


def test_batches_are_shendu_tensors_by_default():
    from shendu.tensor import Tensor

    x, y = _data()
    xb, yb = next(iter(DataLoader(TensorDataset(x, y), batch_size=4)))
    assert isinstance(xb, Tensor) and isinstance(yb, Tensor)
    assert xb.shape == (4, 3) and xb.dtype == np.float32 and yb.dtype == np.int64
    xb, yb = next(iter(DataLoader(TensorDataset(x, y), batch_size=4, as_numpy=True)))
    assert type(xb) is np.ndarray


def test_generic_dataset_falls_back_to_getitem_and_collate():
    x, y = _data(10)
    generic = ListDataset(x, y)
    assert batch_getter(generic) is None
    assert batch_getter(TensorDataset(x, y)) is not None
    a = list(DataLoader(generic, batch_size=4, as_numpy=True))
    b = list(DataLoader(TensorDataset(x, y), batch_size=4, as_numpy=True))
    assert generic.calls == 10
    for (xa, ya), (xb, yb) in zip(a, b):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)


def test_dataset_exposing_arrays_is_batched_by_fancy_indexing():
    class Arrays(Dataset):
        def __init__(self, x, y):
            self.arrays = (x, y)

    x, y = _data(10)
    ds = Arrays(x, y)
    assert len(ds) == 10 and batch_getter(ds) is not None
    xb, yb = next(iter(DataLoader(ds, batch_size=5, as_numpy=True)))
    np.testing.assert_array_equal(xb, x[:5])


def test_custom_collate_fn_gets_the_samples():
    x, y = _data(6)
    seen = []

    def collate(samples):
        seen.append(len(samples))
        return [s[1] for s in samples]

    out = list(DataLoader(TensorDataset(x, y), batch_size=4, collate_fn=collate, as_numpy=True))
    assert seen == [4, 2]
    assert [int(v) for v in out[0]] == [0, 1, 2, 3]


def test_default_collate_structures():
    samples = [{"a": np.ones(2), "b": 1}, {"a": np.zeros(2), "b": 2}]
    batch = default_collate(samples)
    assert batch["a"].shape == (2, 2) and batch["b"].tolist() == [1, 2]
    assert default_collate([("x", 1.5), ("y", 2.5)]) == (["x", "y"], pytest.approx(np.array([1.5, 2.5])))
    with pytest.raises(ValueError, match="different shapes"):
        default_collate([np.ones(2), np.ones(3)])


def test_sampler_and_batch_sampler_options():
    x, y = _data(10)
    ds = TensorDataset(x, y)
    labels = _labels(DataLoader(ds, batch_size=3, sampler=[9, 8, 7, 1], as_numpy=True))
    assert labels.tolist() == [9, 8, 7, 1]
    with pytest.raises(ValueError, match="mutually exclusive"):
        DataLoader(ds, sampler=SequentialSampler(ds), shuffle=True)
    bs = BatchSampler(SequentialSampler(ds), 4, drop_last=False)
    assert list(bs) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    loader = DataLoader(ds, batch_sampler=[[0, 5], [2]], as_numpy=True)
    assert [b[1].tolist() for b in loader] == [[0, 5], [2]]
    with pytest.raises(ValueError, match="mutually exclusive"):
        DataLoader(ds, batch_sampler=bs, batch_size=4)
    assert len(RandomSampler(ds, replacement=True, num_samples=25, generator=0).epoch_indices()) == 25
    w = WeightedRandomSampler([0, 0, 1, 0], num_samples=5, generator=0)
    assert list(w) == [2] * 5


def test_batch_size_none_yields_samples():
    x, y = _data(3)
    items = list(DataLoader(TensorDataset(x, y), batch_size=None, as_numpy=True))
    assert len(items) == 3 and items[1][0].shape == (3,)


def test_random_split_sizes_and_disjointness():
    x, y = _data(10)
    ds = TensorDataset(x, y)
    parts = random_split(ds, [6, 4], generator=0)
    assert [len(p) for p in parts] == [6, 4]
    seen = np.concatenate([p.indices for p in parts])
    assert sorted(seen.tolist()) == list(range(10))
    parts = random_split(TensorDataset(*_data(11)), [0.5, 0.3, 0.2], generator=0)
    assert [len(p) for p in parts] == [6, 3, 2]  # floor 5, 3, 2 -> the leftover sample goes to the first
    a = random_split(ds, [0.5, 0.5], generator=3)[0].indices
    b = random_split(ds, [0.5, 0.5], generator=3)[0].indices
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="sum to"):
        random_split(ds, [5, 4])


def test_subset_and_concat_datasets_batch_fast():
    x, y = _data(10)
    ds = TensorDataset(x, y)
    sub = Subset(ds, [7, 2, 5])
    assert len(sub) == 3 and sub[0][1] == 7
    xb, yb = next(iter(DataLoader(sub, batch_size=3, as_numpy=True)))
    assert yb.tolist() == [7, 2, 5]
    x2, y2 = x + 100, y + 100
    cat = ConcatDataset([ds, TensorDataset(x2, y2)])
    assert len(cat) == 20 and cat[12][1] == 102 and cat[-1][1] == 109
    batch = cat.get_batch(np.array([15, 1, 10, 3]))
    assert batch[1].tolist() == [105, 1, 100, 3]
    np.testing.assert_array_equal(batch[0][0], x2[5])
    assert len(ds + ds) == 20
    generic_cat = ConcatDataset([ds, ListDataset(x2, y2)])
    assert batch_getter(generic_cat) is None
    labels = _labels(DataLoader(generic_cat, batch_size=7, as_numpy=True))
    assert labels.tolist() == list(range(10)) + list(range(100, 110))


def test_transform_dataset_applies_per_batch():
    x, y = _data(8)

    class Double:
        def __init__(self):
            self.batch_calls = 0

        def __call__(self, s):
            return s * 2

        def apply_batch(self, b):
            self.batch_calls += 1
            return b * 2

    t = Double()
    loader = DataLoader(
        TensorDataset(x, y), batch_size=4, transform=t, target_transform=lambda v: v + 1, as_numpy=True
    )
    (xb, yb), _ = list(loader)
    np.testing.assert_array_equal(xb, x[:4] * 2)
    np.testing.assert_array_equal(yb, y[:4] + 1)
    assert t.batch_calls == 2
    item = TransformDataset(TensorDataset(x, y), transform=t)[1]
    np.testing.assert_array_equal(item[0], x[1] * 2)


def test_prefetch_threads_give_the_same_batches():
    x, y = _data(100)
    ds = TensorDataset(x, y)
    a = _labels(DataLoader(ds, batch_size=7, shuffle=True, generator=5, as_numpy=True))
    b = _labels(DataLoader(ds, batch_size=7, shuffle=True, generator=5, num_workers=2, as_numpy=True))
    np.testing.assert_array_equal(a, b)
    loader = DataLoader(ListDataset(*_data(100)), batch_size=3, num_workers=2, prefetch=4, as_numpy=True)
    for i, _ in enumerate(loader):  # stopping early must not hang
        if i == 2:
            break
    assert len(_labels(loader)) == 100


def test_errors_in_background_threads_reach_the_loop():
    class Broken(Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            raise KeyError(f"sample {i} is broken")

    with pytest.raises(KeyError, match="broken"):
        list(DataLoader(Broken(), batch_size=2, num_workers=1, as_numpy=True))

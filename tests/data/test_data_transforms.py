"""Vectorized transforms: single samples, batches, randomness and the loader hook."""

import numpy as np
import pytest

import shendu as sd
from shendu.data import DataLoader, TensorDataset
from shendu.data import transforms as T


def _images(n=6, c=1, h=5, w=5):
    return np.arange(n * c * h * w, dtype=np.uint8).reshape(n, c, h, w)


def test_to_float_and_normalize():
    x = np.array([[0, 255], [51, 102]], dtype=np.uint8)
    out = T.ToFloat()(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, x / 255.0, rtol=1e-6)
    img = np.ones((2, 3, 3), np.float32) * np.array([1.0, 3.0])[:, None, None]
    norm = T.Normalize(mean=[1.0, 1.0], std=[1.0, 2.0])(img)
    np.testing.assert_allclose(norm[0], 0)
    np.testing.assert_allclose(norm[1], 1)
    batch = np.stack([img, img])
    np.testing.assert_allclose(T.Normalize([1.0, 1.0], [1.0, 2.0]).apply_batch(batch)[1], norm)
    with pytest.raises(ValueError, match="per-channel"):
        T.Normalize([0, 0, 0], [1, 1, 1])(img)


def test_random_crop_takes_a_window_of_the_padded_image():
    x = _images(n=20, c=2, h=6, w=7)
    crop = T.RandomCrop((6, 7), padding=2, generator=0)
    out = crop.apply_batch(x)
    assert out.shape == x.shape and out.dtype == x.dtype
    padded = np.pad(x, [(0, 0), (0, 0), (2, 2), (2, 2)])
    offsets = set()
    for i in range(len(x)):
        matches = [
            (a, b)
            for a in range(5)
            for b in range(5)
            if np.array_equal(padded[i, :, a : a + 6, b : b + 7], out[i])
        ]
        assert matches, f"sample {i} is not a window of its padded image"
        offsets.add(matches[0])
    assert len(offsets) > 3  # each sample draws its own position
    same = T.RandomCrop((6, 7), padding=2, generator=0).apply_batch(x)
    np.testing.assert_array_equal(out, same)


def test_random_crop_single_sample_and_grey_batches():
    x = _images(n=4, c=1, h=8, w=8)
    assert T.RandomCrop(4, generator=0)(x[0]).shape == (1, 4, 4)  # (C, H, W)
    assert T.RandomCrop(4, generator=0)(x[0, 0]).shape == (4, 4)  # (H, W)
    assert T.RandomCrop(4, generator=0).apply_batch(x[:, 0]).shape == (4, 4, 4)  # (N, H, W)
    np.testing.assert_array_equal(T.RandomCrop(8).apply_batch(x), x)
    with pytest.raises(ValueError, match="larger"):
        T.RandomCrop(10).apply_batch(x)


def test_flips():
    x = _images()
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=1.0).apply_batch(x), x[..., ::-1])
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=0.0).apply_batch(x), x)
    np.testing.assert_array_equal(T.RandomVerticalFlip(p=1.0)(x[0]), x[0, :, ::-1, :])
    out = T.RandomHorizontalFlip(p=0.5, generator=1).apply_batch(_images(n=64))
    flipped = [np.array_equal(o, i[..., ::-1]) for o, i in zip(out, _images(n=64))]
    assert 10 < sum(flipped) < 54


def test_rotation_by_90_degrees_matches_rot90():
    x = np.random.default_rng(0).integers(0, 255, size=(3, 2, 5, 5)).astype(np.uint8)
    out = T.RandomRotation((90, 90), generator=0).apply_batch(x)
    np.testing.assert_array_equal(out, np.rot90(x, k=1, axes=(2, 3)))  # counter-clockwise
    same = T.RandomAffine(0).apply_batch(x.astype(np.float32))
    np.testing.assert_allclose(same, x)


def test_random_affine_shapes_and_fill():
    x = np.ones((4, 1, 9, 9), np.float32)
    out = T.RandomAffine(30, translate=(0.2, 0.2), scale=(0.8, 1.2), shear=10, fill=0.0, generator=0)(x)
    assert out.shape == x.shape and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 1 + 1e-6
    assert (out == 0).any()  # some pixels came from outside the image


def test_gaussian_noise_and_erasing():
    x = np.zeros((200, 1, 8, 8), np.float32)
    noisy = T.GaussianNoise(std=0.5, generator=0).apply_batch(x)
    assert noisy.dtype == np.float32
    assert abs(noisy.std() - 0.5) < 0.02 and abs(noisy.mean()) < 0.02
    clipped = T.GaussianNoise(std=1.0, clip=(0, 1), generator=0)(x[0])
    assert clipped.min() >= 0 and clipped.max() <= 1
    ones = np.ones((50, 3, 10, 10), np.float32)
    erased = T.RandomErasing(p=1.0, value=0, generator=0).apply_batch(ones)
    zero = erased == 0
    assert zero.any(axis=(1, 2, 3)).all()  # every image lost a rectangle
    assert (zero[:, 0] == zero[:, 1]).all()  # the same rectangle on every channel
    rows, cols = zero[:, 0].any(axis=2), zero[:, 0].any(axis=1)
    np.testing.assert_array_equal(zero[:, 0], rows[:, :, None] & cols[:, None, :])  # a rectangle
    np.testing.assert_array_equal(T.RandomErasing(p=0.0).apply_batch(ones), ones)


def test_one_hot():
    np.testing.assert_array_equal(T.OneHot(3)(np.array([2, 0])), [[0, 0, 1], [1, 0, 0]])
    assert T.OneHot(4)(1).tolist() == [0, 1, 0, 0]
    with pytest.raises(ValueError, match="labels"):
        T.OneHot(2)(np.array([3]))


def test_compose_and_default_generator_follow_manual_seed():
    aug = T.Compose([T.ToFloat(), T.RandomCrop(5, padding=1), T.RandomHorizontalFlip()])
    x = _images(n=16)
    sd.manual_seed(4)
    a = aug.apply_batch(x)
    sd.manual_seed(4)
    b = aug.apply_batch(x)
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float32 and a.shape == x.shape
    assert aug(x[0]).shape == x[0].shape
    assert "RandomCrop" in repr(aug)


def test_loader_applies_batch_aware_transforms():
    x = _images(n=32, h=6, w=6)
    y = np.arange(32)
    aug = T.Compose([T.RandomCrop(6, padding=2), T.RandomHorizontalFlip(), T.ToFloat()])
    loader = DataLoader(
        TensorDataset(x, y),
        batch_size=8,
        shuffle=True,
        generator=0,
        transform=aug,
        target_transform=T.OneHot(32),
        as_numpy=True,
    )
    xb, yb = next(iter(loader))
    assert xb.shape == (8, 1, 6, 6) and xb.dtype == np.float32 and yb.shape == (8, 32)
    sd.manual_seed(9)
    first = [
        b[0]
        for b in DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True, transform=aug, as_numpy=True)
    ]
    sd.manual_seed(9)
    second = [
        b[0]
        for b in DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True, transform=aug, as_numpy=True)
    ]
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


def test_plain_function_transforms_run_per_sample():
    x = _images(n=4)
    loader = DataLoader(
        TensorDataset(x, np.arange(4)), batch_size=4, transform=lambda s: s.reshape(-1), as_numpy=True
    )
    xb, _ = next(iter(loader))
    assert xb.shape == (4, 25)

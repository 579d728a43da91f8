"""transforms.RandomZoom / RandomTranslation / RandomContrast and RandomAffine's fill_mode, on
channels-first batches."""
import numpy as np
import pytest

from shendu.data import transforms as T

IMG = np.arange(25, dtype=np.float32).reshape(1, 1, 5, 5)


def test_translation_moves_rows_and_columns():
    down_left = T.RandomTranslation((0.2, 0.2), (-0.2, -0.2), interpolation="nearest")
    y = down_left.apply_batch(IMG)[0, 0]
    np.testing.assert_array_equal(y[1:, :-1], IMG[0, 0, :-1, 1:])
    np.testing.assert_array_equal(y[0], 0)
    wrap = T.RandomTranslation((0.2, 0.2), 0.0, interpolation="nearest", fill_mode="wrap")
    np.testing.assert_array_equal(wrap.apply_batch(IMG)[0, 0], np.roll(IMG[0, 0], 1, 0))
    mirror = T.RandomTranslation((0.2, 0.2), 0.0, interpolation="nearest", fill_mode="mirror")
    np.testing.assert_array_equal(mirror.apply_batch(IMG)[0, 0, 0], IMG[0, 0, 1])


def test_zoom_about_the_centre():
    zoom_in = T.RandomZoom((-0.5, -0.5), interpolation="nearest")  # reads (1 - 0.5)·p: 2x larger
    y = zoom_in.apply_batch(IMG)[0, 0]
    assert y[2, 2] == IMG[0, 0, 2, 2]
    smooth = T.RandomZoom((-0.5, -0.5)).apply_batch(IMG)[0, 0]  # bilinear: the centre row reads 12 ± u/2
    np.testing.assert_allclose(smooth[2], [11, 11.5, 12, 12.5, 13])
    zoom_out = T.RandomZoom((1.0, 1.0), (0.0, 0.0), interpolation="nearest")  # rows read 2·p, columns kept
    y = zoom_out.apply_batch(IMG)[0, 0]
    np.testing.assert_array_equal(y[2], IMG[0, 0, 2])
    np.testing.assert_array_equal(y[0], 0)  # row 0 reads row -2: outside, filled
    np.testing.assert_array_equal(y[1], IMG[0, 0, 0])
    with pytest.raises(ValueError, match="-1 <= lower"):
        T.RandomZoom((-1.5, 0.0))


def test_contrast_per_image_and_channel():
    x = np.random.default_rng(0).random((4, 2, 3, 3)) * 10
    t = T.RandomContrast(0.5, generator=0)
    y = t.apply_batch(x)
    mean = x.mean(axis=(-2, -1), keepdims=True)
    c = (y - mean) / (x - mean)
    for n in range(4):  # one factor per image, shared by its channels, in [0.5, 1.5]
        assert np.allclose(c[n], c[n].flat[0]) and 0.5 <= c[n].flat[0] <= 1.5
    assert np.ptp(c[:, 0, 0, 0]) > 0
    clipped = T.RandomContrast((0.0, 3.0), value_range=(0, 10), generator=1).apply_batch(x)
    assert clipped.min() >= 0 and clipped.max() <= 10
    with pytest.raises(ValueError, match="RandomContrast"):
        T.RandomContrast(1.5)


def test_affine_fill_mode_and_seeded_draws():
    rot = T.RandomRotation((90, 90), fill_mode="reflect")
    np.testing.assert_array_equal(rot.apply_batch(IMG)[0, 0], np.rot90(IMG[0, 0]))
    x = np.random.default_rng(1).random((3, 2, 6, 6)).astype(np.float32)
    for make in (lambda g: T.RandomZoom(0.3, generator=g), lambda g: T.RandomTranslation(0.2, 0.2, generator=g),
                 lambda g: T.RandomAffine(20, fill_mode="wrap", generator=g)):
        a, b = make(5).apply_batch(x), make(5).apply_batch(x)
        np.testing.assert_array_equal(a, b)
        assert a.shape == x.shape and a.dtype == x.dtype and np.abs(a - x).max() > 0

"""Resizing and CenterCrop: values Keras gives for the same calls (bilinear with half-pixel centres, no
antialiasing), written out here."""

import numpy as np
import pytest

from shendu.keras import Sequential, layers


def img():
    return np.arange(16, dtype="float32").reshape(1, 4, 4, 1)


def test_resizing_bilinear_and_nearest():
    out = layers.Resizing(2, 2)(img())
    np.testing.assert_allclose(out.array[0, :, :, 0], [[2.5, 4.5], [10.5, 12.5]])
    near = layers.Resizing(2, 2, interpolation="nearest")(img())
    assert near.shape == (1, 2, 2, 1)
    up = layers.Resizing(8, 8)(img())
    assert up.shape == (1, 8, 8, 1) and float(up.array.min()) == 0.0
    assert layers.Resizing(3, 5)(np.zeros((4, 4, 3), dtype="uint8")).shape == (3, 5, 3)  # one image
    first = layers.Resizing(2, 2, data_format="channels_first")(np.zeros((1, 3, 4, 4), "float32"))
    assert first.shape == (1, 3, 2, 2)


def test_resizing_crop_to_aspect_ratio_and_errors():
    wide = np.arange(2 * 4, dtype="float32").reshape(1, 2, 4, 1)
    out = layers.Resizing(2, 2, crop_to_aspect_ratio=True)(wide)
    np.testing.assert_allclose(out.array[0, :, :, 0], [[1, 2], [5, 6]])  # the centred 2x2 window
    with pytest.raises(NotImplementedError):
        layers.Resizing(2, 2, pad_to_aspect_ratio=True)
    with pytest.raises(ValueError, match="interpolation"):
        layers.Resizing(2, 2, interpolation="lanczos9")


def test_center_crop_and_a_model():
    out = layers.CenterCrop(2, 2)(img())
    np.testing.assert_allclose(out.array[0, :, :, 0], [[5, 6], [9, 10]])
    assert layers.CenterCrop(6, 6)(img()).shape == (1, 6, 6, 1)  # smaller input is resized up
    model = Sequential([layers.Input((8, 8, 3)), layers.Resizing(4, 4), layers.CenterCrop(2, 2),
                        layers.Flatten()])
    assert model.output_shape == (None, 12)
    assert model.predict(np.ones((2, 8, 8, 3), "float32"), verbose=0).shape == (2, 12)
    again = layers.Resizing.from_config(layers.Resizing(3, 4).get_config())
    assert (again.height, again.width, again.interpolation) == (3, 4, "bilinear")

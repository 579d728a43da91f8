"""Keras losses: sparse categorical cross-entropy labels and ignore_class, as Keras documents them."""
import numpy as np
import pytest

from shendu.keras import layers, losses, models
from shendu.keras.utils import set_random_seed

P = np.array([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]], "float32")


@pytest.mark.parametrize("label", [-100, -1, 3, 255])
def test_a_label_outside_the_classes_raises_instead_of_being_ignored(label):
    for fn in (losses.SparseCategoricalCrossentropy(), losses.sparse_categorical_crossentropy):
        with pytest.raises(ValueError, match=rf"label value of {label}.*\[0, 3\)"):
            fn(np.array([1, label]), P)


def test_ignore_class_gives_zero_loss_and_averages_over_the_other_labels():
    # Keras's documented example: the void class -1 in segmentation maps
    y_true = np.array([[[0, 2], [-1, -1]], [[0, 2], [-1, -1]]])
    y_pred = np.array([[[[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], [[0.2, 0.5, 0.3], [0.0, 1.0, 0.0]]],
                       [[[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]], [[0.2, 0.5, 0.3], [0.0, 1.0, 0.0]]]], "float32")
    per = losses.sparse_categorical_crossentropy(y_true, y_pred, ignore_class=-1).numpy()
    np.testing.assert_allclose(per, [[[0, 0], [0, 0]], [[0, np.log(2)], [0, 0]]], atol=1e-6)
    mean = losses.SparseCategoricalCrossentropy(ignore_class=-1)(y_true, y_pred).item()
    np.testing.assert_allclose(mean, np.log(2) / 4, rtol=1e-5)  # 4 labels kept, not 8
    # labels at or above the class count can be the ignored class too
    loss = losses.SparseCategoricalCrossentropy(ignore_class=255)(np.array([1, 255]), P).item()
    np.testing.assert_allclose(loss, -np.log(0.95), rtol=1e-5)
    assert losses.SparseCategoricalCrossentropy(ignore_class=255).get_config()["ignore_class"] == 255


def test_ignore_class_leaves_other_bad_labels_an_error_and_must_be_an_integer():
    with pytest.raises(ValueError, match="label value of 7"):
        losses.SparseCategoricalCrossentropy(ignore_class=-1)(np.array([7, -1]), P)
    with pytest.raises(TypeError, match="ignore_class"):
        losses.sparse_categorical_crossentropy(np.array([1, 0]), P, ignore_class=1.5)


def test_fit_refuses_labels_outside_the_classes():
    set_random_seed(0)
    model = models.Sequential([layers.Dense(3, activation="softmax", input_shape=(2,))])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x = np.zeros((4, 2), "float32")
    with pytest.raises(ValueError, match="label value of -100"):
        model.fit(x, np.array([0, 1, -100, 2]), epochs=1, verbose=0)

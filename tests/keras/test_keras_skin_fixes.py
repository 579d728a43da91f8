"""Keras behaviours of the thin skin: weights of unbuilt models, metric configs, constraints under
shendu optimizers, ``tf.function``'s forms."""
import numpy as np

import shendu.keras as keras
from shendu.keras import layers


def test_unbuilt_sequential_has_no_weights_yet():
    model = keras.Sequential([layers.Dense(8), layers.Dense(1)])
    assert model.trainable_weights == [] and model.weights == [] and model.non_trainable_weights == []
    assert model.get_weights() == [] and model.trainable_variables == []
    model(np.zeros((2, 3), np.float32))
    assert [tuple(w.shape) for w in model.trainable_weights] == [(3, 8), (8,), (8, 1), (1,)]


def test_unbuilt_model_counts_weights_made_in_init():
    class Scale(layers.Layer):
        def __init__(self):
            super().__init__()
            self.w = self.add_weight(shape=(2,), initializer="ones", name="w")

        def call(self, x):
            return x * self.w

    model = keras.Sequential([Scale(), layers.Dense(1)])
    assert [tuple(w.shape) for w in model.weights] == [(2,)]

"""``shendu.keras.datasets``: ``mnist.load_data()``, ``fashion_mnist.load_data()``, ``cifar10.load_data()``.

Arrays come back as Keras returns them: MNIST/Fashion-MNIST x (60000, 28, 28) uint8, y (60000,) uint8;
CIFAR-10 x (50000, 32, 32, 3) uint8, y (50000, 1) uint8. Files are read by :mod:`shendu.data.datasets`
(searched locally first; like Keras, fetched from the official source when missing).
"""

from . import cifar10, fashion_mnist, mnist

__all__ = ["mnist", "fashion_mnist", "cifar10"]

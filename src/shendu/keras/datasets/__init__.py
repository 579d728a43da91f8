"""``shendu.keras.datasets``: ``mnist``, ``fashion_mnist``, ``cifar10``, ``cifar100``, ``imdb``,
``reuters`` and ``boston_housing``, each with ``load_data()``.

Arrays come back as Keras returns them: MNIST/Fashion-MNIST x (60000, 28, 28) uint8, y (60000,) uint8;
CIFAR-10 x (50000, 32, 32, 3) uint8, y (50000, 1) uint8. Files are read by :mod:`shendu.data.datasets`
(searched locally first; like Keras, fetched from the official source when missing). ``cifar100``, ``imdb``,
``reuters`` and ``boston_housing`` read Keras's own files from the Keras cache (``~/.keras/datasets``),
fetching them with :func:`shendu.keras.utils.get_file` (hash-checked) when missing."""

from . import boston_housing, cifar10, cifar100, fashion_mnist, imdb, mnist, reuters

__all__ = ["mnist", "fashion_mnist", "cifar10", "cifar100", "imdb", "reuters", "boston_housing"]

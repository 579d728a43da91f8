"""shendu.data: datasets, loaders, transforms and text tools.

``import shendu.data`` needs NumPy alone; Pillow, scikit-learn and mnist1d are imported inside
the functions that use them.

Also here, usable without Keras: :mod:`~shendu.data.download` (``get_file``: a cached, hash-checked
download), :mod:`~shendu.data.image` (``load_img``, ``img_to_array``, ``array_to_img``...),
:mod:`~shendu.data.directory` (``image_dataset_from_directory``, ``text_dataset_from_directory``,
``timeseries_dataset_from_array``, ``split_dataset``) and :mod:`~shendu.data.pipeline` (the small
``tf.data``-style ``Dataset``); ``shendu.keras.utils`` and ``shendu.tf.data`` export the same objects.

>>> from shendu.data import TensorDataset, DataLoader, random_split, datasets, transforms
>>> (x, y), (x_test, y_test) = datasets.fashion_mnist()
>>> train = TensorDataset(x[:, None], y)
>>> for xb, yb in DataLoader(train, batch_size=128, shuffle=True, transform=transforms.ToFloat()):
...     ...
"""

from . import audio, datasets, stats, text, transforms
from .dataset import (
    ConcatDataset,
    Dataset,
    Subset,
    TensorDataset,
    TransformDataset,
    batch_getter,
    random_split,
)
from .loader import (
    BatchSampler,
    DataLoader,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
    default_collate,
    default_convert,
    to_tensor,
)
from .timeseries import timeseries_windows

__all__ = [
    "Dataset",
    "TensorDataset",
    "Subset",
    "ConcatDataset",
    "TransformDataset",
    "random_split",
    "batch_getter",
    "DataLoader",
    "Sampler",
    "SequentialSampler",
    "RandomSampler",
    "SubsetRandomSampler",
    "WeightedRandomSampler",
    "BatchSampler",
    "default_collate",
    "default_convert",
    "to_tensor",
    "datasets",
    "transforms",
    "text",
    "stats",
    "timeseries_windows",
]

"""The digits data set ships with shendu: NumPy alone, the same values and split as scikit-learn's."""
import os
import subprocess
import sys

import numpy as np

from conftest import require
from shendu.data import datasets as D

SRC = os.path.join(os.path.dirname(__file__), "..", "..", "src")


def test_digits_equal_scikit_learn_load_digits():
    sklearn_datasets = require("sklearn.datasets")
    bunch = sklearn_datasets.load_digits()
    x_all = (bunch.images / 16.0).astype(np.float32)
    y_all = bunch.target.astype(np.int64)
    for kwargs in ({}, {"test_size": 0.3, "seed": 5}):
        train, test = D.stratified_split(y_all, kwargs.get("test_size", 0.2), kwargs.get("seed", 0))
        (x, y), (xt, yt) = D.digits(**kwargs)
        assert x.dtype == np.float32 and y.dtype == np.int64
        np.testing.assert_array_equal(x, x_all[train])
        np.testing.assert_array_equal(y, y_all[train])
        np.testing.assert_array_equal(xt, x_all[test])
        np.testing.assert_array_equal(yt, y_all[test])
    (flat, _), _ = D.digits(flatten=True)
    assert flat.shape == (1438, 64)


def test_digits_need_numpy_only():
    # scikit-learn made unimportable: digits() must still load from the bundled file
    code = ("import sys; sys.modules['sklearn'] = None\n"
            "from shendu.data import datasets\n"
            "(x, y), (xt, yt) = datasets.digits()\n"
            "print(len(x), len(xt), x.shape[1:], sorted(set(y.tolist())) == list(range(10)))")
    env = dict(os.environ, PYTHONPATH=os.path.abspath(SRC))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["1438", "359", "(8,", "8)", "True"]


def test_bundled_digits_file_is_small():
    path = os.path.join(os.path.dirname(D.__file__), "_data", "digits.npz")
    assert os.path.getsize(path) < 100_000

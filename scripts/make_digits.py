"""Write ``src/shendu/data/datasets/_data/digits.npz``, the digits data set shipped with shendu.

The data are scikit-learn's bundled handwritten digits (the test part of the UCI "Optical
Recognition of Handwritten Digits" set: 1,797 images of 8x8 pixel counts 0..16, labels 0..9),
stored as uint8 arrays ``images`` (1797, 8, 8) and ``target`` (1797,) in a compressed ``.npz``,
so ``shendu.data.datasets.digits()`` needs NumPy alone. Run once (needs scikit-learn)::

    python scripts/make_digits.py
"""
import os

import numpy as np
from sklearn.datasets import load_digits

ROOT = os.path.join(os.path.dirname(__file__), "..")
OUT = os.path.join(ROOT, "src", "shendu", "data", "datasets", "_data", "digits.npz")


def main():
    bunch = load_digits()
    images = bunch.images.astype(np.uint8)
    target = bunch.target.astype(np.uint8)
    assert np.array_equal(images, bunch.images) and np.array_equal(target, bunch.target)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    np.savez_compressed(OUT, images=images, target=target)
    print(f"wrote {os.path.normpath(OUT)} ({os.path.getsize(OUT):,} bytes)")


if __name__ == "__main__":
    main()

"""torchvision-style data set classes (datasets.MNIST/FashionMNIST/CIFAR10) and transforms.ToTensor."""
import numpy as np
import pytest
from test_data_datasets import _write_mnist_like

import shendu as sd
from shendu.data import DataLoader, datasets, transforms


@pytest.fixture
def mnist_root(tmp_path, monkeypatch):
    monkeypatch.setenv("SHENDU_DATA", str(tmp_path / "empty"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    parts = _write_mnist_like(str(tmp_path / "mnist"))
    return tmp_path / "mnist", parts


def test_to_tensor_scales_and_moves_channels_first():
    t = transforms.ToTensor()
    grey = np.full((28, 28), 255, np.uint8)
    assert t(grey).shape == (1, 28, 28) and t(grey).dtype == np.float32 and t(grey).max() == 1.0
    colour = np.arange(32 * 32 * 3, dtype=np.uint8).reshape(32, 32, 3)
    np.testing.assert_allclose(t(colour), colour.transpose(2, 0, 1) / 255.0, rtol=1e-6)
    assert t.apply_batch(np.zeros((5, 28, 28), np.uint8)).shape == (5, 1, 28, 28)
    assert t.apply_batch(np.zeros((5, 8, 8, 3), np.uint8)).shape == (5, 3, 8, 8)
    with pytest.raises(ValueError, match="ToTensor"):
        t.apply_batch(np.zeros(3))


def test_mnist_class_reads_like_torchvision(mnist_root):
    root, parts = mnist_root
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    train = datasets.MNIST(str(root), train=True, download=False, transform=tf)
    test = datasets.MNIST(str(root), train=False, transform=tf)
    assert len(train) == 12 and len(test) == 5 and train.data.dtype == np.uint8
    np.testing.assert_array_equal(train.data, parts["train-images-idx3-ubyte"])
    assert train.targets.tolist() == (np.arange(12) % 10).tolist() and len(train.classes) == 10
    x, y = train[3]
    expected = (parts["train-images-idx3-ubyte"][3] / 255.0 - 0.1307) / 0.3081
    assert x.shape == (1, 28, 28) and y == 3
    np.testing.assert_allclose(x[0], expected, rtol=1e-5, atol=1e-6)
    xb, yb = next(iter(DataLoader(train, batch_size=4)))
    assert isinstance(xb, sd.Tensor) and xb.shape == (4, 1, 28, 28) and xb.dtype == np.float32
    np.testing.assert_allclose(xb.numpy()[3], x, rtol=1e-6)
    assert yb.numpy().tolist() == [0, 1, 2, 3]
    assert "Number of datapoints: 12" in repr(train) and train.class_to_idx["3 - three"] == 3


def test_fashion_mnist_class_names_and_target_transform(tmp_path, monkeypatch):
    monkeypatch.setenv("SHENDU_DATA", str(tmp_path / "empty"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    _write_mnist_like(str(tmp_path / "fm"))
    ds = datasets.FashionMNIST(str(tmp_path / "fm"), train=False, target_transform=lambda y: y + 100)
    assert ds.classes[0] == "T-shirt/top" and ds[1][1] == 101 and ds[1][0].shape == (28, 28)

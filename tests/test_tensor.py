"""The Tensor API: both dialects (NumPy and PyTorch names), creation functions, interop with NumPy."""
import numpy as np
import pytest

import shendu as sd


def test_both_dialects():
    a = np.arange(24.0).reshape(2, 3, 4)
    x = sd.tensor(a)
    np.testing.assert_allclose(x.sum(axis=1).numpy(), a.sum(1))
    np.testing.assert_allclose(x.sum(dim=1, keepdim=True).numpy(), a.sum(1, keepdims=True))
    np.testing.assert_allclose(x.mean(axis=(0, 2), keepdims=True).numpy(), a.mean((0, 2), keepdims=True))
    assert x.size(0) == 2 and x.size() == (2, 3, 4) and x.shape == (2, 3, 4)
    assert x.view(6, 4).shape == (6, 4) and x.reshape((4, 6)).shape == (4, 6)
    assert x.transpose(0, 2).shape == (4, 3, 2) and x.transpose((1, 0, 2)).shape == (3, 2, 4)
    assert x.permute(2, 0, 1).shape == (4, 2, 3)
    assert x.to("cpu") is x and x.to(sd.float32).dtype == np.float32 and x.to("float64").dtype == np.float64
    values, indices = x.max(dim=1)
    np.testing.assert_allclose(values.numpy(), a.max(1))
    np.testing.assert_array_equal(indices.numpy(), a.argmax(1))
    np.testing.assert_allclose(x.max(axis=1).numpy(), a.max(1))
    np.testing.assert_allclose(x[:, -1, :].numpy(), a[:, -1, :])
    assert x.T.shape == (4, 3, 2)
    assert sd.tensor([1.5]).dtype == np.float32 and sd.tensor([1]).dtype == np.int64
    assert sd.zeros(2, 3).shape == sd.zeros((2, 3)).shape == (2, 3)
    assert sd.tensor(a, dtype=sd.float32).dtype == np.float32
    assert (x > 3).dtype == np.bool_ and not (x > 3).requires_grad
    assert x.var().item() == pytest.approx(a.var(ddof=1)) and x.var(axis=None, ddof=0).item() == pytest.approx(a.var())


def test_numpy_on_the_left_defers_to_tensor():
    x = sd.randn(3, requires_grad=True)
    y = np.ones(3) * x
    assert isinstance(y, sd.Tensor) and y.requires_grad


def test_creation_functions():
    sd.manual_seed(0)
    assert sd.rand(2, 2).dtype == np.float32
    assert sd.arange(5).dtype == np.int64 and sd.arange(0.0, 1.0, 0.25).shape == (4,)
    assert sd.eye(3).numpy().trace() == 3
    assert sd.full((2,), 7).numpy().tolist() == [7, 7]
    assert sd.zeros_like(sd.ones(2, dtype=sd.float64)).dtype == np.float64

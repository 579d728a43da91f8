"""In-place semantics as in PyTorch: ``Tensor.data`` and the in-place methods."""
import numpy as np

import shendu as sd


def test_data_is_a_detached_tensor_sharing_memory():
    p = sd.Tensor(np.ones(3, np.float32), requires_grad=True)
    d = p.data
    assert isinstance(d, sd.Tensor) and not d.requires_grad and d.grad_fn is None
    assert np.shares_memory(d.numpy(), p.numpy())
    d[0] = 5.0  # no error: the detached view does not require grad
    np.testing.assert_array_equal(p.numpy(), [5.0, 1.0, 1.0])


def test_data_setter_replaces_the_values():
    p = sd.Tensor(np.ones(3, np.float32), requires_grad=True)
    new = sd.zeros(2, 2, dtype=sd.float64)
    p.data = new
    assert p.shape == (2, 2) and p.dtype == np.float64 and p.requires_grad
    assert np.shares_memory(p.numpy(), new.numpy())
    p.data = np.arange(3.0)
    np.testing.assert_array_equal(p.numpy(), [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(p.data.cpu().numpy(), [0.0, 1.0, 2.0])

"""The autograd engine: graph walking, accumulation, grad modes and the errors a person sees."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import shendu as sd
from shendu.errors import ShapeError


def test_long_chain_does_not_recurse():
    x = sd.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0001 ** 10_000], rtol=1e-3)


def test_reused_tensor_accumulates():
    x = sd.tensor([2.0, 3.0], requires_grad=True)
    y = x * x + x  # dy/dx = 2x + 1
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [5.0, 7.0])


def test_diamond_graph():
    x = sd.tensor(1.5, requires_grad=True)
    a, b = x.exp(), x * 3
    (a * b).backward()  # d/dx (3x e^x) = 3e^x + 3x e^x
    np.testing.assert_allclose(x.grad.item(), 3 * np.exp(1.5) * (1 + 1.5), rtol=1e-6)


def test_grad_accumulates_across_backward_calls():
    x = sd.tensor([1.0], requires_grad=True)
    (x * 2).sum().backward()
    (x * 3).sum().backward()
    assert x.grad.item() == 5.0


def test_no_grad_records_nothing():
    x = sd.randn(3, requires_grad=True)
    with sd.no_grad():
        y = x * 2
        with sd.enable_grad():
            z = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad


def test_no_grad_as_decorator():
    @sd.no_grad()
    def f(x):
        return x * 2

    assert not f(sd.randn(2, requires_grad=True)).requires_grad


def test_graph_is_freed_unless_retained():
    x = sd.randn(3, requires_grad=True)
    y = (x * 2).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full(3, 4.0))
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()


def test_backward_on_non_scalar_needs_gradient():
    x = sd.randn(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="scalar"):
        (x * 2).backward()
    (x * 2).backward(sd.ones(3))
    np.testing.assert_allclose(x.grad.numpy(), np.full(3, 2.0))


def test_backward_without_requires_grad_says_so():
    with pytest.raises(RuntimeError, match="does not require grad"):
        (sd.randn(3) * 2).sum().backward()


def test_shape_errors_name_op_and_shapes():
    with pytest.raises(ShapeError, match=r"Add.*\(2, 3\).*\(4,\)"):
        sd.randn(2, 3) + sd.randn(4)
    with pytest.raises(ShapeError, match=r"MatMul.*\(2, 3\) @ \(4, 5\)"):
        sd.randn(2, 3) @ sd.randn(4, 5)
    with pytest.raises(ShapeError, match="Reshape"):
        sd.randn(2, 3).reshape(4, 2)
    assert issubclass(ShapeError, ValueError)


def test_leaf_and_detach():
    x = sd.randn(2, requires_grad=True)
    y = x * 2
    assert x.is_leaf and not y.is_leaf
    d = y.detach()
    assert d.is_leaf and not d.requires_grad
    assert np.shares_memory(d.numpy(), y.numpy())


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(TypeError, match="floating"):
        sd.tensor([1, 2], requires_grad=True)


def test_gradcheck_reports_wrong_gradient():
    class Bad(sd.Function):
        def forward(self, a):
            return a * a

        def backward(self, g):
            return g * 3  # wrong: should be 2a

    with pytest.raises(sd.GradcheckError, match="input 0"):
        sd.gradcheck(lambda a: Bad.apply(a), np.array([1.0, 2.0]))


def test_manual_seed_reproduces():
    sd.manual_seed(3)
    a = sd.randn(4).numpy()
    sd.manual_seed(3)
    b = sd.randn(4).numpy()
    np.testing.assert_array_equal(a, b)


shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_binary_ops_broadcast_like_numpy(data):
    """Random broadcastable shape pairs: forward equals NumPy, gradients reduce back to each input's shape."""
    a_shape, b_shape = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3)).input_shapes
    a = data.draw(hnp.arrays(np.float64, a_shape, elements=st.floats(0.5, 2.0)))
    b = data.draw(hnp.arrays(np.float64, b_shape, elements=st.floats(0.5, 2.0)))
    op = data.draw(st.sampled_from(["add", "sub", "mul", "div", "pow", "maximum"]))
    fn = {"add": lambda x, y: x + y, "sub": lambda x, y: x - y, "mul": lambda x, y: x * y,
          "div": lambda x, y: x / y, "pow": lambda x, y: x ** y, "maximum": sd.maximum}[op]
    ref = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide, "pow": np.power,
           "maximum": np.maximum}[op]
    x, y = sd.tensor(a, requires_grad=True), sd.tensor(b, requires_grad=True)
    out = fn(x, y)
    np.testing.assert_allclose(out.numpy(), ref(a, b))
    out.sum().backward()
    assert x.grad.shape == a.shape and y.grad.shape == b.shape
    if op != "maximum":  # ties make max non-differentiable
        assert sd.gradcheck(fn, a, b)

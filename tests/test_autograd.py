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


# ----- the autograd API of PyTorch: grad, hooks, retain_grad, custom Functions, functional -----------
def _t(values, rg=True):
    return sd.tensor(values, dtype=sd.float64, requires_grad=rg)


def test_autograd_grad_returns_gradients_without_touching_dot_grad():
    x, w = _t([1.0, 2.0]), _t([3.0, 4.0])
    y = (x * w).sum()
    gx, gw = sd.autograd.grad(y, (x, w))
    np.testing.assert_allclose(gx.numpy(), [3.0, 4.0])
    np.testing.assert_allclose(gw.numpy(), [1.0, 2.0])
    assert x.grad is None and w.grad is None


def test_autograd_grad_of_an_intermediate_and_with_grad_outputs():
    x = _t([1.0, 2.0, 3.0])
    h = x * 2
    y = h ** 2
    (gh,) = sd.autograd.grad(y, h, grad_outputs=sd.tensor([1.0, 0.0, 2.0], dtype=sd.float64))
    np.testing.assert_allclose(gh.numpy(), [4.0, 0.0, 24.0])


def test_autograd_grad_unused_input_is_an_error_unless_allowed():
    x, z = _t([1.0]), _t([2.0])
    with pytest.raises(RuntimeError, match="input 1 .* was not used"):
        sd.autograd.grad((x * 3).sum(), (x, z), retain_graph=True)
    gx, gz = sd.autograd.grad((x * 3).sum(), (x, z), allow_unused=True, retain_graph=True)
    assert gz is None and gx.item() == 3.0
    _, gz = sd.autograd.grad((x * 3).sum(), (x, z), materialize_grads=True)
    assert gz.numpy().tolist() == [0.0]


def test_autograd_grad_errors_speak():
    x = _t([1.0, 2.0])
    with pytest.raises(RuntimeError, match="single-element"):
        sd.autograd.grad(x * 2, x)
    with pytest.raises(RuntimeError, match="output 0 does not require grad"):
        sd.autograd.grad(sd.tensor([1.0]).sum(), x)


def test_tensor_hooks_see_and_replace_gradients():
    x = _t([1.0, 2.0])
    seen = []
    h = x * 3
    handle = h.register_hook(lambda g: seen.append(g.numpy().copy()) or g * 10)
    x.register_hook(lambda g: g + 1)
    (h * h).sum().backward()
    np.testing.assert_allclose(seen[0], [6.0, 12.0])          # d(h²)/dh = 2h
    np.testing.assert_allclose(x.grad.numpy(), [181.0, 361.0])  # 3·10·2h + 1
    handle.remove()
    x.grad = None
    (x * 3 * 1.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 4.0])     # the leaf hook stays


def test_leaf_hook_gets_the_summed_gradient_once():
    x = _t([1.0])
    calls = []
    x.register_hook(lambda g: calls.append(g.item()))
    (x * 2 + x * 3).sum().backward()
    assert calls == [5.0]


def test_retain_grad_keeps_intermediate_gradient():
    x = _t([1.0, 2.0])
    h = x * x
    h.retain_grad()
    assert h.retains_grad and not x.retains_grad
    (h * 3).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), [3.0, 3.0])
    with pytest.raises(RuntimeError, match="does not require grad"):
        sd.tensor([1.0]).register_hook(print)


class _Cube(sd.autograd.Function):
    @staticmethod
    def forward(ctx, x, k):
        ctx.save_for_backward(x)
        ctx.k = k
        return x * x * x * k

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        assert ctx.needs_input_grad == (True, False)
        return g * 3 * x * x * ctx.k, None


def test_pytorch_style_function_first_and_second_order():
    assert sd.gradcheck(lambda x: _Cube.apply(x, 2.0), np.random.rand(3))
    x = _t([2.0])
    (g,) = sd.autograd.grad(_Cube.apply(x, 1.0).sum(), x, create_graph=True)
    (gg,) = sd.autograd.grad(g.sum(), x)
    assert g.item() == 12.0 and gg.item() == 12.0      # 3x², 6x


def test_pytorch_style_function_multiple_outputs_and_non_differentiable():
    class SortLike(sd.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            idx = sd.tensor(np.argsort(x.numpy()))
            ctx.mark_non_differentiable(idx)
            ctx.idx = idx.numpy()
            return x[idx.numpy()], idx

        @staticmethod
        def backward(ctx, g, _):
            out = np.zeros(g.shape)
            out[ctx.idx] = g.numpy()
            return sd.tensor(out)

    x = _t([3.0, 1.0, 2.0])
    vals, idx = SortLike.apply(x)
    assert vals.requires_grad and not idx.requires_grad
    (vals * sd.tensor([1.0, 2.0, 3.0], dtype=sd.float64)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 1.0, 2.0])


def test_once_differentiable_refuses_double_backward():
    class Twice(sd.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @sd.autograd.once_differentiable
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 2 * x

    x = _t([1.5])
    (g,) = sd.autograd.grad(Twice.apply(x).sum(), x, create_graph=True)
    assert g.item() == 3.0
    with pytest.raises(RuntimeError, match="Twice.backward is decorated with once_differentiable"):
        g.sum().backward()


def test_pytorch_style_function_wrong_gradient_count_is_named():
    class Bad(sd.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(RuntimeError, match="Bad.backward returned 1 gradients but forward took 2"):
        Bad.apply(_t([1.0]), _t([2.0])).sum().backward()


def test_functional_matches_pytorch(reference):
    from shendu.autograd import functional as AF
    a = np.random.default_rng(0).standard_normal((3, 2))
    v2, v3 = np.array([0.5, -1.0]), np.array([1.0, 2.0, -0.5])

    def f(x, lib):
        return lib.tanh(lib.matmul(lib.tensor(a), x)) * x.sum()

    def torch_side(torch):
        x = torch.tensor([0.3, -0.7], dtype=torch.float64)
        tf = torch.autograd.functional
        return {"jac": tf.jacobian(lambda x: f(x, torch), x),
                "vjp": tf.vjp(lambda x: f(x, torch), x, torch.tensor(v3))[1],
                "jvp": tf.jvp(lambda x: f(x, torch), x, torch.tensor(v2))[1],
                "hess": tf.hessian(lambda x: f(x, torch).sum(), x),
                "hvp": tf.hvp(lambda x: f(x, torch).sum(), x, torch.tensor(v2))[1]}

    ref = reference(torch_side)
    x = sd.tensor([0.3, -0.7], dtype=sd.float64)
    lib = type("Lib", (), {"tanh": staticmethod(sd.tanh), "matmul": staticmethod(sd.matmul),
                           "tensor": staticmethod(lambda v: sd.tensor(v, dtype=sd.float64))})
    ours = {"jac": AF.jacobian(lambda x: f(x, lib), x),
            "vjp": AF.vjp(lambda x: f(x, lib), x, sd.tensor(v3))[1],
            "jvp": AF.jvp(lambda x: f(x, lib), x, sd.tensor(v2))[1],
            "hess": AF.hessian(lambda x: f(x, lib).sum(), x),
            "hvp": AF.hvp(lambda x: f(x, lib).sum(), x, sd.tensor(v2))[1]}
    for k, v in ours.items():
        np.testing.assert_allclose(v.numpy(), ref[k].reshape(v.shape), rtol=1e-10, atol=1e-12, err_msg=k)


def test_module_forward_hooks_with_kwargs_and_full_backward_hook():
    from shendu import nn
    lin = nn.Linear(3, 2)
    lin.register_forward_pre_hook(lambda m, args, kwargs: ((args[0] * 2,), kwargs), with_kwargs=True)
    outs = []
    h = lin.register_forward_hook(lambda m, args, kwargs, out: outs.append(out.shape), with_kwargs=True)
    seen = {}

    def bhook(module, grad_input, grad_output):
        seen["gi"], seen["go"] = grad_input, grad_output
        return (grad_input[0] * 0,)

    lin.register_full_backward_hook(bhook)
    x = sd.tensor(np.ones((4, 3), np.float32), requires_grad=True)
    y = lin(x)
    assert outs == [(4, 2)]
    y.sum().backward()
    np.testing.assert_allclose(seen["go"][0].numpy(), np.ones((4, 2)))
    # grad_input is d/d(the input forward saw, 2x) = 1·W; the hook zeroes it, and the pre-hook's ×2 follows
    np.testing.assert_allclose(seen["gi"][0].numpy(), np.ones((4, 2)) @ lin.weight.numpy(), rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), 0.0)
    assert lin.weight.grad is not None
    h.remove()
    lin(x)
    assert outs == [(4, 2)]


def test_full_backward_hook_when_inputs_need_no_grad():
    from shendu import nn
    lin = nn.Linear(3, 2)
    calls = []
    lin.register_full_backward_hook(lambda m, gi, go: calls.append((gi, go[0].shape)))
    lin(sd.tensor(np.ones((1, 3), np.float32))).sum().backward()
    assert calls == [((None,), (1, 2))]


def test_setup_context_form_and_pytorch_import_paths():
    from shendu.autograd.function import FunctionCtx, once_differentiable
    from shendu.autograd.functional import jacobian

    class Scale(sd.autograd.Function):
        @staticmethod
        def forward(x, k):
            return x * k

        @staticmethod
        def setup_context(ctx, inputs, output):
            assert isinstance(ctx, FunctionCtx)
            ctx.k = inputs[1]

        @staticmethod
        @once_differentiable
        def backward(ctx, g):
            return g * ctx.k, None

    x = _t([1.0, 2.0])
    Scale.apply(x, 3.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])
    np.testing.assert_allclose(jacobian(lambda v: Scale.apply(v, 2.0), x).numpy(), 2 * np.eye(2))



def test_gradcheck_perturbs_inputs_of_any_memory_layout():
    # a channels-last (non-C-contiguous) input: central differences must see every element
    base = np.random.default_rng(0).standard_normal((2, 3, 4, 5)).transpose(0, 2, 3, 1)
    x = sd.from_numpy(base).requires_grad_()
    assert not x.array.flags.c_contiguous
    assert sd.gradcheck(lambda t: (t * t).sum(), x)

    class Half(sd.Function):  # a backward off by 2x must be caught in this layout too
        def forward(self, a):
            self.a = a
            return (a * a).sum()

        def backward(self, g):
            return g * self.a

    with pytest.raises(sd.GradcheckError, match="input 0"):
        sd.gradcheck(lambda t: Half.apply(t), x)

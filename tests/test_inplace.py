"""In-place semantics as in PyTorch: ``Tensor.data`` and the in-place methods."""
import numpy as np
import pytest

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


R = np.random.default_rng(11)
A = R.standard_normal((3, 4))
B = R.standard_normal((3, 4))
POS = R.random((3, 4)) + 0.5
IDX = np.array([[0, 1, 2, 0], [2, 0, 1, 1]])

# name: (in-place change of x given the tensor module m and a second tensor b, the input)
CASES = {
    "add_alpha": (lambda m, x, b: x.add_(b, alpha=-0.5), A),
    "sub_alpha": (lambda m, x, b: x.sub_(b, alpha=2.0), A),
    "mul": (lambda m, x, b: x.mul_(b), A),
    "div": (lambda m, x, b: x.div_(b + 3.0), A),
    "addcmul": (lambda m, x, b: x.addcmul_(b, b, value=0.3), A),
    "addcdiv": (lambda m, x, b: x.addcdiv_(b, b * b + 1.0, value=-2.0), A),
    "lerp": (lambda m, x, b: x.lerp_(b, 0.25), A),
    "pow": (lambda m, x, b: x.pow_(3.0), POS),
    "clamp": (lambda m, x, b: x.clamp_(-0.5, 0.5), A),
    "clip_min": (lambda m, x, b: x.clip_(min=0.0), A),
    "neg": (lambda m, x, b: x.neg_(), A),
    "abs": (lambda m, x, b: x.abs_(), A),
    "exp": (lambda m, x, b: x.exp_(), A),
    "log": (lambda m, x, b: x.log_(), POS),
    "sqrt": (lambda m, x, b: x.sqrt_(), POS),
    "relu": (lambda m, x, b: x.relu_(), A),
    "sigmoid": (lambda m, x, b: x.sigmoid_(), A),
    "tanh": (lambda m, x, b: x.tanh_(), A),
    "masked_fill": (lambda m, x, b: x.masked_fill_(b > 0, 7.0), A),
    "index_fill": (lambda m, x, b: x.index_fill_(1, m.tensor([0, 2]), -1.0), A),
    "index_add": (lambda m, x, b: x.index_add_(1, m.tensor([0, 2, 0]), b[:, :3], alpha=2.0), A),
    "scatter": (lambda m, x, b: x.scatter_(0, m.tensor(IDX[:, :3]), b[:2, :3]), A),
    "scatter_value": (lambda m, x, b: x.scatter_(1, m.tensor(IDX[:, :2]), value=5.0), A),
    "scatter_add": (lambda m, x, b: x.scatter_add_(0, m.tensor(IDX), b[:2]), A),
    "copy": (lambda m, x, b: x.copy_(b[0]), A),
    "fill": (lambda m, x, b: x.fill_(2.5), A),
    "zero": (lambda m, x, b: x.zero_(), A),
    "setitem": (lambda m, x, b: x.__setitem__((slice(None), 1), b[:, 2]), A),
    "iadd": (lambda m, x, b: x.__iadd__(b), A),
    "imul": (lambda m, x, b: x.__imul__(b), A),
}


def _run(m, name, leaf_a, leaf_b):
    """x = a·1.5 (a tensor in the graph), changed in place, then through one more op."""
    fn, _ = CASES[name]
    x = leaf_a * 1.5
    b = leaf_b * 1.0
    out = fn(m, x, b)
    assert out is x or name == "setitem"
    y = (x * x).sum() if name not in ("exp", "sigmoid", "tanh") else (x * 2.0).sum()
    y.backward()
    return {"x": x.detach(), "grad_a": leaf_a.grad, "grad_b": leaf_b.grad if leaf_b.grad is not None
            else m.zeros(leaf_b.shape, dtype=m.float64)}


@pytest.mark.parametrize("name", sorted(CASES))
def test_inplace_in_the_graph_matches_torch(reference, name):
    a = CASES[name][1]

    def torch_side(torch):
        return _run(torch, name, torch.tensor(a, requires_grad=True), torch.tensor(B, requires_grad=True))

    ref = reference(torch_side)
    ours = _run(sd, name, sd.tensor(a, requires_grad=True), sd.tensor(B, requires_grad=True))
    for k in ("x", "grad_a", "grad_b"):
        np.testing.assert_allclose(ours[k].numpy(), ref[k], rtol=1e-12, atol=1e-12, err_msg=f"{name}: {k}")


@pytest.mark.parametrize("name", ["add_alpha", "mul", "div", "addcdiv", "lerp", "pow", "clamp", "exp",
                                  "sigmoid", "masked_fill", "index_add", "scatter", "scatter_add", "setitem",
                                  "copy"])
def test_gradcheck(name):
    fn, a = CASES[name]

    def f(x, b):
        y = x * 1.0
        fn(sd, y, b * 1.0)
        return y

    assert sd.gradcheck(f, a, B)


def test_inplace_without_graph_matches_torch(reference):
    def run(m, x):
        x.add_(1.0).mul_(2.0).clamp_(max=3.0).sub_(m.ones(4), alpha=0.5)
        x[0] = -1.0
        x.masked_fill_(x > 2.0, 0.0)
        x += 1
        return {"x": x}

    ref = reference(lambda torch: run(torch, torch.tensor(A[0])))
    np.testing.assert_allclose(run(sd, sd.tensor(A[0]))["x"].numpy(), ref["x"], rtol=1e-12)


def test_change_of_a_saved_tensor_is_refused():
    x = sd.tensor(A, requires_grad=True)
    y = x.exp()  # Exp keeps its output for backward
    z = y.sum()
    y.add_(1.0)
    with pytest.raises(RuntimeError, match=r"modified by an inplace operation: output 0 of Exp .*version 1"):
        z.backward()
    x = sd.tensor(A, requires_grad=True)
    h = x * 2.0
    z = (h * h).sum()  # Mul keeps h
    h.mul_(3.0)
    with pytest.raises(RuntimeError, match=r"input 0 of Mul \(a tensor of shape \(3, 4\).*expected version 0"):
        z.backward()


def test_change_of_a_tensor_that_is_not_saved_is_allowed():
    x = sd.tensor(A, requires_grad=True)
    h = x * 2.0
    z = (h + 1.0).sum()  # Add keeps nothing
    h.mul_(3.0)
    z.backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full((3, 4), 2.0))  # not rerouted through mul_


def test_change_through_a_view_or_detach_is_seen():
    x = sd.tensor(A, requires_grad=True)
    y = x.exp()
    z = y.sum()
    with sd.no_grad():
        y.reshape(-1).add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.backward()
    y = x.exp()
    z = y.sum()
    y.detach().zero_()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.backward()


def test_change_through_data_is_not_tracked():
    x = sd.tensor(A, requires_grad=True)
    y = x.exp()
    y.data.mul_(2.0)  # as in PyTorch, .data bypasses the check
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2.0 * np.exp(A))


def test_version_counts_in_place_changes():
    t = sd.zeros(3)
    assert t._version == 0
    t.add_(1).mul_(2)
    t[0] = 5.0
    assert t._version == 3 and t.detach()._version == 3 and t.data._version == 0


def test_inplace_on_a_leaf_that_requires_grad_is_refused():
    p = sd.tensor(A, requires_grad=True)
    for change in (lambda: p.add_(1.0), lambda: p.zero_(), lambda: p.__setitem__(0, 1.0),
                   lambda: p.normal_(), lambda: p.__isub__(1.0)):
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an "
                                               "in-place operation"):
            change()
    with sd.no_grad():
        p -= 1.0
        p.mul_(2.0)
    np.testing.assert_allclose(p.numpy(), (A - 1.0) * 2.0)
    assert p.is_leaf and p.requires_grad


def test_inplace_on_a_view_in_the_graph_is_refused():
    x = sd.tensor(A, requires_grad=True) * 1.0
    with pytest.raises(RuntimeError, match="view of another tensor in the autograd graph"):
        x[0].add_(1.0)


def test_shape_and_dtype_rules():
    x = sd.zeros(3)
    with pytest.raises(RuntimeError, match=r"add_: the result has shape \(2, 3\).*shape \(3,\)"):
        x.add_(sd.ones(2, 3))
    n = sd.tensor([1, 2, 3])
    with pytest.raises(RuntimeError, match="can't be cast to this tensor's dtype int64"):
        n.add_(0.5)
    n.copy_(sd.tensor([1.7, 2.2, -3.9]))  # copy_ casts, as in PyTorch
    assert n.numpy().tolist() == [1, 2, -3]


def test_sgd_through_data_matches_optim_sgd():
    rng = np.random.default_rng(3)
    xb, yb = rng.standard_normal((16, 5)), rng.standard_normal((16, 1))

    def train(manual):
        sd.manual_seed(0)
        model = sd.nn.Linear(5, 1).double()
        opt = None if manual else sd.optim.SGD(model.parameters(), lr=0.1)
        for _ in range(5):
            loss = ((model(sd.tensor(xb)) - sd.tensor(yb)) ** 2).mean()
            if manual:
                for p in model.parameters():
                    p.grad = None
            else:
                opt.zero_grad()
            loss.backward()
            if manual:
                for p in model.parameters():
                    p.data.add_(p.grad, alpha=-0.1)
            else:
                opt.step()
        return [p.numpy().copy() for p in model.parameters()]

    for a, b in zip(train(True), train(False)):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_no_grad_update_and_grad_zero():
    p = sd.tensor(A, requires_grad=True)
    (p * p).sum().backward()
    with sd.no_grad():
        p -= 0.1 * p.grad
    p.grad.zero_()
    np.testing.assert_allclose(p.numpy(), A - 0.2 * A)
    assert not p.grad.numpy().any() and p.is_leaf


def test_normal_and_uniform_fill_through_data():
    w = sd.nn.Parameter(sd.zeros(200, 200))
    arr = w.numpy()
    w.data.normal_(0, 0.02)
    assert w.numpy() is arr  # written in place
    assert abs(arr.mean()) < 1e-3 and abs(arr.std() - 0.02) < 1e-3
    w.data.uniform_(-1, 1)
    assert arr.min() >= -1 and arr.max() < 1 and abs(arr.mean()) < 0.02
    w.data.fill_(1)
    assert (arr == 1).all()
    b = sd.zeros(10000).bernoulli_(0.3)
    assert abs(b.numpy().mean() - 0.3) < 0.02
    sd.nn.init.normal_(w, 0.0, 1.0)  # the init functions keep working on parameters
    assert abs(arr.std() - 1.0) < 0.02


def test_backward_through_a_graph_built_before_an_optimizer_step_is_refused():
    lin = sd.nn.Linear(3, 1)
    opt = sd.optim.SGD(lin.parameters(), lr=0.1)
    out = lin(sd.ones(2, 3)).sum()
    (out * 1.0).backward(retain_graph=True)
    opt.step()  # changes the weight that the graph kept for backward
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.backward()


def test_augmented_item_assignment_in_the_graph_matches_torch(reference):
    def run(m, a):
        x = a * 2.0
        x[0] += 1.0
        x[1] *= 3.0
        x[:, 1] -= 3.0
        (x * x).sum().backward()
        return {"x": x.detach(), "grad": a.grad}

    ref = reference(lambda torch: run(torch, torch.tensor(A, requires_grad=True)))
    ours = run(sd, sd.tensor(A, requires_grad=True))
    np.testing.assert_allclose(ours["x"].numpy(), ref["x"], rtol=1e-12)
    np.testing.assert_allclose(ours["grad"].numpy(), ref["grad"], rtol=1e-12)


def test_autograd_grad_checks_versions_and_follows_recorded_edges():
    x = sd.tensor(A, requires_grad=True)
    h = x * 2.0
    z = (h + 1.0).sum()
    h.mul_(3.0)  # recorded on h; z's graph still goes through the old h
    (g,) = sd.autograd.grad(z, [x], retain_graph=True)
    np.testing.assert_allclose(g.numpy(), np.full((3, 4), 2.0))
    y = x.exp()
    w = y.sum()
    y.add_(1.0)
    with pytest.raises(RuntimeError, match="output 0 of Exp"):
        sd.autograd.grad(w, [x])

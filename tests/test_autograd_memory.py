"""What a recorded graph keeps alive: saved arrays are freed by backward, and nodes whose backward
needs no input (ReLU, Dropout, Add, Sub) do not pin their inputs' arrays."""
import gc
import weakref

import numpy as np
import pytest

import shendu as sd
from shendu import nn
from shendu.autograd import _InputRef


def _arrays_on(fn):
    return [k for k, v in vars(fn).items() if isinstance(v, np.ndarray)]


def _nodes(t):
    out, stack, seen = [], [t.grad_fn], set()
    while stack:
        fn = stack.pop()
        if fn is None or id(fn) in seen:
            continue
        seen.add(id(fn))
        out.append(fn)
        stack += [e[0] for e in fn.edges if e is not None]
    return out


def _conv_bn_model():
    sd.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Dropout(0.25), nn.Flatten(), nn.Linear(4 * 4 * 4, 3))


def test_backward_frees_the_saved_arrays_of_every_node():
    model = _conv_bn_model()
    loss = model(sd.randn(2, 1, 8, 8)).square().mean()
    nodes = _nodes(loss)
    assert any(_arrays_on(fn) for fn in nodes)
    loss.backward()
    assert all(not _arrays_on(fn) and fn.inputs is None for fn in nodes)
    with pytest.raises(RuntimeError, match="retain_graph"):
        loss.backward()


def test_retain_graph_keeps_them_and_a_second_backward_matches():
    model = _conv_bn_model()
    model.eval()                       # no dropout: both passes see the same function
    x = sd.randn(2, 1, 8, 8)
    loss = model(x).square().mean()
    loss.backward(retain_graph=True)
    first = [p.grad.numpy().copy() for p in model.parameters()]
    for p in model.parameters():
        p.grad = None
    loss.backward()
    for a, p in zip(first, model.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), a, rtol=1e-6)


def test_autograd_grad_also_frees_the_graph():
    x = sd.randn(3, 4, requires_grad=True)
    y = (x * x).relu().sum()
    mul = y.grad_fn.edges[0][0].edges[0][0]
    assert _arrays_on(mul)
    (g,) = sd.autograd.grad(y, [x])
    np.testing.assert_allclose(g.numpy(), 2 * x.numpy(), rtol=1e-6)
    assert not _arrays_on(mul)


@pytest.mark.parametrize("op", ["relu", "dropout", "add", "sub"])
def test_nodes_that_need_no_input_do_not_pin_it(op):
    x = sd.randn(4, 5, requires_grad=True)
    h = x * 2.0                         # an intermediate: its array is what must not be pinned
    ref = weakref.ref(h.array)
    if op == "relu":
        y = nn.functional.relu(h)
    elif op == "dropout":
        sd.manual_seed(1)
        y = nn.functional.dropout(h, 0.5)
    else:
        y = h + x if op == "add" else h - x
    node = y.grad_fn
    assert isinstance(node.inputs[0], _InputRef)
    assert node.inputs[0].shape == (4, 5) and node.inputs[0].grad_fn is h.grad_fn
    if op in ("add", "sub"):
        assert node.inputs[1] is x      # leaves are kept: backward accumulates into them
    del h
    gc.collect()
    assert ref() is None
    y.sum().backward()
    if op == "relu":
        expect = 2.0 * (y.numpy() > 0)
    elif op == "dropout":
        expect = 2.0 * (y.numpy() != 0) * 2.0
    else:
        expect = np.full((4, 5), 3.0 if op == "add" else 1.0)
    np.testing.assert_allclose(x.grad.numpy(), expect, rtol=1e-6)


def test_relu_gradient_after_its_output_changes_in_place_is_an_error():
    x = sd.randn(3, requires_grad=True)
    y = nn.functional.relu(x * 1.0)
    y.add_(1.0)
    with pytest.raises(RuntimeError, match="inplace"):
        y.sum().backward()


def test_viz_still_walks_a_graph_with_input_references():
    from shendu.viz import graph_dot

    x = sd.randn(2, 3, requires_grad=True)
    y = nn.functional.relu(x * 3.0) + 1.0
    src = graph_dot(y)
    assert "ReLU" in src and "Mul" in src and "(2, 3)" in src

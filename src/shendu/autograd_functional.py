"""``shendu.autograd.functional``: Jacobians, Hessians and their products, as ``torch.autograd.functional``.

Each takes a function of one Tensor (or a tuple of Tensors) and the point to evaluate at. They are
built on :func:`shendu.autograd.grad`; the Hessian and the Jacobian-vector product differentiate a
gradient, so the function may use only operations with higher-order gradients.
"""
from .autograd import enable_grad, grad
from .backend import xp
from .tensor import Tensor, _ops

__all__ = ["jacobian", "hessian", "vjp", "jvp", "vhp", "hvp"]


def _prepare(inputs, create_graph, name):
    single = isinstance(inputs, Tensor)
    inputs = (inputs,) if single else tuple(inputs)
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor):
            raise TypeError(f"{name}: inputs must be Tensors, input {i} is a {type(x).__name__}")
    # a fresh leaf per input, or (create_graph) a differentiable alias that keeps the caller's graph
    prepared = tuple(x.view_as(x) if create_graph and x.requires_grad else x.detach().requires_grad_(True)
                     for x in inputs)
    return single, prepared


def _outputs(func, inputs, name):
    out = func(*inputs)
    single = isinstance(out, Tensor)
    outs = (out,) if single else tuple(out)
    for i, o in enumerate(outs):
        if not isinstance(o, Tensor):
            raise TypeError(f"{name}: the function must return Tensors, output {i} is a {type(o).__name__}")
    return single, outs


def _grads(outputs, inputs, grad_outputs, create_graph, retain_graph=True):
    live = [(o, g) for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    if not live:
        return (None,) * len(inputs)
    return grad([o for o, _ in live], inputs, [g for _, g in live], retain_graph=retain_graph,
                create_graph=create_graph, allow_unused=True)


def _fill(g, x, create_graph):
    if g is None:
        return Tensor(xp.zeros(x.shape, x.dtype))
    return g if create_graph else g.detach()


def _strict_check(name, grads, strict):
    if strict and any(g is None for g in grads):
        raise RuntimeError(f"{name}(strict=True): an output does not depend on one of the inputs")


def _out(value, create_graph):
    return value if create_graph else value.detach()


def _v(v, like, name, what):
    if v is None:
        if any(t.numel() != 1 for t in like):
            raise RuntimeError(f"{name}: v may be omitted only when the {what} has a single element")
        return tuple(Tensor(xp.ones(t.shape, t.dtype)) for t in like)
    vs = (v,) if isinstance(v, Tensor) else tuple(v)
    if len(vs) != len(like):
        raise RuntimeError(f"{name}: v has {len(vs)} entries but the {what} has {len(like)}")
    for i, (a, b) in enumerate(zip(vs, like)):
        if tuple(a.shape) != tuple(b.shape):
            raise RuntimeError(f"{name}: v[{i}] has shape {tuple(a.shape)}, expected {tuple(b.shape)}")
    return vs


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False, strategy="reverse-mode"):
    """J[i][j] = ∂ output_i / ∂ input_j, each of shape output_i.shape + input_j.shape (one backward per
    output element). A single Tensor input / output gives a Tensor instead of a tuple level."""
    with enable_grad():
        single_in, inputs = _prepare(inputs, create_graph, "jacobian")
        single_out, outs = _outputs(func, inputs, "jacobian")
        ops = _ops()
        result = []
        for o in outs:
            flat = o.reshape(-1)
            rows = [[] for _ in inputs]
            for k in range(flat.shape[0]):
                if not o.requires_grad:
                    gs = (None,) * len(inputs)
                else:
                    onehot = xp.zeros(flat.shape, flat.dtype)
                    onehot[k] = 1
                    gs = _grads([o], inputs, [Tensor(onehot.reshape(o.shape))], create_graph)
                _strict_check("jacobian", gs, strict)
                for j, (g, x) in enumerate(zip(gs, inputs)):
                    rows[j].append(_fill(g, x, create_graph))
            per_in = []
            for j, x in enumerate(inputs):
                if rows[j]:
                    block = ops.stack(rows[j], axis=0)
                else:
                    block = Tensor(xp.zeros((0,) + tuple(x.shape), x.dtype))
                per_in.append(block.reshape(tuple(o.shape) + tuple(x.shape)))
            result.append(per_in[0] if single_in else tuple(per_in))
    return result[0] if single_out else tuple(result)


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False,
            outer_jacobian_strategy="reverse-mode"):
    """H[i][j] = ∂² f / ∂ input_i ∂ input_j for a function with a single-element output (shape
    input_i.shape + input_j.shape); a single Tensor input gives one Tensor."""
    single_in = isinstance(inputs, Tensor)

    def gradient(*xs):
        with enable_grad():
            _, outs = _outputs(func, xs, "hessian")
            if len(outs) != 1 or outs[0].numel() != 1:
                raise RuntimeError("hessian: the function must return a single Tensor with one element")
            gs = _grads(outs, xs, [None], True)
            _strict_check("hessian", gs, strict)
            return tuple(_fill(g, x, True) for g, x in zip(gs, xs))

    jac = jacobian(gradient, inputs, create_graph=create_graph, strict=strict)
    return jac[0] if single_in else jac


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), vᵀJ): the vector-Jacobian product, one backward pass."""
    with enable_grad():
        single_in, inputs = _prepare(inputs, create_graph, "vjp")
        single_out, outs = _outputs(func, inputs, "vjp")
        vs = _v(v, outs, "vjp", "output")
        gs = _grads(outs, inputs, vs, create_graph)
        _strict_check("vjp", gs, strict)
        res = tuple(_fill(g, x, create_graph) for g, x in zip(gs, inputs))
    outs = tuple(_out(o, create_graph) for o in outs)
    return (outs[0] if single_out else outs), (res[0] if single_in else res)


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), Jv): the Jacobian-vector product, by differentiating a vector-Jacobian product
    with respect to its vector (two backward passes, as ``torch.autograd.functional.jvp``)."""
    with enable_grad():
        single_in, inputs = _prepare(inputs, create_graph, "jvp")
        vs = _v(v, inputs, "jvp", "input")
        single_out, outs = _outputs(func, inputs, "jvp")
        us = tuple(Tensor(xp.zeros(o.shape, o.dtype), requires_grad=True) for o in outs)
        gs = _grads(outs, inputs, us, True)
        _strict_check("jvp", gs, strict)
        pairs = [(g, v_) for g, v_ in zip(gs, vs) if g is not None and g.requires_grad]
        if pairs:
            res = grad([g for g, _ in pairs], us, [v_ for _, v_ in pairs], create_graph=create_graph,
                       allow_unused=True)
        else:
            res = (None,) * len(us)
        res = tuple(_fill(r, o, create_graph) for r, o in zip(res, outs))
    outs = tuple(_out(o, create_graph) for o in outs)
    return (outs[0] if single_out else outs), (res[0] if single_out else res)


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), vᵀH) for a function with a single-element output."""
    with enable_grad():
        single_in, inputs = _prepare(inputs, create_graph, "vhp")
        _, outs = _outputs(func, inputs, "vhp")
        if len(outs) != 1 or outs[0].numel() != 1:
            raise RuntimeError("vhp: the function must return a single Tensor with one element")
        vs = _v(v, inputs, "vhp", "input")
        gs = _grads(outs, inputs, [None], True)
        _strict_check("vhp", gs, strict)
        pairs = [(g, v_) for g, v_ in zip(gs, vs) if g is not None and g.requires_grad]
        res = grad([g for g, _ in pairs], inputs, [v_ for _, v_ in pairs], create_graph=create_graph,
                   allow_unused=True) if pairs else (None,) * len(inputs)
        res = tuple(_fill(r, x, create_graph) for r, x in zip(res, inputs))
    return _out(outs[0], create_graph), (res[0] if single_in else res)


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), Hv) for a function with a single-element output (H is symmetric, so Hv = (vᵀH)ᵀ)."""
    return vhp(func, inputs, v, create_graph=create_graph, strict=strict)

"""Optimizers: trajectories equal to PyTorch's, state dicts, parameter groups and errors."""
import ast
import contextlib
import inspect
import json

import numpy as np
import pytest

import shendu as sd
from shendu import optim

SHAPES = [(3, 4), (5,)]
STEPS = 20

# (optimizer name, keyword arguments): every algorithm and its main options
CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("SGD", dict(lr=0.1, weight_decay=0.1, maximize=True)),
    ("Adagrad", dict()),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.05, initial_accumulator_value=0.1)),
    ("Adagrad", dict(lr=0.1, maximize=True)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, weight_decay=0.1, maximize=True)),
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=0.01, momentum=0.9, weight_decay=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, centered=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True, maximize=True)),
    ("Adam", dict()),
    ("Adam", dict(lr=0.05, betas=(0.8, 0.99), weight_decay=0.1)),
    ("Adam", dict(lr=0.05, amsgrad=True)),
    ("Adam", dict(lr=0.05, betas=(0.3, 0.6), maximize=True)),
    ("AdamW", dict(lr=0.05)),
    ("AdamW", dict(lr=0.05, weight_decay=0.1, amsgrad=True)),
    ("NAdam", dict()),
    ("NAdam", dict(lr=0.05, weight_decay=0.1, momentum_decay=0.01)),
    ("NAdam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True)),
]


# _float64, _run_torch and _recorded are the PyTorch side's helpers: only torch_side functions call them.
@contextlib.contextmanager
def _float64(torch):
    """torch with float64 as its default dtype (so its scalar state, e.g. NAdam's mu_product, is float64)."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        torch.set_default_dtype(old)


def _init_arrays(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in SHAPES]


def _gradient(arrays, step, seed=1):
    """The gradient of a quadratic bowl ½·Σ(w−c)² scaled per entry, plus a fixed noise for this step."""
    rng = np.random.default_rng(seed + 1000 * step)
    return [(1.0 + 0.5 * np.arange(a.size).reshape(a.shape) / a.size) * (a - 0.3) + 0.1 * rng.standard_normal(a.shape)
            for a in arrays]


def _run_shendu(name, kwargs, steps=STEPS, groups=None):
    params = [sd.Tensor(a.copy(), requires_grad=True) for a in _init_arrays()]
    spec = params if groups is None else [dict(g, params=[params[i] for i in idx]) for idx, g in groups]
    opt = getattr(optim, name)(spec, **kwargs)
    for t in range(steps):
        for p, g in zip(params, _gradient([p.array for p in params], t)):
            p.grad = sd.Tensor(g)
        opt.step()
    return params, opt


def _run_torch(torch, name, kwargs, steps=STEPS, groups=None):
    """The same run in PyTorch (float64); called only inside ``torch_side`` functions."""
    with _float64(torch):
        params = [torch.tensor(a.copy(), requires_grad=True) for a in _init_arrays()]
        spec = params if groups is None else [dict(g, params=[params[i] for i in idx]) for idx, g in groups]
        opt = getattr(torch.optim, name)(spec, **kwargs)
        for t in range(steps):
            for p, g in zip(params, _gradient([p.detach().numpy() for p in params], t)):
                p.grad = torch.from_numpy(g)
            opt.step()
    return params, opt


def _recorded(torch, params, opt):
    """A PyTorch run's parameters and state dict as recordable values (copies, not the live tensors)."""
    sdict = opt.state_dict()
    out = {f"param.{i}": p.detach().clone() for i, p in enumerate(params)}
    for i, entries in sdict["state"].items():
        out.update({f"state.{i}.{k}": torch.as_tensor(v).clone() for k, v in entries.items()})
    # the layout: each entry's key and shape (a recorded 0-d value comes back with shape (1,))
    out["state_keys"] = json.dumps({str(i): {k: list(torch.as_tensor(v).shape) for k, v in entries.items()}
                                    for i, entries in sdict["state"].items()})
    return out


def _recorded_state(ref):
    """``{param index: {key: array}}`` from :func:`_recorded` values, in their recorded shapes."""
    return {int(i): {k: ref[f"state.{i}.{k}"].reshape(shape) for k, shape in keys.items()}
            for i, keys in json.loads(ref["state_keys"]).items()}


class _TorchLikeTensor:
    """A recorded array behind the part of the torch.Tensor interface a state dict's reader uses."""

    def __init__(self, array):
        self._array = np.array(array)

    def detach(self):
        return self

    def cpu(self):
        return self

    def numpy(self):
        return self._array


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_trajectory_matches_torch(reference, name, kwargs):
    def torch_side(torch):
        return _recorded(torch, *_run_torch(torch, name, kwargs))

    ref = reference(torch_side)
    ours, opt = _run_shendu(name, kwargs)
    for i, p in enumerate(ours):
        np.testing.assert_allclose(p.array, ref[f"param.{i}"], rtol=1e-10, atol=1e-12)
    # the state holds the same buffers under the same names
    tstate = _recorded_state(ref)
    mystate = opt.state_dict()["state"]
    assert set(mystate) == set(tstate)
    for i in tstate:
        assert set(mystate[i]) == set(tstate[i])
        for key, value in tstate[i].items():
            np.testing.assert_allclose(np.asarray(mystate[i][key], dtype=float), value,
                                       rtol=1e-9, atol=1e-12, err_msg=f"{name} state {key}")


OPTIMIZERS = ["SGD", "Adagrad", "Adadelta", "RMSprop", "Adam", "AdamW", "NAdam"]


def _arguments(cls):
    return {key: param for key, param in inspect.signature(cls.__init__).parameters.items()
            if key not in ("self", "params")}


def test_defaults_match_torch(reference):
    def torch_side(torch):  # PyTorch's default for each of shendu's arguments (None: no such argument)
        out = {}
        for name in OPTIMIZERS:
            theirs = _arguments(getattr(torch.optim, name))
            out[name] = json.dumps({key: repr(theirs[key].default) if key in theirs else None
                                    for key in _arguments(getattr(optim, name))})
        return out

    ref = reference(torch_side)
    for name in OPTIMIZERS:
        theirs = json.loads(ref[name])
        for key, param in _arguments(getattr(optim, name)).items():
            assert theirs.get(key) is not None, f"{name}.{key} is not a PyTorch argument"
            assert param.default == ast.literal_eval(theirs[key]), f"{name}.{key}"


SGD_GROUPS = [([0], dict(lr=0.1, momentum=0.9)), ([1], dict(lr=0.01))]
ADAM_GROUPS = [([1], dict(lr=0.02, betas=(0.5, 0.9))), ([0], dict())]


def test_param_groups_with_different_lrs_match_torch(reference):
    def torch_side(torch):
        sgd, _ = _run_torch(torch, "SGD", dict(lr=0.5), groups=SGD_GROUPS)
        adam, _ = _run_torch(torch, "Adam", dict(lr=0.1), groups=ADAM_GROUPS)
        out = {f"sgd.{i}": p for i, p in enumerate(sgd)}
        out.update({f"adam.{i}": p for i, p in enumerate(adam)})
        return out

    ref = reference(torch_side)
    ours, opt = _run_shendu("SGD", dict(lr=0.5), groups=SGD_GROUPS)
    for i, p in enumerate(ours):
        np.testing.assert_allclose(p.array, ref[f"sgd.{i}"], rtol=1e-12)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.01]
    assert opt.param_groups[1]["momentum"] == 0
    ours, _ = _run_shendu("Adam", dict(lr=0.1), groups=ADAM_GROUPS)
    for i, p in enumerate(ours):
        np.testing.assert_allclose(p.array, ref[f"adam.{i}"], rtol=1e-10)


def test_loss_driven_training_matches_torch(reference):
    """A real loss through autograd in both frameworks: a tiny least-squares fit with Adam."""
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((16, 3)), rng.standard_normal((16, 1))
    w0 = rng.standard_normal((3, 1))

    def torch_side(torch):
        with _float64(torch):
            tw = torch.tensor(w0.copy(), requires_grad=True)
            topt = torch.optim.Adam([tw], lr=0.05)
            Xt, yt = torch.tensor(X), torch.tensor(y)
            losses = []
            for _ in range(STEPS):
                topt.zero_grad()
                tloss = ((Xt @ tw - yt) ** 2).mean()
                tloss.backward()
                topt.step()
                losses.append(tloss.item())
        return {"losses": np.array(losses), "w": tw}

    ref = reference(torch_side)
    w = sd.Tensor(w0.copy(), requires_grad=True)
    opt = optim.Adam([w], lr=0.05)
    Xs, ys = sd.Tensor(X), sd.Tensor(y)
    for step in range(STEPS):
        opt.zero_grad()
        loss = ((Xs @ w - ys) ** 2).mean()
        loss.backward()
        opt.step()
        np.testing.assert_allclose(loss.item(), ref["losses"][step], rtol=1e-10)
    np.testing.assert_allclose(w.array, ref["w"], rtol=1e-10)


@pytest.mark.parametrize("name,kwargs", [CASES[2], CASES[6], CASES[9], CASES[13], CASES[16], CASES[21]],
                         ids=lambda v: v if isinstance(v, str) else "")
def test_state_dict_round_trip_resumes_identically(name, kwargs):
    straight, _ = _run_shendu(name, kwargs, steps=2 * 10)
    params, opt = _run_shendu(name, kwargs, steps=10)
    saved = opt.state_dict()
    # a fresh optimizer on fresh parameters holding the same values
    params2 = [sd.Tensor(p.array.copy(), requires_grad=True) for p in params]
    opt2 = getattr(optim, name)(params2, **kwargs)
    opt2.load_state_dict(saved)
    for t in range(10, 20):
        for p, g in zip(params2, _gradient([p.array for p in params2], t)):
            p.grad = sd.Tensor(g)
        opt2.step()
    for p, q in zip(params2, straight):
        np.testing.assert_array_equal(p.array, q.array)


def test_state_dict_is_a_snapshot_in_pytorch_layout():
    params, opt = _run_shendu("Adam", dict(lr=0.1), steps=3)
    sdict = opt.state_dict()
    assert set(sdict) == {"state", "param_groups"}
    assert sdict["param_groups"][0]["params"] == [0, 1]
    assert sdict["state"][0]["step"] == 3
    before = sdict["state"][0]["exp_avg"].copy()
    for p in params:
        p.grad = sd.Tensor(np.ones_like(p.array))
    opt.step()
    np.testing.assert_array_equal(sdict["state"][0]["exp_avg"], before)


def test_load_state_dict_from_torch_continues_like_torch(reference):
    """A PyTorch optimizer's state dict (tensors as values) loads and the run continues identically."""
    kwargs = dict(lr=0.05, amsgrad=True, weight_decay=0.01)

    def torch_side(torch):
        theirs, topt = _run_torch(torch, "Adam", kwargs, steps=10)
        out = _recorded(torch, theirs, topt)
        out["param_groups"] = repr(topt.state_dict()["param_groups"])
        with _float64(torch):
            for t in range(10, 20):
                for q, g in zip(theirs, _gradient([q.detach().numpy() for q in theirs], t)):
                    q.grad = torch.from_numpy(g)
                topt.step()
        out.update({f"final.{i}": q for i, q in enumerate(theirs)})
        return out

    ref = reference(torch_side)
    # PyTorch's state dict as it was after 10 steps: its tensors, its group options
    tstate = {"state": {i: {k: _TorchLikeTensor(v) for k, v in entries.items()}
                        for i, entries in _recorded_state(ref).items()},
              "param_groups": ast.literal_eval(ref["param_groups"])}
    params = [sd.Tensor(ref[f"param.{i}"].copy(), requires_grad=True) for i in range(len(SHAPES))]
    opt = optim.Adam(params, **kwargs)
    opt.load_state_dict(tstate)
    assert opt.state[params[0]]["step"] == 10
    for t in range(10, 20):
        for p, g in zip(params, _gradient([p.array for p in params], t)):
            p.grad = sd.Tensor(g)
        opt.step()
    for i, p in enumerate(params):
        np.testing.assert_allclose(p.array, ref[f"final.{i}"], rtol=1e-10)


def test_load_state_dict_checks_sizes():
    _, opt = _run_shendu("SGD", dict(lr=0.1, momentum=0.9), steps=2)
    other = optim.SGD([sd.Tensor(np.zeros(3), requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match="parameter group 0"):
        other.load_state_dict(opt.state_dict())
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        other.load_state_dict({"state": {}})


def test_update_is_in_place_and_keeps_dtype():
    p = sd.Tensor(np.ones((2, 3), dtype=np.float32), requires_grad=True)
    arr = p.array
    for name in ["SGD", "Adagrad", "Adadelta", "RMSprop", "Adam", "AdamW", "NAdam"]:
        opt = getattr(optim, name)([p], lr=0.1)
        p.grad = sd.Tensor(np.full((2, 3), 0.5, dtype=np.float32))
        opt.step()
        assert p.array is arr and p.array.dtype == np.float32, name
        assert all(v.dtype == np.float32 for v in opt.state[p].values() if isinstance(v, np.ndarray)), name
    assert np.all(arr < 1.0)


def test_grad_is_not_modified_and_none_grads_are_skipped():
    a = sd.Tensor(np.ones(3), requires_grad=True)
    b = sd.Tensor(np.ones(3), requires_grad=True)
    g = np.array([1.0, -2.0, 3.0])
    a.grad = sd.Tensor(g.copy())
    opt = optim.SGD([a, b], lr=0.1, momentum=0.9, weight_decay=0.1, maximize=True)
    opt.step()
    opt.step()
    np.testing.assert_array_equal(a.grad.array, g)
    np.testing.assert_array_equal(b.array, np.ones(3))
    assert b not in opt.state or not opt.state[b]


def test_zero_grad():
    p = sd.Tensor(np.ones(3), requires_grad=True)
    (p * p).sum().backward()
    opt = optim.SGD([p], lr=0.1)
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(p.grad.array, np.zeros(3))
    opt.zero_grad()
    assert p.grad is None


def test_closure_is_called_with_grad_enabled():
    p = sd.Tensor(np.array([2.0]), requires_grad=True)
    opt = optim.SGD([p], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    with sd.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 4.0
    np.testing.assert_allclose(p.array, [1.0])


def test_named_parameters_and_add_param_group():
    a = sd.Tensor(np.ones(2), requires_grad=True)
    b = sd.Tensor(np.ones(2), requires_grad=True)
    opt = optim.Adam([("w", a)], lr=0.1)
    assert opt.param_groups[0]["param_names"] == ["w"]
    opt.add_param_group({"params": b, "lr": 0.01})
    assert opt.param_groups[1]["params"] == [b] and opt.param_groups[1]["betas"] == (0.9, 0.999)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})
    assert "Parameter Group 1" in repr(opt)


def test_clear_errors():
    p = sd.Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="learning rate"):
        optim.Adam([p], lr=-1.0)
    with pytest.raises(ValueError, match="learning rate"):
        optim.SGD([{"params": [p], "lr": -0.1}], lr=0.1)
    with pytest.raises(TypeError, match="numpy.ndarray"):
        optim.SGD([np.ones(2)], lr=0.1)
    with pytest.raises(TypeError, match="single Tensor"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(TypeError, match="set"):
        optim.SGD({p}, lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([p * 2], lr=0.1)
    with pytest.raises(ValueError, match="nesterov"):
        optim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="beta"):
        optim.Adam([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="twice"):
        optim.SGD([p, p], lr=0.1)
    p.grad = sd.Tensor(np.ones(3))
    with pytest.raises(sd.ShapeError, match="gradient of shape"):
        optim.SGD([p], lr=0.1).step()


def test_custom_optimizer_subclass_with_own_step():
    class SignSGD(optim.Optimizer):
        def __init__(self, params, lr=0.01):
            super().__init__(params, dict(lr=lr))

        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        p.array -= group["lr"] * np.sign(p.grad.array)

    p = sd.Tensor(np.zeros(3), requires_grad=True)
    p.grad = sd.Tensor(np.array([1.0, -1.0, 0.0]))
    opt = SignSGD([p], lr=0.5)
    opt.step()
    np.testing.assert_array_equal(p.array, [-0.5, 0.5, 0.0])
    assert opt._opt_called

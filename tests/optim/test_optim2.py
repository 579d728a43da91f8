"""RAdam, Adamax, ASGD and LBFGS: 20-step trajectories and state equal to PyTorch's (float64),
LBFGS on the Rosenbrock function with and without the strong-Wolfe line search."""
import contextlib
import json

import numpy as np
import pytest

import shendu as sd
from shendu import optim

SHAPES = [(3, 4), (5,)]
STEPS = 20

CASES = [
    ("RAdam", dict()),
    ("RAdam", dict(lr=0.05, betas=(0.8, 0.99), weight_decay=0.1)),
    ("RAdam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("Adamax", dict()),
    ("Adamax", dict(lr=0.05, betas=(0.5, 0.9), weight_decay=0.1)),
    ("Adamax", dict(lr=0.05, maximize=True)),
    ("ASGD", dict()),
    ("ASGD", dict(lr=0.05, lambd=0.01, alpha=0.5, t0=5, weight_decay=0.1)),
    ("ASGD", dict(lr=0.05, t0=0, maximize=True)),
]


@contextlib.contextmanager
def _float64(torch):
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
    """The gradient of a scaled quadratic bowl plus a fixed noise for this step."""
    rng = np.random.default_rng(seed + 1000 * step)
    return [(1.0 + 0.5 * np.arange(a.size).reshape(a.shape) / a.size) * (a - 0.3) + 0.1 * rng.standard_normal(a.shape)
            for a in arrays]


def _run_shendu(name, kwargs):
    params = [sd.Tensor(a.copy(), requires_grad=True) for a in _init_arrays()]
    opt = getattr(optim, name)(params, **kwargs)
    for t in range(STEPS):
        for p, g in zip(params, _gradient([p.numpy() for p in params], t)):
            p.grad = sd.Tensor(g)
        opt.step()
    return params, opt


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_trajectory_matches_torch(reference, name, kwargs):
    def torch_side(torch):
        with _float64(torch):
            params = [torch.tensor(a.copy(), requires_grad=True) for a in _init_arrays()]
            opt = getattr(torch.optim, name)(params, **kwargs)
            for t in range(STEPS):
                for p, g in zip(params, _gradient([p.detach().numpy() for p in params], t)):
                    p.grad = torch.from_numpy(g)
                opt.step()
        out = {f"param.{i}": p.detach().clone() for i, p in enumerate(params)}
        state = opt.state_dict()["state"]
        for i, entries in state.items():
            out.update({f"state.{i}.{k}": torch.as_tensor(v).clone() for k, v in entries.items()})
        out["state_keys"] = json.dumps({str(i): sorted(entries) for i, entries in state.items()})
        return out

    ref = reference(torch_side)
    ours, opt = _run_shendu(name, kwargs)
    for i, p in enumerate(ours):
        np.testing.assert_allclose(p.numpy(), ref[f"param.{i}"], rtol=1e-10, atol=1e-12)
    mystate = opt.state_dict()["state"]
    keys = json.loads(ref["state_keys"])
    assert {str(i) for i in mystate} == set(keys)
    for i, names in keys.items():
        assert sorted(mystate[int(i)]) == names
        for k in names:
            np.testing.assert_allclose(np.asarray(mystate[int(i)][k], dtype=float).reshape(-1),
                                       ref[f"state.{i}.{k}"].reshape(-1), rtol=1e-9, atol=1e-12,
                                       err_msg=f"{name} state {k}")


def test_asgd_state_dict_round_trip_continues_identically():
    a, opt_a = _run_shendu("ASGD", dict(lr=0.05, t0=3))
    params = [sd.Tensor(p.numpy().copy(), requires_grad=True) for p in a]
    opt_b = optim.ASGD(params, lr=0.05, t0=3)
    opt_b.load_state_dict(opt_a.state_dict())
    assert isinstance(opt_b.state[params[0]]["eta"], float)
    for opt, ps in ((opt_a, a), (opt_b, params)):
        for p, g in zip(ps, _gradient([p.numpy() for p in ps], 99)):
            p.grad = sd.Tensor(g)
        opt.step()
    for p, q in zip(a, params):
        np.testing.assert_array_equal(p.numpy(), q.numpy())


# ----- LBFGS ----------------------------------------------------------------------------------------
def _rosenbrock(m, xy):
    x, y = xy[0], xy[1]
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


LBFGS_CASES = {
    "fixed_step": dict(lr=0.001, max_iter=20),
    "fixed_step_small_history": dict(lr=0.001, max_iter=10, history_size=3),
    "strong_wolfe": dict(line_search_fn="strong_wolfe"),
    "strong_wolfe_lr": dict(lr=0.5, max_iter=7, history_size=5, line_search_fn="strong_wolfe"),
}


def _run_lbfgs(module, param, opt, calls=3):
    """``calls`` steps of opt on the Rosenbrock function; the iterate and loss after each step."""
    evals = []

    def closure():
        opt.zero_grad()
        loss = _rosenbrock(module, param)
        loss.backward()
        evals.append(float(loss.detach()))
        return loss

    path, first = [], []
    for _ in range(calls):
        first.append(float(opt.step(closure).detach()))
        path.append(param.detach().numpy().copy())
    return {"path": np.array(path), "first": np.array(first), "evals": np.array(evals)}


@pytest.mark.parametrize("case", sorted(LBFGS_CASES))
def test_lbfgs_on_rosenbrock_matches_torch(reference, case):
    kwargs = LBFGS_CASES[case]
    start = np.array([-1.5, 2.0])

    def torch_side(torch):
        with _float64(torch):
            p = torch.tensor(start.copy(), requires_grad=True)
            out = _run_lbfgs(torch, p, torch.optim.LBFGS([p], **kwargs))
        return out

    ref = reference(torch_side)
    p = sd.tensor(start.copy(), requires_grad=True)
    opt = optim.LBFGS([p], **kwargs)
    ours = _run_lbfgs(sd, p, opt)
    assert ours["evals"].shape == ref["evals"].shape, "a different number of closure evaluations"
    np.testing.assert_allclose(ours["evals"], ref["evals"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours["path"], ref["path"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours["first"], ref["first"], rtol=1e-9, atol=1e-12)


def test_lbfgs_with_line_search_solves_rosenbrock():
    p = sd.tensor([-1.5, 2.0], requires_grad=True, dtype=sd.float64)
    opt = optim.LBFGS([p], line_search_fn="strong_wolfe", max_iter=100)

    def closure():
        opt.zero_grad()
        loss = _rosenbrock(sd, p)
        loss.backward()
        return loss

    for _ in range(3):
        opt.step(closure)
    np.testing.assert_allclose(p.numpy(), [1.0, 1.0], atol=1e-4)
    state = opt.state[p]
    assert state["n_iter"] > 0 and state["func_evals"] >= state["n_iter"]


def test_lbfgs_state_dict_round_trip_continues_identically():
    def make():
        p = sd.tensor([-1.5, 2.0], requires_grad=True, dtype=sd.float64)
        return p, optim.LBFGS([p], max_iter=4, history_size=3, line_search_fn="strong_wolfe")

    def closure_for(p, opt):
        def closure():
            opt.zero_grad()
            loss = _rosenbrock(sd, p)
            loss.backward()
            return loss
        return closure

    p, opt = make()
    opt.step(closure_for(p, opt))
    q, opt2 = make()
    q.numpy()[...] = p.numpy()
    opt2.load_state_dict(opt.state_dict())
    assert isinstance(opt2.state[q]["old_dirs"], list) and opt2.state[q]["n_iter"] == opt.state[p]["n_iter"]
    opt.step(closure_for(p, opt))
    opt2.step(closure_for(q, opt2))
    np.testing.assert_array_equal(p.numpy(), q.numpy())


def test_lbfgs_errors():
    p = sd.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match="line_search_fn"):
        optim.LBFGS([p], line_search_fn="armijo")
    with pytest.raises(ValueError, match="parameter groups"):
        optim.LBFGS([{"params": [p]}, {"params": [sd.tensor([1.0], requires_grad=True)]}])
    with pytest.raises(ValueError, match="closure"):
        optim.LBFGS([p]).step()


def test_defaults_match_torch(reference):
    import inspect

    names = ["RAdam", "Adamax", "ASGD", "LBFGS"]

    def args(cls):
        return {k: v for k, v in inspect.signature(cls.__init__).parameters.items() if k not in ("self", "params")}

    def torch_side(torch):
        out = {}
        for name in names:
            theirs = args(getattr(torch.optim, name))
            out[name] = json.dumps({k: repr(theirs[k].default) if k in theirs else None
                                    for k in args(getattr(optim, name))})
        return out

    ref = reference(torch_side)
    for name in names:
        theirs = json.loads(ref[name])
        for key, param in args(getattr(optim, name)).items():
            assert theirs.get(key) is not None, f"{name}.{key} is not a PyTorch argument"
            assert repr(param.default) == theirs[key], f"{name}.{key}"

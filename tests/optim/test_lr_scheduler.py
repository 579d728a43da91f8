"""Learning-rate schedules: the rate sequences equal PyTorch's, state dicts resume, errors are clear."""
import warnings

import numpy as np
import pytest

import shendu as sd
from shendu import optim
from shendu.optim import lr_scheduler as ls

EPOCHS = 30


def _opt(framework, name="SGD", lrs=(0.1, 0.05), **kwargs):
    """An optimizer over two parameter groups with different learning rates.

    ``framework`` is None for shendu; inside ``torch_side`` functions it is the torch module.
    """
    if framework is None:
        groups = [{"params": [sd.Tensor(np.zeros(2), requires_grad=True)], "lr": lr} for lr in lrs]
        return getattr(optim, name)(groups, **kwargs)
    groups = [{"params": [framework.zeros(2, requires_grad=True)], "lr": lr} for lr in lrs]
    return getattr(framework.optim, name)(groups, **kwargs)


def _trace(opt, sched, steps=EPOCHS, metrics=None):
    """The rates (and momenta) after construction and after each of ``steps`` epochs."""
    def snap():
        row = list(sched.get_last_lr()) + [g["lr"] for g in opt.param_groups]
        for g in opt.param_groups:
            if "betas" in g:
                row.append(g["betas"][0])
            elif "momentum" in g:
                row.append(g["momentum"])
        return [float(v) for v in row]

    rows = [snap()]
    for t in range(steps):
        opt.step()
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[t])
        rows.append(snap())
    return np.array(rows)


# (scheduler name, its arguments, optimizer name, optimizer keyword arguments, number of steps)
SCHEDULES = [
    ("StepLR", dict(step_size=7, gamma=0.5), "SGD", {}, EPOCHS),
    ("MultiStepLR", dict(milestones=[3, 10, 10, 22], gamma=0.3), "SGD", {}, EPOCHS),
    ("ExponentialLR", dict(gamma=0.9), "SGD", {}, EPOCHS),
    ("CosineAnnealingLR", dict(T_max=10), "SGD", {}, EPOCHS),
    ("CosineAnnealingLR", dict(T_max=12, eta_min=0.001), "Adam", {}, EPOCHS),
    ("LinearLR", dict(), "SGD", {}, EPOCHS),
    ("LinearLR", dict(start_factor=0.05, end_factor=0.5, total_iters=12), "SGD", {}, EPOCHS),
    ("ConstantLR", dict(factor=0.5, total_iters=4), "SGD", {}, EPOCHS),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=EPOCHS + 1), "SGD", dict(momentum=0.9), EPOCHS),
    ("OneCycleLR", dict(max_lr=[0.5, 0.2], epochs=5, steps_per_epoch=6, anneal_strategy="linear",
                        pct_start=0.25), "Adam", {}, EPOCHS - 1),
    ("OneCycleLR", dict(max_lr=0.3, total_steps=EPOCHS, three_phase=True, div_factor=10.0,
                        base_momentum=0.8, max_momentum=0.9), "SGD", dict(momentum=0.9), EPOCHS - 1),
    ("OneCycleLR", dict(max_lr=0.3, total_steps=EPOCHS, cycle_momentum=False), "Adagrad", {}, EPOCHS - 1),
]


@pytest.mark.parametrize("name,args,opt_name,opt_kwargs,steps", SCHEDULES,
                         ids=[f"{s[0]}-{i}" for i, s in enumerate(SCHEDULES)])
def test_schedule_matches_torch(reference, name, args, opt_name, opt_kwargs, steps):
    def torch_side(torch):
        topt = _opt(torch, opt_name, **opt_kwargs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            trace = _trace(topt, getattr(torch.optim.lr_scheduler, name)(topt, **args), steps)
        return {"trace": trace, "initial_lr": np.array([g["initial_lr"] for g in topt.param_groups])}

    ref = reference(torch_side)
    opt = _opt(None, opt_name, **opt_kwargs)
    ours = _trace(opt, getattr(ls, name)(opt, **args), steps)
    np.testing.assert_allclose(ours, ref["trace"], rtol=1e-14, atol=0)
    assert [g["initial_lr"] for g in opt.param_groups] == ref["initial_lr"].tolist()


LAMBDAS = [("LambdaLR", lambda e: 0.95 ** e / (1 + e % 3)), ("MultiplicativeLR", lambda e: 0.9)]
PER_GROUP_LAMBDAS = [lambda e: 1 / (e + 1), lambda e: 0.5]


def test_lambda_and_multiplicative_match_torch(reference):
    def torch_side(torch):
        out = {}
        for name, fn in LAMBDAS:
            topt = _opt(torch)
            out[name] = _trace(topt, getattr(torch.optim.lr_scheduler, name)(topt, fn))
        topt = _opt(torch)
        out["per_group"] = _trace(topt, torch.optim.lr_scheduler.LambdaLR(topt, PER_GROUP_LAMBDAS))
        return out

    ref = reference(torch_side)
    for name, fn in LAMBDAS:
        opt = _opt(None)
        np.testing.assert_allclose(_trace(opt, getattr(ls, name)(opt, fn)), ref[name], rtol=1e-14)
    opt = _opt(None)
    np.testing.assert_allclose(_trace(opt, ls.LambdaLR(opt, PER_GROUP_LAMBDAS)), ref["per_group"], rtol=1e-14)


def _sequential(mod, opt):
    """Warm-up, cosine, then steps, from either framework's scheduler module."""
    warm = mod.LinearLR(opt, start_factor=0.1, total_iters=5)
    cos = mod.CosineAnnealingLR(opt, T_max=10, eta_min=0.001)
    step = mod.StepLR(opt, step_size=3, gamma=0.5)
    return mod.SequentialLR(opt, [warm, cos, step], milestones=[5, 15])


def test_sequential_lr_matches_torch(reference):
    def torch_side(torch):
        topt = _opt(torch)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return {"trace": _trace(topt, _sequential(torch.optim.lr_scheduler, topt))}

    ref = reference(torch_side)
    opt = _opt(None)
    np.testing.assert_allclose(_trace(opt, _sequential(ls, opt)), ref["trace"], rtol=1e-14)


METRICS = [1.0, 0.9, 0.95, 0.95, 0.96, 0.9, 0.89995, 0.91, 0.92, 0.93, 0.8, 0.85, 0.86, 0.87, 0.88,
           0.89, 0.9, 0.91, 0.79, 0.80, 0.81, 0.82, 0.83, 0.84, 0.85, 0.86, 0.87, 0.88, 0.89, 0.9]


@pytest.mark.parametrize("kwargs", [
    dict(patience=2),
    dict(patience=1, cooldown=2, factor=0.5),
    dict(patience=0, threshold=0.05, threshold_mode="abs", min_lr=[0.01, 0.002]),
    dict(mode="max", patience=1, factor=0.2, min_lr=1e-3),
    dict(mode="max", patience=2, threshold_mode="abs", cooldown=1, eps=0.02),
], ids=["rel", "cooldown", "abs-minlr", "max", "max-abs-eps"])
def test_reduce_on_plateau_matches_torch(reference, kwargs):
    def torch_side(torch):
        topt = _opt(torch)
        return {"trace": _trace(topt, torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kwargs), metrics=METRICS)}

    ref = reference(torch_side)
    opt = _opt(None)
    ours = _trace(opt, ls.ReduceLROnPlateau(opt, **kwargs), metrics=METRICS)
    np.testing.assert_allclose(ours, ref["trace"], rtol=1e-14)
    assert ours[-1, 0] < ours[0, 0]  # the sequence did reduce the rate


def test_reduce_on_plateau_defaults():
    opt = _opt(None)
    s = ls.ReduceLROnPlateau(opt)
    assert (s.mode, s.factor, s.patience, s.threshold, s.threshold_mode, s.cooldown, s.eps) == \
        ("min", 0.1, 10, 1e-4, "rel", 0, 1e-8)
    for _ in range(11):
        s.step(sd.tensor(1.0))  # a one-element Tensor works as the metric
    assert s.get_last_lr() == [0.1, 0.05]
    s.step(1.0)
    np.testing.assert_allclose(s.get_last_lr(), [0.01, 0.005])


@pytest.mark.parametrize("make", [
    lambda o: ls.StepLR(o, step_size=4, gamma=0.5),
    lambda o: ls.CosineAnnealingLR(o, T_max=7),
    lambda o: ls.OneCycleLR(o, max_lr=1.0, total_steps=EPOCHS + 1),
    lambda o: ls.LinearLR(o, start_factor=0.2, total_iters=8),
    lambda o: ls.SequentialLR(o, [ls.LinearLR(o, start_factor=0.1, total_iters=3),
                                  ls.ExponentialLR(o, gamma=0.9)], milestones=[3]),
    lambda o: ls.LambdaLR(o, lambda e: 1.0 / (1 + e)),
], ids=["step", "cosine", "onecycle", "linear", "sequential", "lambda"])
def test_state_dict_round_trip_resumes_identically(make):
    opt = _opt(None, momentum=0.9)
    straight = _trace(opt, make(opt))
    opt = _opt(None, momentum=0.9)
    sched = make(opt)
    first = _trace(opt, sched, steps=12)
    saved_opt, saved_sched = opt.state_dict(), sched.state_dict()
    assert "optimizer" not in saved_sched
    opt2 = _opt(None, momentum=0.9)
    sched2 = make(opt2)
    opt2.load_state_dict(saved_opt)
    sched2.load_state_dict(saved_sched)
    rest = _trace(opt2, sched2, steps=EPOCHS - 12)
    np.testing.assert_array_equal(np.vstack([first, rest[1:]]), straight)


def test_plateau_state_dict_round_trip():
    opt = _opt(None)
    straight = _trace(opt, ls.ReduceLROnPlateau(opt, patience=1), metrics=METRICS)
    opt = _opt(None)
    sched = ls.ReduceLROnPlateau(opt, patience=1)
    first = _trace(opt, sched, steps=10, metrics=METRICS)
    opt2 = _opt(None)
    sched2 = ls.ReduceLROnPlateau(opt2, patience=1)
    opt2.load_state_dict(opt.state_dict())
    sched2.load_state_dict(sched.state_dict())
    rest = _trace(opt2, sched2, steps=EPOCHS - 10, metrics=METRICS[10:])
    np.testing.assert_array_equal(np.vstack([first, rest[1:]]), straight)


def test_construction_semantics():
    opt = _opt(None)
    s = ls.StepLR(opt, step_size=2)
    assert s.last_epoch == 0 and s.base_lrs == [0.1, 0.05]
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.05]
    with pytest.raises(KeyError, match="initial_lr"):
        ls.StepLR(_opt(None), step_size=2, last_epoch=5)
    resumed = ls.StepLR(opt, step_size=2, last_epoch=3)  # initial_lr present: resume at epoch 4
    assert resumed.last_epoch == 4


def test_warns_when_scheduler_steps_before_optimizer():
    opt = _opt(None)
    s = ls.ExponentialLR(opt, gamma=0.5)
    with pytest.warns(UserWarning, match="before optimizer.step"):
        s.step()
    opt = _opt(None)
    s = ls.ExponentialLR(opt, gamma=0.5)
    opt.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s.step()


def test_errors():
    opt = _opt(None)
    with pytest.raises(TypeError, match="optimizer"):
        ls.StepLR("not an optimizer", step_size=2)
    with pytest.raises(ValueError, match="factor"):
        ls.ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="mode"):
        ls.ReduceLROnPlateau(opt, mode="up")
    with pytest.raises(ValueError, match="total_steps"):
        ls.OneCycleLR(opt, max_lr=0.1)
    with pytest.raises(ValueError, match="cycle_momentum"):
        ls.OneCycleLR(_opt(None, "Adadelta"), max_lr=0.1, total_steps=10)
    one = _opt(None)
    s = ls.OneCycleLR(one, max_lr=0.1, total_steps=3)
    for _ in range(3):
        one.step()
        s.step()
    with pytest.raises(ValueError, match="total_steps"):
        s.step()
    with pytest.raises(ValueError, match="milestones"):
        ls.SequentialLR(opt, [ls.StepLR(opt, 2), ls.StepLR(opt, 3)], milestones=[])
    with pytest.raises(ValueError, match="start_factor"):
        ls.LinearLR(opt, start_factor=0)

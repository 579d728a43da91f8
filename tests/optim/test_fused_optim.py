"""The fused (flat-buffer) optimizer path gives the per-parameter path's numbers exactly."""
import numpy as np
import pytest

import shendu as sd
from shendu import optim

SHAPES = [(3, 4), (4,), (2, 2, 2), (1,)]
CASES = [
    ("Adam", {}), ("Adam", dict(amsgrad=True, weight_decay=0.1)), ("Adam", dict(maximize=True)),
    ("AdamW", {}), ("SGD", {}), ("SGD", dict(momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("SGD", dict(momentum=0.9, dampening=0.3)), ("RMSprop", {}),
    ("RMSprop", dict(momentum=0.5, centered=True, weight_decay=0.1)),
]


def _params(seed=0):
    rng = np.random.default_rng(seed)
    return [sd.Tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True) for s in SHAPES]


def _train(name, kwargs, foreach, steps=6, missing=None, reload_at=None):
    params = _params()
    rng = np.random.default_rng(1)
    opt = getattr(optim, name)(params, lr=0.01, foreach=foreach, **kwargs)
    for k in range(steps):
        for i, p in enumerate(params):
            g = rng.standard_normal(p.shape).astype(np.float32)
            p.grad = None if (missing is not None and (k, i) == missing) else sd.Tensor(g)
        opt.step()
        if k == reload_at:
            opt.load_state_dict(opt.state_dict())
    return [p.array.copy() for p in params], opt


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_fused_matches_per_parameter_bit_for_bit(name, kwargs):
    ref, ref_opt = _train(name, kwargs, foreach=False)
    got, opt = _train(name, kwargs, foreach=None)
    assert opt._flat_groups[0] is not None               # the flat path really ran
    assert not getattr(ref_opt, "_flat_groups", None)
    for a, b in zip(ref, got):
        np.testing.assert_array_equal(a, b)
    for p_ref, p in zip(ref_opt.param_groups[0]["params"], opt.param_groups[0]["params"]):
        for key, value in ref_opt.state[p_ref].items():
            np.testing.assert_array_equal(np.asarray(value), np.asarray(opt.state[p][key]))


@pytest.mark.parametrize("name,kwargs", [CASES[1], CASES[5], CASES[8]])
def test_missing_gradient_and_reloaded_state_fall_back_and_stay_identical(name, kwargs):
    for extra in (dict(missing=(2, 1)), dict(reload_at=2)):
        ref, _ = _train(name, kwargs, foreach=False, **extra)
        got, _ = _train(name, kwargs, foreach=None, **extra)
        for a, b in zip(ref, got):
            np.testing.assert_array_equal(a, b)


def test_parameters_become_views_of_one_flat_buffer_and_keep_their_identity():
    params = _params()
    opt = optim.Adam(params, lr=0.1)
    for p in params:
        p.grad = sd.Tensor(np.ones(p.shape, np.float32))
    opt.step()
    flat = opt._flat_groups[0]
    assert all(p.array.base is flat.param for p in params)
    assert opt.param_groups[0]["params"] == params
    assert all(opt.state[p]["exp_avg"].base is flat.state["exp_avg"] for p in params)
    snap = opt.state_dict()                               # a snapshot, not views
    opt.step()
    assert not np.array_equal(snap["state"][0]["exp_avg"], opt.state[params[0]]["exp_avg"])


def test_an_array_replaced_from_outside_is_packed_again():
    params = _params()
    opt = optim.SGD(params, lr=0.5)
    for p in params:
        p.grad = sd.Tensor(np.ones(p.shape, np.float32))
    opt.step()
    params[0].data = np.zeros(SHAPES[0], np.float32)     # a new array, not the flat window
    opt.step()
    np.testing.assert_array_equal(params[0].array, np.full(SHAPES[0], -0.5, np.float32))
    assert params[0].array.base is opt._flat_groups[0].param


def test_mixed_dtypes_and_single_parameters_use_the_per_parameter_path():
    a = sd.Tensor(np.ones(3, np.float32), requires_grad=True)
    b = sd.Tensor(np.ones(3, np.float64), requires_grad=True)
    opt = optim.Adam([a, b], lr=0.1)
    a.grad, b.grad = sd.Tensor(np.ones(3, np.float32)), sd.Tensor(np.ones(3))
    arr = a.array
    opt.step()
    assert a.array is arr and opt._flat_groups[0] is None
    assert a.array.dtype == np.float32 and b.array.dtype == np.float64


def test_large_parameters_stay_outside_the_flat_buffer_with_the_same_numbers():
    def train(foreach):
        rng = np.random.default_rng(0)
        params = [sd.Tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True)
                  for s in [(200, 200), (200,), (10, 200), (10,)]]
        big = params[0].array
        opt = optim.Adam(params, lr=0.01, foreach=foreach)
        for _ in range(3):
            for p in params:
                p.grad = sd.Tensor(rng.standard_normal(p.shape).astype(np.float32))
            opt.step()
        assert params[0].array is big                        # updated in place, one by one
        return params, opt

    ref, _ = train(False)
    got, opt = train(None)
    flat = opt._flat_groups[0]
    assert flat.others == [got[0]] and all(p.array.base is flat.param for p in got[1:])
    for a, b in zip(ref, got):
        np.testing.assert_array_equal(a.array, b.array)

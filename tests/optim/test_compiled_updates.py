"""The compiled (numba) Adam/AdamW, SGD and RMSprop updates against the NumPy code they replace: the
same parameters and state bit for bit, over several steps, in float32 and float64, on the flat (fused)
path and the per-parameter one, with weight decay (both kinds for Adam), maximize, amsgrad, both
branches of the lerp, SGD's momentum, dampening and Nesterov, RMSprop's momentum and centering, and
NaN, ±∞ and −0 among the gradients; arrays they do not take fall back to NumPy, and NumPy alone is
still a complete install."""
import os
import subprocess
import sys

import numpy as np
import pytest

import shendu as sd
import shendu.backend as backend
from conftest import count_kernel_calls, require
from shendu import nn, optim
from shendu.optim import optimizer as optimizer_module

# a large parameter (updated on its own), small ones (one flat array) and a 1-element one
SHAPES = [(300, 200), (4,), (3, 5), (40000,), (1,)]
CASES = [
    ("Adam", {}),
    ("Adam", dict(amsgrad=True, weight_decay=0.1)),
    ("Adam", dict(maximize=True, weight_decay=0.1)),
    ("Adam", dict(betas=(0.3, 0.9), eps=1e-3)),           # 1 − β₁ ≥ ½: the lerp's other branch
    ("AdamW", {}),
    ("AdamW", dict(amsgrad=True, maximize=True, weight_decay=0.3)),
    ("Adam", dict(decoupled_weight_decay=True, weight_decay=0.05, foreach=False)),
    ("SGD", {}),
    ("SGD", dict(momentum=0.9)),
    ("SGD", dict(momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("SGD", dict(momentum=0.5, dampening=0.3, maximize=True, weight_decay=0.1)),
    ("SGD", dict(momentum=0.9, foreach=False)),
    ("RMSprop", {}),
    ("RMSprop", dict(momentum=0.9, weight_decay=0.1)),
    ("RMSprop", dict(centered=True, alpha=0.3, maximize=True)),       # 1 − α ≥ ½: the lerp's other branch
    ("RMSprop", dict(centered=True, momentum=0.5, eps=1e-3, foreach=False)),
]
KERNELS = ("adam_update", "rmsprop_update", "sgd_update")
KERNEL_OF = {"Adam": "adam_update", "AdamW": "adam_update", "SGD": "sgd_update", "RMSprop": "rmsprop_update"}


@pytest.fixture
def calls(monkeypatch):
    """Counts the kernels' calls (proves the compiled path ran); restores the switch afterwards."""
    require("numba")
    before = backend.compiled()
    backend.set_compiled(True)
    from shendu.optim import _compiled
    yield count_kernel_calls(monkeypatch, _compiled, KERNELS)
    backend.set_compiled(before)


def _train(name, kwargs, dtype, compiled_on, steps=6, specials=True):
    """Parameters and every state array after ``steps`` updates with seeded gradients."""
    backend.set_compiled(compiled_on)
    rng = np.random.default_rng(0)
    params = [sd.Tensor(rng.standard_normal(s).astype(dtype), requires_grad=True) for s in SHAPES]
    opt = getattr(optim, name)(params, lr=0.01, **kwargs)
    for k in range(steps):
        for p in params:
            g = rng.standard_normal(p.shape).astype(dtype)
            if specials and k == 2 and g.size >= 4:
                g.flat[:4] = [np.nan, np.inf, -np.inf, -0.0]
            p.grad = sd.Tensor(g)
        with np.errstate(invalid="ignore"):
            opt.step()
    out = [p.array.copy() for p in params]
    for p in params:
        out += [v.copy() for _, v in sorted(opt.state[p].items()) if isinstance(v, np.ndarray)]
    return out


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_compiled_update_equals_numpy_bit_for_bit(calls, name, kwargs, dtype):
    kernel = KERNEL_OF[name]
    ref = _train(name, kwargs, dtype, compiled_on=False)
    assert calls[kernel] == 0
    got = _train(name, kwargs, dtype, compiled_on=True)
    assert calls[kernel] > 0
    assert len(ref) == len(got)
    for a, b in zip(ref, got):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)        # NaN where NaN, the same bits elsewhere


def test_each_array_takes_one_kernel_call(calls):
    """Fused group: the large weight alone, the small ones as one flat array: two calls a step."""
    model = nn.Sequential(nn.Linear(300, 200), nn.ReLU(), nn.Linear(200, 3))
    opt = optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(3):
        opt.zero_grad()
        model(sd.randn(4, 300)).sum().backward()
        opt.step()
    assert calls["adam_update"] == 6


def test_arrays_the_kernel_does_not_take_use_numpy(calls):
    """A parameter whose array is not C-contiguous (a transposed view) takes the NumPy code, with the
    same result as with the kernel switched off."""
    def run(on):
        backend.set_compiled(on)
        rng = np.random.default_rng(3)
        p = sd.Tensor(np.asfortranarray(rng.standard_normal((40000, 2)).astype(np.float32)),
                      requires_grad=True)
        opt = optim.Adam([p], lr=0.1, foreach=False)
        for _ in range(3):
            p.grad = sd.Tensor(np.asfortranarray(rng.standard_normal((40000, 2)).astype(np.float32)))
            opt.step()
        return p.array.copy()
    ref = run(False)
    got = run(True)
    assert calls["adam_update"] == 0
    np.testing.assert_array_equal(ref, got)


def test_half_precision_uses_numpy(calls):
    p = sd.Tensor(np.ones(40000, np.float16), requires_grad=True)
    opt = optim.Adam([p], lr=0.1)
    p.grad = sd.Tensor(np.ones(40000, np.float16))
    opt.step()
    assert calls["adam_update"] == 0
    assert p.array.dtype == np.float16 and np.all(p.array < 1)


def test_keras_adam_runs_the_kernel(calls):
    from shendu.keras import Sequential, layers

    m = Sequential([layers.Input((8,)), layers.Dense(4)])
    m.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(0)
    m.fit(rng.random((16, 8), dtype=np.float32), rng.random((16, 4), dtype=np.float32), epochs=1,
          batch_size=8, verbose=0)
    assert calls["adam_update"] == 2


def _python(code):
    env = dict(os.environ, SHENDU_COMPILED="1",
               PYTHONPATH=os.pathsep.join([os.path.join(os.path.dirname(__file__), "..", "..", "src"),
                                           os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)


def test_numpy_alone_is_complete():
    """With numba unimportable, the optimizers run the NumPy code with the switch on, and say nothing."""
    code = ("import sys; sys.modules['numba'] = None\n"
            "import numpy as np, shendu as sd, shendu.nn as nn, shendu.optim as optim\n"
            "from shendu.optim import optimizer\n"
            "m = nn.Linear(300, 200); opt = optim.Adam(m.parameters())\n"
            "m(sd.randn(2, 300)).sum().backward(); opt.step()\n"
            "optim.SGD(m.parameters(), lr=0.1, momentum=0.9).step()\n"
            "optim.RMSprop(m.parameters(), momentum=0.9, centered=True).step()\n"
            "assert optimizer._compiled_kernels() is None\n"
            "print('ok')\n")
    out = _python(code)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_an_adam_step_does_not_import_numba_when_switched_off():
    code = ("import sys, shendu as sd, shendu.optim as optim, shendu.backend as b\n"
            "b.set_compiled(False)\n"
            "import numpy as np\n"
            "p = sd.Tensor(np.ones(40000, np.float32), requires_grad=True); opt = optim.Adam([p])\n"
            "p.grad = sd.Tensor(np.ones(40000, np.float32)); opt.step()\n"
            "print('numba' in sys.modules)\n")
    out = _python(code)
    assert out.returncode == 0 and out.stdout.strip() == "False", out.stderr


def test_module_state_is_the_loaded_kernels(calls):
    assert optimizer_module._compiled_kernels() is not None
    backend.set_compiled(False)
    assert optimizer_module._compiled_kernels() is None


def test_sgd_momentum_buffer_from_a_state_dict_in_another_layout_uses_numpy(calls):
    """A momentum buffer loaded as a Fortran-ordered array is not the kernel's: NumPy takes that step."""
    p = sd.Tensor(np.ones((300, 200), np.float32), requires_grad=True)
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad = sd.Tensor(np.ones((300, 200), np.float32))
    opt.step()
    assert calls["sgd_update"] == 1
    opt.state[p]["momentum_buffer"] = np.asfortranarray(opt.state[p]["momentum_buffer"])
    opt.step()
    assert calls["sgd_update"] == 1
    np.testing.assert_allclose(p.array, 1 - 0.1 - 0.1 * 1.9, rtol=1e-6)

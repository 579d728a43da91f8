"""The compiled (numba) LSTM/GRU kernels against the NumPy path they replace: same outputs, same
gradients, the switch, and NumPy alone still a complete install."""
import os
import subprocess
import sys

import numpy as np
import pytest

import shendu as sd
import shendu.backend as backend
import shendu.nn as nn
from conftest import count_kernel_calls, require
from shendu.nn.masked_rnn import masked_rnn
from shendu.ops import rnn as ops_rnn

TOL = {"float32": dict(rtol=1e-6, atol=1e-7), "float64": dict(rtol=1e-13, atol=1e-15)}
KERNELS = ("lstm_cell", "lstm_step_backward", "gru_pre", "gru_mid", "gru_out", "gru_step_backward")


@pytest.fixture
def compiled(monkeypatch):
    """The kernels module; restores the switch afterwards. The loop's kernels are what is tested
    here, so a float32 LSTM does not go to oneDNN's LSTM primitive (tests/ops/test_lstm_dnnl.py)."""
    require("numba")
    monkeypatch.setattr(ops_rnn._dnnl_rnn, "forward", lambda *args: None)
    before = backend.compiled()
    backend.set_compiled(True)
    assert ops_rnn.compiled_status().startswith("on (numba ")
    from shendu.ops import _compiled
    yield _compiled
    backend.set_compiled(before)


@pytest.fixture
def calls(compiled, monkeypatch):
    """Counts calls of each kernel (proves the compiled path ran)."""
    return count_kernel_calls(monkeypatch, compiled, KERNELS)


def _run(make, x, states, dtype, compiled_on, train=True):
    """Outputs and every gradient of one forward + backward, with the kernels on or off."""
    backend.set_compiled(compiled_on)
    sd.manual_seed(0)
    m = make()
    if dtype == "float64":
        m = m.double()
    xt = sd.tensor(x, requires_grad=True)
    st = None
    if states is not None:
        st = tuple(sd.tensor(s, requires_grad=True) for s in states)
        st = st if len(st) > 1 else st[0]
    if not train:
        with sd.no_grad():
            out, hn = m(xt, st)
        return [out.numpy()] + [h.numpy() for h in (hn if isinstance(hn, tuple) else (hn,))]
    out, hn = m(xt, st)
    hn = hn if isinstance(hn, tuple) else (hn,)
    rng = np.random.default_rng(5)
    loss = (out * sd.tensor(rng.standard_normal(out.shape).astype(dtype))).sum()
    for h in hn:
        loss = loss + (h * sd.tensor(rng.standard_normal(h.shape).astype(dtype))).sum()
    loss.backward()
    res = [out.numpy()] + [h.numpy() for h in hn] + [xt.grad.numpy()]
    res += [p.grad.numpy() for p in m.parameters()]
    if st is not None:
        res += [s.grad.numpy() for s in (st if isinstance(st, tuple) else (st,))]
    return res


def _assert_same(a, b, dtype):
    assert len(a) == len(b)
    for u, v in zip(a, b):
        np.testing.assert_allclose(u, v, **TOL[dtype])


CASES = [
    # (kind, layers, bidirectional, batch_first, bias, states given, T, N)
    ("LSTM", 1, False, False, True, False, 7, 3),
    ("LSTM", 2, True, True, True, True, 6, 4),
    ("LSTM", 1, False, True, False, True, 5, 1),
    ("GRU", 1, False, False, True, False, 7, 3),
    ("GRU", 2, True, True, True, True, 6, 4),
    ("GRU", 1, False, True, False, True, 5, 1),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(map(str, c)))
def test_compiled_equals_numpy_outputs_and_gradients(calls, case, dtype):
    kind, layers, bi, bf, bias, given, T, N = case
    I, H = 5, 6
    rng = np.random.default_rng(1)
    shape = (N, T, I) if bf else (T, N, I)
    x = rng.standard_normal(shape).astype(dtype)
    D = 2 if bi else 1
    states = None
    if given:
        states = [rng.standard_normal((layers * D, N, H)).astype(dtype) for _ in range(2 if kind == "LSTM" else 1)]

    def make():
        return getattr(nn, kind)(I, H, num_layers=layers, bias=bias, batch_first=bf, bidirectional=bi)

    ref = _run(make, x, states, dtype, False)
    assert sum(calls.values()) == 0
    got = _run(make, x, states, dtype, True)
    fwd, bwd = ("lstm_cell", "lstm_step_backward") if kind == "LSTM" else ("gru_out", "gru_step_backward")
    assert calls[fwd] == T * layers * D and calls[bwd] == T * layers * D
    _assert_same(ref, got, dtype)
    # inference (no_grad): the same kernels, nothing saved
    _assert_same(_run(make, x, states, dtype, False, train=False), _run(make, x, states, dtype, True, train=False),
                 dtype)


@pytest.mark.parametrize("kind", ["LSTMCell", "GRUCell"])
def test_compiled_cells_equal_numpy(calls, kind):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 3)).astype(np.float32)
    res = []
    for on in (False, True):
        backend.set_compiled(on)
        sd.manual_seed(0)
        cell = getattr(nn, kind)(3, 5)
        xt = sd.tensor(x, requires_grad=True)
        out = cell(xt)
        h = out[0] if isinstance(out, tuple) else out
        (h * h).sum().backward()
        res.append([h.numpy(), xt.grad.numpy()] + [p.grad.numpy() for p in cell.parameters()])
    assert sum(calls.values()) > 0
    _assert_same(res[0], res[1], "float32")


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_compiled_masked_rnn_equals_numpy(calls, kind):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 6, 4)).astype(np.float32)
    mask = np.ones((3, 6), dtype=bool)
    mask[1, 4:] = False
    mask[2, 2:] = False
    res = []
    for on in (False, True):
        backend.set_compiled(on)
        sd.manual_seed(0)
        m = getattr(nn, kind)(4, 5, batch_first=True)
        xt = sd.tensor(x, requires_grad=True)
        out, _ = masked_rnn(m, xt, mask=mask)
        (out * out).sum().backward()
        res.append([out.numpy(), xt.grad.numpy()] + [p.grad.numpy() for p in m.parameters()])
    assert sum(calls.values()) > 0
    _assert_same(res[0], res[1], "float32")


def test_compiled_long_sequence_training_stays_equal(compiled):
    """Many steps and a few optimizer updates: no drift between the paths."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((40, 8, 6)).astype(np.float32)
    finals = []
    for on in (False, True):
        backend.set_compiled(on)
        sd.manual_seed(0)
        m = nn.LSTM(6, 16)
        opt = sd.optim.Adam(m.parameters(), lr=1e-2)
        for _ in range(3):
            opt.zero_grad()
            out, _ = m(sd.tensor(x))
            (out[-1] ** 2).mean().backward()
            opt.step()
        finals.append([p.numpy().copy() for p in m.parameters()])
    _assert_same(finals[0], finals[1], "float32")


def test_switch_off_uses_numpy_path(calls):
    backend.set_compiled(False)
    assert not backend.compiled()
    assert ops_rnn.compiled_status() == "off (switched off)"
    m = nn.GRU(3, 4)
    out, _ = m(sd.randn(5, 2, 3))
    out.sum().backward()
    assert sum(calls.values()) == 0


def test_set_compiled_returns_previous(compiled):
    assert backend.set_compiled(False) is True
    assert backend.set_compiled(True) is False


def test_env_var_turns_default_off(monkeypatch):
    monkeypatch.setattr(backend, "_COMPILED", None)
    monkeypatch.setenv("SHENDU_COMPILED", "0")
    assert backend.compiled() is False
    monkeypatch.setattr(backend, "_COMPILED", None)
    monkeypatch.setenv("SHENDU_COMPILED", "1")
    assert backend.compiled() is True


def test_other_dtypes_take_numpy_path(compiled):
    assert ops_rnn._kernels(np.float16) is None
    assert ops_rnn._kernels(np.float32) is compiled


def test_jit_without_cache_when_no_cache_dir(compiled, monkeypatch):
    real = compiled.numba.njit

    def njit(**kw):
        if kw.get("cache"):
            raise RuntimeError("cannot cache function: no locator available for file")
        return real(**kw)
    monkeypatch.setattr(compiled.numba, "njit", njit)

    def add_one(a):
        for i in range(a.size):
            a[i] += 1.0
    f = compiled._jit(add_one)
    a = np.zeros(3)
    f(a)
    np.testing.assert_array_equal(a, 1.0)


def _python(code, **env):
    e = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.join(os.path.dirname(__file__), "..", "..", "src"),
                                                     os.environ.get("PYTHONPATH", "")]), **env)
    e.pop("SHENDU_COMPILED", None)
    return subprocess.run([sys.executable, "-c", code], env=e, capture_output=True, text=True, timeout=120)


def test_import_shendu_does_not_import_numba():
    r = _python("import sys, shendu, shendu.nn, shendu.ops.rnn; print('numba' in sys.modules)")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"


def test_numpy_alone_is_complete():
    """With numba unimportable the recurrent layers run (NumPy path) and say so."""
    code = ("import sys; sys.modules['numba'] = None\n"
            "import shendu as sd, shendu.nn as nn\n"
            "from shendu.ops.rnn import compiled_status\n"
            "out, _ = nn.LSTM(3, 4)(sd.randn(5, 2, 3)); out.sum().backward()\n"
            "out, _ = nn.GRU(3, 4)(sd.randn(5, 2, 3)); out.sum().backward()\n"
            "print(compiled_status())\n")
    r = _python(code)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "off (numba not installed)"


def test_set_compiled_without_numba_raises(monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)
    before = backend.compiled()
    with pytest.raises(ImportError, match=r"shendu\[fast\]"):
        backend.set_compiled(True)
    assert backend.compiled() == before


def test_warm_up_reports_status(compiled):
    assert ops_rnn.compiled_status(warm_up=True) == f"on (numba {compiled.VERSION})"
    with sd.no_grad():                                     # also from inside no_grad
        assert ops_rnn.compiled_status(warm_up=True).startswith("on")


@pytest.mark.parametrize("hidden", [8, 6])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_one_sample_inference_kernel_equals_numpy(compiled, monkeypatch, hidden, dtype):
    """Batch-1 inference fuses W_hh h_{t−1} into the pre-activation kernel (``lstm_pre_mv``): over a
    long sequence it stays within float rounding of the NumPy path."""
    used = []
    fn = compiled.lstm_pre_mv
    monkeypatch.setattr(compiled, "lstm_pre_mv", lambda *a: (used.append(1), fn(*a)))
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 60, 5)).astype(dtype)
    h0 = rng.standard_normal((1, 1, hidden)).astype(dtype)
    c0 = rng.standard_normal((1, 1, hidden)).astype(dtype)

    def make():
        return nn.LSTM(5, hidden, batch_first=True)

    ref = _run(make, x, (h0, c0), dtype, False, train=False)
    assert not used
    got = _run(make, x, (h0, c0), dtype, True, train=False)
    assert len(used) == 60
    _assert_same(ref, got, dtype)

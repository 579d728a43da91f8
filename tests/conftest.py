"""Shared test helpers.

Optional dependencies (torch for parity tests, the Debian data sets, matplotlib, ...) are
imported through :func:`require`. Outside CI a missing one skips the test; with
``SHENDU_REQUIRE_TORCH=1`` (torch), ``SHENDU_REQUIRE_DATA=1`` (data files) or
``SHENDU_REQUIRE_OPTIONAL=1`` (any other extra) set, as ``.ci/run`` does, it fails instead,
so CI can never pass by skipping.

PyTorch parity tests go through the :func:`reference` fixture, so they also run where
torch is not installed: the torch side of a test is a function ``torch_side(torch) -> dict``
whose arrays are recorded under ``tests/references/`` (small safetensors files). With torch
installed the function runs live and is checked against the recording (a stale recording
fails); without torch the recording is read back. To (re)record after changing a test::

    SHENDU_RECORD_REFERENCES=1 python -m pytest -m "slow or not slow"

``SHENDU_NO_TORCH=1`` makes the suite behave as if torch were not installed.
"""
import importlib
import json
import os
import re
import struct
from pathlib import Path

import numpy as np
import pytest

_FLAGS = {"torch": "SHENDU_REQUIRE_TORCH"}


def _strict(flag):
    return os.environ.get(flag, "") not in ("", "0") or os.environ.get("CI", "") == "true"


def _import(module_name):
    if module_name.split(".")[0] == "torch" and os.environ.get("SHENDU_NO_TORCH", "") not in ("", "0"):
        raise ImportError("SHENDU_NO_TORCH is set")
    return importlib.import_module(module_name)


def require(module_name):
    """Import ``module_name`` or skip (fail under CI) when it is not installed."""
    try:
        return _import(module_name)
    except ImportError as exc:
        flag = _FLAGS.get(module_name.split(".")[0], "SHENDU_REQUIRE_OPTIONAL")
        if _strict(flag):
            pytest.fail(f"{module_name} is required here ({flag} is set) but cannot be imported: {exc}")
        pytest.skip(f"{module_name} not installed")


def require_onednn():
    """oneDNN's sgemm (``shendu[fast]``, a shared library, not a module): skip, or fail under CI."""
    from shendu import _gemm

    if not _gemm.load():
        if _strict("SHENDU_REQUIRE_OPTIONAL"):
            pytest.fail("oneDNN (pip install 'shendu[fast]') is required here (SHENDU_REQUIRE_OPTIONAL is "
                        "set) but does not load")
        pytest.skip("oneDNN not installed")


def count_kernel_calls(monkeypatch, module, names):
    """A dict name -> how many times each compiled kernel ``module.<name>`` was called (proves the
    compiled path ran); each kernel still runs."""
    counts = dict.fromkeys(names, 0)
    for name in names:
        def counted(*args, _kernel=getattr(module, name), _name=name):
            counts[_name] += 1
            return _kernel(*args)
        monkeypatch.setattr(module, name, counted)
    return counts


def count_primitives(monkeypatch, module, kinds):
    """A dict kind -> how many times ``module`` (``shendu._dnnl_conv``, ``shendu._dnnl_rnn``) got a
    usable oneDNN primitive for a call, keyed by the first item of its cache key (``kinds``)."""
    counts = dict.fromkeys(kinds, 0)
    make = module._primitive

    def counting(key, build):
        p = make(key, build)
        if p is not None:
            counts[key[0]] += 1
        return p
    monkeypatch.setattr(module, "_primitive", counting)
    return counts


def require_path(path, what):
    """Return ``path`` if it exists, else skip (fail under CI / SHENDU_REQUIRE_DATA)."""
    if os.path.exists(path):
        return path
    if _strict("SHENDU_REQUIRE_DATA"):
        pytest.fail(f"{what} is required at {path} (SHENDU_REQUIRE_DATA is set) but is missing")
    pytest.skip(f"{what} not found at {path}")


@pytest.fixture
def rng():
    return np.random.default_rng(0)


REFERENCES = Path(__file__).parent / "references"


def _as_array(value):
    """A recorded value as a contiguous array; 0-d values are kept as 1-element arrays."""
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    return np.ascontiguousarray(np.asarray(value))


class Reference:
    """Record-or-replay of the PyTorch side of one test (see the module docstring)."""

    def __init__(self, node):
        module = Path(str(node.path)).resolve().relative_to(Path(__file__).parent.resolve()).with_suffix("")
        self.stem = REFERENCES / module / re.sub(r"[^\w.-]+", "_", node.name)
        self.calls = 0

    def __call__(self, torch_side, key=None):
        """Return ``torch_side(torch)`` as a dict of NumPy arrays (and strings), live or recorded."""
        self.calls += 1
        suffix = key if key is not None else (str(self.calls) if self.calls > 1 else "")
        path = Path(f"{self.stem}__{suffix}.safetensors" if suffix else f"{self.stem}.safetensors")
        st = importlib.import_module("safetensors.numpy")
        try:
            torch = _import("torch")
        except ImportError as exc:
            if _strict("SHENDU_REQUIRE_TORCH"):
                pytest.fail(f"torch is required here (SHENDU_REQUIRE_TORCH is set) but cannot be imported: {exc}")
            if not path.exists():
                pytest.fail(f"no recorded PyTorch reference at {path}; record it where torch is installed "
                            "with SHENDU_RECORD_REFERENCES=1")
            return _load(st, path)
        torch.manual_seed(0)
        live = torch_side(torch)
        arrays = {k: _as_array(v) for k, v in live.items() if not isinstance(v, str)}
        strings = {k: v for k, v in live.items() if isinstance(v, str)}
        if os.environ.get("SHENDU_RECORD_REFERENCES", "") not in ("", "0"):
            path.parent.mkdir(parents=True, exist_ok=True)
            st.save_file(arrays, str(path), metadata=strings or None)
        elif not path.exists():
            pytest.fail(f"no recorded PyTorch reference at {path}: record it with SHENDU_RECORD_REFERENCES=1")
        else:
            stored = _load(st, path)
            assert set(stored) == set(arrays) | set(strings), f"{path} is stale: its keys differ"
            for k, v in arrays.items():
                scale = max(1.0, float(np.abs(stored[k]).max())) if stored[k].size else 1.0
                np.testing.assert_allclose(v, stored[k], rtol=1e-4, atol=1e-5 * scale,
                                           err_msg=f"{path} is stale at {k!r}: re-record it")
            for k, v in strings.items():
                assert stored[k] == v, f"{path} is stale at {k!r}: re-record it"
        out = dict(arrays)
        out.update(strings)
        return out


def _load(st, path):
    out = dict(st.load_file(str(path)))
    with open(path, "rb") as f:  # string values live in the header's metadata
        n = struct.unpack("<Q", f.read(8))[0]
        out.update(json.loads(f.read(n)).get("__metadata__") or {})
    return out


@pytest.fixture
def reference(request):
    """``reference(torch_side) -> dict``: the PyTorch side of a parity test, live or recorded."""
    return Reference(request.node)

"""sd.save / sd.load of what PyTorch users save: tensors, arrays, numbers, nested containers, optimizer
state, checkpoints and whole Modules (allowed classes only), as safetensors plus a JSON structure."""
import io
import json
import math
import sys
from collections import OrderedDict

import numpy as np
import pytest

import shendu as sd
from conftest import require
from shendu import nn
from shendu.serialization import OBJECT_KEY, SerializationError, decode, encode


class TinyNet(nn.Module):
    def __init__(self, hidden=5, act="relu"):
        super().__init__()
        self.hidden, self.act, self.sizes = hidden, act, (3, hidden, 2)
        self.fc1, self.fc2 = nn.Linear(3, hidden), nn.Linear(hidden, 2)
        self.norm = nn.BatchNorm1d(hidden)
        self.register_buffer("calls", sd.zeros(1))

    def forward(self, x):
        return self.fc2(self.norm(self.fc1(x)).relu())


class Unlisted(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 2)


def _round_trip(obj, **kw):
    buf = io.BytesIO()
    sd.save(obj, buf)
    buf.seek(0)
    return sd.load(buf, **kw)


def test_values_and_containers_round_trip_exactly(tmp_path):
    obj = {"int": 3, "big": 2 ** 70, "float": 0.1, "nan": math.nan, "inf": -math.inf, "str": "é", "none": None,
           "bool": True, "complex": 1 + 2j, "tuple": (1, (2.5, "x")), "list": [1, [2, 3]], "set": {1, 2},
           5: "int key", (1, 2): "tuple key", None: 0, "od": OrderedDict([("b", 1), ("a", 2)]),
           "np_scalar": np.float32(1.5), "dtype": np.float32, "device": sd.device("cpu")}
    sd.save(obj, tmp_path / "o.sd")
    back = sd.load(tmp_path / "o.sd")
    assert set(back) == set(obj)
    nan = back.pop("nan")
    expected = dict(obj)
    expected.pop("nan")
    assert back == expected and math.isnan(nan)
    assert type(back["tuple"]) is tuple and type(back["tuple"][1]) is tuple and type(back["list"]) is list
    assert type(back["od"]) is OrderedDict and list(back["od"]) == ["b", "a"]
    assert type(back["np_scalar"]) is np.float32 and back["dtype"] is np.float32
    assert type(back["big"]) is int
    for scalar in (7, 2.5, "text", None, [1, 2]):
        assert _round_trip(scalar) == scalar


def test_tensors_and_arrays_keep_type_dtype_and_requires_grad():
    w = sd.randn(3, 4, requires_grad=True)
    p = nn.Parameter(sd.ones(2))
    obj = {"w": w, "i": sd.tensor([1, 2], dtype=sd.int64), "a": np.arange(6).reshape(2, 3), "p": p,
           "z": sd.tensor(3.0), "empty": np.zeros((0, 2), np.float16), "again": w}
    back = _round_trip(obj)
    assert isinstance(back["w"], sd.Tensor) and back["w"].requires_grad
    np.testing.assert_array_equal(back["w"].numpy(), w.numpy())
    assert back["i"].dtype == np.int64 and not back["i"].requires_grad
    assert type(back["a"]) is np.ndarray and back["a"].shape == (2, 3) and back["a"].dtype == obj["a"].dtype
    assert isinstance(back["p"], nn.Parameter) and back["p"].requires_grad
    assert back["z"].shape == () and back["empty"].shape == (0, 2)
    assert back["again"] is back["w"]  # one object saved twice comes back as one object
    t = _round_trip(sd.arange(5))
    assert isinstance(t, sd.Tensor) and t.tolist() == [0, 1, 2, 3, 4]


def test_state_dict_file_keeps_tensor_names_for_other_readers(tmp_path):
    st = require("safetensors.numpy")
    model = TinyNet()
    sd.save(model.state_dict(), tmp_path / "m.safetensors")
    names = list(model.state_dict())
    assert set(st.load_file(str(tmp_path / "m.safetensors"))) == set(names)
    back = sd.load(tmp_path / "m.safetensors")
    assert list(back) == names and all(isinstance(v, sd.Tensor) for v in back.values())
    TinyNet().load_state_dict(back)


def test_files_without_structure_load_as_before(tmp_path):
    """A state-dict file written by earlier shendu (no structure) loads as name -> Tensor."""
    path = tmp_path / "old.safetensors"
    path.write_bytes(b"".join(encode({"w": np.ones((2, 2), np.float32), "n": np.array(3)})))
    back = sd.load(path)
    assert type(back) is OrderedDict and list(back) == ["w", "n"]
    assert all(type(v) is sd.Tensor for v in back.values())
    tensors, meta = sd.load(path, return_metadata=True)
    assert meta == {} and list(tensors) == ["w", "n"]


def test_optimizer_state_dict_round_trips_exactly_with_int_keys():
    model = TinyNet()
    opt = sd.optim.Adam(model.parameters(), lr=1e-2, betas=(0.8, 0.95))
    for _ in range(2):
        opt.zero_grad()
        model(sd.randn(4, 3)).pow(2).mean().backward()
        opt.step()
    state = opt.state_dict()
    back = _round_trip(state)
    assert list(back["state"]) == list(state["state"]) and all(type(k) is int for k in back["state"])
    assert back["param_groups"] == state["param_groups"]
    assert type(back["param_groups"][0]["betas"]) is tuple
    for k, s in state["state"].items():
        assert list(back["state"][k]) == list(s)
        for name, v in s.items():
            got = back["state"][k][name]
            assert type(got) is type(v)
            np.testing.assert_array_equal(got, v)
    other = TinyNet()
    other.load_state_dict(model.state_dict())
    opt2 = sd.optim.Adam(other.parameters())
    opt2.load_state_dict(back)
    assert opt2.param_groups[0]["lr"] == 1e-2


def test_checkpoint_dict_round_trips(tmp_path):
    model = TinyNet()
    opt = sd.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    ckpt = {"epoch": 7, "loss": 0.125, "model_state_dict": model.state_dict(),
            "optimizer_state_dict": opt.state_dict(), "history": [0.5, 0.25]}
    sd.save(ckpt, tmp_path / "ckpt.pt")
    back = sd.load(tmp_path / "ckpt.pt", map_location="cpu")
    assert back["epoch"] == 7 and back["loss"] == 0.125 and back["history"] == [0.5, 0.25]
    restored = TinyNet()
    restored.load_state_dict(back["model_state_dict"])
    x = sd.randn(4, 3)
    model.eval()
    restored.eval()
    np.testing.assert_array_equal(restored(x).numpy(), model(x).numpy())
    sd.optim.SGD(restored.parameters(), lr=1).load_state_dict(back["optimizer_state_dict"])
    with pytest.raises(RuntimeError):
        sd.load(tmp_path / "ckpt.pt", map_location="cuda")


def test_whole_shendu_module_round_trips(tmp_path):
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(),
                          nn.Dropout(0.25), nn.Linear(2 * 4 * 4, 3))
    model(sd.randn(2, 1, 4, 4))  # moves the batch-norm running statistics
    model.eval()
    sd.save(model, tmp_path / "model.pt")
    back = sd.load(tmp_path / "model.pt")
    assert type(back) is nn.Sequential and not back.training and back[4].p == 0.25
    x = sd.randn(2, 1, 4, 4)
    np.testing.assert_array_equal(back(x).numpy(), model(x).numpy())
    assert list(back.state_dict()) == list(model.state_dict())
    assert all(isinstance(p, nn.Parameter) for p in back.parameters())
    rnn = nn.LSTM(3, 4, batch_first=True)
    again = _round_trip(rnn)
    x = sd.randn(2, 5, 3)
    np.testing.assert_array_equal(again(x)[0].numpy(), rnn(x)[0].numpy())


def test_tied_weights_stay_tied():
    a, b = nn.Linear(3, 3), nn.Linear(3, 3)
    b.weight = a.weight
    back = _round_trip(nn.Sequential(a, b))
    assert back[0].weight is back[1].weight
    assert len(list(back.parameters())) == 3


def test_user_module_needs_to_be_allowed(tmp_path):
    model = TinyNet(hidden=4)
    sd.save(model, tmp_path / "net.pt")
    sd.serialization.clear_safe_globals()
    with pytest.raises(SerializationError, match=r"net.pt.*TinyNet.*not allowed.*add_safe_globals"):
        sd.load(tmp_path / "net.pt")
    with sd.serialization.safe_globals([TinyNet]):
        assert TinyNet in sd.serialization.get_safe_globals()
        back = sd.load(tmp_path / "net.pt")
    assert TinyNet not in sd.serialization.get_safe_globals()
    with pytest.raises(SerializationError, match="TinyNet"):
        sd.load(tmp_path / "net.pt")
    assert type(back) is TinyNet and back.hidden == 4 and back.act == "relu" and back.sizes == (3, 4, 2)
    assert type(back.sizes) is tuple and "calls" in dict(back.named_buffers())
    x = sd.randn(6, 3)
    np.testing.assert_array_equal(back(x).numpy(), model(x).numpy())
    try:
        sd.serialization.add_safe_globals([TinyNet])
        assert type(sd.load(tmp_path / "net.pt")) is TinyNet
        assert type(sd.load(tmp_path / "net.pt", weights_only=False)) is TinyNet
    finally:
        sd.serialization.clear_safe_globals()
    # weights_only=False trusts the file and imports the class
    assert type(sd.load(tmp_path / "net.pt", weights_only=False)) is TinyNet


def _crafted(tmp_path, root, arrays=None):
    meta = {OBJECT_KEY: json.dumps({"format": 1, "root": root})}
    path = tmp_path / "crafted.pt"
    path.write_bytes(b"".join(encode(arrays or {}, meta)))
    return path


def test_crafted_file_naming_a_class_is_refused_with_no_code_run(tmp_path, monkeypatch):
    marker = tmp_path / "ran"
    (tmp_path / "evil_payload.py").write_text(
        f"open({str(marker)!r}, 'w').write('x')\nimport shendu.nn\nclass Evil(shendu.nn.Module):\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for cls in ("evil_payload:Evil", "os:system", "builtins:eval", f"{__name__}:Unlisted"):
        path = _crafted(tmp_path, {"$module": cls, "id": 0, "attrs": []})
        with pytest.raises(SerializationError, match=f"{cls.replace(':', '.')}.*not allowed"):
            sd.load(path)
    assert not marker.exists() and "evil_payload" not in sys.modules
    # a class that is allowed but is no Module is refused too
    with sd.serialization.safe_globals([OrderedDict]):
        with pytest.raises(SerializationError, match="not an nn.Module"):
            sd.load(_crafted(tmp_path, {"$module": "collections:OrderedDict", "id": 0, "attrs": []}))


@pytest.mark.parametrize("root, message", [
    ({"$tensor": "missing", "id": 0}, "does not hold"),
    ({"$ref": 3}, "nowhere before"),
    ({"$pickle": "x"}, "unknown structure tag"),
    ({"$dtype": "object"}, "bad dtype"),
    ({"$float": "1e400"}, "bad float"),
    ({"$set": [[1]]}, "unhashable"),
    ({"$dict": [[[1], 2]]}, "unhashable"),
    ({"$tensor": "w", "id": 0, "requires_grad": True}, "cannot require a gradient"),
    ({"$param": "w", "id": 0, "requires_grad": True}, "cannot require a gradient"),
    ({"$npscalar": "w"}, "expected \\(\\)"),
    ({"$module": "shendu.nn.linear:Linear", "id": 0, "attrs": [["training", "yes"]]}, "bad training"),
    ({"$module": "shendu.nn.modules.linear:Nope", "id": 0, "attrs": []}, "not allowed"),
    ({"$module": "shendu.nn.linear:Linear", "id": 0, "attrs": [["_parameters", {"$dict": []}]]}, "bad _parameters"),
    ({"$module": "shendu.nn.linear:Linear", "id": 0, "attrs": [["__class__", 1]]}, "cannot be restored"),
    ({"$tuple": [1, {"$ref": 0}]}, "nowhere before"),
])
def test_crafted_structures_raise_serialization_errors(tmp_path, root, message):
    path = _crafted(tmp_path, root, {"w": np.arange(3)})
    with pytest.raises(SerializationError, match=f"crafted.pt.*{message}"):
        sd.load(path)
    deep = _crafted(tmp_path, {"$tuple": [0]})
    text = "[" * 100_000 + "]" * 100_000
    deep.write_bytes(b"".join(encode({}, {OBJECT_KEY: '{"format": 1, "root": ' + text + "}"})))
    with pytest.raises(SerializationError, match="crafted.pt"):
        sd.load(deep)


def test_unsaveable_attributes_are_refused_at_save_naming_them(tmp_path):
    model = TinyNet()
    model.act = lambda x: x
    with pytest.raises(TypeError, match="attribute 'act' of TinyNet.*function"):
        sd.save(model, tmp_path / "m.pt")
    net = nn.Sequential(TinyNet())
    net[0].extra = {"ok": 1, "file": open}
    with pytest.raises(TypeError, match="attribute 'extra' of TinyNet.*at 0.*builtin_function_or_method"):
        sd.save(net, tmp_path / "m.pt")
    handle_net = nn.Linear(2, 2)
    handle_net.register_forward_hook(lambda m, i, o: o)
    with pytest.raises(TypeError, match="forward hooks"):
        sd.save(handle_net, tmp_path / "m.pt")
    with pytest.raises(TypeError, match=r"object\b.*at the top level"):
        sd.save(object(), tmp_path / "m.pt")
    with pytest.raises(TypeError, match="dict key"):
        sd.save({sd.tensor(1.0): 1}, tmp_path / "m.pt")
    assert list(tmp_path.iterdir()) == []


def test_file_objects_and_bounded_reads(tmp_path):
    buf = io.BytesIO()
    sd.save({"w": sd.ones(100)}, buf)
    buf.seek(0)
    with pytest.raises(SerializationError, match="read limit"):
        sd.load(buf, max_bytes=100)
    with open(tmp_path / "f.pt", "wb") as f:
        sd.save([1, sd.ones(2)], f)
    with open(tmp_path / "f.pt", "rb") as f:
        back = sd.load(f)
    assert back[0] == 1 and back[1].tolist() == [1.0, 1.0]
    with open(tmp_path / "f.pt", encoding="latin-1") as f:
        with pytest.raises(TypeError, match="binary mode"):
            sd.load(f)
    arrays, meta = decode((tmp_path / "f.pt").read_bytes())
    assert OBJECT_KEY in meta and list(arrays) == ["1"]
    with pytest.raises(ValueError, match=OBJECT_KEY):
        sd.save({"w": sd.ones(1)}, buf, metadata={OBJECT_KEY: "x"})


def _my_activation(x):
    return x * 2


def test_functions_held_by_a_module_are_saved_by_name(tmp_path):
    import shendu as sd
    import shendu.nn as nn
    import shendu.nn.functional as F
    from shendu.serialization import SerializationError, safe_globals

    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, activation=F.gelu)
    sd.save(layer, tmp_path / "layer.st")
    back = sd.load(tmp_path / "layer.st")
    assert back.activation is F.gelu
    layer.activation = _my_activation
    sd.save(layer, tmp_path / "mine.st")
    with pytest.raises(SerializationError, match="_my_activation, which is not allowed"):
        sd.load(tmp_path / "mine.st")
    with safe_globals([_my_activation]):
        assert sd.load(tmp_path / "mine.st").activation is _my_activation
    layer.activation = lambda x: x
    with pytest.raises(TypeError, match="activation"):
        sd.save(layer, tmp_path / "lambda.st")

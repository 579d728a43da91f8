"""The Module contract: registration, iteration, modes, state_dict round trips (also with PyTorch), repr."""
import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest

import shendu as sd
import shendu.nn as nn
import shendu.nn.functional as F
from conftest import require


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv_like = nn.Linear(4, 6)
        self.bn = nn.BatchNorm1d(6)
        self.head = nn.Sequential(nn.ReLU(), nn.Dropout(0.5), nn.Linear(6, 2))
        self.scale = nn.Parameter(sd.ones(1))
        self.register_buffer("steps", sd.zeros(()))
        self.register_buffer("cache", sd.zeros(3), persistent=False)
        self.note = "plain attribute"

    def forward(self, x):
        return self.head(self.bn(self.conv_like(x))) * self.scale


def test_registration_and_iteration_order():
    net = Net()
    assert [n for n, _ in net.named_children()] == ["conv_like", "bn", "head"]
    assert [n for n, _ in net.named_parameters()] == [
        "scale", "conv_like.weight", "conv_like.bias", "bn.weight", "bn.bias", "head.2.weight", "head.2.bias"]
    assert [n for n, _ in net.named_buffers()] == [
        "steps", "cache", "bn.running_mean", "bn.running_var", "bn.num_batches_tracked"]
    assert list(net.state_dict()) == [
        "scale", "steps", "conv_like.weight", "conv_like.bias", "bn.weight", "bn.bias", "bn.running_mean",
        "bn.running_var", "bn.num_batches_tracked", "head.2.weight", "head.2.bias"]
    assert [n for n, _ in net.named_modules()] == ["", "conv_like", "bn", "head", "head.0", "head.1", "head.2"]
    assert net.num_parameters() == 4 * 6 + 6 + 6 + 6 + 6 * 2 + 2 + 1
    net.conv_like.requires_grad_(False)
    assert net.num_parameters(only_trainable=True) == 6 + 6 + 12 + 2 + 1
    assert net.get_submodule("head.2") is net.head[2] and net.get_parameter("head.2.bias") is net.head[2].bias
    del net.scale
    assert "scale" not in dict(net.named_parameters())
    net.bn = None
    assert "bn" not in dict(net.named_children())
    with pytest.raises(TypeError, match="nn.Parameter"):
        net.conv_like.weight = sd.zeros(6, 4)


def test_shared_modules_and_parameters_counted_once():
    lin = nn.Linear(3, 3)
    seq = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(seq.parameters())) == 2 and seq.num_parameters() == 12
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_forgetting_super_init_is_a_clear_error():
    class Broken(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match="super\\(\\).__init__\\(\\)"):
        Broken()
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(1)


def test_train_eval_propagate_and_change_behaviour():
    net = Net()
    assert net.training and net.head[1].training
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    x = sd.randn(8, 4)
    np.testing.assert_array_equal(net(x).numpy(), net(x).numpy())  # dropout off, running stats used
    net.train()
    assert all(m.training for m in net.modules())


def test_zero_grad_apply_to_and_hooks():
    net = nn.Sequential(nn.Linear(3, 2), nn.Tanh())
    net(sd.randn(4, 3)).sum().backward()
    assert net[0].weight.grad is not None
    net.zero_grad(set_to_none=False)
    assert np.all(net[0].weight.grad.numpy() == 0)
    net.zero_grad()
    assert net[0].weight.grad is None
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "Tanh", "Sequential"]
    net.double()
    assert net[0].weight.dtype == np.float64 and net(np.ones((1, 3))).dtype == np.float64
    net.to(sd.float32).to("cpu")
    assert net[0].weight.dtype == np.float32
    with pytest.raises(RuntimeError, match="CPU"):
        net.to("cuda")
    calls = []
    handle = net[0].register_forward_hook(lambda m, inp, out: calls.append(out.shape))
    net(sd.randn(5, 3))
    handle.remove()
    net(sd.randn(5, 3))
    assert calls == [(5, 2)]
    pre = net.register_forward_pre_hook(lambda m, inp: (inp[0] * 0,))
    assert np.allclose(net(sd.randn(2, 3)).numpy(), np.tanh(net[0].bias.numpy()))
    pre.remove()


def test_containers():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[-1], nn.Linear) and isinstance(seq[1:], nn.Sequential)
    assert len(seq[:2]) == 2 and seq[:2][0] is seq[0]
    seq.append(nn.Sigmoid())
    assert [type(m).__name__ for m in seq] == ["Linear", "ReLU", "Linear", "Sigmoid"]
    del seq[1]
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]
    named = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.ReLU())]))
    assert named.fc is named[0] and list(named.state_dict()) == ["fc.weight", "fc.bias"]
    with pytest.raises(TypeError, match="nn.ReLU\\(\\)"):
        nn.Sequential(nn.ReLU)
    with pytest.raises(IndexError):
        seq[10]
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    ml.append(nn.Linear(2, 1))
    assert len(ml) == 4 and len(list(ml.parameters())) == 8 and "3.weight" in ml.state_dict()
    md = nn.ModuleDict({"enc": nn.Linear(2, 4), "dec": nn.Linear(4, 2)})
    assert "enc" in md and list(md.keys()) == ["enc", "dec"] and md["dec"].out_features == 2
    assert list(md.state_dict()) == ["enc.weight", "enc.bias", "dec.weight", "dec.bias"]


def _repr_cases(m):
    """The same modules built from shendu.nn or torch.nn, by name."""
    return {"tree": m.Sequential(m.Linear(4, 8), m.ReLU(), m.Sequential(m.BatchNorm1d(8), m.Dropout(0.2))),
            "layernorm": m.LayerNorm(5), "embedding": m.Embedding(4, 2, padding_idx=0), "flatten": m.Flatten(),
            "cross_entropy": m.CrossEntropyLoss(), "leaky_relu": m.LeakyReLU(0.2), "softmax": m.Softmax(dim=1)}


def test_repr_tree_matches_torch_style(reference):
    def torch_side(torch):
        return {k: repr(v) for k, v in _repr_cases(torch.nn).items()}

    ref = reference(torch_side)
    ours = _repr_cases(nn)
    assert set(ours) == set(ref)
    for k, m in ours.items():
        assert repr(m) == ref[k], k


# ----- state_dict ------------------------------------------------------------------------------
def _architectures(m):
    mlp = m.Sequential(m.Linear(5, 16), m.ReLU(), m.Linear(16, 3))
    bn = m.Sequential(m.Linear(5, 8), m.BatchNorm1d(8), m.ReLU(), m.Linear(8, 2), m.LayerNorm(2))
    emb = m.Sequential(m.Embedding(20, 6, padding_idx=0), m.Flatten(), m.Linear(18, 2))
    return {"mlp": mlp, "bn": bn, "emb": emb}


def _spec(state):
    """A state_dict's keys in order, with each entry's shape and dtype."""
    return repr([(k, tuple(int(n) for n in v.shape), str(v.dtype).replace("torch.", "")) for k, v in state.items()])


@pytest.mark.parametrize("arch", ["mlp", "bn", "emb"])
def test_state_dict_keys_shapes_dtypes_match_torch(reference, arch):
    def torch_side(torch):
        return {"spec": _spec(_architectures(torch.nn)[arch].state_dict())}

    ref = reference(torch_side)
    ours = _architectures(nn)[arch].state_dict()
    assert _spec(ours) == ref["spec"]


@pytest.mark.parametrize("arch", ["mlp", "bn", "emb"])
def test_torch_weights_load_by_name_and_give_the_same_outputs(reference, rng, arch):
    xb = rng.standard_normal((16, 5)).astype(np.float32) if arch == "bn" else None
    x = rng.integers(0, 20, (4, 3)) if arch == "emb" else rng.standard_normal((4, 5)).astype(np.float32)

    def torch_side(torch):
        mt = _architectures(torch.nn)[arch]
        if xb is not None:  # make the running statistics non-trivial first
            mt(torch.tensor(xb))
        mt.eval()
        out = {f"state.{k}": v for k, v in mt.state_dict().items()}
        out["y"] = mt(torch.tensor(x))
        return out

    ref = reference(torch_side)
    ms = _architectures(nn)[arch]
    ms.load_state_dict({k[6:]: v for k, v in ref.items() if k.startswith("state.")})  # the .pt-free path
    ms.eval()
    np.testing.assert_allclose(ms(x).numpy(), ref["y"], rtol=1e-5, atol=1e-6)
    state = {k: v.numpy().copy() for k, v in ms.state_dict().items()}

    def torch_side_back(torch):
        back = _architectures(torch.nn)[arch]
        back.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
        back.eval()
        return {"y": back(torch.tensor(x))}

    back = reference(torch_side_back, key="back")
    np.testing.assert_allclose(back["y"], ms(x).numpy(), rtol=1e-5, atol=1e-6)


def test_save_load_round_trip_and_safetensors_compat(tmp_path, rng):
    safetensors_numpy = require("safetensors.numpy")
    net = _architectures(nn)["bn"]
    net(rng.standard_normal((8, 5)).astype(np.float32))
    path = tmp_path / "model.safetensors"
    sd.save(net.state_dict(), path)
    fresh = _architectures(nn)["bn"]
    result = fresh.load_state_dict(sd.load(path))
    assert result.missing_keys == [] and result.unexpected_keys == []
    for (k, a), (_, b) in zip(net.state_dict().items(), fresh.state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)
        assert a.dtype == b.dtype
    other = safetensors_numpy.load_file(str(path))
    assert set(other) == set(net.state_dict())
    np.testing.assert_array_equal(other["1.running_var"], net[1].running_var.numpy())
    x = rng.standard_normal((3, 5)).astype(np.float32)
    net.eval()
    fresh.eval()
    np.testing.assert_array_equal(net(x).numpy(), fresh(x).numpy())


def test_load_state_dict_errors_and_non_strict():
    net = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))
    good = net.state_dict()
    weight_before = net[0].weight
    bad = OrderedDict(good)
    del bad["2.bias"]
    bad["extra.weight"] = np.zeros(3)
    with pytest.raises(RuntimeError) as err:
        net.load_state_dict(bad)
    msg = str(err.value)
    assert 'Missing key(s) in state_dict: "2.bias"' in msg and 'Unexpected key(s) in state_dict: "extra.weight"' in msg
    result = net.load_state_dict(bad, strict=False)
    assert result.missing_keys == ["2.bias"] and result.unexpected_keys == ["extra.weight"]
    wrong = OrderedDict(good)
    wrong["0.weight"] = np.zeros((3, 2))
    with pytest.raises(RuntimeError, match=r"size mismatch for 0.weight.*\(3, 2\).*\(2, 3\)"):
        net.load_state_dict(wrong, strict=False)
    assert net[0].weight is weight_before  # loading copies into the same Parameter (optimizers keep it)
    with pytest.raises(TypeError, match="mapping"):
        net.load_state_dict([1, 2])


def test_state_dict_is_detached_and_shares_memory():
    lin = nn.Linear(2, 2)
    state = lin.state_dict()
    assert not state["weight"].requires_grad
    with sd.no_grad():
        lin.weight.array[0, 0] = 7.0
    assert state["weight"].numpy()[0, 0] == 7.0
    assert lin.state_dict(keep_vars=True)["weight"] is lin.weight


def test_copy_and_pickle_models():
    net = _architectures(nn)["bn"]
    clone = copy.deepcopy(net)
    again = pickle.loads(pickle.dumps(net))
    x = np.ones((2, 5), dtype=np.float32)
    net.eval(), clone.eval(), again.eval()
    np.testing.assert_array_equal(net(x).numpy(), clone(x).numpy())
    np.testing.assert_array_equal(net(x).numpy(), again(x).numpy())
    assert clone[0].weight is not net[0].weight


def test_a_small_training_loop_learns():
    sd.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 2)).astype(np.float32)
    y = (x[:, 0] * x[:, 1] > 0).astype(np.int64)
    model = nn.Sequential(nn.Linear(2, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 2))
    for _ in range(200):
        loss = F.cross_entropy(model(x), y)
        model.zero_grad()
        loss.backward()
        with sd.no_grad():
            for p in model.parameters():
                p.array -= 0.1 * p.grad.array
    model.eval()
    acc = (model(x).numpy().argmax(1) == y).mean()
    assert acc > 0.9, acc

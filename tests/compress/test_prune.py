"""Unstructured and masked structured pruning: masks, gradients, remove(), parity with torch.nn.utils.prune."""
import numpy as np
import pytest

import shendu as sd
import shendu.nn as nn
from shendu.compress import prune


def _weights():
    rng = np.random.default_rng(0)
    return {"w1": rng.standard_normal((6, 5)).astype(np.float32),
            "w2": rng.standard_normal((3, 6)).astype(np.float32) * 0.3,
            "wc": rng.standard_normal((4, 2, 3, 3)).astype(np.float32)}


def _torch_masks(torch):
    w = _weights()
    import torch.nn.utils.prune as tp
    a, b = torch.nn.Linear(5, 6), torch.nn.Linear(6, 3)
    c = torch.nn.Conv2d(2, 4, 3)
    with torch.no_grad():
        a.weight.copy_(torch.tensor(w["w1"]))
        b.weight.copy_(torch.tensor(w["w2"]))
        c.weight.copy_(torch.tensor(w["wc"]))
    tp.l1_unstructured(a, "weight", amount=0.3)
    single = a.weight_mask.clone()
    tp.l1_unstructured(a, "weight", amount=4)          # again: 4 of the entries still kept
    twice = a.weight_mask.clone()
    a2, b2 = torch.nn.Linear(5, 6), torch.nn.Linear(6, 3)
    with torch.no_grad():
        a2.weight.copy_(torch.tensor(w["w1"]))
        b2.weight.copy_(torch.tensor(w["w2"]))
    tp.global_unstructured([(a2, "weight"), (b2, "weight")], pruning_method=tp.L1Unstructured, amount=0.6)
    tp.ln_structured(c, "weight", amount=0.5, n=2, dim=0)
    return {"single": single, "twice": twice, "global1": a2.weight_mask, "global2": b2.weight_mask,
            "structured": c.weight_mask}


def test_masks_match_torch(reference):
    ref = reference(_torch_masks)
    w = _weights()
    a, b, c = nn.Linear(5, 6), nn.Linear(6, 3), nn.Conv2d(2, 4, 3)
    a.weight.array[...] = w["w1"]
    b.weight.array[...] = w["w2"]
    c.weight.array[...] = w["wc"]
    prune.l1_unstructured(a, "weight", amount=0.3)
    np.testing.assert_array_equal(a.weight_mask.numpy(), ref["single"])
    prune.l1_unstructured(a, "weight", amount=4)
    np.testing.assert_array_equal(a.weight_mask.numpy(), ref["twice"])
    a2, b2 = nn.Linear(5, 6), nn.Linear(6, 3)
    a2.weight.array[...] = w["w1"]
    b2.weight.array[...] = w["w2"]
    prune.global_unstructured([(a2, "weight"), (b2, "weight")], pruning_method=prune.L1Unstructured,
                              amount=0.6)
    np.testing.assert_array_equal(a2.weight_mask.numpy(), ref["global1"])
    np.testing.assert_array_equal(b2.weight_mask.numpy(), ref["global2"])
    prune.ln_structured(c, "weight", amount=0.5, n=2, dim=0)
    np.testing.assert_array_equal(c.weight_mask.numpy(), ref["structured"])


def test_mask_applies_in_forward_and_to_gradients():
    sd.manual_seed(0)
    m = nn.Linear(5, 4)
    prune.l1_unstructured(m, "weight", 0.5)
    assert "weight_orig" in dict(m.named_parameters()) and "weight" not in dict(m.named_parameters())
    assert "weight_mask" in dict(m.named_buffers())
    mask = m.weight_mask.numpy()
    assert mask.sum() == 10
    x = sd.randn(3, 5)
    y = m(x)
    np.testing.assert_allclose(y.numpy(), x.numpy() @ (m.weight_orig.numpy() * mask).T + m.bias.numpy(),
                               rtol=1e-5, atol=1e-6)
    y.sum().backward()
    assert np.all(m.weight_orig.grad.numpy()[mask == 0] == 0)
    assert np.any(m.weight_orig.grad.numpy()[mask == 1] != 0)
    # an optimizer step changes the kept entries only in what the layer computes
    opt = sd.optim.SGD(m.parameters(), lr=0.1)
    opt.step()
    m(x)
    assert np.all(m.weight.numpy()[mask == 0] == 0)


def test_remove_is_permanent_and_saves(tmp_path):
    m = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    prune.l1_unstructured(m[0], "weight", 0.75)
    assert prune.is_pruned(m)
    x = sd.randn(2, 4)
    before = m(x).numpy()
    prune.remove(m[0], "weight")
    assert not prune.is_pruned(m)
    assert isinstance(m[0].weight, nn.Parameter)
    assert not m[0]._forward_pre_hooks
    assert set(m.state_dict()) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    assert (m[0].weight.numpy() == 0).sum() == 24
    np.testing.assert_allclose(m(x).numpy(), before, rtol=1e-6)
    sd.save(m, tmp_path / "m.safetensors")
    np.testing.assert_allclose(sd.load(tmp_path / "m.safetensors")(x).numpy(), before, rtol=1e-6)


def test_global_threshold_is_shared():
    a, b = nn.Linear(10, 10), nn.Linear(10, 10)
    a.weight.array[...] = np.linspace(-0.1, 0.1, 100).reshape(10, 10)
    b.weight.array[...] = np.sign(b.weight.array) + b.weight.array  # |w| > 1: the cut falls on a only
    prune.global_unstructured([(a, "weight"), (b, "weight")], amount=0.5)
    assert a.weight_mask.numpy().sum() == 0
    assert b.weight_mask.numpy().sum() == 100


def test_custom_mask_and_errors():
    m = nn.Linear(3, 2)
    prune.custom_from_mask(m, "weight", np.array([[1, 0, 1], [0, 1, 1]]))
    assert m.weight.numpy()[0, 1] == 0
    with pytest.raises(ValueError, match="amount must be in"):
        prune.l1_unstructured(nn.Linear(2, 2), "weight", 1.5)
    with pytest.raises(ValueError, match="only 4"):
        prune.l1_unstructured(nn.Linear(2, 2), "weight", 5)
    with pytest.raises(AttributeError, match="no parameter 'kernel'"):
        prune.l1_unstructured(nn.Linear(2, 2), "kernel", 0.5)
    with pytest.raises(ValueError, match="not pruned"):
        prune.remove(nn.Linear(2, 2), "weight")


def test_gradcheck_through_a_pruned_layer():
    """float64 gradients of a pruned conv, with respect to its input and to weight_orig (masked)."""
    sd.manual_seed(0)
    conv = nn.Conv2d(2, 3, 3, dtype=np.float64)
    prune.l1_unstructured(conv, "weight", 0.5)
    x = np.random.default_rng(0).standard_normal((2, 2, 5, 5))
    assert sd.gradcheck(lambda t: conv(t), x)
    mask = conv.weight_mask

    def through_orig(w):
        conv._parameters["weight_orig"] = w   # the hook reads weight_orig; here it is the checked input
        return conv(sd.tensor(x))

    assert sd.gradcheck(through_orig, conv.weight_orig.numpy())
    assert conv.weight_mask is mask


def test_random_pruning_follows_manual_seed():
    masks = []
    for _ in range(2):
        sd.manual_seed(3)
        m = nn.Linear(6, 6)
        prune.random_unstructured(m, "weight", 0.5)
        prune.random_structured(m, "weight", 2, dim=0)
        masks.append(m.weight_mask.numpy())
    np.testing.assert_array_equal(masks[0], masks[1])
    assert (masks[0].sum(axis=1) == 0).sum() >= 2

"""nn.utils: gradient clipping and parameter vectors against PyTorch; L1/L2 penalties and their gradients."""
import math

import numpy as np
import pytest

import shendu as sd
from shendu import nn, optim
from shendu.nn import utils

SHAPES = [(4, 3), (3,), (2, 2, 2)]


def _arrays(scale=1.0, seed=0):
    """Parameter values and gradients (float64), one pair per shape in SHAPES."""
    rng = np.random.default_rng(seed)
    out = []
    for s in SHAPES:
        w, g = rng.standard_normal(s), scale * rng.standard_normal(s)
        out.append((w, g))
    return out


def _ours(arrays):
    """shendu parameters holding the given values and gradients."""
    ours = []
    for w, g in arrays:
        p = sd.Tensor(w.copy(), requires_grad=True)
        p.grad = sd.Tensor(g.copy())
        ours.append(p)
    return ours


def _theirs(torch, arrays):
    """The same parameters and gradients in torch."""
    theirs = []
    for w, g in arrays:
        q = torch.tensor(w.copy(), requires_grad=True)
        q.grad = torch.tensor(g.copy())
        theirs.append(q)
    return theirs


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf, "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_torch(reference, norm_type, max_norm):
    arrays = _arrays()

    def torch_side(torch):
        theirs = _theirs(torch, arrays)
        total = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=float(norm_type))
        return {"total": total, **{f"grad.{i}": q.grad for i, q in enumerate(theirs)}}

    ref = reference(torch_side)
    ours = _ours(arrays)
    old = [p.grad.array for p in ours]
    old_copies = [a.copy() for a in old]
    total = utils.clip_grad_norm_(ours, max_norm, norm_type=float(norm_type))
    assert isinstance(total, sd.Tensor) and total.ndim == 0
    np.testing.assert_allclose(total.item(), ref["total"].item(), rtol=1e-12)
    for i, p in enumerate(ours):
        np.testing.assert_allclose(p.grad.array, ref[f"grad.{i}"], rtol=1e-12)
    for a, c in zip(old, old_copies):  # the original gradient arrays were replaced, not mutated
        np.testing.assert_array_equal(a, c)


def test_clip_grad_norm_details():
    p = sd.Tensor(np.zeros(2), requires_grad=True)
    p.grad = sd.Tensor(np.array([3.0, 4.0]))
    total = utils.clip_grad_norm_(p, max_norm=1.0)  # a single Tensor is accepted
    assert total.item() == 5.0
    np.testing.assert_allclose(p.grad.array, np.array([3.0, 4.0]) / (5.0 + 1e-6))
    none = sd.Tensor(np.zeros(2), requires_grad=True)
    assert utils.clip_grad_norm_([none], 1.0).item() == 0.0  # parameters without gradients are ignored
    p.grad = sd.Tensor(np.array([np.nan, 1.0]))
    with pytest.raises(RuntimeError, match="error_if_nonfinite"):
        utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    q = sd.Tensor(np.zeros(2, dtype=np.float32), requires_grad=True)
    q.grad = sd.Tensor(np.array([30.0, 40.0], dtype=np.float32))
    total = utils.clip_grad_norm_([q], 1.0)
    assert q.grad.array.dtype == np.float32 and total.dtype == np.float32


def test_clip_grad_value_matches_torch(reference):
    arrays = _arrays(scale=2.0)

    def torch_side(torch):
        theirs = _theirs(torch, arrays)
        torch.nn.utils.clip_grad_value_(theirs, 0.7)
        return {f"grad.{i}": q.grad for i, q in enumerate(theirs)}

    ref = reference(torch_side)
    ours = _ours(arrays)
    old = [p.grad.array.copy() for p in ours]
    utils.clip_grad_value_(ours, 0.7)
    for i, (p, o) in enumerate(zip(ours, old)):
        np.testing.assert_array_equal(p.grad.array, ref[f"grad.{i}"])
        assert np.abs(p.grad.array).max() <= 0.7 and not np.array_equal(p.grad.array, o)
    with pytest.raises(ValueError, match="clip_value"):
        utils.clip_grad_value_(ours, -1.0)


def test_parameters_to_vector_and_back(reference):
    values = _arrays()

    def torch_side(torch):
        return {"vec": torch.nn.utils.parameters_to_vector(_theirs(torch, values))}

    ref = reference(torch_side)
    ours = _ours(values)
    vec = utils.parameters_to_vector(ours)
    np.testing.assert_array_equal(vec.array, ref["vec"])
    for p in ours:
        p.grad = None
    (vec * sd.arange(vec.shape[0], dtype=np.float64)).sum().backward()  # differentiable, as in PyTorch
    np.testing.assert_array_equal(ours[1].grad.array, np.arange(12, 15, dtype=float))
    arrays = [p.array for p in ours]
    utils.vector_to_parameters(sd.Tensor(np.arange(vec.shape[0], dtype=np.float64)), ours)
    assert all(p.array is a for p, a in zip(ours, arrays))  # written in place
    np.testing.assert_array_equal(ours[2].array.ravel(), np.arange(15, 23))
    with pytest.raises(sd.ShapeError, match="23"):
        utils.vector_to_parameters(sd.Tensor(np.zeros(5)), ours)
    with pytest.raises(TypeError, match="Tensor"):
        utils.vector_to_parameters(np.zeros(23), ours)


def test_penalties_values_and_gradients():
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(s) for s in SHAPES]
    params = [sd.Tensor(a.copy(), requires_grad=True) for a in arrays]
    l1 = utils.l1_penalty(params, 0.01)
    l2 = utils.l2_penalty(params, 0.05)
    np.testing.assert_allclose(l1.item(), 0.01 * sum(np.abs(a).sum() for a in arrays), rtol=1e-12)
    np.testing.assert_allclose(l2.item(), 0.05 * sum((a * a).sum() for a in arrays), rtol=1e-12)
    (l1 + l2).backward()
    for p, a in zip(params, arrays):
        np.testing.assert_allclose(p.grad.array, 0.01 * np.sign(a) + 0.1 * a, rtol=1e-12)
    assert sd.gradcheck(lambda x: utils.l2_penalty([x], 0.3), sd.Tensor(arrays[0], requires_grad=True))


def test_penalties_accept_a_module_and_match_torch(reference):
    def torch_side(torch):
        tl = torch.nn.Linear(3, 2)
        state = {f"state.{k}": v.detach().clone() for k, v in tl.state_dict().items()}
        tpen = 1e-3 * sum(p.abs().sum() for p in tl.parameters()) + 1e-2 * sum((p * p).sum() for p in tl.parameters())
        tpen.backward()
        return {"pen": tpen, "weight.grad": tl.weight.grad, **state}

    ref = reference(torch_side)
    layer = nn.Linear(3, 2)
    layer.load_state_dict({k[6:]: v for k, v in ref.items() if k.startswith("state.")})
    pen = utils.l1_penalty(layer, 1e-3) + utils.l2_penalty(layer.parameters(), 1e-2)
    np.testing.assert_allclose(pen.item(), ref["pen"].item(), rtol=1e-6)
    assert pen.dtype == np.float32
    pen.backward()
    np.testing.assert_allclose(layer.weight.grad.array, ref["weight.grad"], rtol=1e-6)
    assert utils.l2_penalty([], 1.0).item() == 0.0


def test_weight_decay_equals_half_weight_l2_penalty():
    """SGD(weight_decay=λ) takes the same steps as SGD on loss + l2_penalty(params, λ/2)."""
    rng = np.random.default_rng(2)
    w0, target = rng.standard_normal(5), rng.standard_normal(5)
    a = sd.Tensor(w0.copy(), requires_grad=True)
    b = sd.Tensor(w0.copy(), requires_grad=True)
    decay, penalised = optim.SGD([a], lr=0.1, weight_decay=0.2), optim.SGD([b], lr=0.1)
    t = sd.Tensor(target)
    for _ in range(10):
        decay.zero_grad()
        ((a - t) ** 2).sum().backward()
        decay.step()
        penalised.zero_grad()
        (((b - t) ** 2).sum() + utils.l2_penalty([b], 0.1)).backward()
        penalised.step()
    np.testing.assert_allclose(a.array, b.array, rtol=1e-12)


def test_training_a_module_matches_torch(reference):
    """nn.Linear trained with clipping, SGD+Nesterov and a cosine schedule, step for step with PyTorch."""
    rng = np.random.default_rng(4)
    X = rng.standard_normal((32, 4)).astype(np.float32)
    y = rng.standard_normal((32, 2)).astype(np.float32)

    def torch_side(torch):
        tmodel = torch.nn.Linear(4, 2)
        res = {f"state.{k}": v.detach().clone() for k, v in tmodel.state_dict().items()}
        topt = torch.optim.SGD(tmodel.parameters(), lr=0.2, momentum=0.9, nesterov=True)
        tsched = torch.optim.lr_scheduler.CosineAnnealingLR(topt, T_max=10)
        losses = []
        for _ in range(10):
            topt.zero_grad()
            tloss = ((tmodel(torch.from_numpy(X)) - torch.from_numpy(y)) ** 2).mean()
            tloss.backward()
            torch.nn.utils.clip_grad_norm_(tmodel.parameters(), 0.5)
            topt.step()
            tsched.step()
            losses.append(tloss.item())
        res.update({"losses": np.array(losses), "weight": tmodel.weight})
        return res

    ref = reference(torch_side)
    model = nn.Linear(4, 2)
    model.load_state_dict({k[6:]: v for k, v in ref.items() if k.startswith("state.")})
    opt = optim.SGD(model.parameters(), lr=0.2, momentum=0.9, nesterov=True)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)
    for step in range(10):
        opt.zero_grad()
        loss = ((model(sd.Tensor(X)) - sd.Tensor(y)) ** 2).mean()
        loss.backward()
        utils.clip_grad_norm_(model.parameters(), 0.5)
        opt.step()
        sched.step()
        np.testing.assert_allclose(loss.item(), ref["losses"][step], rtol=1e-5)
    np.testing.assert_allclose(model.weight.array, ref["weight"], rtol=1e-5, atol=1e-6)

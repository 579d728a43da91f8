"""Transfer learning: a frozen sub-module gets no gradient and no update; a new head trains on top."""
import numpy as np
import pytest

import shendu as sd
from shendu import nn, optim
from shendu.train import Trainer


def _net():
    sd.manual_seed(0)
    base = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                         nn.Linear(4 * 6 * 6, 8), nn.ReLU())
    return nn.Sequential(base, nn.Linear(8, 3))


def _data(n=24):
    rng = np.random.default_rng(0)
    return rng.standard_normal((n, 1, 6, 6)).astype(np.float32), rng.integers(0, 3, n)


def _snapshot(module):
    return {k: v.numpy().copy() for k, v in module.state_dict().items()}


@pytest.mark.parametrize("make_opt", [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=1e-2),
    lambda ps: optim.Adam(ps, lr=1e-2),
    lambda ps: optim.AdamW(ps, lr=1e-2, weight_decay=0.1),
    lambda ps: optim.RMSprop(ps, lr=1e-2)])
def test_a_frozen_sub_module_is_skipped_by_every_optimizer_even_with_weight_decay(make_opt):
    net = _net()
    base, head = net[0], net[1]
    base.requires_grad_(False)
    assert all(not p.requires_grad for p in base.parameters()) and all(p.requires_grad for p in head.parameters())
    base.eval()                                       # also keeps BatchNorm's running statistics fixed
    frozen, head_before = _snapshot(base), _snapshot(head)
    opt = make_opt(net.parameters())                  # all parameters given: frozen ones must be skipped
    x, y = _data()
    for _ in range(3):
        opt.zero_grad()
        loss = nn.CrossEntropyLoss()(net(sd.tensor(x)), sd.tensor(y))
        loss.backward()
        opt.step()
    assert all(p.grad is None for p in base.parameters())
    for k, v in _snapshot(base).items():
        np.testing.assert_array_equal(v, frozen[k], err_msg=k)
    assert any(not np.array_equal(v, head_before[k]) for k, v in _snapshot(head).items())


def test_requires_grad_false_does_not_freeze_batchnorm_statistics_eval_does():
    net = _net()
    bn = net[0][1]
    net[0].requires_grad_(False)
    x, _ = _data()
    before = bn.running_mean.numpy().copy()
    net(sd.tensor(x))                                  # training mode: statistics move (as in PyTorch)
    assert not np.array_equal(before, bn.running_mean.numpy())
    net[0].eval()
    moved = bn.running_mean.numpy().copy()
    net(sd.tensor(x))
    np.testing.assert_array_equal(moved, bn.running_mean.numpy())


def test_gradients_still_flow_through_a_frozen_module_to_its_input():
    net = _net()
    net[0].requires_grad_(False)
    x = sd.tensor(_data(4)[0], requires_grad=True)
    net(x).sum().backward()
    assert x.grad is not None and np.abs(x.grad.numpy()).sum() > 0


def test_trainer_fit_with_a_frozen_base_and_unfreezing_for_fine_tuning():
    net = _net()
    net[0].requires_grad_(False)
    net[0].eval()
    frozen = _snapshot(net[0])
    trainable = [p for p in net.parameters() if p.requires_grad]
    assert len(trainable) == 2                        # the head's weight and bias
    x, y = _data()
    trainer = Trainer(net, nn.CrossEntropyLoss(), optim.Adam(trainable, lr=1e-2))
    trainer.fit(x, y, epochs=2, batch_size=8, verbose=0, seed=0)
    for k, v in _snapshot(net[0]).items():
        if "running" not in k and "num_batches" not in k:   # fit puts the whole net in train mode
            np.testing.assert_array_equal(v, frozen[k], err_msg=k)
    # fine-tuning: unfreeze, a small learning rate for the base, a larger one for the head
    net[0].requires_grad_(True)
    opt = optim.Adam([{"params": net[0].parameters(), "lr": 1e-4}, {"params": net[1].parameters()}], lr=1e-2)
    Trainer(net, nn.CrossEntropyLoss(), opt).fit(x, y, epochs=1, batch_size=8, verbose=0, seed=0)
    assert not np.array_equal(_snapshot(net[0])["0.weight"], frozen["0.weight"])


def test_keras_trainable_false_base_with_a_new_head():
    from shendu.keras import layers, models

    base = models.Sequential([layers.Dense(8, activation="relu", input_shape=(4,)), layers.Dense(8)], name="base")
    base.trainable = False
    model = models.Sequential([base, layers.Dense(3, activation="softmax")])
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 4)).astype("float32")
    model.predict(x[:1], verbose=0)                    # builds the new head
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    assert len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 4
    before = [w.copy() for w in base.get_weights()]
    head_before = [w.copy() for w in model.layers[-1].get_weights()]
    model.fit(x, rng.integers(0, 3, 32), epochs=2, verbose=0)
    for a, b in zip(before, base.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(head_before, model.layers[-1].get_weights()))

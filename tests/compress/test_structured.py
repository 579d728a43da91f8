"""Structured channel pruning physically shrinks layers and their neighbours; dead channels go unnoticed."""
import numpy as np
import pytest

import shendu as sd
import shendu.nn as nn
from shendu.cli import build_model
from shendu.compress import prune_channels, report


def _kill(conv_or_linear, channels, bn=None):
    """Make output channels contribute nothing: zero weights and bias (and BatchNorm shift/mean)."""
    conv_or_linear.weight.array[channels] = 0
    conv_or_linear.bias.array[channels] = 0
    if bn is not None:
        bn.bias.array[channels] = 0
        bn.running_mean.array[channels] = 0


def test_dead_channels_are_removed_without_changing_outputs():
    sd.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(1, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Sequential(nn.Conv2d(8, 6, 3, padding=1), nn.ReLU()), nn.Flatten(),
                      nn.Linear(6 * 5 * 5, 12), nn.ReLU(), nn.Dropout(0.2), nn.Linear(12, 3))
    m.eval()
    m[1].running_var.array[...] = np.linspace(0.5, 2, 8)
    _kill(m[0], [1, 2, 5, 7], m[1])
    _kill(m[4][0], [0, 4, 5])
    _kill(m[6], list(range(6)))
    x = sd.randn(4, 1, 12, 12)
    before = m(x).numpy()
    plan = prune_channels(m, 0.5)
    assert [p.get("after") for p in plan] == [4, 3, 6, None]
    assert plan[-1]["skipped"] == "output layer"
    assert m[0].weight.shape == (4, 1, 3, 3) and m[0].out_channels == 4
    assert m[1].running_mean.shape == (4,) and m[1].num_features == 4
    assert m[4][0].weight.shape == (3, 4, 3, 3) and m[4][0].in_channels == 4
    assert m[6].weight.shape == (6, 75) and m[6].in_features == 75
    assert m[9].weight.shape == (3, 6)
    np.testing.assert_allclose(m(x).numpy(), before, rtol=1e-5, atol=1e-6)


def test_pruned_model_trains():
    sd.manual_seed(1)
    m = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 2))
    prune_channels(m, 0.5)
    opt = sd.optim.SGD(m.parameters(), lr=0.1)
    x, y = sd.randn(8, 1, 8, 8), sd.randint(0, 2, (8,))
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(m(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_keras_seed_cnn_halves_and_saves(tmp_path):
    sd.manual_seed(0)
    model = build_model("cnn", (28, 28, 1), 10)
    convs = [layer for layer in model.layers if hasattr(layer, "conv")]
    _kill(convs[0].conv, list(range(0, 32, 2)))
    _kill(convs[1].conv, list(range(1, 64, 2)))
    x = np.random.default_rng(0).random((3, 28, 28, 1)).astype(np.float32)
    before = model.predict(x, verbose=0)
    params = report(model, print_fn=False)["params"]
    prune_channels(model, 0.5)
    assert convs[0].filters == 16 and convs[1].filters == 32
    after = report(model, print_fn=False)["params"]
    assert after <= params / 2
    np.testing.assert_allclose(model.predict(x, verbose=0), before, rtol=1e-5, atol=1e-6)
    model.save(tmp_path / "small.keras")
    from shendu.keras.models import load_model
    again = load_model(tmp_path / "small.keras")
    np.testing.assert_allclose(again.predict(x, verbose=0), before, rtol=1e-5, atol=1e-6)
    assert again.count_params() == after


def test_errors():
    with pytest.raises(ValueError, match="amount"):
        prune_channels(nn.Sequential(nn.Linear(2, 2)), 1.0)
    with pytest.raises(TypeError, match="nn.Sequential"):
        prune_channels(nn.Linear(2, 2), 0.5)
    plan = prune_channels(nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4), nn.Linear(4, 2)), 0.5)
    assert plan[0]["skipped"] == "LayerNorm follows"

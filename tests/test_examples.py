"""The examples run and learn (one short epoch each)."""
import importlib.util
import os

import numpy as np

import shendu as sd

EXAMPLES = os.path.join(os.path.dirname(__file__), os.pardir, "examples")


def load(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(EXAMPLES, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_residual_block_example_learns():
    acc = load("residual_block").main(epochs=1)
    assert acc > 0.6


def test_residual_block_matches_torch_shapes_and_keys(torch):
    ex = load("residual_block")
    block = ex.ResidualBlock(4, 8, stride=2)
    tblock = torch.nn.Sequential()  # same parameter names as the equivalent torch module
    tblock.conv1 = torch.nn.Conv2d(4, 8, 3, stride=2, padding=1, bias=False)
    tblock.bn1 = torch.nn.BatchNorm2d(8)
    tblock.conv2 = torch.nn.Conv2d(8, 8, 3, padding=1, bias=False)
    tblock.bn2 = torch.nn.BatchNorm2d(8)
    tblock.shortcut = torch.nn.Sequential(torch.nn.Conv2d(4, 8, 1, stride=2, bias=False), torch.nn.BatchNorm2d(8))
    ts = tblock.state_dict()
    assert list(block.state_dict()) == list(ts)
    block.load_state_dict({k: v.numpy() for k, v in ts.items()})
    x = np.random.default_rng(0).standard_normal((2, 4, 9, 9)).astype(np.float32)
    tx = torch.tensor(x)
    tout = torch.relu(tblock.bn2(tblock.conv2(torch.relu(tblock.bn1(tblock.conv1(tx))))) + tblock.shortcut(tx))
    np.testing.assert_allclose(block(sd.tensor(x)).numpy(), tout.detach().numpy(), rtol=1e-4, atol=1e-5)

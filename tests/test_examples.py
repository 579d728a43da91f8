"""The examples run and learn (one short epoch each)."""
import importlib.util
import json
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


def test_residual_block_matches_torch_shapes_and_keys(reference):
    x = np.random.default_rng(0).standard_normal((2, 4, 9, 9)).astype(np.float32)

    def torch_side(torch):
        tblock = torch.nn.Sequential()  # same parameter names as the equivalent torch module
        tblock.conv1 = torch.nn.Conv2d(4, 8, 3, stride=2, padding=1, bias=False)
        tblock.bn1 = torch.nn.BatchNorm2d(8)
        tblock.conv2 = torch.nn.Conv2d(8, 8, 3, padding=1, bias=False)
        tblock.bn2 = torch.nn.BatchNorm2d(8)
        tblock.shortcut = torch.nn.Sequential(torch.nn.Conv2d(4, 8, 1, stride=2, bias=False),
                                              torch.nn.BatchNorm2d(8))
        ts = {k: v.clone() for k, v in tblock.state_dict().items()}  # before the forward updates them
        tx = torch.tensor(x)
        tout = torch.relu(tblock.bn2(tblock.conv2(torch.relu(tblock.bn1(tblock.conv1(tx))))) + tblock.shortcut(tx))
        out = {f"state.{k}": v for k, v in ts.items()}
        # the keys in their order, with each entry's shape (a recorded 0-d value comes back with shape (1,))
        out["keys"] = json.dumps([[k, list(v.shape)] for k, v in ts.items()])
        out["y"] = tout
        return out

    ref = reference(torch_side)
    keys = json.loads(ref["keys"])
    block = load("residual_block").ResidualBlock(4, 8, stride=2)
    assert list(block.state_dict()) == [k for k, _ in keys]
    block.load_state_dict({k: ref[f"state.{k}"].reshape(shape) for k, shape in keys})
    np.testing.assert_allclose(block(sd.tensor(x)).numpy(), ref["y"], rtol=1e-4, atol=1e-5)

"""The generative and transfer-learning examples run end to end on a few images.

They read the Fashion-MNIST files of Debian's dataset-fashion-mnist, hence the ``system`` mark
(``pytest -m system tests/models``)."""
import importlib.util
import math
import os

import numpy as np
import pytest

from conftest import require, require_path

pytestmark = pytest.mark.system

EXAMPLES = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "examples")


def load(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(EXAMPLES, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def fashion():
    require_path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz",
                 "Fashion-MNIST (dataset-fashion-mnist)")


def test_vae_example(tmp_path):
    require("PIL")
    elbo = load("vae_fashion").main(epochs=1, train_size=256, test_size=128, out=str(tmp_path), verbose=False)
    assert math.isfinite(elbo) and elbo < 0
    assert sorted(os.listdir(tmp_path)) == ["vae_reconstructions.png", "vae_samples.png"]


def test_autoencoder_example():
    mse = load("autoencoder").main(epochs=1, kind="dense", denoising=True, train_size=256, test_size=64,
                                   verbose=0)
    assert 0 < mse < 0.2


def test_dcgan_example(tmp_path):
    require("PIL")
    gan, history = load("dcgan_fashion").main(epochs=1, train_size=64, features=4, batch_size=32,
                                              out=str(tmp_path), verbose=0)
    assert os.listdir(tmp_path) == ["epoch_001.png"] and np.isfinite(history.history["g_loss"]).all()


def test_transfer_example():
    results = load("transfer_fashion_to_digits").main(pretrain_size=256, n_digits=40, head_epochs=1, fashion_test=100)
    assert set(results) == {"pretrained_fashion", "transfer", "finetune", "scratch"}
    assert all(0 <= v <= 1 for v in results.values())

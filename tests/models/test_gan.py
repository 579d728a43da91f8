"""DCGAN shapes and initialisation; GANTrainer's steps move each player the right way; fit logs both losses."""
import io
import os

import numpy as np
import pytest

import shendu as sd
from conftest import require
from shendu import models, optim
from shendu.train import CSVLogger, ProgbarLogger


@pytest.mark.parametrize("size", [28, 32, 64])
def test_generator_and_discriminator_shapes(size):
    sd.manual_seed(0)
    gan = models.DCGAN(latent_dim=10, channels=3 if size == 32 else 1, image_size=size, g_features=4,
                       d_features=4)
    images = gan.generator(sd.randn(2, 10))
    assert images.shape == (2, gan.generator.channels, size, size)
    assert np.abs(images.numpy()).max() <= 1.0                        # Tanh output
    assert gan.generator(sd.randn(2, 10, 1, 1)).shape == images.shape  # (N, nz, 1, 1) too
    assert gan.discriminator(images).shape == (2,)                     # one logit per image
    assert gan.sample(3).shape == (3, gan.generator.channels, size, size)


def test_bad_sizes_and_shapes_are_named():
    with pytest.raises(ValueError, match="image_size"):
        models.DCGANGenerator(image_size=30)
    g = models.DCGANGenerator(latent_dim=8, features=4)
    with pytest.raises(sd.ShapeError, match="DCGANGenerator.*\\(N, 8\\)"):
        g(sd.randn(2, 7))
    with pytest.raises(sd.ShapeError, match="DCGANDiscriminator"):
        models.DCGANDiscriminator(features=4)(sd.randn(2, 1, 32, 32))


def test_dcgan_weight_init_and_adam_settings():
    sd.manual_seed(0)
    gan = models.DCGAN(latent_dim=100, g_features=32, d_features=32)
    conv = gan.generator.main[3].weight.numpy()
    assert abs(conv.mean()) < 2e-3 and conv.std() == pytest.approx(0.02, rel=0.05)
    bn = gan.discriminator.main[3]
    assert bn.weight.numpy().mean() == pytest.approx(1.0, abs=0.01) and np.all(bn.bias.numpy() == 0)
    g_opt, d_opt = gan.optimizers()
    for opt in (g_opt, d_opt):
        assert opt.param_groups[0]["lr"] == 2e-4 and tuple(opt.param_groups[0]["betas"]) == (0.5, 0.999)


def _tiny(seed=0):
    sd.manual_seed(seed)
    gan = models.DCGAN(latent_dim=8, g_features=4, d_features=4)
    return gan, models.GANTrainer(gan.generator, gan.discriminator, n_samples=4, seed=seed)


def test_a_discriminator_step_lowers_its_loss_on_a_fixed_batch():
    gan, trainer = _tiny()
    rng = np.random.default_rng(0)
    real = sd.tensor(rng.uniform(-1, 1, (16, 1, 28, 28)).astype(np.float32))
    with sd.no_grad():
        fake = gan.generator(sd.randn(16, 8))
    g_before = [p.numpy().copy() for p in gan.generator.parameters()]
    with sd.no_grad():
        before = trainer.discriminator_loss(real, fake)[0].item()
    for _ in range(3):
        trainer.discriminator_step(real, fake)
    with sd.no_grad():
        after = trainer.discriminator_loss(real, fake)[0].item()
    assert after < before
    for a, p in zip(g_before, gan.generator.parameters()):     # the D step leaves G alone
        np.testing.assert_array_equal(a, p.numpy())


def test_a_generator_step_fools_the_discriminator_more_and_leaves_it_untouched():
    gan, trainer = _tiny()
    trainer.g_optimizer = optim.Adam(gan.generator.parameters(), lr=1e-2, betas=(0.5, 0.999))
    d_before = [p.numpy().copy() for p in gan.discriminator.parameters()]
    gan.discriminator.eval()                      # fixed D statistics, so only G changes the score
    z = sd.randn(16, 8)

    def g_loss():
        with sd.no_grad():
            s = gan.discriminator(gan.generator(z))
        return float(np.mean(np.logaddexp(0.0, -s.numpy())))   # −log σ(s)

    before = g_loss()
    trainer._noise = lambda n: z                  # the same noise every step
    for _ in range(3):
        trainer.generator_step(16)
    assert g_loss() < before
    for a, p in zip(d_before, gan.discriminator.parameters()):
        np.testing.assert_array_equal(a, p.numpy())
        assert p.grad is None and p.requires_grad     # no gradient spent on D, and D is trainable again


def test_fit_logs_both_losses_and_saves_a_sample_grid_each_epoch(tmp_path):
    require("PIL")
    gan, trainer = _tiny()
    trainer.sample_dir = str(tmp_path / "samples")
    x = np.random.default_rng(0).uniform(-1, 1, (24, 1, 28, 28)).astype(np.float32)
    out = io.StringIO()
    history = trainer.fit(x, epochs=2, batch_size=8, callbacks=[ProgbarLogger(stream=out),
                                                                CSVLogger(str(tmp_path / "log.csv"))])
    for key in ("d_loss", "g_loss", "d_real", "d_fake"):
        assert len(history.history[key]) == 2 and np.isfinite(history.history[key]).all()
    text = out.getvalue()
    assert "Epoch 2/2" in text and "d_loss:" in text and "g_loss:" in text and "3/3" in text
    assert sorted(os.listdir(tmp_path / "samples")) == ["epoch_001.png", "epoch_002.png"]
    assert len(trainer.samples) == 2 and trainer.samples[0].shape == (3, 62, 62)   # 2x2 grid of 4
    assert "g_loss" in (tmp_path / "log.csv").read_text().splitlines()[0]
    trainer.save(str(tmp_path / "gan.safetensors"))
    state = sd.load(str(tmp_path / "gan.safetensors"))
    assert any(k.startswith("generator.") for k in state) and any(k.startswith("discriminator.") for k in state)


def test_fit_takes_a_dataloader_of_image_label_batches_and_d_steps():
    from shendu.data import DataLoader, TensorDataset

    gan, trainer = _tiny(1)
    trainer.d_steps = 2
    x = np.random.default_rng(0).uniform(-1, 1, (32, 1, 28, 28)).astype(np.float32)
    loader = DataLoader(TensorDataset(sd.tensor(x), sd.zeros(32)), batch_size=8)
    history = trainer.fit(loader, epochs=1, verbose=0)
    assert history.params["steps"] == 2 and len(history.history["d_loss"]) == 1
    with pytest.raises(ValueError, match="d_steps"):
        models.GANTrainer(gan.generator, gan.discriminator, d_steps=0)

"""VAE: the loss is reconstruction + KL (hand-computed), gradients check, and PyTorch gives the same numbers."""
import math

import numpy as np
import pytest

import shendu as sd
from shendu import models, nn, optim
from shendu.train import Trainer


def test_loss_equals_reconstruction_plus_kl_by_hand():
    recon_x = sd.tensor([[0.5, 0.8]])
    x = sd.tensor([[1.0, 0.0]])
    mu = sd.tensor([[0.0, 1.0]])
    logvar = sd.tensor([[0.0, math.log(4.0)]])
    loss, recon, kl = models.VAE.loss_function(recon_x, x, mu, logvar)
    # BCE: −ln 0.5 − ln(1 − 0.8);  KL: −½[(1 + 0 − 0 − 1) + (1 + ln 4 − 1 − 4)] = 2 − ln 2
    want_recon = -math.log(0.5) - math.log(0.2)
    want_kl = 2.0 - math.log(2.0)
    assert recon.item() == pytest.approx(want_recon, rel=1e-6)
    assert kl.item() == pytest.approx(want_kl, rel=1e-6)
    assert loss.item() == pytest.approx(want_recon + want_kl, rel=1e-6)
    beta_loss = models.vae_loss(recon_x, x, mu, logvar, beta=0.5)[0]
    assert beta_loss.item() == pytest.approx(want_recon + 0.5 * want_kl, rel=1e-6)


def test_kl_of_the_prior_itself_is_zero_and_gradients_check():
    assert models.gaussian_kl(sd.zeros(3, 4), sd.zeros(3, 4)).item() == 0.0
    rng = np.random.default_rng(0)
    mu = sd.tensor(rng.standard_normal((2, 3)), dtype=sd.float64, requires_grad=True)
    logvar = sd.tensor(0.3 * rng.standard_normal((2, 3)), dtype=sd.float64, requires_grad=True)
    p = sd.tensor(rng.uniform(0.1, 0.9, (2, 5)), dtype=sd.float64, requires_grad=True)
    x = sd.tensor(rng.uniform(0, 1, (2, 5)), dtype=sd.float64)
    assert sd.gradcheck(models.gaussian_kl, mu, logvar)
    assert sd.gradcheck(lambda p, m, lv: models.vae_loss(p, x, m, lv)[0], p, mu, logvar)


def test_reparameterisation_is_differentiable_in_mu_and_sigma():
    vae = models.VAE(4, 3, 2).double()
    mu = sd.tensor([[0.5, -1.0]], dtype=sd.float64, requires_grad=True)
    logvar = sd.tensor([[0.0, math.log(4.0)]], dtype=sd.float64, requires_grad=True)
    eps = np.array([[1.0, -0.5]])
    z = vae.reparameterize(mu, logvar, eps)
    np.testing.assert_allclose(z.numpy(), [[1.5, -2.0]])          # μ + ε·σ, σ = (1, 2)
    z.sum().backward()
    np.testing.assert_allclose(mu.grad.numpy(), [[1.0, 1.0]])
    np.testing.assert_allclose(logvar.grad.numpy(), [[0.5, -0.5]])  # ½·ε·σ
    assert sd.gradcheck(lambda m, lv: vae.reparameterize(m, lv, eps), mu, logvar)


def test_shapes_sampling_and_training_lowers_the_loss():
    sd.manual_seed(0)
    vae = models.VAE(input_dim=16, hidden_dim=12, latent_dim=2, image_shape=(1, 4, 4))
    x = (np.random.default_rng(0).random((32, 1, 4, 4)) > 0.5).astype(np.float32)
    recon, mu, logvar = vae(sd.tensor(x))
    assert recon.shape == (32, 16) and mu.shape == (32, 2) and logvar.shape == (32, 2)
    assert vae.sample(5).shape == (5, 1, 4, 4) and vae.reconstruct(sd.tensor(x)).shape == (32, 1, 4, 4)
    before = vae.elbo(x)
    trainer = Trainer(vae, models.ELBOLoss(reduction="mean"), optim.Adam(vae.parameters(), lr=1e-2))
    history = trainer.fit(x, x, epochs=20, batch_size=8, verbose=0, seed=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert vae.elbo(x) > before                                    # the bound went up
    with pytest.raises(ValueError, match="16 values per sample"):
        vae(sd.zeros(2, 15))


def _torch_vae(torch, d, h, k):
    class TorchVAE(torch.nn.Module):   # the layout of PyTorch's own VAE example
        def __init__(self):
            super().__init__()
            self.fc1, self.fc21, self.fc22 = torch.nn.Linear(d, h), torch.nn.Linear(h, k), torch.nn.Linear(h, k)
            self.fc3, self.fc4 = torch.nn.Linear(k, h), torch.nn.Linear(h, d)

        def forward(self, x, eps):
            hid = torch.relu(self.fc1(x))
            mu, logvar = self.fc21(hid), self.fc22(hid)
            z = mu + eps * torch.exp(0.5 * logvar)
            return torch.sigmoid(self.fc4(torch.relu(self.fc3(z)))), mu, logvar
    return TorchVAE()


def test_forward_and_loss_match_pytorch_with_the_same_weights(reference):
    d, h, k, n = 12, 8, 3, 5
    rng = np.random.default_rng(1)
    x = rng.random((n, d)).astype(np.float32)
    eps = rng.standard_normal((n, k)).astype(np.float32)

    def torch_side(torch):
        net = _torch_vae(torch, d, h, k)
        out = {f"w.{name}": p.detach().clone() for name, p in net.state_dict().items()}
        recon, mu, logvar = net(torch.tensor(x), torch.tensor(eps))
        bce = torch.nn.functional.binary_cross_entropy(recon, torch.tensor(x), reduction="sum")
        kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        (bce + kld).backward()
        out.update(recon=recon, mu=mu, logvar=logvar, bce=bce, kld=kld, loss=bce + kld,
                   grad_fc1=net.fc1.weight.grad, grad_fc22=net.fc22.weight.grad)
        return out

    ref = reference(torch_side)
    vae = models.VAE(d, h, k)
    vae.load_state_dict({name[2:]: ref[name] for name in ref if name.startswith("w.")})
    recon, mu, logvar = vae(sd.tensor(x), eps=eps)
    loss, bce, kld = vae.loss_function(recon, sd.tensor(x), mu, logvar)
    loss.backward()
    for name, got in [("recon", recon), ("mu", mu), ("logvar", logvar), ("grad_fc1", vae.fc1.weight.grad),
                      ("grad_fc22", vae.fc22.weight.grad)]:
        np.testing.assert_allclose(got.numpy(), ref[name], rtol=1e-4, atol=1e-5, err_msg=name)
    for name, got in [("bce", bce), ("kld", kld), ("loss", loss)]:
        assert got.item() == pytest.approx(float(ref[name].reshape(-1)[0]), rel=1e-5), name


def test_elbo_loss_object_in_the_trainer_and_bad_reduction():
    with pytest.raises(ValueError, match="reduction"):
        models.ELBOLoss(reduction="none")
    assert isinstance(models.ELBOLoss(), nn.Module)

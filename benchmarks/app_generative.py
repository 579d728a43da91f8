"""Generative-model figures (not a test): results are appended to benchmarks/RESULTS.md.

    python benchmarks/app_generative.py                    # both parts, short settings
    python benchmarks/app_generative.py --only vae --vae-train 60000 --vae-epochs 10   # a full run

VAE: the same architecture (784-400-20, PyTorch's VAE example) trained by PyTorch and by shendu
from the SAME initial weights, on the same batches in the same order, for the same epochs; both test
ELBOs are computed with the same ε draws. Target: they agree within 1%.

DCGAN: trained on Fashion-MNIST by GANTrainer; 1,000 samples are labelled by a shendu CNN trained on
Fashion-MNIST. Target: all 10 classes appear and the label entropy is ≥ 0.9·ln 10 (no mode
collapse). The fixed-noise sample grid goes to benchmarks/figures/dcgan_fashion.png.
"""
import argparse
import datetime
import os
import platform
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, os.pardir, "src"))

import shendu as sd  # noqa: E402
from shendu import models, nn, optim  # noqa: E402
from shendu.data import datasets  # noqa: E402
from shendu.train import Trainer  # noqa: E402


def _fashion():
    (x, y), (xt, yt) = datasets.fashion_mnist()
    return (x / 255.0).astype(np.float32), y, (xt / 255.0).astype(np.float32), yt


# ---------------------------------------------------------------------------------------------- VAE
def _torch_vae(torch):
    class TorchVAE(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc21, self.fc22 = torch.nn.Linear(784, 400), torch.nn.Linear(400, 20), \
                torch.nn.Linear(400, 20)
            self.fc3, self.fc4 = torch.nn.Linear(20, 400), torch.nn.Linear(400, 784)

        def forward(self, x, eps=None):
            h = torch.relu(self.fc1(x))
            mu, logvar = self.fc21(h), self.fc22(h)
            std = torch.exp(0.5 * logvar)
            z = mu + (torch.randn_like(std) if eps is None else eps) * std
            return torch.sigmoid(self.fc4(torch.relu(self.fc3(z)))), mu, logvar
    return TorchVAE()


def case_vae(args, log):
    import torch

    torch.set_num_threads(2)
    x, _, xt, _ = _fashion()
    x, xt = x[:args.vae_train].reshape(-1, 784), xt[:args.vae_test].reshape(-1, 784)
    torch.manual_seed(args.seed)
    tnet = _torch_vae(torch)
    snet = models.VAE(784, 400, 20)
    snet.load_state_dict({k: v.detach().numpy().copy() for k, v in tnet.state_dict().items()})
    topt = torch.optim.Adam(tnet.parameters(), lr=1e-3)
    sopt = optim.Adam(snet.parameters(), lr=1e-3)
    rng = np.random.default_rng(args.seed)
    orders = [rng.permutation(len(x)) for _ in range(args.vae_epochs)]
    eval_eps = rng.standard_normal((len(xt), 20)).astype(np.float32)
    sd.manual_seed(args.seed)

    def t_elbo():
        with torch.no_grad():
            xb = torch.tensor(xt)
            r, mu, lv = tnet(xb, torch.tensor(eval_eps))
            loss = torch.nn.functional.binary_cross_entropy(r, xb, reduction="sum") \
                - 0.5 * torch.sum(1 + lv - mu.pow(2) - lv.exp())
        return -loss.item() / len(xt)

    def s_elbo():
        with sd.no_grad():
            xb = sd.tensor(xt)
            r, mu, lv = snet(xb, eps=eval_eps)
            return -snet.loss_function(r, xb, mu, lv)[0].item() / len(xt)

    rows, times = [], {"torch": 0.0, "shendu": 0.0}
    for epoch, order in enumerate(orders, 1):
        t0 = time.perf_counter()
        for i in range(0, len(x), args.batch_size):
            xb = torch.tensor(x[order[i:i + args.batch_size]])
            topt.zero_grad()
            r, mu, lv = tnet(xb)
            loss = torch.nn.functional.binary_cross_entropy(r, xb, reduction="sum") \
                - 0.5 * torch.sum(1 + lv - mu.pow(2) - lv.exp())
            loss.backward()
            topt.step()
        t1 = time.perf_counter()
        for i in range(0, len(x), args.batch_size):
            xb = sd.tensor(x[order[i:i + args.batch_size]])
            sopt.zero_grad()
            r, mu, lv = snet(xb)
            loss = snet.loss_function(r, xb, mu, lv)[0]
            loss.backward()
            sopt.step()
        t2 = time.perf_counter()
        times["torch"] += t1 - t0
        times["shendu"] += t2 - t1
        te, se = t_elbo(), s_elbo()
        rows.append((epoch, te, se, abs(se - te) / abs(te)))
        log(f"vae epoch {epoch}: test ELBO torch {te:.3f}, shendu {se:.3f} nats/image "
            f"(rel. diff {rows[-1][3]:.4%})")
    final = rows[-1]
    met = final[3] <= 0.01
    table = ["| epoch | PyTorch test ELBO (nats/image) | shendu test ELBO | relative difference |",
             "|---|---|---|---|"]
    table += [f"| {e} | {te:.3f} | {se:.3f} | {d:.3%} |" for e, te, se, d in rows]
    summary = (f"VAE 784-400-20 on Fashion-MNIST, first {len(x):,} training / {len(xt):,} test images, "
               f"Adam 1e-3, batch {args.batch_size}, {args.vae_epochs} epochs, same initial weights and "
               f"batch order: final ELBOs differ by {final[3]:.3%} "
               f"(target ≤ 1%: {'met' if met else 'MISSED'}). "
               f"Training time: PyTorch {times['torch']:.0f}s, shendu {times['shendu']:.0f}s.")
    return summary, table


# -------------------------------------------------------------------------------------------- DCGAN
def _classifier(x, y, args, log):
    """A shendu CNN that labels Fashion-MNIST images (inputs in [0, 1])."""
    sd.manual_seed(args.seed)
    net = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))
    trainer = Trainer(net, nn.CrossEntropyLoss(), optim.Adam(net.parameters(), lr=1e-3), metrics=["accuracy"])
    n = args.clf_train
    trainer.fit(x[:n, None], y[:n], epochs=args.clf_epochs, batch_size=64, verbose=0, seed=args.seed)
    return trainer


def case_dcgan(args, log):
    x, y, xt, yt = _fashion()
    t0 = time.perf_counter()
    clf = _classifier(x, y, args, log)
    clf_acc = float(np.mean(clf.predict(xt[:, None], batch_size=500, verbose=0).argmax(1) == yt))
    t_clf = time.perf_counter() - t0
    log(f"classifier: test accuracy {clf_acc:.4f} ({t_clf:.0f}s)")

    sd.manual_seed(args.seed)
    real = (x[:args.gan_train, None] * 2 - 1).astype(np.float32)
    gan = models.DCGAN(latent_dim=100, image_size=28, g_features=args.features, d_features=args.features)
    trainer = models.GANTrainer(gan.generator, gan.discriminator, seed=args.seed)
    t0 = time.perf_counter()
    history = trainer.fit(real, epochs=args.gan_epochs, batch_size=args.batch_size, verbose=2)
    t_gan = time.perf_counter() - t0
    os.makedirs(os.path.join(HERE, "figures"), exist_ok=True)
    from shendu.viz import save_image

    save_image(trainer.samples[-1], os.path.join(HERE, "figures", "dcgan_fashion.png"))
    samples = gan.sample(1000, generator=sd.Generator().manual_seed(args.seed)).numpy()
    labels = clf.predict((samples + 1) / 2, batch_size=500, verbose=0).argmax(1)
    counts = np.bincount(labels, minlength=10)
    p = counts / counts.sum()
    entropy = float(-(p[p > 0] * np.log(p[p > 0])).sum())
    met = entropy >= 0.9 * np.log(10) and (counts > 0).all()
    log(f"dcgan: class counts {counts.tolist()}, entropy {entropy:.3f} (≥ {0.9 * np.log(10):.3f}), "
        f"{t_gan:.0f}s")
    names = datasets.FASHION_MNIST_CLASSES
    table = ["| class | " + " | ".join(names) + " |", "|---|" + "---|" * 10,
             "| samples of 1,000 | " + " | ".join(str(c) for c in counts) + " |"]
    h = history.history
    summary = (f"DCGAN (features {args.features}, latent 100, Adam 2e-4 β=(0.5, 0.999), "
               f"batch {args.batch_size}) "
               f"on the first {len(real):,} Fashion-MNIST training images for {args.gan_epochs} epochs "
               f"({t_gan:.0f}s; last epoch d_loss {h['d_loss'][-1]:.3f}, g_loss {h['g_loss'][-1]:.3f}). "
               f"1,000 samples labelled by a shendu CNN (test accuracy {clf_acc:.4f}, trained on "
               f"{args.clf_train:,} images, {args.clf_epochs} epoch(s), {t_clf:.0f}s): "
               f"{int((counts > 0).sum())}/10 classes, label entropy {entropy:.3f} nats "
               f"(target ≥ 0.9·ln 10 = {0.9 * np.log(10):.3f} and all 10 classes: "
               f"{'met' if met else 'MISSED'}). "
               f"Grid: `benchmarks/figures/dcgan_fashion.png`.")
    return summary, table


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", nargs="*", default=["vae", "dcgan"], choices=["vae", "dcgan"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--vae-train", type=int, default=20000)
    p.add_argument("--vae-test", type=int, default=10000)
    p.add_argument("--vae-epochs", type=int, default=3)
    p.add_argument("--gan-train", type=int, default=20000)
    p.add_argument("--gan-epochs", type=int, default=3)
    p.add_argument("--features", type=int, default=32)
    p.add_argument("--clf-train", type=int, default=20000)
    p.add_argument("--clf-epochs", type=int, default=1)
    p.add_argument("--results", default=os.path.join(HERE, "RESULTS.md"))
    p.add_argument("--no-write", action="store_true", help="print only; do not append to RESULTS.md")
    args = p.parse_args()
    lines = []
    start = time.perf_counter()
    for name in args.only:
        t0 = time.perf_counter()
        summary, table = {"vae": case_vae, "dcgan": case_dcgan}[name](args, print)
        lines += ["", f"- **{name}** ({time.perf_counter() - t0:.0f}s wall): {summary}", ""] + table
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    head = [f"## app_generative.py run, {stamp}", "",
            f"Machine: {platform.machine()}, {os.cpu_count()} cores (shared), "
            f"Python {platform.python_version()}, numpy {np.__version__}; seed {args.seed}; "
            f"total {time.perf_counter() - start:.0f}s wall; command: "
            f"`python benchmarks/app_generative.py {' '.join(sys.argv[1:])}`".rstrip()]
    text = "\n".join(head + lines) + "\n"
    print(text)
    if not args.no_write:
        with open(args.results, "a", encoding="utf-8") as f:
            f.write("\n" + text)


if __name__ == "__main__":
    main()

"""Recognise ten spoken commands from log-mel spectrograms with a small CNN, on speech synthesised locally.

    sudo apt-get install espeak-ng
    python examples/spoken_commands.py                  # about two minutes on two cores

No speech corpus is downloaded: each word is spoken by Debian's ``espeak-ng`` in many voices, at several
speeds and pitches, with added noise. The test set uses voices the model never heard in training.
Features: ``shendu.data.audio.melspectrogram`` → decibels (frames × 40 mel bands), standardised.
"""
import argparse
import os
import subprocess
import tempfile
import time

import numpy as np

import shendu as sd
import shendu.nn as nn
import shendu.nn.functional as F
from shendu import optim
from shendu.data import audio

WORDS = ["yes", "no", "up", "down", "left", "right", "stop", "go", "on", "off"]
TRAIN_VOICES = ["en+m1", "en+m3", "en+f1", "en+f3", "en-us+m2", "en-us+f2", "en-gb-scotland+m4", "en+klatt",
                "en-us+m7", "en+f5"]
TEST_VOICES = ["en-us+m4", "en+f4", "en-gb-x-rp+m5", "en-us+f1"]
SR, SECONDS = 16000, 1.0


def speak(word, voice, speed, pitch, folder):
    path = os.path.join(folder, "clip.wav")
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", path, word],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    x, sr = audio.read_wav(path)
    n = int(len(x) * SR / sr)                                    # resample to 16 kHz by linear interpolation
    return np.interp(np.linspace(0, len(x) - 1, n), np.arange(len(x)), x)


def features(x, rng, noise):
    """Fixed 1-second log-mel image ``(1, frames, 40)``: the clip centred, noise added at a random level."""
    target = int(SR * SECONDS)
    clip = np.zeros(target)
    x = x[:target]
    start = rng.integers(0, target - len(x) + 1)
    clip[start:start + len(x)] = x
    clip += rng.uniform(0, noise) * rng.standard_normal(target)
    mel = audio.power_to_db(audio.melspectrogram(clip, SR, n_fft=512, hop_length=256, n_mels=40), top_db=80)
    return mel[None].astype(np.float32)


def synthesise(voices, speeds, pitches, rng, noise, copies=1):
    xs, ys = [], []
    with tempfile.TemporaryDirectory() as folder:
        for label, word in enumerate(WORDS):
            for voice in voices:
                for speed in speeds:
                    for pitch in pitches:
                        wave = speak(word, voice, speed, pitch, folder)
                        for _ in range(copies):
                            xs.append(features(wave, rng, noise))
                            ys.append(label)
    return np.stack(xs), np.array(ys, dtype=np.int64)


class CommandNet(nn.Module):
    """Two conv/pool blocks over the (time × mel) image, global average pooling, a linear classifier."""

    def __init__(self, classes=len(WORDS)):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
        )
        self.classifier = nn.Linear(64, classes)

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


def run(epochs=12, seed=0, noise=0.02, verbose=True):
    sd.manual_seed(seed)
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    x, y = synthesise(TRAIN_VOICES, [130, 175, 220], [30, 50, 70], rng, noise, copies=2)
    xt, yt = synthesise(TEST_VOICES, [150, 200], [40, 60], rng, noise)
    mu, sigma = x.mean(), x.std()
    x, xt = (x - mu) / sigma, (xt - mu) / sigma
    synth_seconds = time.perf_counter() - start
    if verbose:
        print(f"synthesised {len(x)} training clips ({len(TRAIN_VOICES)} voices) and {len(xt)} test clips "
              f"({len(TEST_VOICES)} other voices) in {synth_seconds:.0f} s; features {x.shape[1:]}")
    model = CommandNet()
    opt = optim.Adam(model.parameters(), lr=2e-3)
    schedule = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    start = time.perf_counter()
    for epoch in range(epochs):
        model.train()
        perm = rng.permutation(len(x))
        for i in range(0, len(x), 32):
            idx = perm[i:i + 32]
            opt.zero_grad()
            loss = F.cross_entropy(model(sd.tensor(x[idx])), sd.tensor(y[idx]))
            loss.backward()
            opt.step()
        schedule.step()
        model.eval()
        with sd.no_grad():
            acc = float((model(sd.tensor(xt)).numpy().argmax(1) == yt).mean())
        if verbose:
            print(f"epoch {epoch + 1}: loss {float(loss.item()):.3f}  held-out-voice accuracy {acc:.3f}")
    return {"held_out_voice_accuracy": acc, "train_clips": len(x), "test_clips": len(xt),
            "train_seconds": time.perf_counter() - start, "synth_seconds": synth_seconds}


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    run(epochs=a.epochs, seed=a.seed)

"""Exact resume: training resumed from a checkpoint ends bit-identical to an uninterrupted run."""
import numpy as np
import pytest

import shendu as sd
import shendu.nn as nn
import shendu.optim as optim
from shendu.keras import callbacks as kcallbacks
from shendu.keras import layers, models
from shendu.train import BackupAndRestore, ReduceLROnPlateau, Trainer

RNG = np.random.default_rng(0)
X = RNG.normal(size=(48, 5)).astype(np.float32)
Y = RNG.integers(0, 3, size=48)


def _trainer(init_seed, dropout=True):
    sd.manual_seed(init_seed)
    mods = [nn.Linear(5, 12), nn.ReLU()] + ([nn.Dropout(0.4)] if dropout else []) + [nn.Linear(12, 3)]
    model = nn.Sequential(*mods)
    return Trainer(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.01))


def _same(a, b):
    for u, v in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(u, v)


@pytest.mark.parametrize("seed", [7, None])
def test_trainer_checkpoint_resume_is_bit_identical(tmp_path, seed):
    straight = _trainer(0)
    straight.fit(X, Y, epochs=4, batch_size=8, verbose=0, seed=seed,
                 callbacks=[ReduceLROnPlateau("loss", patience=1)])

    first = _trainer(0)
    first.fit(X, Y, epochs=2, batch_size=8, verbose=0, seed=seed,
              callbacks=[ReduceLROnPlateau("loss", patience=1)])
    first.save_checkpoint(tmp_path / "ckpt.safetensors")

    resumed = _trainer(99)  # a fresh model, other weights, the global generator elsewhere
    sd.random.generator().random(5)
    epoch = resumed.load_checkpoint(tmp_path / "ckpt.safetensors")
    assert epoch == 2
    resumed.fit(X, Y, epochs=4, batch_size=8, verbose=0, seed=seed, initial_epoch=epoch,
                callbacks=[ReduceLROnPlateau("loss", patience=1)])
    _same(resumed, straight)
    assert resumed.optimizer.param_groups[0]["lr"] == straight.optimizer.param_groups[0]["lr"]


def test_seeded_fit_from_initial_epoch_does_not_replay_epoch_zero():
    straight = _trainer(0, dropout=False)
    straight.fit(X, Y, epochs=4, batch_size=8, verbose=0, seed=3)
    parts = _trainer(0, dropout=False)
    parts.fit(X, Y, epochs=2, batch_size=8, verbose=0, seed=3)
    parts.fit(X, Y, epochs=4, batch_size=8, verbose=0, seed=3, initial_epoch=2)
    _same(parts, straight)


def test_backup_and_restore_resumes_a_keras_fit(tmp_path):
    def model(seed):
        sd.manual_seed(seed)
        m = models.Sequential([layers.Input((5,)), layers.Dense(12, activation="relu"), layers.Dropout(0.4),
                               layers.Dense(3, activation="softmax")])
        m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return m

    straight = model(0)
    straight.fit(X, Y, epochs=4, batch_size=8, verbose=0)

    backup = tmp_path / "backup"
    interrupted = model(0)
    interrupted.fit(X, Y, epochs=2, batch_size=8, verbose=0,
                    callbacks=[kcallbacks.BackupAndRestore(backup, delete_checkpoint=False)])
    assert (backup / "checkpoint.safetensors").exists()

    again = model(5)
    history = again.fit(X, Y, epochs=4, batch_size=8, verbose=0, callbacks=[BackupAndRestore(backup)])
    assert history.epoch == [2, 3]
    _same(again, straight)
    assert not (backup / "checkpoint.safetensors").exists()  # removed once training finished


def test_load_checkpoint_names_a_weights_only_file(tmp_path):
    trainer = _trainer(0)
    trainer.save(tmp_path / "w.safetensors")
    with pytest.raises(ValueError, match="not a shendu training checkpoint"):
        trainer.load_checkpoint(tmp_path / "w.safetensors")

"""Keras callbacks (``EarlyStopping``, ``ModelCheckpoint``, ...): the ones :mod:`shendu.train` runs."""

from ..train import (
    BackupAndRestore,
    Callback,
    CallbackList,
    CSVLogger,
    EarlyStopping,
    History,
    LambdaCallback,
    LearningRateScheduler,
    ModelCheckpoint,
    ProgbarLogger,
    ReduceLROnPlateau,
    Report,
    TerminateOnNaN,
)

__all__ = ["BackupAndRestore", "Callback", "CallbackList", "History", "ProgbarLogger", "EarlyStopping",
           "ModelCheckpoint", "ReduceLROnPlateau", "LearningRateScheduler", "CSVLogger", "TerminateOnNaN",
           "LambdaCallback", "Report"]

"""shendu.train: one fit / evaluate / predict loop for every model, Keras's callbacks, the progress
bar and run reports.

    from shendu.train import Trainer, EarlyStopping, ModelCheckpoint
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters()), metrics=["accuracy"])
    history = trainer.fit(x, y, epochs=10, validation_split=0.1, callbacks=[EarlyStopping(patience=2)])

``shendu.keras`` builds its ``Model.fit`` on the same :class:`Trainer`.
"""
from .callbacks import (
    BackupAndRestore,
    Callback,
    CallbackList,
    CSVLogger,
    EarlyStopping,
    History,
    LambdaCallback,
    LearningRateScheduler,
    ModelCheckpoint,
    ReduceLROnPlateau,
    TerminateOnNaN,
    monitor_mode,
)
from .lr import get_lr, set_lr
from .progress import Progbar, ProgbarLogger
from .report import Report, write_report
from .trainer import Trainer

__all__ = ["Trainer", "BackupAndRestore", "Callback", "CallbackList", "History", "ProgbarLogger", "Progbar",
           "EarlyStopping", "ModelCheckpoint", "ReduceLROnPlateau", "LearningRateScheduler", "CSVLogger",
           "TerminateOnNaN", "LambdaCallback", "Report", "write_report", "get_lr", "set_lr", "monitor_mode"]

"""``shendu.onnx``: ONNX export and import (``torch.onnx`` in PyTorch programs).

This version of shendu cannot write or read ONNX files yet. The module exists so that programs
which ``import torch.onnx`` for an optional export step run; calling :func:`export` raises a
clear error.
"""


def export(model, args, f, *more, **kwargs):
    raise NotImplementedError("shendu.onnx.export: ONNX export is not available in this version of shendu; "
                              "save the weights with shendu.save(model.state_dict(), path) instead")


def is_in_onnx_export():
    return False

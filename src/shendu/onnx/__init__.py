"""``shendu.onnx``: ONNX export and import (``torch.onnx`` in PyTorch programs).

``export(model, example_input, path, ...)`` writes a model as an ONNX graph that other runtimes run;
``load(path)`` reads an ONNX file back as an ``nn.Module`` that runs on shendu's own ops. Both need the
``onnx`` package (``pip install 'shendu[onnx]'``), imported only when they are called.
"""
from ._export import ExportError, ExportResult, export, is_in_onnx_export
from ._import import load

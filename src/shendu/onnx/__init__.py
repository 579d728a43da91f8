"""``shendu.onnx``: ONNX export and import (``torch.onnx`` in PyTorch programs).

``export(model, example_input, path, ...)`` writes a model as an ONNX graph that other runtimes run;
``load(path)`` reads an ONNX file back as an ``nn.Module`` that runs on shendu's own ops. Both need the
``onnx`` package (``pip install 'shendu[onnx]'``), imported only when they are called.
``to_numpy(model_or_onnx_path, example_input, out_dir)`` writes a standalone export: one readable
NumPy-only ``.py`` file plus a safetensors weights file (see docs/standalone.md).
"""
from ._export import ExportError, ExportResult, export, is_in_onnx_export
from ._import import load
from ._numpy import StandaloneExport, StandaloneExportError, to_numpy


"""Plots and graph drawings for training and evaluation.

matplotlib (the ``[viz]`` extra) is imported only inside the plotting functions, so ``import
shendu.viz`` needs numpy alone. Figures are drawn with the Agg canvas: they work on a headless
machine. Each function returns the ``Figure`` and saves a PNG when given ``path=``.

* :func:`plot_history` - learning curves from ``model.fit``'s History
* :func:`plot_learning_rate` - the learning rate per epoch
* :func:`plot_confusion_matrix` - heatmap with counts
* :func:`plot_roc` - ROC curves with AUCs (binary or one-vs-rest)
* :func:`plot_images` - image grid, wrong predictions in red
* :func:`plot_filters` - first-layer conv filters
* :func:`make_grid`, :func:`save_image` - torchvision.utils' image grids
* :func:`graph_dot`, :func:`render_graph` - the autograd graph behind a tensor (Graphviz)
"""
from .graph import graph_dot, render_graph
from .images import make_grid, save_image
from .plots import (
    plot_confusion_matrix,
    plot_filters,
    plot_history,
    plot_images,
    plot_learning_rate,
    plot_roc,
)

__all__ = ["plot_history", "plot_learning_rate", "plot_confusion_matrix", "plot_roc", "plot_images",
           "plot_filters", "graph_dot", "render_graph", "make_grid", "save_image"]

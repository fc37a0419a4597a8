"""Default torch modules."""

import numpy as np
import torch
from torch import nn

__all__ = ["MLPModule", "SmallCNN", "default_module"]


class MLPModule(nn.Module):
    """A small multi-layer perceptron that returns logits.

    Used by :class:`~noisyskl.NoisyNeuralNetClassifier` when no ``module`` is
    given; the estimator fills in ``n_features`` and ``n_classes`` from the
    data. Inputs of any shape ``(n, ...)`` are flattened.

    Parameters
    ----------
    n_features : int
        Number of input values per sample (after flattening).
    n_classes : int
        Number of output logits.
    hidden_units : tuple of int or int, default=(100,)
        Width of each hidden layer (as sklearn's ``MLPClassifier``); an int
        is one layer.
    dropout : float, default=0.0
        Dropout probability after each hidden layer.

    Examples
    --------
    >>> import torch
    >>> MLPModule(4, 3)(torch.zeros(2, 4)).shape
    torch.Size([2, 3])
    """

    def __init__(self, n_features, n_classes, hidden_units=(100,), dropout=0.0):
        super().__init__()
        layers = [nn.Flatten()]
        width = n_features
        if isinstance(hidden_units, (int, np.integer)):  # (one layer, as sklearn takes it)
            hidden_units = (hidden_units,)
        for units in hidden_units:
            layers += [nn.Linear(width, units), nn.ReLU()]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = units
        layers.append(nn.Linear(width, n_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, X):
        return self.net(X)


class SmallCNN(nn.Module):
    """A small convolutional network for image patches; returns logits.

    Three blocks of 3x3 convolution, batch norm, ReLU and 2x2 max-pooling
    (``channels`` wide), global average pooling and a linear layer. Works for
    any patch size of 8 x 8 pixels or more. Used by
    :class:`~noisyskl.NoisyNeuralNetClassifier` when no ``module`` is given
    and X has shape (n, channels, height, width).

    Parameters
    ----------
    n_classes : int
    in_channels : int, default=3
    channels : tuple of int, default=(32, 64, 128)
    dropout : float, default=0.0
        Dropout before the final layer.
    channels_last : bool, default=False
        Keep the convolution weights in channels-last memory format, so that
        the convolutions run on (batch, height, width, channels) data: on
        the CPU measured here about 0.7 of the time per epoch (see
        ``benchmarks/channels_last.py``), the same model up to float
        rounding. Through the estimator: ``module__channels_last=True``.

    Examples
    --------
    >>> import torch
    >>> SmallCNN(8)(torch.zeros(2, 3, 32, 32)).shape
    torch.Size([2, 8])
    """

    def __init__(self, n_classes, in_channels=3, channels=(32, 64, 128), dropout=0.0,
                 channels_last=False):
        super().__init__()
        layers, width = [], in_channels
        for out in channels:
            layers += [nn.Conv2d(width, out, 3, padding=1), nn.BatchNorm2d(out), nn.ReLU(),
                       nn.MaxPool2d(2)]
            width = out
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout),
                   nn.Linear(width, n_classes)]
        self.net = nn.Sequential(*layers)
        if channels_last:
            self.to(memory_format=torch.channels_last)

    def forward(self, X):
        return self.net(X)


def default_module(input_shape, n_classes, /, **kwargs):
    """The module ``module=None`` builds: a :class:`SmallCNN` for rows of shape
    (channels, height, width), else an :class:`MLPModule` on the flattened rows.

    ``kwargs`` (the estimator's ``module__*`` arguments) override the sizes,
    ``n_classes`` included. Rows that look channels-last (height, width,
    channels: a last side of 1, 3 or 4 after a first of more than 4) are
    refused with a ``ValueError`` that names the fix.
    """
    sizes = {"n_classes": n_classes}
    if (len(input_shape) == 3 and input_shape[0] > 4 and input_shape[-1] in (1, 3, 4)
            and not {"in_channels", "channels"} & set(kwargs)):
        raise ValueError(
            f"The rows have shape {tuple(input_shape)}, which looks channels-last (height, "
            "width, channels), as numpy and Pillow give images; the default module "
            "(SmallCNN) takes (channels, height, width). Permute them: "
            "torch.from_numpy(a).permute(2, 0, 1) in the Dataset, or "
            "X.transpose(0, 3, 1, 2) for an array. Rows that are (channels, height, width) "
            "after all: pass module__in_channels=<channels>; or pass a module of your own.")
    if len(input_shape) == 3:  # (channels, height, width): image patches
        module, sizes["in_channels"] = SmallCNN, input_shape[0]
    else:
        module, sizes["n_features"] = MLPModule, int(np.prod(input_shape))
    return module(**{**sizes, **kwargs})

"""Default torch modules."""

from torch import nn

__all__ = ["MLPModule"]


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
    hidden_units : tuple of int, default=(100,)
        Width of each hidden layer (as sklearn's ``MLPClassifier``).
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
        for units in hidden_units:
            layers += [nn.Linear(width, units), nn.ReLU()]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = units
        layers.append(nn.Linear(width, n_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, X):
        return self.net(X)

"""noisyskl: neural-network classifiers for noisy labels (CN 112232407 A)."""

from . import functional
from ._annotators import SoftLabels, VoteStratifiedKFold, majority_vote
from ._classifier import NoisyNeuralNetClassifier
from ._datasets import DatasetReadError
from ._density import GradientDensity
from ._distributed import DistributedTrainingError
from ._loss import NoisyLabelLoss
from ._modules import MLPModule, SmallCNN
from ._once import repeated_warnings
from ._refit import RefitNet
from ._review import ReviewedLabels, read_review
from ._split import StratifiedHoldout
from ._validation import TrainingDiverged

__version__ = "0.1.0"

__all__ = [
    "DatasetReadError",
    "DistributedTrainingError",
    "GradientDensity",
    "MLPModule",
    "NoisyLabelLoss",
    "NoisyNeuralNetClassifier",
    "RefitNet",
    "ReviewedLabels",
    "SmallCNN",
    "SoftLabels",
    "StratifiedHoldout",
    "TrainingDiverged",
    "VoteStratifiedKFold",
    "__version__",
    "functional",
    "majority_vote",
    "read_review",
    "repeated_warnings",
]

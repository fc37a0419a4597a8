"""Peers for the benchmark (not part of the library).

The losses are torch criteria ``loss(logits, target)`` with integer targets,
for skorch's ``NeuralNetClassifier(criterion=...)``; the field's methods that
need more than a loss (a per-row state, two networks) are skorch
``NeuralNetClassifier`` subclasses, so that they train the same module with
the same optimiser, batches, epochs and seeds as every other row.
"""

import numpy as np
import torch
import torch.nn.functional as F
from skorch import NeuralNetClassifier


class SoftBootstrapLoss(torch.nn.Module):
    """Soft bootstrapping (Reed et al. 2014): target ``b * y + (1 - b) * p``."""

    def __init__(self, beta=0.95):
        super().__init__()
        self.beta = beta

    def forward(self, logits, target):
        log_p = torch.log_softmax(logits, dim=1)
        onehot = F.one_hot(target, logits.shape[1]).to(log_p.dtype)
        soft = self.beta * onehot + (1 - self.beta) * log_p.exp().detach()
        return -(soft * log_p).sum(1).mean()


class GCELoss(torch.nn.Module):
    """Generalized cross-entropy (Zhang & Sabuncu 2018): ``(1 - p_y^q) / q``."""

    def __init__(self, q=0.7):
        super().__init__()
        self.q = q

    def forward(self, logits, target):
        p_y = torch.softmax(logits, dim=1).gather(1, target[:, None]).squeeze(1)
        return ((1 - p_y.clamp(min=1e-7) ** self.q) / self.q).mean()


class SCELoss(torch.nn.Module):
    """Symmetric cross-entropy (Wang et al. 2019): ``a CE + b RCE``, log 0 := A."""

    def __init__(self, alpha=0.1, beta=1.0, A=-4.0):
        super().__init__()
        self.alpha, self.beta, self.A = alpha, beta, A

    def forward(self, logits, target):
        ce = F.cross_entropy(logits, target)
        p = torch.softmax(logits, dim=1)
        onehot = F.one_hot(target, logits.shape[1]).to(p.dtype)
        log_y = torch.where(onehot > 0, torch.zeros_like(p), torch.full_like(p, self.A))
        rce = -(p * log_y).sum(1).mean()
        return self.alpha * ce + self.beta * rce


# ----------------------------------------------- the noisy-label field (#29)
class LabelSmoothingLoss(torch.nn.CrossEntropyLoss):
    """Cross-entropy on targets smoothed by 0.1 (Szegedy et al., CVPR 2016;
    Lukasik et al., ICML 2020, for noisy labels): the cheapest thing a user tries."""

    def __init__(self, label_smoothing=0.1, **kwargs):
        super().__init__(label_smoothing=label_smoothing, **kwargs)


class ELRNet(NeuralNetClassifier):
    """Early-learning regularization (Liu, Niles-Weed, Razavian and
    Fernandez-Granda, NeurIPS 2020): ELR, not ELR+ (no second network, weight
    averaging or mixup), from the paper's loss.

    Each training row keeps a target ``t``, the moving average of the model's
    predictions (clamped to [1e-4, 1 - 1e-4], renormalised) each time the row
    is in a batch, ``t <- beta t + (1 - beta) p``; the loss is ``CE(p, y) +
    lambda * mean(log(1 - <t, p>))``, which holds the predictions near what
    the network learnt early, before it memorised wrong labels: a whole-set
    per-row state like ours. Published settings (CIFAR-10, SGD, ResNet-34):
    ``beta=0.7``, ``lambda=3``.
    """

    def __init__(self, *args, elr_beta=0.7, elr_lambda=3.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.elr_beta, self.elr_lambda = elr_beta, elr_lambda

    def fit(self, X, y, **fit_params):
        self.row_targets_ = None
        self.n_rows_ = len(X)
        return super().fit({"X": X, "row": np.arange(len(X))}, y, **fit_params)

    def infer(self, x, **fit_params):
        if isinstance(x, dict):  # a training batch: its rows' numbers ride along
            self.batch_rows_ = x["row"].long()
            x = x["X"]
        return super().infer(x, **fit_params)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        ce = F.cross_entropy(y_pred, y_true)
        if not training:
            return ce
        p = torch.softmax(y_pred, dim=1).clamp(1e-4, 1 - 1e-4)
        if self.row_targets_ is None:
            self.row_targets_ = torch.zeros(self.n_rows_, p.shape[1], device=p.device)
        rows = self.batch_rows_.to(p.device)
        q = p.detach()
        self.row_targets_[rows] = (self.elr_beta * self.row_targets_[rows]
                                   + (1 - self.elr_beta) * q / q.sum(1, keepdim=True))
        reg = torch.log(1 - (self.row_targets_[rows] * p).sum(1)).mean()
        return ce + self.elr_lambda * reg


class CoTeachingNet(NeuralNetClassifier):
    """Co-teaching (Han et al., NeurIPS 2018), from the paper's Algorithm 1.

    Two networks of the same module, initialised apart; in each batch each
    keeps the ``1 - R(T)`` share of rows with its smallest losses, and its
    peer is updated on them. ``R(T) = tau * min(T / T_k, 1)`` in epoch T
    (``T_k = 10``, as published). The paper sets ``tau`` to the true noise
    rate, which a user does not know: here it is a fixed guess, 0.2 (the
    ``forget_rate`` argument), whatever the noise. Predictions are the first
    network's.
    """

    def __init__(self, *args, forget_rate=0.2, forget_epochs=10, **kwargs):
        super().__init__(*args, **kwargs)
        self.forget_rate, self.forget_epochs = forget_rate, forget_epochs

    def initialize_module(self):
        super().initialize_module()
        params = self.get_params_for("module")
        self.peer_ = self.initialized_instance(self.module, params).to(self.device)
        return self

    def train_step_single(self, batch, **fit_params):
        from skorch.dataset import unpack_data

        self._set_training(True)
        self.peer_.train()
        Xi, yi = unpack_data(batch)
        out, out_peer = self.infer(Xi, **fit_params), self.peer_(Xi.to(self.device))
        yi = yi.to(self.device)
        loss, loss_peer = (F.cross_entropy(o, yi, reduction="none") for o in (out, out_peer))
        epoch = len(self.history) - 1  # (0 in the first epoch)
        forget = self.forget_rate * min(epoch / self.forget_epochs, 1.0)
        keep = max(round((1 - forget) * len(yi)), 1)
        mine = torch.argsort(loss.detach())[:keep]        # small-loss rows for the peer
        peers = torch.argsort(loss_peer.detach())[:keep]  # and the peer's for this one
        total = loss[peers].mean() + loss_peer[mine].mean()
        total.backward()
        return {"loss": total, "y_pred": out}

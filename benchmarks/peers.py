"""Peer losses for the benchmark (not part of the library).

Each is a torch criterion ``loss(logits, target)`` with integer targets, for
skorch's ``NeuralNetClassifier(criterion=...)``.
"""

import torch
import torch.nn.functional as F


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

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

    def fit(self, X, y=None, **fit_params):
        self.row_targets_ = None
        self.n_rows_ = len(X)
        if isinstance(X, torch.utils.data.Dataset):  # (image files: numbered as read)
            return super().fit(_NumberedRows(X), y, **fit_params)
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


class _NumberedRows(torch.utils.data.Dataset):
    """A Dataset of ``(x, y)`` as ``({"X": x, "row": i}, y)``, for ELR's
    per-row targets."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, i):
        x, y = self.dataset[i]
        return {"X": x, "row": i}, y


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


class DivideMix:
    """DivideMix (Li, Socher and Hoi, ICLR 2020), from the paper's Algorithm 1.

    Two networks of the same module, trained with the same optimiser (Adam),
    batch size and epochs as every other row. After a warm-up on plain
    cross-entropy, at each epoch each network's per-row losses are split by a
    two-component Gaussian mixture into a labelled set (clean probability
    ``w > 0.5``) and an unlabelled one, and each network trains on the split
    its *peer* made (co-divide): label co-refinement (``w y + (1 - w) p``,
    sharpened, T = 0.5) on the labelled rows, co-guessing (both networks'
    average, sharpened) on the unlabelled, MixMatch (mixup, ``alpha = 4``)
    over both, and the uniform-prior regulariser. Predictions average the
    two networks. Augmentation: two views per row by random crop (4-pixel
    padding) and horizontal flip for images; none for tabular rows, where
    mixup alone mixes (as issue #29 asks). Published settings (CIFAR-10,
    PreAct ResNet-18, SGD, 300 epochs): warm-up 10 epochs, ``lambda_u`` 0 to
    150 by noise rate; here the warm-up is a tenth of the epochs (at least
    one) and ``lambda_u = 25`` (the paper's value at 50% noise), the same at
    every noise rate since a user does not know it.
    """

    def __init__(self, module, module_kwargs, max_epochs, lr=1e-3, batch_size=64, seed=0,
                 lambda_u=25.0, threshold=0.5, temperature=0.5, alpha=4.0, device="cpu"):
        self.module, self.module_kwargs = module, module_kwargs
        self.max_epochs, self.lr, self.batch_size, self.seed = max_epochs, lr, batch_size, seed
        self.lambda_u, self.threshold, self.temperature, self.alpha = (
            lambda_u, threshold, temperature, alpha)
        self.device = device

    def _views(self, x):
        if x.dim() != 4:  # tabular rows: no augmentation
            return x
        pad = F.pad(x, (4, 4, 4, 4), mode="reflect")
        h, w = x.shape[2:]
        i, j = np.random.randint(0, 9, 2)
        out = pad[:, :, i:i + h, j:j + w]
        return out.flip(3) if np.random.rand() < 0.5 else out

    def _sharpen(self, p):
        p = p ** (1 / self.temperature)
        return p / p.sum(1, keepdim=True)

    def _losses(self, net, X, y):
        net.eval()
        with torch.no_grad():
            out = torch.cat([F.cross_entropy(net(X[i:i + 512]), y[i:i + 512], reduction="none")
                             for i in range(0, len(X), 512)])
        return ((out - out.min()) / (out.max() - out.min() + 1e-12)).cpu().numpy()

    def _clean_probability(self, losses):
        from sklearn.mixture import GaussianMixture

        gmm = GaussianMixture(n_components=2, max_iter=10, tol=1e-2, reg_covar=5e-4,
                              random_state=self.seed).fit(losses[:, None])
        return gmm.predict_proba(losses[:, None])[:, gmm.means_.argmin()]

    def fit(self, X, y):
        torch.manual_seed(self.seed)
        np.random.seed(self.seed)
        X = torch.as_tensor(np.asarray(X), dtype=torch.float32, device=self.device)
        y = torch.as_tensor(np.asarray(y), dtype=torch.long, device=self.device)
        self.classes_ = np.arange(self.module_kwargs["n_classes"])
        c = len(self.classes_)
        self.nets_ = [self.module(**self.module_kwargs).to(self.device) for _ in range(2)]
        opts = [torch.optim.Adam(n.parameters(), lr=self.lr) for n in self.nets_]
        warm_up = max(self.max_epochs // 10, 1)
        for epoch in range(self.max_epochs):
            if epoch < warm_up:
                for net, opt in zip(self.nets_, opts):
                    net.train()
                    for rows in torch.randperm(len(X)).split(self.batch_size):
                        opt.zero_grad()
                        F.cross_entropy(net(self._views(X[rows])), y[rows]).backward()
                        opt.step()
                continue
            clean = [self._clean_probability(self._losses(n, X, y)) for n in self.nets_]
            for k in range(2):  # net k trains on the split its peer made
                self._train_epoch(self.nets_[k], self.nets_[1 - k], opts[k], X, y, c,
                                  torch.as_tensor(clean[1 - k], dtype=torch.float32,
                                                  device=self.device))
        return self

    def _train_epoch(self, net, peer, opt, X, y, c, w):
        labelled = torch.nonzero(w > self.threshold).flatten()
        unlabelled = torch.nonzero(w <= self.threshold).flatten()
        if len(labelled) < 2 or len(unlabelled) < 2:  # (nothing to divide: plain CE)
            labelled, unlabelled = torch.arange(len(X)), None
        net.train()
        peer.eval()
        for rows in labelled[torch.randperm(len(labelled))].split(self.batch_size):
            if len(rows) < 2:
                continue
            x1, x2 = self._views(X[rows]), self._views(X[rows])
            onehot = F.one_hot(y[rows], c).float()
            with torch.no_grad():  # label co-refinement
                p = (net(x1).softmax(1) + net(x2).softmax(1)) / 2
                target_x = self._sharpen(w[rows, None] * onehot + (1 - w[rows, None]) * p)
            inputs, targets = [x1, x2], [target_x, target_x]
            n_u = 0
            if unlabelled is not None:
                u = unlabelled[torch.randint(len(unlabelled), (len(rows),))]
                u1, u2 = self._views(X[u]), self._views(X[u])
                with torch.no_grad():  # label co-guessing
                    q = sum(m(v).softmax(1) for m in (net, peer) for v in (u1, u2)) / 4
                    target_u = self._sharpen(q)
                inputs += [u1, u2]
                targets += [target_u, target_u]
                n_u = 2 * len(u)
            all_x, all_t = torch.cat(inputs), torch.cat(targets)
            lam = np.random.beta(self.alpha, self.alpha)
            lam = max(lam, 1 - lam)
            order = torch.randperm(len(all_x))
            mixed_x = lam * all_x + (1 - lam) * all_x[order]
            mixed_t = lam * all_t + (1 - lam) * all_t[order]
            logits = net(mixed_x)
            n_x = len(all_x) - n_u
            loss = -(F.log_softmax(logits[:n_x], 1) * mixed_t[:n_x]).sum(1).mean()
            if n_u:
                loss = loss + self.lambda_u * ((logits[n_x:].softmax(1) - mixed_t[n_x:]) ** 2
                                               ).mean()
            prior = torch.full((c,), 1.0 / c, device=logits.device)
            mean_p = logits.softmax(1).mean(0)
            loss = loss + (prior * torch.log(prior / mean_p)).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()

    def predict_proba(self, X):
        X = torch.as_tensor(np.asarray(X), dtype=torch.float32, device=self.device)
        for net in self.nets_:
            net.eval()
        with torch.no_grad():
            return torch.cat([sum(n(X[i:i + 512]).softmax(1) for n in self.nets_) / 2
                              for i in range(0, len(X), 512)]).cpu().numpy()

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(1)]


#: The field peers' main knobs (``benchmarks.archive.select_peer_knobs``
#: chooses them on validation splits): peer -> (knob, the published value).
KNOBS = {
    "label smoothing": ("ε", 0.1),
    "ELR": ("λ", 3.0),
    "Co-teaching": ("τ", 0.2),
    "DivideMix": ("λ_u", 25.0),
}


def make_peer(peer, value, settings, common, seed, device):
    """An unfitted field peer of :data:`KNOBS` with its main knob at ``value``
    (its other settings as published), trained like every benchmark row:
    ``settings`` the data set's module settings, ``common`` ``net_settings``'s."""
    if peer == "DivideMix":
        own = {k[len("module__"):]: v for k, v in settings.items() if k.startswith("module__")}
        return DivideMix(settings["module"], own, common["max_epochs"], lr=common["lr"],
                         batch_size=common["batch_size"], seed=seed, lambda_u=value,
                         device=device)
    if peer == "label smoothing":
        return NeuralNetClassifier(criterion=LabelSmoothingLoss,
                                   criterion__label_smoothing=value, **common)
    if peer == "ELR":
        return ELRNet(criterion=torch.nn.CrossEntropyLoss, elr_beta=0.7, elr_lambda=value,
                      **common)
    if peer == "Co-teaching":
        return CoTeachingNet(criterion=torch.nn.CrossEntropyLoss, forget_rate=value,
                             forget_epochs=10, **common)
    raise ValueError(f"unknown peer {peer!r}; one of {list(KNOBS)}")

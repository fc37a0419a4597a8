"""``noisyskl demo``: plain cross-entropy vs noisyskl on digits with flipped labels."""

import time

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from skorch import NeuralNetClassifier

from ._classifier import NoisyNeuralNetClassifier
from ._modules import MLPModule
from .noise import symmetric_noise


def run_demo(noise=0.4, epochs=100, seed=0, print_fn=print):
    """Train both nets on the same noisy labels and report on clean test labels.

    Parameters
    ----------
    noise : float, default=0.4
        Share of training labels flipped to another class, uniformly at random.
    epochs : int, default=100
        At least 6: the method refines the labels after a 5-epoch warm-up.
    seed : int, default=0
    print_fn : callable, default=print

    Returns
    -------
    dict
        ``ce_accuracy``, ``noisy_accuracy`` (ours), ``n_flipped``,
        ``n_recovered`` (flipped rows whose refined label is the true one) and
        ``n_damaged`` (clean rows whose refined label is wrong).
    """
    if not 0.0 <= noise < 0.9:
        raise ValueError(f"noise must lie in [0, 0.9); got {noise}.")
    if epochs < 6:
        raise ValueError(f"epochs must be at least 6 (the method refines the labels after a "
                         f"5-epoch warm-up, so fewer show nothing of it); got {epochs}.")
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, stratify=y, random_state=seed)
    noisy, flipped = symmetric_noise(ytr, noise, random_state=seed)
    common = dict(module=MLPModule, module__n_features=64, module__n_classes=10,
                  module__hidden_units=(128,), max_epochs=epochs, lr=1e-3,
                  optimizer=torch.optim.Adam, batch_size=64, train_split=None,
                  iterator_train__shuffle=True, verbose=0)
    print_fn(f"noisyskl demo: sklearn digits, {noise:.0%} of the training labels flipped "
             f"at random (seed {seed})")
    print_fn(f"  {len(ytr)} training rows ({flipped.sum()} flipped), {len(yte)} test rows "
             "with clean labels; MLP 64-128-10, Adam 1e-3, batch 64, "
             f"{epochs} epochs for both")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        t0 = time.perf_counter()
        ce = NeuralNetClassifier(criterion=torch.nn.CrossEntropyLoss, **common).fit(Xtr, noisy)
        t_ce = time.perf_counter() - t0
    t0 = time.perf_counter()
    ours = NoisyNeuralNetClassifier(random_state=seed, **common).fit(Xtr, noisy)
    t_ours = time.perf_counter() - t0
    ce_acc = float((ce.predict(Xte) == yte).mean())
    our_acc = float((ours.predict(Xte) == yte).mean())
    refined = ours.classes_[ours.refined_labels_.argmax(1)]
    recovered = int((refined[flipped] == ytr[flipped]).sum())
    damaged = int((refined[~flipped] != ytr[~flipped]).sum())
    print_fn(f"  plain cross-entropy (skorch)  clean-test accuracy {ce_acc:.3f}  ({t_ce:.1f} s)")
    print_fn(f"  NoisyNeuralNetClassifier      clean-test accuracy {our_acc:.3f}  "
             f"({t_ours:.1f} s)")
    print_fn(f"  refined_labels_ recover {recovered} of {flipped.sum()} flipped labels "
             f"({recovered / max(flipped.sum(), 1):.0%}) and change {damaged} of "
             f"{(~flipped).sum()} correct ones")
    flags = ours.find_label_issues()["is_label_issue"].to_numpy()
    caught = int((flags & flipped).sum())
    choice = ours.refit_choice_ or {}
    # (without their labels: left out, or kept as unlabelled rows, flagged_rows)
    refit = {"every": "was refit on every row",
             "unflagged": "was refit without their labels"}.get(
        choice.get("refit_rows"), "was not refit (the warning says why)")
    if "held_out_rows" in choice:
        refit += " (held-out rows chose it)"
    print_fn(f"  find_label_issues() flags {int(flags.sum())} rows: {caught} of them flipped "
             f"(precision {caught / max(flags.sum(), 1):.0%}, recall "
             f"{caught / max(flipped.sum(), 1):.0%}); the model {refit}")
    return dict(ce_accuracy=ce_acc, noisy_accuracy=our_acc, n_flipped=int(flipped.sum()),
                n_recovered=recovered, n_damaged=damaged, n_flagged=int(flags.sum()),
                n_flagged_flipped=caught)

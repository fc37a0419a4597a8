"""
Finding mislabelled blood-cell images
=====================================

The package ships 480 real blood-cell images annotated by clinical
pathologists (Acevedo et al. 2020, CC BY 4.0; see
:func:`~noisyskl.datasets.load_blood_cells`). We corrupt 30% of the training
labels, train once, and ask which annotations look wrong.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.model_selection import train_test_split

from noisyskl import NoisyNeuralNetClassifier
from noisyskl.datasets import load_blood_cells
from noisyskl.noise import symmetric_noise
from noisyskl.plotting import (
    plot_gradient_norms,
    plot_refinement_confusion,
    plot_suspicious_samples,
)

cells = load_blood_cells()
X = cells.data  # (480, 3, 32, 32), values in [0, 1]
X = (X - X.mean(axis=(0, 2, 3), keepdims=True)) / X.std(axis=(0, 2, 3), keepdims=True)
y = cells.target_names[cells.target]
idx_train, idx_test = train_test_split(np.arange(len(y)), test_size=0.3, stratify=y,
                                       random_state=0)
y_noisy, flipped = symmetric_noise(y[idx_train], 0.3, random_state=0)

# %%
# Train: with image input and no module, a small CNN is built for us
# ------------------------------------------------------------------
clf = NoisyNeuralNetClassifier(max_epochs=40, lr=1e-3, optimizer=torch.optim.Adam,
                               batch_size=32, train_split=None, verbose=0, random_state=0)
clf.fit(X[idx_train], y_noisy)
print(type(clf.module_).__name__, "clean-test accuracy:",
      (clf.predict(X[idx_test]) == y[idx_test]).mean().round(3))

# %%
# The label-issue report
# ----------------------
# One row per training row; sorting by ``label_quality`` puts the most
# suspicious annotations first.
report = clf.find_label_issues()
print(report.sort_values("label_quality").head(10))
flags = report["is_label_issue"].to_numpy()
print(f"flagged {flags.sum()} rows; precision {(flags & flipped).sum() / flags.sum():.2f}, "
      f"recall {(flags & flipped).sum() / flipped.sum():.2f} against the rows we corrupted")

# %%
# Look at them
# ------------
plot_suspicious_samples(clf, cells.images[idx_train], n=16)
plt.show()

# %%
# What the method did: the weights over the gradient norms (the patent's
# Figure 2) and given vs refined labels.
fig, axes = plt.subplots(1, 2, figsize=(13, 5))
plot_gradient_norms(clf, ax=axes[0])
plot_refinement_confusion(clf, ax=axes[1])
fig.tight_layout()
plt.show()

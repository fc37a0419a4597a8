"""
Quick start
===========

Train :class:`~noisyskl.NoisyNeuralNetClassifier` on sklearn's digits with 40%
of the training labels flipped at random, compare it with plain
cross-entropy, and look at the labels it refined.
"""

# %%
# Data with known wrong labels
# ----------------------------
import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from skorch import NeuralNetClassifier

from noisyskl import MLPModule, NoisyNeuralNetClassifier
from noisyskl.noise import symmetric_noise
from noisyskl.plotting import plot_refinement_history

X, y = load_digits(return_X_y=True)
X = X / 16.0
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y,
                                                    random_state=0)
y_noisy, flipped = symmetric_noise(y_train, 0.4, random_state=0)
print(f"{flipped.sum()} of {len(y_train)} training labels flipped")

# %%
# Plain cross-entropy and noisyskl, trained the same way
# ------------------------------------------------------
settings = dict(module=MLPModule, module__n_features=64, module__n_classes=10,
                module__hidden_units=(128,), max_epochs=60, lr=1e-3,
                optimizer=torch.optim.Adam, batch_size=64, train_split=None,
                iterator_train__shuffle=True, verbose=0)
torch.manual_seed(0)
plain = NeuralNetClassifier(criterion=torch.nn.CrossEntropyLoss, **settings)
plain.fit(X_train.astype(np.float32), y_noisy)
clf = NoisyNeuralNetClassifier(random_state=0, **settings).fit(X_train, y_noisy)

print("clean-test accuracy, plain cross-entropy:",
      (plain.predict(X_test.astype(np.float32)) == y_test).mean().round(3))
print("clean-test accuracy, noisyskl:           ", (clf.predict(X_test) == y_test).mean().round(3))

# %%
# The refined labels
# ------------------
# ``refined_labels_`` holds one soft target per training row. Its argmax is
# the label the method believes; where it differs from the annotation, the
# annotation is probably wrong.
refined = clf.classes_[clf.refined_labels_.argmax(1)]
print("refined label = truth:   ", (refined == y_train).mean().round(3))
print("annotation = truth:      ", (y_noisy == y_train).mean().round(3))
print("flipped labels recovered:", (refined[flipped] == y_train[flipped]).sum(), "of",
      flipped.sum())

plot_refinement_history(clf)
plt.show()

"""
The criterion in a plain PyTorch loop
=====================================

:class:`~noisyskl.NoisyLabelLoss` works without skorch. Given only logits and
targets it computes the density and sigma from the batch; given the rows'
indices as well, it keeps the whole training set's gradient density up to
date, as the patent describes. Refinement is one call to
:func:`noisyskl.functional.refine_targets` between epochs.
"""

# %%
import torch
from sklearn.datasets import load_digits

from noisyskl import NoisyLabelLoss
from noisyskl.functional import refine_targets
from noisyskl.noise import symmetric_noise

torch.manual_seed(0)
X, y = load_digits(return_X_y=True)
X = torch.tensor(X / 16.0, dtype=torch.float32)
y_noisy, flipped = symmetric_noise(y, 0.4, random_state=0)
annotation = torch.tensor(y_noisy)
targets = torch.nn.functional.one_hot(annotation, 10).float()  # refined between epochs
proba = torch.zeros(len(X), 10)

model = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
criterion = NoisyLabelLoss(bins=10, mu=0.2, weighting="gaussian", n_samples=len(X))

for epoch in range(40):
    for index in torch.randperm(len(X)).split(64):
        logits = model(X[index])
        loss = criterion(logits, targets[index], sample_index=index)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        proba[index] = criterion.last_proba
    if epoch + 1 >= 5:  # warm-up, then refine from the annotations every epoch
        targets = refine_targets(proba, annotation, gamma=1.0)

refined = targets.argmax(1).numpy()
print("refined label = truth:", (refined == y).mean().round(3),
      " annotation = truth:", (y_noisy == y).mean().round(3))
print("whole-set density:", criterion.density.counts.tolist(),
      " sigma:", round(float(criterion.density.sigma()), 3))

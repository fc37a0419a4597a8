"""
Reviewing the flags with a doctor
=================================

The flags are worth what a doctor does with them. ``export_review`` writes a
page the doctor opens in any browser (one HTML file, no server, no network);
their decisions come back as a CSV, and ``read_review`` turns it into labels
that ``fit`` trains on with the reviewed rows trusted. Here a simulated
doctor, who knows the true label, reviews the 30 most suspicious of the
shipped blood-cell images.
"""

# %%
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.model_selection import train_test_split

from noisyskl import NoisyNeuralNetClassifier, read_review
from noisyskl.datasets import load_blood_cells
from noisyskl.noise import symmetric_noise

cells = load_blood_cells()
X = cells.data  # (480, 3, 32, 32), values in [0, 1]
y = cells.target_names[cells.target]
X_train, X_test, y_train, y_test, img_train, _ = train_test_split(
    X, y, cells.images, test_size=0.3, stratify=y, random_state=0)
y_noisy, flipped = symmetric_noise(y_train, 0.3, random_state=0)


def fit(labels):
    return NoisyNeuralNetClassifier(max_epochs=20, lr=1e-3, optimizer=torch.optim.Adam,
                                    batch_size=32, verbose=0, random_state=0).fit(X_train, labels)


clf = fit(y_noisy)
print("before review: clean-test accuracy", (clf.predict(X_test) == y_test).mean().round(3))

# %%
# The page
# --------
# The flagged rows, worst first, each with its image (from the arrays we pass;
# a Dataset's files are read from disk), given and suggested label, label
# quality and a choice: the given label is right, the suggested one is,
# another class, or unsure (keys G, S, O, U; J and K move).
folder = Path(tempfile.mkdtemp())
page = clf.export_review(folder / "review.html", img_train, max_rows=30)
print(page.name, f"{page.stat().st_size / 1e3:.0f} kB")

# %%
# The doctor's decisions
# ----------------------
# The page's *Download* button saves ``review.csv``; here we write what a
# doctor who knows the truth would decide on the same 30 rows.
rows = clf.find_label_issues().sort_values("label_quality", kind="stable").index[:30]
right = y_noisy[rows] == y_train[rows]
pd.DataFrame({"row": rows, "path": "", "given_label": y_noisy[rows],
              "decision": np.where(right, "given", "other"),
              "label": y_train[rows]}).to_csv(folder / "review.csv", index=False)
print(f"{(~right).sum()} of the 30 reviewed labels were wrong "
      f"(a random 30 would hold about {30 * flipped.mean():.0f})")

# %%
# Back into training
# ------------------
# The reviewed rows are trusted: never refined, never flagged, always kept.
reviewed = read_review(folder / "review.csv", y_noisy)
clf = fit(reviewed)
report = clf.find_label_issues()
print("trusted rows:", report.trusted.sum(), "- flagged among them:",
      report[report.trusted].is_label_issue.sum())
print("after review: clean-test accuracy", (clf.predict(X_test) == y_test).mean().round(3))

"""
Several doctors per image: consensus and the least reliable doctor
==================================================================

Real collections often keep every doctor's label. Here a simulated panel of
three doctors labels the 480 packaged blood-cell images (Acevedo et al.
2020, CC BY 4.0; see :func:`~noisyskl.datasets.load_blood_cells`): a careful
one, a hurried one, and a lenient one who calls many cells of other classes
neutrophils. Each labels 60% of the training rows, so a row has one to three
labels. We train once on the whole label matrix, read the consensus, and ask
which doctor is least reliable.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.model_selection import train_test_split

from noisyskl import NoisyNeuralNetClassifier, majority_vote
from noisyskl.datasets import load_blood_cells
from noisyskl.noise import annotator_panel, lenient_transition_matrix

cells = load_blood_cells()
X = cells.data  # (480, 3, 32, 32), values in [0, 1]
X = (X - X.mean(axis=(0, 2, 3), keepdims=True)) / X.std(axis=(0, 2, 3), keepdims=True)
y = cells.target_names[cells.target]
idx_train, idx_test = train_test_split(np.arange(len(y)), test_size=0.3, stratify=y,
                                       random_state=0)
classes = np.unique(y)
lenient = lenient_transition_matrix(len(classes), 0.45, towards=list(classes).index("neutrophil"))
labels, true_accuracy = annotator_panel(
    y[idx_train],
    {"dr_careful": {"accuracy": 0.9, "share": 0.6},
     "dr_hurried": {"accuracy": 0.65, "share": 0.6},
     "dr_lenient": {"transition_matrix": lenient, "share": 0.6}},
    random_state=0)
print(labels.head())  # one column per doctor, NaN where one did not label the row
print("each doctor's true accuracy:", true_accuracy.round(2).to_dict())

# %%
# Train on every annotation
# -------------------------
# The label matrix goes in as ``y``; each row's annotation distribution (its
# doctors' vote shares) takes the place of the one-hot label.
clf = NoisyNeuralNetClassifier(max_epochs=40, lr=1e-3, optimizer=torch.optim.Adam,
                               batch_size=32, train_split=None, verbose=0, random_state=0)
clf.fit(X[idx_train], labels)
print("clean-test accuracy:", (clf.predict(X[idx_test]) == y[idx_test]).mean().round(3))

# %%
# The same network trained the usual way, on the majority vote, for comparison
on_vote = NoisyNeuralNetClassifier(max_epochs=40, lr=1e-3, optimizer=torch.optim.Adam,
                                   batch_size=32, train_split=None, verbose=0,
                                   random_state=0).fit(X[idx_train], majority_vote(labels))
print("clean-test accuracy, trained on the majority vote:",
      (on_vote.predict(X[idx_test]) == y[idx_test]).mean().round(3))

# %%
# The consensus
# -------------
report = clf.find_label_issues()
print(report[["consensus_label", "consensus_quality_score", "annotator_agreement",
              "num_annotations"]].head())
vote = majority_vote(labels)
print("right on the training rows: the majority vote", (vote == y[idx_train]).mean().round(3),
      "| the method on the vote",
      (on_vote.find_label_issues()["predicted_label"] == y[idx_train]).mean().round(3),
      "| the consensus of all annotations",
      (report["consensus_label"] == y[idx_train]).mean().round(3))

# %%
# On 336 training images the two trainings are within their run-to-run
# spread of each other (in test accuracy and in the training rows'
# consensus); the benchmark on five times the rows, over three seeds and two
# panels, is in the user guide ("Several annotators"). What only the label
# matrix gives is the other half of the question:
#
# Which doctor is least reliable?
# -------------------------------
# ``annotator_report`` lists the least reliable first.
stats = clf.annotator_report()
print(stats)
fig, ax = plt.subplots(figsize=(5, 4))
ax.scatter(true_accuracy[stats.index], stats["annotator_quality"])
for name in stats.index:
    ax.annotate(name, (true_accuracy[name], stats.loc[name, "annotator_quality"]))
ax.set_xlabel("true accuracy (simulated)")
ax.set_ylabel("estimated annotator_quality")
fig.tight_layout()
plt.show()

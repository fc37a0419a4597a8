"""
A pandas DataFrame in a Pipeline
================================

Tabular data with named columns and its own index, scaled in a
:class:`~sklearn.pipeline.Pipeline`, cross-validated, and a label-issue report
that keeps the DataFrame's index.
"""

# %%
import pandas as pd
import torch
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from noisyskl import NoisyNeuralNetClassifier
from noisyskl.noise import symmetric_noise

data = load_breast_cancer(as_frame=True)
X = data.data.set_index(pd.Index([f"patient-{i:03d}" for i in range(len(data.data))]))
y = data.target.map(dict(enumerate(data.target_names))).to_numpy()  # "malignant"/"benign"
y_noisy, flipped = symmetric_noise(y, 0.2, random_state=0)

pipe = Pipeline([
    ("scale", StandardScaler()),
    ("net", NoisyNeuralNetClassifier(max_epochs=40, lr=1e-3, optimizer=torch.optim.Adam,
                                     batch_size=32, verbose=0, random_state=0)),
])
# Keep DataFrames (and so the index and column names) flowing through the
# pipeline; without this the scaler hands the net a bare array.
pipe.set_output(transform="pandas")
print("5-fold accuracy against the noisy labels:",
      cross_val_score(pipe, X, y_noisy, cv=5).mean().round(3))

# %%
pipe.set_params(net__train_split=None).fit(X, y_noisy)
net = pipe.named_steps["net"]
print("features seen by the net:", list(net.feature_names_in_[:3]), "...")
report = net.find_label_issues()
print(report.sort_values("label_quality").head(8)[["given_label", "predicted_label",
                                                   "label_quality"]])
flags = report["is_label_issue"]
print(f"flagged {flags.sum()}, of which really flipped: {flipped[flags.to_numpy()].sum()}")

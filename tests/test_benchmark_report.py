"""The accuracy benchmark's "class erased" table (issue #29's per-class goal)."""

import pandas as pd

from benchmarks.report import RECALL_MARGIN, class_losses


def _recalls(rows):
    return pd.DataFrame([dict(dataset="d", noise="sym40", seed=seed, method=method, label=label,
                              recall=recall) for seed, method, label, recall in rows])


def test_a_class_counts_as_lost_only_below_plain_ce_by_more_than_the_margin():
    rows = []
    for seed in (0, 1):
        rows += [(seed, "plain CE", 0, 0.9), (seed, "plain CE", 1, 0.6)]
    # seed 0: class 1 erased; seed 1: a drop within the margin; class 0 gains
    rows += [(0, "ours", 0, 0.95), (0, "ours", 1, 0.0),
             (1, "ours", 0, 0.95), (1, "ours", 1, 0.6 - RECALL_MARGIN / 2)]
    lines = class_losses(_recalls(rows), ["ours"])
    assert lines[-1] == "| ours | 1 of 2 (+0.60) |"


def test_the_runs_are_matched_by_seed_and_class():
    rows = [(0, "plain CE", 0, 0.2), (1, "plain CE", 0, 0.9),
            (0, "ours", 0, 0.85), (1, "ours", 0, 0.9)]  # above CE's seed 0, equal to seed 1's
    assert class_losses(_recalls(rows), ["ours"])[-1] == "| ours | 0 of 2 (+0.00) |"

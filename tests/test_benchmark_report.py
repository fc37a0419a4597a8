"""The accuracy benchmark's "class erased" table (issue #29's per-class goal)
and its mean ranks."""

import pandas as pd

from benchmarks.report import RECALL_MARGIN, _mean_rank, class_losses


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


def _stats(rows):
    return pd.DataFrame([dict(dataset=d, noise=n, method=m, acc=a) for d, n, m, a in rows])


def test_a_method_missing_a_cell_is_ranked_where_it_ran_and_left_out_of_the_whole_grid():
    rows = [("a", "sym0", "ours", 0.9), ("a", "sym0", "CE", 0.8), ("a", "sym0", "peer", 0.95),
            ("b", "sym0", "ours", 0.8), ("b", "sym0", "CE", 0.7),  # the peer did not run in b
            *[(d, "sym0", "oracle (clean labels)", 1.0) for d in "ab"]]
    lines = _mean_rank(_stats(rows))
    first = lines.index("| peer | 1.00 | 1 |")  # over the one cell all ran in
    assert lines[first + 1:first + 3] == ["| ours | 2.00 | 1 |", "| CE | 3.00 | 1 |"]
    whole = next(i for i, line in enumerate(lines) if "over the 2 (dataset" in line)
    assert "left out: peer" in lines[whole]
    assert lines[whole + 4:whole + 6] == ["| ours | 1.00 | 2 |", "| CE | 2.00 | 2 |"]
    assert not any("oracle" in line and "|" == line[0] for line in lines)


def test_no_second_rank_when_every_method_ran_everywhere():
    rows = [("a", "sym0", "ours", 0.9), ("a", "sym0", "CE", 0.8)]
    assert sum(line.startswith("### Mean rank") for line in _mean_rank(_stats(rows))) == 1

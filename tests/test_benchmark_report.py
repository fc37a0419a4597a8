"""The accuracy benchmark's "class erased" table (issue #29's per-class goal)
and its mean ranks."""

import pandas as pd

from benchmarks.report import RECALL_MARGIN, _mean_rank, class_losses, class_losses_by_cell


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


def test_per_cell_the_seeds_mean_recall_is_compared():
    # seed 0 loses class 1 by 0.3 and seed 1 gains it by 0.3: one run of two
    # counts, the cell (mean over the seeds) does not
    rows = [(0, "plain CE", 1, 0.6), (1, "plain CE", 1, 0.6),
            (0, "ours", 1, 0.3), (1, "ours", 1, 0.9)]
    assert class_losses(_recalls(rows), ["ours"])[-1] == "| ours | 1 of 2 (+0.30) |"
    assert class_losses_by_cell(_recalls(rows), ["ours"])[-1] == "| ours | 0 of 1 (+0.00) |"
    # both seeds lose it by more than the margin: the cell counts
    rows[-1] = (1, "ours", 1, 0.6 - 2 * RECALL_MARGIN)
    assert class_losses_by_cell(_recalls(rows), ["ours"])[-1] == "| ours | 1 of 1 (+0.20) |"


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


def test_plain_ce_reseeded_is_not_ranked():
    from benchmarks.common import RESEEDED

    rows = [("a", "sym0", "ours", 0.9), ("a", "sym0", "CE", 0.8), ("a", "sym0", RESEEDED, 0.95)]
    lines = _mean_rank(_stats(rows))
    assert "| ours | 1.00 | 1 |" in lines and "| CE | 2.00 | 1 |" in lines
    assert not any(line.startswith(f"| {RESEEDED}") for line in lines)

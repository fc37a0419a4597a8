"""Data-parallel training: two processes (torchrun, gloo, loopback only) keep
one state and match one process.

Each test launches ``tests/distributed_worker.py`` (the digits, 30% of the
labels flipped) with ``torchrun --standalone --nproc-per-node 2`` and, for the
reference, as one plain process, and compares what the processes wrote.
About 2 minutes on 2 CPU cores.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from noisyskl import NoisyNeuralNetClassifier
from noisyskl._distributed import MIN_ROWS_PER_PROCESS, ShardedBatches, sharded_loader

pytestmark = pytest.mark.skipif(
    not (torch.distributed.is_available() and torch.distributed.is_gloo_available()),
    reason="torch.distributed with gloo is not available")

WORKER = str(Path(__file__).with_name("distributed_worker.py"))
LIMIT_S = 180  # each launch, so that a hang fails the test instead of CI

#: The float32 unit roundoff (the spacing of float32 numbers in [0.5, 1)).
ULP = 2.0**-24

#: How far two processes may be from one in the configs that compare them
#: (the same global batches: no shuffling, no batch norm). Those configs train
#: in float64 (``MLP64`` in the worker), where summing the gradients' and the
#: density's parts in another order changes a result by about 1e-16 relative
#: per step, far below a float32 rounding even grown over the 8 epochs (float32
#: training grows the same reordering to 1e-6 with AVX-512 kernels and 9e-5
#: with AVX2 ones: too machine-dependent to bound). What the state keeps and
#: the loss's weights are float32, though, so values the float64 runs give
#: alike can still round to neighbouring float32 numbers: per epoch up to one
#: rounding of a stored input and one of the refinement's own arithmetic (2
#: ulps), in the probabilities and in the targets (x2), over 8 epochs: 32 ulps.
#: Values in [0, 1] (probabilities, targets) are compared absolutely, the
#: history's numbers relatively. (Measured: at most 4 ulps, on AVX-512, AVX2
#: and the default kernels via ATEN_CPU_CAPABILITY; breaking the
#: synchronisation gives 1e-3 or more: test_the_comparison_fails_...)
TOLERANCE = 32 * ULP


def launch(out, config, processes=2, tag="", seed=0, check=True, broken=""):
    """Run the worker in ``processes`` processes (1: plain, no process group);
    ``broken`` names a part of the synchronisation the worker undoes."""
    command = [sys.executable, WORKER, str(out), config, tag, str(seed)]
    if processes > 1:
        command[1:1] = ["-m", "torch.distributed.run", "--standalone",
                        f"--nproc-per-node={processes}"]
    env = dict(os.environ, OMP_NUM_THREADS="1", NOISYSKL_TEST_BREAK=broken)
    done = subprocess.run(command, capture_output=True, text=True, timeout=LIMIT_S, env=env,
                          check=False)
    if check and done.returncode != 0:
        pytest.fail(f"{config} in {processes} process(es) failed:\n{done.stderr[-4000:]}")
    return done


def result(out, rank=0, tag=""):
    return torch.load(Path(out, f"{tag}rank{rank}.pt"), weights_only=False)


def assert_same_everywhere(a, b):
    """Two processes' results, bit for bit (NaN where NaN)."""
    for name in a["state"]:
        torch.testing.assert_close(a["state"][name], b["state"][name], rtol=0, atol=0,
                                   equal_nan=True, msg=f"state.{name} differs")
    for name in a["params"]:
        assert torch.equal(a["params"][name], b["params"][name]), name
    np.testing.assert_array_equal(a["refined"], b["refined"])
    np.testing.assert_array_equal(a["issues"], b["issues"])
    np.testing.assert_array_equal(a["proba"], b["proba"])
    for name in ("train_loss", "valid_loss"):  # (what an LRScheduler or EarlyStopping reads)
        assert [row[name] for row in a["history"]] == [row[name] for row in b["history"]]


def differences(two, one):
    """How far a process of a two-process run is from the one-process run:
    the largest absolute difference of the probabilities and refined labels,
    and the largest relative difference of the history's numbers."""
    worst = {name: float(np.abs(two[name] - one[name]).max()) for name in ("refined", "proba")}
    for name in ("train_loss", "valid_loss", "sigma", "n_refined", "train_ce"):
        a, b = (np.array([row[name] for row in r["history"]], dtype=float) for r in (two, one))
        worst[name] = float((np.abs(a - b) / np.maximum(np.abs(b), 1e-12)).max())
    return worst


@pytest.fixture(scope="module")
def one_process(tmp_path_factory):
    """The one-process reference of a config, run once per module."""
    runs = {}

    def run(config):
        if config not in runs:
            out = tmp_path_factory.mktemp(f"one_{config}")
            launch(out, config, processes=1)
            runs[config] = result(out)
        return runs[config]

    return run


@pytest.mark.parametrize("config", ["plain", "both", "dataset", "unused"])
def test_two_processes_keep_one_state_and_match_one_process(tmp_path, config, one_process):
    # "both": the density weight alpha (the bin counts, all-reduced every
    # batch) and class_weight; the last global batch (1,437 % 64 = 29 rows) is
    # split 15 / 14, so the loss's share per process is exercised too.
    # "dataset": a torch Dataset of (x, label) items instead of arrays.
    # "unused": a module with a layer it never uses (ddp__find_unused_parameters)
    launch(tmp_path, config, processes=2)
    ref, r0, r1 = one_process(config), result(tmp_path, 0), result(tmp_path, 1)
    assert_same_everywhere(r0, r1)
    worst = differences(r0, ref)
    assert max(worst.values()) <= TOLERANCE, worst
    np.testing.assert_array_equal(r0["issues"], ref["issues"])
    assert ref["issues"].sum() > 20  # (a state worth comparing: rows were flagged)
    # the state's traffic per process and epoch, as docs/scaling.md gives it: the
    # per-row store once (n x (C + 3) float32), and per batch the density's
    # bins + 3 float64 and the batch's loss and size (float64)
    n, c, batches = 1797, 10, r0["history"][0]["train_batch_count"]
    assert all(row["sync_bytes"] == n * (c + 3) * 4 + batches * ((10 + 3) * 8 + 16)
               for row in r0["history"])


@pytest.mark.parametrize("broken", ["loss_share", "density"])
def test_the_comparison_fails_when_the_processes_disagree(tmp_path, broken, one_process):
    # the same comparison, with one part of the synchronisation undone in the
    # worker: each process's loss unscaled by its share of the uneven last
    # batch (15 / 14 rows, once an epoch), or the density counting each
    # process's own rows only. Both must be far outside the tolerance.
    launch(tmp_path, "both", processes=2, broken=broken)
    worst = differences(result(tmp_path, 0), one_process("both"))
    assert max(worst.values()) > 100 * TOLERANCE, worst


@pytest.mark.parametrize("config", ["shuffled", "cnn"])
def test_two_processes_agree_with_one_as_two_seeds_of_one_do(tmp_path, config):
    # with shuffling the two runs draw different orders, and batch norm's
    # batch statistics are each process's share's: no float tolerance can
    # hold, so the 2-process run is compared with the 1-process run as a
    # second seed of the 1-process run is
    for name in ("one", "seed1", "two"):
        (tmp_path / name).mkdir()
    launch(tmp_path / "one", config, processes=1)
    launch(tmp_path / "seed1", config, processes=1, seed=1)
    launch(tmp_path / "two", config, processes=2)
    ref, other = result(tmp_path / "one"), result(tmp_path / "seed1")
    r0, r1 = result(tmp_path / "two", 0), result(tmp_path / "two", 1)
    assert_same_everywhere(r0, r1)
    seeds_agree = (ref["issues"] == other["issues"]).mean()
    assert (r0["issues"] == ref["issues"]).mean() >= seeds_agree - 0.01
    acc = [row["history"][-1]["valid_acc"] for row in (ref, other, r0)]
    assert abs(acc[2] - acc[0]) <= abs(acc[1] - acc[0]) + 0.02


def test_flagged_rows_unlabelled_drops_them_in_two_processes_and_says_so(tmp_path):
    # the refit cannot mix rows across processes: a data-parallel fit leaves the
    # flagged rows out, as flagged_rows="drop" does (the same refit, bit for bit),
    # and warns once per process if "unlabelled" was asked for (not for "auto")
    (tmp_path / "unlabelled").mkdir()
    (tmp_path / "drop").mkdir()
    (tmp_path / "auto").mkdir()
    said = launch(tmp_path / "unlabelled", "refit_unlabelled", processes=2).stderr
    dropped = launch(tmp_path / "drop", "refit_drop", processes=2).stderr
    auto = launch(tmp_path / "auto", "refit_auto", processes=2).stderr
    warning = "flagged_rows='unlabelled' is not supported in a data-parallel fit"
    assert said.count(warning) == 2 and warning not in dropped and warning not in auto
    unlabelled, drop = result(tmp_path / "unlabelled"), result(tmp_path / "drop")
    assert_same_everywhere(unlabelled, drop)
    assert_same_everywhere(result(tmp_path / "auto"), drop)  # (the default drops them there)
    assert unlabelled["issues"].sum() > 20
    # the refit ran, as documented on the unflagged rows: no choice between two refits
    assert unlabelled["choice"] == drop["choice"] == {
        "refit_rows": "unflagged", "flagged_rows": "drop",
        "reason": "a data-parallel fit refits on the unflagged rows"}


def test_a_checkpoint_of_two_processes_resumes_on_one_or_two(tmp_path):
    launch(tmp_path, "checkpoint", processes=2)  # rank 0 alone writes the files
    saved = result(tmp_path, 0)
    launch(tmp_path, "resume", processes=1, tag="one_")
    launch(tmp_path, "resume", processes=2, tag="two_")
    one, two0, two1 = (result(tmp_path, 0, "one_"), result(tmp_path, 0, "two_"),
                       result(tmp_path, 1, "two_"))
    for resumed in (one, two0, two1):
        for name, value in saved["state"].items():  # the state as the two processes left it
            torch.testing.assert_close(resumed["loaded"][name], value, rtol=0, atol=0,
                                       equal_nan=True)
        assert int(resumed["state"]["n_refinements"]) == int(saved["state"]["n_refinements"]) + 2
    assert_same_everywhere(two0, two1)
    np.testing.assert_allclose(two0["refined"], one["refined"], rtol=0, atol=TOLERANCE)


def test_a_process_that_raises_stops_the_other_with_a_clear_error(tmp_path):
    start = time.monotonic()
    done = launch(tmp_path, "fail", processes=2, check=False)
    assert done.returncode != 0
    assert time.monotonic() - start < 60  # not the group's 60 s timeout: rank 1 exited
    failed = (tmp_path / "rank1.err").read_text()
    assert "fails on purpose" in failed and "In process 1 of 2 of a data-parallel fit" in failed
    message = (tmp_path / "rank0.err").read_text()
    assert message.startswith("DistributedTrainingError")
    assert "The other process (process 1) most likely stopped" in message


def test_a_ctrl_c_in_one_process_stops_both_at_once(tmp_path):
    # skorch ends a Ctrl-C'd training cleanly; in one process of two that left
    # the other waiting in a collective until the group's timeout (315 s in a
    # trial). The interrupted process raises and exits; the other fails at once
    start = time.monotonic()
    done = launch(tmp_path, "sigint", processes=2, check=False)
    assert done.returncode != 0
    assert time.monotonic() - start < 50  # well inside the worker's 60 s group timeout
    stopped = (tmp_path / "rank1.err").read_text()
    assert stopped.startswith("DistributedTrainingError: Process 1 of 2 of a data-parallel "
                              "fit was interrupted (Ctrl-C) in epoch 2")
    message = (tmp_path / "rank0.err").read_text()
    assert "The other process (process 1) most likely stopped, interrupted" in message


def test_a_process_that_raises_and_stays_does_not_hang_the_other(tmp_path):
    # rank 1 catches its error and lives on; rank 0 stops at the group's
    # timeout (10 s in the worker), and rank 1's estimator still predicts
    start = time.monotonic()
    done = launch(tmp_path, "fail_stay", processes=2, check=False)
    assert done.returncode != 0 and time.monotonic() - start < 60
    message = (tmp_path / "rank0.err").read_text()
    assert message.startswith("DistributedTrainingError") and "timeout" in message
    assert len(eval((tmp_path / "rank1.predicted").read_text())) == 5


@pytest.mark.parametrize("config, expected", [
    ("split", "training rows differ between the 2 processes of the group. train_split"),
    ("labels", "labels or settings differ between the 2 processes of the group. Call fit"),
    ("votes", "labels or settings differ between the 2 processes of the group. Call fit"),
    ("lr", "labels or settings differ between the 2 processes of the group. Call fit")])
def test_processes_given_different_data_are_refused(tmp_path, config, expected):
    done = launch(tmp_path, config, processes=2, check=False)
    assert done.returncode != 0
    for rank in (0, 1):  # both, before any training step
        message = (tmp_path / f"rank{rank}.err").read_text()
        assert message.startswith("ValueError") and expected in message
        assert "In process" not in message  # (no note naming one process: all raise it)


# ---------------------------------------------------------------- in-process
@pytest.mark.parametrize("n, batch_size, shuffle",
                         [(1437, 32, False), (1437, 32, True), (130, 32, True), (131, 32, True),
                          (129, 10, False), (7, 10, False)])
def test_sharded_batches_give_each_row_once_per_epoch(n, batch_size, shuffle):
    size = 3
    shards = [ShardedBatches(n, batch_size, rank, size, seed=7, epoch=lambda: 4,
                             shuffle=shuffle) for rank in range(size)]
    batches = [list(shard) for shard in shards]
    assert len({len(b) for b in batches}) == 1 == len({len(s) for s in shards})  # in step
    assert len(shards[0]) == len(batches[0])
    rows = np.concatenate([np.concatenate(b) for b in batches])
    assert len(rows) == len(set(rows.tolist()))  # once
    assert sorted(rows.tolist()) == list(range(n))  # every row
    for step in zip(*batches):
        assert min(len(part) for part in step) >= MIN_ROWS_PER_PROCESS
        assert max(len(part) for part in step) - min(len(part) for part in step) <= 1
    if shuffle:
        again = ShardedBatches(n, batch_size, 0, size, seed=7, epoch=lambda: 5, shuffle=True)
        assert list(again) != batches[0]  # a new order each epoch
    elif n >= 2 * batch_size * size:
        assert np.concatenate(next(zip(*batches))).tolist() == list(range(batch_size * size))


def test_sharded_batches_refuse_too_few_rows():
    with pytest.raises(ValueError, match="cannot be shared among 4 processes"):
        ShardedBatches(7, 4, 0, 4, seed=0, epoch=lambda: 1, shuffle=False)


@pytest.mark.parametrize("kwargs, expected", [
    ({"sampler": object()}, "iterator_train__sampler cannot be used"),
    ({"batch_sampler": object()}, "iterator_train__batch_sampler cannot be used"),
    ({"drop_last": True}, "iterator_train__drop_last cannot be used"),
    ({"batch_size": None}, "needs a batch_size")])
def test_a_loader_setting_that_cannot_shard_is_refused(kwargs, expected):
    class World:
        rank, size, seed = 0, 2, 0

    clf = NoisyNeuralNetClassifier(max_epochs=1)
    with pytest.raises(ValueError, match=expected):
        sharded_loader(clf, World(), list(range(10)), dict(kwargs), None, None)


def test_distributed_is_checked_and_without_a_group_changes_nothing(iris):
    X, y = iris
    for bad in (True, 0, "yes"):
        with pytest.raises(ValueError, match='distributed must be "auto" or False'):
            NoisyNeuralNetClassifier(distributed=bad, max_epochs=1, verbose=0).fit(X, y)
    kw = {"max_epochs": 6, "warm_up": 2, "verbose": 0, "random_state": 0, "rounds": 1}
    auto = NoisyNeuralNetClassifier(**kw).fit(X, y)
    off = NoisyNeuralNetClassifier(distributed=False, **kw).fit(X, y)
    np.testing.assert_array_equal(auto.refined_labels_, off.refined_labels_)
    assert "sync_bytes" not in auto.history[-1]

import pytest

from noisyskl.__main__ import main  # what python -m noisyskl runs


def test_demo_runs_and_reports(capsys):
    assert main(["demo", "--epochs", "6", "--noise", "0.3"]) == 0
    out = capsys.readouterr().out
    assert "plain cross-entropy" in out and "refined_labels_ recover" in out


def test_demo_rejects_bad_noise(capsys):
    with pytest.raises(SystemExit):
        main(["demo", "--noise", "1.5"])
    err = capsys.readouterr().err
    assert "noise must lie" in err and err.startswith("usage: noisyskl demo")  # (its usage)


def test_demo_rejects_too_few_epochs_to_refine(capsys):
    with pytest.raises(SystemExit):
        main(["demo", "--epochs", "3"])
    assert "epochs must be at least 6" in capsys.readouterr().err


def test_help_is_plain_text(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "noisyskl demo" in out and "``" not in out


def test_the_epoch_log_leaves_out_the_data_parallel_traffic(iris, capsys):
    from skorch.callbacks import Callback

    from .conftest import make_clf

    class Traffic(Callback):  # as a data-parallel fit records it
        def on_epoch_end(self, net, **kwargs):
            net.history.record("sync_bytes", 1234)

    clf = make_clf(max_epochs=2, verbose=1, callbacks=[Traffic()]).fit(*iris)
    out = capsys.readouterr().out
    assert clf.history[-1, "sync_bytes"] == 1234
    assert "train_loss" in out and "sync_bytes" not in out and "1234" not in out

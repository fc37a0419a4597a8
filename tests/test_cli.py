import pytest

from noisyskl._cli import main


def test_demo_runs_and_reports(capsys):
    assert main(["demo", "--epochs", "6", "--noise", "0.3"]) == 0
    out = capsys.readouterr().out
    assert "plain cross-entropy" in out and "refined_labels_ recover" in out


def test_demo_rejects_bad_noise(capsys):
    with pytest.raises(SystemExit):
        main(["demo", "--noise", "1.5"])
    assert "noise must lie" in capsys.readouterr().err


def test_demo_rejects_too_few_epochs_to_refine(capsys):
    with pytest.raises(SystemExit):
        main(["demo", "--epochs", "3"])
    assert "epochs must be at least 6" in capsys.readouterr().err

"""Check by hand that the archived experiments still run: each one's smallest cell
(CI ran this until the experiments were archived; it no longer does).

Runs every ``select_*`` script on one digits cell (20% symmetric noise, seed 0)
and the re-analysis of the stored validation rows, each in its own process,
then asks the scripts that take longer cells (``select_defaults``,
``select_flag_rule``, ``digits_defaults``, ``imbalance``, ``select_matrix_refit``,
``blood_seed_spread``) for
``--help``, which checks that they import. Asserts nothing about the numbers.
Exits non-zero if any command fails, after running all of them, and names the
ones that failed (a few minutes on 2 CPU cores).

    python -m benchmarks.archive.smoke
"""

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
RESULTS = HERE.parent / "results"
CELL = ["--dataset", "digits", "--noises", "sym20", "--seeds", "0"]

COMMANDS = [
    ["select_refit", *CELL,
     "--variants", "library (drop)", "drop", "drop, averaged weights", "restore agreed"],
    ["select_flag_fraction", *CELL, "--fractions", "0.1", "0.5"],
    ["select_refit_choice", *CELL],
    ["select_refit_choice_rule", *CELL],
    ["select_refit_every_elr", *CELL],
    ["select_refit_drop_elr", *CELL],
    ["select_refit_mixup", *CELL],
    ["select_flag_gate", *CELL],
    ["select_mu_schedule", *CELL],
    ["select_flag_count", *CELL],
    ["select_density_weight", "--dataset", "breast_cancer", "--noises", "sym20", "--seeds", "0"],
    ["select_refit", "--pick-by-noisy-validation", str(RESULTS / "select_refit_cpu.csv")],
    ["select_defaults", "--help"],
    ["select_flag_rule", "--help"],
    ["digits_defaults", "--help"],
    ["imbalance", "--help"],
    ["select_matrix_refit", "--help"],
    ["blood_seed_spread", "--help"],
]


def main():
    failed = []
    for script, *args in COMMANDS:
        root = f"{ROOT}/"
        shown = " ".join([f"-m benchmarks.archive.{script}",
                          *(f'"{a}"' if " " in a else a.replace(root, "") for a in args)])
        print(f"\n$ python {shown}", flush=True)
        start = time.perf_counter()
        code = subprocess.run([sys.executable, "-m", f"benchmarks.archive.{script}", *args],
                              cwd=ROOT, check=False).returncode
        print(f"-> exit {code} after {time.perf_counter() - start:.0f} s", flush=True)
        if code:
            failed.append(f"{shown} (exit {code})")
    if failed:
        print(f"\n{len(failed)} of {len(COMMANDS)} experiment commands failed:", *failed, sep="\n  ")
        return 1
    print(f"\nall {len(COMMANDS)} experiment commands ran")
    return 0


if __name__ == "__main__":
    sys.exit(main())

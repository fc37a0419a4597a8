"""Command line: ``noisyskl demo [--noise 0.4] [--epochs 100] [--seed 0]``."""

import argparse
import sys

from . import __version__


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="noisyskl", description="noisyskl: neural-network classifiers for noisy labels. "
        "'noisyskl demo' trains plain cross-entropy and noisyskl on the digits with flipped "
        "labels and compares them on clean test labels.")
    parser.add_argument("--version", action="version", version=f"noisyskl {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="plain cross-entropy vs noisyskl on digits with "
                                       "flipped labels (about 12 s on 2 CPU cores)")
    demo.add_argument("--noise", type=float, default=0.4, help="share of labels flipped")
    demo.add_argument("--epochs", type=int, default=100)
    demo.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.command == "demo":
        from ._demo import run_demo

        try:
            run_demo(noise=args.noise, epochs=args.epochs, seed=args.seed)
        except ValueError as exc:
            demo.error(str(exc))  # (the usage shown: the demo's)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``python -m benchmarks <command> [options]``: one entry point for every benchmark.

``python -m benchmarks`` alone lists the commands; ``python -m benchmarks
<command> --help`` gives a command's options. Each command is the ``main`` of
a module of this package, imported only when it runs.
"""

import importlib
import sys

#: command -> (module of this package, what it measures)
COMMANDS = {
    "accuracy": ("accuracy", "accuracy and detection against the peers, and the tables"),
    "timing": ("timing", "time per epoch against plain skorch"),
    "versions": ("compare_versions", "time per epoch of a git revision against the working tree"),
    "predict": ("predict_speed", "predict_proba's time against plain skorch"),
    "profile": ("profile_batches", "operations, kernels and host syncs per training batch"),
    "channels-last": ("channels_last", "a CNN in channels-last format against the default"),
    "memory": ("memory", "peak memory of a fit against plain skorch"),
    "scale": ("scale", "the per-row state's memory and the per-batch cost at 10^4-10^6 rows"),
    "files": ("files", "training from the blood-cell image files"),
    "annotators": ("annotators", "several annotators per row"),
    "embeddings": ("embeddings", "issue #29's embeddings case: Kather features, 2,000 rows, 15 "
                   "epochs"),
    "review": ("review", "one round of review: wrong labels fixed per row reviewed, accuracy"),
    "distributed": ("distributed", "data-parallel training (launch with torchrun)"),
    "fingerprint": ("fingerprint", "hashes of fitted estimators, for changes that keep results"),
}


def usage():
    width = max(map(len, COMMANDS))
    lines = ["usage: python -m benchmarks <command> [options]   (<command> --help for its options)",
             "", "commands:"]
    lines += [f"  {name:<{width}}  {text}" for name, (_, text) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0 if argv else 2
    command, *rest = argv
    if command not in COMMANDS:
        print(f"unknown command {command!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(f"benchmarks.{COMMANDS[command][0]}")
    sys.argv[0] = f"python -m benchmarks {command}"  # argparse's usage line
    code = module.main(rest)
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())

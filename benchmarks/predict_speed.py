"""Time of ``predict_proba``, noisyskl against plain skorch, side by side.

Both estimators are fitted once (same data, module and settings as
``python -m benchmarks timing``, a few epochs); then each repetition times
``predict_proba`` of both, interleaved, on the training rows repeated to
``--rows`` rows. Prints the median seconds and the median ratio with its
interquartile range over the repetitions.

    python -m benchmarks predict --dataset digits --rows 100000 --reps 20
    python -m benchmarks predict --dataset blood_cells --rows 20000 --reps 5
"""

import time

import numpy as np
import torch
from skorch import NeuralNetClassifier

from benchmarks.common import net_settings, ratio_text, timing_parser, training_rows
from noisyskl import NoisyNeuralNetClassifier


def main(argv=None):
    parser = timing_parser(__doc__.split("\n")[0], reps=20)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args(argv)
    Xtr, ytr, settings = training_rows(args)
    common = net_settings(settings, 2, args.device, args.batch_size)
    nets = {
        "plain skorch": NeuralNetClassifier(criterion=torch.nn.CrossEntropyLoss, **common),
        "noisyskl": NoisyNeuralNetClassifier(rounds=1, warm_up=1, random_state=0, **common),
    }
    for net in nets.values():
        net.fit(Xtr, ytr)
    X = np.resize(Xtr, (args.rows, *Xtr.shape[1:]))  # the rows repeated
    seconds = {name: [] for name in nets}
    for _ in range(args.reps):
        for name, net in nets.items():
            start = time.perf_counter()
            net.predict_proba(X)
            seconds[name].append(time.perf_counter() - start)
    ours, plain = np.array(seconds["noisyskl"]), np.array(seconds["plain skorch"])
    ratio = ours / plain  # per repetition, side by side
    print(f"{args.dataset} on {args.device}: predict_proba of {args.rows} rows, "
          f"{args.reps} interleaved repetitions")
    print(f"noisyskl {np.median(ours):.4f} s, plain skorch {np.median(plain):.4f} s, "
          f"ratio median {ratio_text(ratio)}")


if __name__ == "__main__":
    main()

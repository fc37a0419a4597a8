"""Time per epoch of a CNN in channels-last memory format, side by side.

For a convolutional module, ``module=MyCNN(...).to(memory_format=torch.channels_last)``
makes the convolutions run on (batch, height, width, channels) data; the
estimator keeps that format through both rounds. Every repetition trains, on
the same data, module class and settings as ``python -m benchmarks timing`` (one round of
noisyskl), plain skorch and noisyskl, each with the module as built and with
it in channels-last format, interleaved. Prints, per estimator, the median
ratio of the channels-last epoch to the default one, and noisyskl's ratio to
plain skorch in each format, with the interquartile range over repetitions.
The two formats give the same model up to float rounding, so the fits part
in the last bits and then more.

    python -m benchmarks channels-last --dataset blood_cells --reps 5
    python -m benchmarks channels-last --dataset blood_cells --reps 5 --device cuda
"""

import pandas as pd
import torch
from skorch import NeuralNetClassifier

from benchmarks.common import (
    load_dataset,
    net_settings,
    ratio_text,
    seconds_per_epoch,
    timing_parser,
)
from noisyskl import NoisyNeuralNetClassifier


def main(argv=None):
    parser = timing_parser(__doc__.split("\n")[0], reps=5)
    parser.set_defaults(dataset="blood_cells")
    parser.add_argument("--epochs", type=int, default=6)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    loaded = load_dataset(args.dataset, 0, args.data_dir)
    if loaded is None:
        print(f"{args.dataset}: data file not found in {args.data_dir}; skipped")
        return
    Xtr, ytr, _, _, settings, _ = loaded
    module_class = settings.pop("module")
    module_kwargs = {key.split("__", 1)[1]: settings.pop(key)
                     for key in [k for k in settings if k.startswith("module__")]}
    rows = []
    for rep in range(args.reps):
        for layout in ("as built", "channels last"):
            for name in ("plain skorch", "noisyskl"):
                torch.manual_seed(rep)
                module = module_class(**module_kwargs)
                if layout == "channels last":
                    module = module.to(memory_format=torch.channels_last)
                common = net_settings(settings, args.epochs, args.device, args.batch_size)
                common["module"] = module
                if name == "plain skorch":
                    net = NeuralNetClassifier(criterion=torch.nn.CrossEntropyLoss, **common)
                else:
                    net = NoisyNeuralNetClassifier(random_state=rep, rounds=1, **common)
                net.fit(Xtr, ytr)
                rows.append(dict(rep=rep, layout=layout, name=name, s=seconds_per_epoch(net)))
    wide = pd.DataFrame(rows).pivot_table(index="rep", columns=["name", "layout"], values="s")
    print(f"{args.dataset} on {args.device}, {module_class.__name__}, one round, "
          f"{args.reps} interleaved repetitions of {args.epochs} epochs (median epoch after "
          "the first; ratio median and interquartile range)\n")
    pairs = [(f"{name}: channels last / as built", (name, "channels last"), (name, "as built"))
             for name in ("plain skorch", "noisyskl")]
    pairs += [(f"{layout}: noisyskl / plain skorch", ("noisyskl", layout), ("plain skorch", layout))
              for layout in ("as built", "channels last")]
    for label, num, den in pairs:
        r = wide[num] / wide[den]
        print(f"{label:42s} {ratio_text(r)}")
    seconds = wide.median()
    print("\nmedian seconds per epoch: " + ", ".join(
        f"{name} {layout} {seconds[name, layout]:.3f}" for name, layout in seconds.index))


if __name__ == "__main__":
    main()

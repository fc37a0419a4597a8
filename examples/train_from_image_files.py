"""
Training a pretrained backbone on image files
==============================================

The pattern for patches on disk: a torch ``Dataset`` that decodes files with
augmentation for training and without it for the held-out rows and
prediction; a torchvision ResNet-18 whose body is frozen and whose new head
is trained, with a learning-rate schedule; ``find_label_issues()`` naming the
files to send back for review.

Run it as a script (it is not executed by the docs build):

    python examples/train_from_image_files.py --data-dir ../shared/data/blood_cells_pbc_files
    python examples/train_from_image_files.py --weights resnet18.pth   # pretrained, from a file

It needs torchvision (``pip install noisyskl[vision]``) and the blood-cell
files (see ``../shared/data/README.md``), and skips with a message without
either. Nothing is downloaded: ``--weights`` loads ImageNet weights you have
saved (``torch.save(resnet18(weights="DEFAULT").state_dict(), ...)``);
without it the backbone starts from random weights, which shows the
mechanics but not the accuracy of a pretrained one.
"""

import argparse
import csv
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset


class PatchFiles(Dataset):
    """Files listed in ``labels.csv`` (``path``, ``label``) as ``(image, label)``,
    with ``samples``, ``targets`` and ``transform`` as torchvision's ImageFolder."""

    def __init__(self, root, rows, transform):
        root = Path(root)
        with open(root / "labels.csv") as f:
            table = list(csv.DictReader(f))
        self.classes = sorted({r["label"] for r in table})
        self.samples = [(str(root / table[i]["path"]), self.classes.index(table[i]["label"]))
                        for i in rows]
        self.targets = [c for _, c in self.samples]
        self.transform = transform

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, i):
        from PIL import Image

        path, label = self.samples[i]
        with Image.open(path) as img:
            return self.transform(img.convert("RGB")), label


class FrozenResNet(nn.Module):
    """A torchvision ResNet-18 with a new head for ``n_classes``; ``weights``
    a state-dict file of ImageNet weights, or None for random ones."""

    def __init__(self, n_classes, weights=None):
        super().__init__()
        from torchvision.models import resnet18

        self.body = resnet18(weights=None)
        if weights:
            self.body.load_state_dict(torch.load(weights, map_location="cpu"))
        self.body.fc = nn.Identity()
        self.head = nn.Linear(512, n_classes)

    def forward(self, x):
        return self.head(self.body(x))


def main():
    parser = argparse.ArgumentParser(description="noisyskl on image files, ResNet-18 body")
    parser.add_argument("--data-dir", type=Path,
                        default=Path(__file__).resolve().parents[2] / "shared" / "data"
                        / "blood_cells_pbc_files")
    parser.add_argument("--files", type=int, default=1200, help="files used (a random subset)")
    parser.add_argument("--weights", default=None, help="ResNet-18 ImageNet state dict file")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    try:
        from torchvision import transforms as T
    except Exception as err:
        print(f"skipping: this example needs torchvision ({type(err).__name__}: {err})")
        return 0
    if not (args.data_dir / "labels.csv").exists():
        print(f"skipping: no labels.csv in {args.data_dir} (pass --data-dir)")
        return 0

    from sklearn.model_selection import train_test_split
    from skorch.callbacks import Freezer, LRScheduler
    from skorch.helper import predefined_split

    from noisyskl import NoisyNeuralNetClassifier
    from noisyskl.noise import symmetric_noise

    normalise = T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])  # ImageNet's
    augment = T.Compose([T.RandomHorizontalFlip(), T.RandomVerticalFlip(),
                         T.RandomRotation(90), T.Resize(112), T.ToTensor(), normalise])
    plain = T.Compose([T.Resize(112), T.ToTensor(), normalise])

    with open(args.data_dir / "labels.csv") as f:
        labels = np.array([r["label"] for r in csv.DictReader(f)])
    rows = np.random.default_rng(0).permutation(len(labels))[:args.files]
    train_rows, rest = train_test_split(rows, test_size=0.4, stratify=labels[rows],
                                        random_state=0)
    valid_rows, test_rows = train_test_split(rest, test_size=0.5, stratify=labels[rest],
                                             random_state=0)
    train = PatchFiles(args.data_dir, train_rows, augment)
    valid = PatchFiles(args.data_dir, valid_rows, plain)
    test = PatchFiles(args.data_dir, test_rows, plain)
    # a third of the training labels made wrong, as a disagreeing annotator would
    names = np.array(train.classes)
    y_noisy, flipped = symmetric_noise(np.array(train.targets), 0.3, random_state=0)

    clf = NoisyNeuralNetClassifier(
        FrozenResNet, module__n_classes=len(train.classes), module__weights=args.weights,
        max_epochs=args.epochs, warm_up=2, lr=1e-3, optimizer=torch.optim.Adam,
        batch_size=32, device=args.device,
        iterator_train__num_workers=args.workers, iterator_valid__num_workers=args.workers,
        train_split=predefined_split(valid),  # held-out files, read without augmentation
        callbacks=[Freezer("body.*"),  # train the head only
                   LRScheduler(torch.optim.lr_scheduler.CosineAnnealingLR, T_max=args.epochs)],
        random_state=0)
    clf.fit(train, names[y_noisy])  # the labels as names: the report and predict use them

    report = clf.find_label_issues()
    worst = report[report.is_label_issue].sort_values("label_quality")
    print(f"\n{int(report.is_label_issue.sum())} of {len(report)} training files flagged "
          f"({int(flipped.sum())} labels were made wrong; "
          f"{int((report.is_label_issue & flipped).sum())} of the flags are right). "
          "The most suspicious files:")
    print(worst[["path", "given_label", "predicted_label", "label_quality"]].head(10)
          .to_string(index=False))
    accuracy = (clf.predict(test) == names[test.targets]).mean()
    print(f"\ntest accuracy on {len(test)} files: {accuracy:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

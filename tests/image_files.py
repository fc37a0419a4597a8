"""A folder of small image files and a Dataset that decodes them with Pillow,
as a user's would (no torchvision): for the tests of the Dataset path."""

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

CLASSES = ("blue", "green", "red")


def write_image_folder(root, n_per_class=40, size=12, seed=0):
    """``root/<class>/<i>.png``: noisy images whose brightest channel is the class."""
    rng = np.random.default_rng(seed)
    root = Path(root)
    for c, name in enumerate(CLASSES):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(n_per_class):
            img = rng.integers(0, 90, size=(size, size, 3), dtype=np.uint8)
            img[..., 2 - c] += np.uint8(90 + rng.integers(0, 60))  # RGB: red is channel 0
            Image.fromarray(img).save(root / name / f"{i:04d}.png")
    return root


def to_tensor(img):
    """A PIL image as a float tensor (channels, height, width) in [0, 1]."""
    return torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0).permute(2, 0, 1)


def augment(img):
    """A random horizontal flip (torch's RNG, so seeded fits repeat), then ``to_tensor``."""
    x = to_tensor(img)
    return x.flip(-1) if torch.rand(()) < 0.5 else x


class ImageFiles(Dataset):
    """The files of a class-folder tree as ``(image, class index)``, with
    ``samples``, ``targets`` and ``classes`` as torchvision's ImageFolder."""

    def __init__(self, root, transform=to_tensor, with_targets=True):
        root = Path(root)
        self.classes = sorted(p.name for p in root.iterdir() if p.is_dir())
        self.samples = [(str(f), c) for c, name in enumerate(self.classes)
                        for f in sorted((root / name).iterdir())]
        if with_targets:
            self.targets = [c for _, c in self.samples]
        self.transform = transform

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, i):
        path, c = self.samples[i]
        with Image.open(path) as img:
            img = img.convert("RGB")
        return (self.transform(img) if self.transform else img), c

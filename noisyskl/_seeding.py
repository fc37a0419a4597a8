"""Randomness inside ``fit``: each training draws from its own seed.

``random_state`` seeds module initialisation, shuffling, dropout and what a
Dataset draws from torch's RNG (an augmentation): each training of a fit
(the first round at offset 0 or, for ``partial_fit``, the epochs so far; the
``rounds=2`` refit at its own offset) gets a seed of its own from
``numpy.random.SeedSequence([random_state, offset])`` (:func:`seeded`), and
every held-out scoring pass of the ``rounds=2`` choice one seed shared by
all (:func:`scoring`). Each runs in :func:`rng_kept`, so the global torch RNG
(the CPU's, and the fit's CUDA device's) is left as it was. Numpy's and
Python's global RNGs are neither seeded nor kept: a Dataset that draws from
them in the main process (``num_workers=0``) does not repeat; in DataLoader
workers torch seeds them from its own stream.
"""

from contextlib import contextmanager

import numpy as np
import torch

__all__ = ["rng_kept", "scoring", "seeded"]

#: The offset of the seed every held-out scoring pass of the ``rounds=2``
#: choice draws from (:func:`scoring`)
SCORING_SEED_OFFSET = 2_000_003


def _seed(random_state, offset):
    return int(np.random.SeedSequence([random_state, offset]).generate_state(1)[0])


def _cuda_devices(device):
    """The CUDA device index ``device`` names (its current one for "cuda"),
    as a list; empty off CUDA and for ``device=None``."""
    if device is None or not torch.cuda.is_available():  # (None: skorch leaves it where it is)
        return []
    device = torch.device(device)
    if device.type != "cuda":
        return []
    return [torch.cuda.current_device() if device.index is None else device.index]


def _manual_seed(seed, device):
    """Seed the generators :func:`rng_kept` puts back, and only those (not
    every CUDA device, as ``torch.manual_seed`` does)."""
    torch.default_generator.manual_seed(seed)
    for index in _cuda_devices(device):
        with torch.cuda.device(index):
            torch.cuda.manual_seed(seed)


@contextmanager
def seeded(random_state, device, offset):
    """Run the block with torch's RNG (the CPU's and ``device``'s, when it is
    CUDA) seeded from ``(random_state, offset)``, then put the RNG state
    back; with ``random_state=None``, leave the RNG as it is."""
    if random_state is None:
        yield
        return
    with rng_kept(device):
        _manual_seed(_seed(random_state, offset), device)
        yield


@contextmanager
def scoring(random_state, device):
    """Run a held-out scoring pass of a candidate refit (``refit_rows=
    "choose"``: its look, and its end) with torch's RNG put back after it,
    and, with an int ``random_state``, seeded alike for every pass. A Dataset
    that draws at random (an augmentation without ``eval_transform``) then
    shows each candidate the same views, and the choice repeats whatever
    the process drew before the fit; with ``random_state=None`` the pass
    draws from the stream as it stands, and leaves it as it was."""
    with rng_kept(device):
        if random_state is not None:
            _manual_seed(_seed(random_state, SCORING_SEED_OFFSET), device)
        yield


def rng_kept(device):
    """A context in which torch's RNG (the CPU's, and ``device``'s when it is
    CUDA) may be drawn from; its state is put back after it (reading a
    Dataset's first rows, a scoring pass: a ``DataLoader`` draws its base
    seed even without shuffling). Only torch's own generators: a
    ``torch.Generator`` given to the data loaders, or numpy's and Python's
    states drawn by a Dataset, are not kept."""
    return torch.random.fork_rng(devices=_cuda_devices(device))

"""Randomness inside ``fit``: each training draws from its own seed.

``random_state`` seeds module initialisation, shuffling and dropout through
:func:`torch.random.fork_rng`, so the global torch RNG is left as it was; each
training of a fit (the first round at offset 0 or, for ``partial_fit``, the
epochs so far; the ``rounds=2`` refit at its own offset) gets a seed of its
own from ``numpy.random.SeedSequence([random_state, offset])``.
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


@contextmanager
def seeded(random_state, device, offset):
    """Run the block with torch's RNG (and the current CUDA device's, when
    ``device`` is CUDA) seeded from ``(random_state, offset)``, then put the
    RNG state back; with ``random_state=None``, leave the RNG as it is."""
    if random_state is None:
        yield
        return
    with rng_kept(device):
        torch.manual_seed(_seed(random_state, offset))
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
            torch.manual_seed(_seed(random_state, SCORING_SEED_OFFSET))
        yield


def rng_kept(device):
    """A context in which torch's RNG (and the current CUDA device's, when
    ``device`` is CUDA) may be drawn from; its state is put back after it, so
    that a look at a model in training (a ``DataLoader`` draws its base seed
    even without shuffling) leaves the training's random stream as it was.
    Only torch's own generators: a ``torch.Generator`` given to the data
    loaders, or numpy's and Python's states drawn by a Dataset, are not kept."""
    cuda = str(device).startswith("cuda") and torch.cuda.is_available()
    return torch.random.fork_rng(devices=[torch.cuda.current_device()] if cuda else [])

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

__all__ = ["rng_kept", "seeded"]


@contextmanager
def seeded(random_state, device, offset):
    """Run the block with torch's RNG (and the current CUDA device's, when
    ``device`` is CUDA) seeded from ``(random_state, offset)``, then put the
    RNG state back; with ``random_state=None``, leave the RNG as it is."""
    if random_state is None:
        yield
        return
    seed = int(np.random.SeedSequence([random_state, offset]).generate_state(1)[0])
    with rng_kept(device):
        torch.manual_seed(seed)
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

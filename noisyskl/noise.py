"""Seeded label-noise generators, for experiments with known wrong labels.

Each function takes the true labels (of any kind: integers, strings, ...),
never modifies them, and returns ``(noisy_labels, flipped)`` where ``flipped``
is a boolean mask of the rows whose label was changed; ``annotator_panel``
returns a panel's label matrix (one column per annotator, missing entries
NaN) and each annotator's accuracy. Rates outside what the
noise model can produce are rejected with a ``ValueError``.

Examples
--------
>>> import numpy as np
>>> from noisyskl.noise import symmetric_noise
>>> y = np.array(["a", "b", "c"] * 100)
>>> noisy, flipped = symmetric_noise(y, 0.4, random_state=0)
>>> bool((noisy[flipped] != y[flipped]).all()), round(float(flipped.mean()), 1)
(True, 0.4)
"""

import numbers

import numpy as np

__all__ = [
    "annotator_panel",
    "instance_dependent_noise",
    "lenient_transition_matrix",
    "pair_flip_noise",
    "pair_flip_transition_matrix",
    "symmetric_noise",
    "symmetric_transition_matrix",
    "transition_matrix_noise",
]


def _encode(y, classes):
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D; got shape {y.shape}.")
    if len(y) == 0:
        raise ValueError("y is empty.")
    classes = np.unique(y) if classes is None else np.asarray(classes)
    if len(classes) < 2:
        raise ValueError(f"Label noise needs at least two classes; got {list(classes)}.")
    order = np.argsort(classes, kind="stable")
    pos = np.clip(np.searchsorted(classes[order], y), 0, len(classes) - 1)
    if np.any(classes[order][pos] != y):
        raise ValueError("y has labels that are not in `classes`.")
    return order[pos], classes


def _rng(random_state):
    return np.random.default_rng(random_state)


def _check_rate(rate, upper=1.0, what="rate"):
    if not isinstance(rate, numbers.Real) or isinstance(rate, bool):
        raise TypeError(f"{what} must be a number in [0, {upper}]; got {rate!r}.")
    if not 0.0 <= rate <= upper:
        raise ValueError(f"{what} must lie in [0, {upper}]; got {rate}.")


def symmetric_transition_matrix(n_classes, rate):
    """``T[i, j] = P(noisy = j | true = i)``: keep with ``1 - rate``, else uniform.

    Parameters
    ----------
    n_classes : int
    rate : float in [0, 1]

    Returns
    -------
    ndarray of shape (n_classes, n_classes)
    """
    _check_rate(rate)
    T = np.full((n_classes, n_classes), rate / (n_classes - 1))
    np.fill_diagonal(T, 1.0 - rate)
    return T


def pair_flip_transition_matrix(n_classes, rate):
    """Each class flips to the next one (``c -> c + 1 mod C``) with ``rate``.

    ``rate`` must be below 0.5, or the wrong class would become the majority
    label of every class and the noise could not be told from a relabelling.

    Returns
    -------
    ndarray of shape (n_classes, n_classes)
    """
    _check_rate(rate, upper=0.5)
    if rate == 0.5:
        raise ValueError("pair-flip rate must be < 0.5: at 0.5 the true and the flipped "
                         "class are indistinguishable.")
    T = np.eye(n_classes) * (1.0 - rate)
    T[np.arange(n_classes), (np.arange(n_classes) + 1) % n_classes] += rate
    return T


def transition_matrix_noise(y, transition_matrix, random_state=None, classes=None):
    """Class-conditional noise from a transition matrix.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        True labels.
    transition_matrix : array-like of shape (n_classes, n_classes)
        ``T[i, j] = P(noisy label = classes[j] | true label = classes[i])``;
        rows must be probability vectors.
    random_state : int, numpy Generator or None
    classes : array-like of shape (n_classes,) or None
        Row/column order of ``T``; default ``np.unique(y)``.

    Returns
    -------
    noisy : ndarray of shape (n_samples,)
        Same dtype as ``y``.
    flipped : ndarray of shape (n_samples,), bool
    """
    idx, classes = _encode(y, classes)
    return _sample(idx, classes, transition_matrix, random_state)


def _sample(idx, classes, transition_matrix, random_state):
    T = np.asarray(transition_matrix, dtype=np.float64)
    C = len(classes)
    if T.shape != (C, C):
        raise ValueError(f"transition_matrix must have shape ({C}, {C}); got {T.shape}.")
    if not np.all(np.isfinite(T)) or np.any(T < 0) or not np.allclose(T.sum(1), 1.0):
        raise ValueError("Each row of transition_matrix must be a probability vector "
                         "(non-negative, summing to 1).")
    rng = _rng(random_state)
    cumulative = np.cumsum(T, axis=1)[idx]
    noisy_idx = (rng.random(len(idx))[:, None] > cumulative).sum(1).clip(0, C - 1)
    return classes[noisy_idx], noisy_idx != idx


def symmetric_noise(y, rate, random_state=None, classes=None):
    """Each label is replaced, with probability ``rate``, by another class
    drawn uniformly (the true class is never redrawn).

    Parameters
    ----------
    y : array-like of shape (n_samples,)
    rate : float in [0, 1]
        Expected share of changed labels.
    random_state : int, numpy Generator or None
    classes : array-like or None

    Returns
    -------
    noisy : ndarray of shape (n_samples,)
    flipped : ndarray of shape (n_samples,), bool
    """
    idx, classes = _encode(y, classes)
    return _sample(idx, classes, symmetric_transition_matrix(len(classes), rate),
                   random_state)


def pair_flip_noise(y, rate, random_state=None, classes=None):
    """Asymmetric noise: each label moves to the next class with ``rate`` < 0.5.

    Returns
    -------
    noisy : ndarray of shape (n_samples,)
    flipped : ndarray of shape (n_samples,), bool
    """
    idx, classes = _encode(y, classes)
    return _sample(idx, classes, pair_flip_transition_matrix(len(classes), rate),
                   random_state)


def instance_dependent_noise(y, proba, rate, random_state=None, classes=None):
    """Flips that are likelier for samples near a class boundary.

    Sample i is flipped with probability ``q_i = min(1, s * (1 - proba[i, y_i]))``,
    with the scale ``s`` solved so that the ``q_i`` average ``rate``; a flipped
    sample takes the most probable *other* class under ``proba``. ``proba`` is
    typically the out-of-fold ``predict_proba`` of a reference model trained on
    the clean labels (e.g. ``cross_val_predict(LogisticRegression(), X, y,
    method="predict_proba")``), so ambiguous samples get the wrong labels a
    tired annotator would give.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
    proba : array-like of shape (n_samples, n_classes)
        Reference class probabilities, columns in ``classes`` order.
    rate : float in [0, 1]
        1 flips every row, which needs every row to have some doubt.
    random_state : int, numpy Generator or None
    classes : array-like or None

    Returns
    -------
    noisy : ndarray of shape (n_samples,)
    flipped : ndarray of shape (n_samples,), bool

    Raises
    ------
    ValueError
        If ``rate`` cannot be reached: more rows would need flipping than have
        any doubt under ``proba``.
    """
    idx, classes = _encode(y, classes)
    _check_rate(rate)
    proba = np.asarray(proba, dtype=np.float64)
    if proba.shape != (len(idx), len(classes)):
        raise ValueError(f"proba must have shape ({len(idx)}, {len(classes)}); "
                         f"got {proba.shape}.")
    if not np.all(np.isfinite(proba)) or np.any(proba < 0):
        raise ValueError("proba must hold finite, non-negative probabilities.")
    doubt = 1.0 - proba[np.arange(len(idx)), idx]
    doubt = np.clip(doubt, 0.0, 1.0)
    if rate == 0:
        return classes[idx], np.zeros(len(idx), dtype=bool)
    if (doubt > 0).mean() < rate:
        raise ValueError(f"rate {rate} cannot be reached: only {(doubt > 0).mean():.3f} of the "
                         "rows have any doubt under proba.")
    lo, hi = 0.0, 1.0 / max(doubt[doubt > 0].min(), 1e-12)
    for _ in range(100):  # bisection on the scale s
        mid = (lo + hi) / 2
        if np.minimum(1.0, mid * doubt).mean() < rate:
            lo = mid
        else:
            hi = mid
    q = np.minimum(1.0, hi * doubt)
    rng = _rng(random_state)
    flipped = rng.random(len(idx)) < q
    other = proba.copy()
    other[np.arange(len(idx)), idx] = -np.inf
    noisy_idx = np.where(flipped, other.argmax(1), idx)
    return classes[noisy_idx], flipped


def lenient_transition_matrix(n_classes, rate, towards):
    """``T`` of an annotator who, with probability ``rate``, calls a row of any
    other class ``towards`` (e.g. the normal class, for one who calls
    abnormal cells normal), and is otherwise right.

    Parameters
    ----------
    n_classes : int
    rate : float in [0, 1]
    towards : int
        Index (in ``classes`` order) of the class the annotator leans to.

    Returns
    -------
    ndarray of shape (n_classes, n_classes)
    """
    _check_rate(rate)
    if not (isinstance(towards, numbers.Integral) and 0 <= towards < n_classes):
        raise ValueError(f"towards must be a class index in [0, {n_classes}); got {towards!r}.")
    T = np.eye(n_classes)
    others = np.arange(n_classes) != towards
    T[others, others] = 1.0 - rate
    T[others, towards] = rate
    return T


def annotator_panel(y, annotators, random_state=None, classes=None):
    """A panel of simulated annotators, each with its own errors, each
    labelling a share of the rows: a label matrix with missing entries.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        True labels.
    annotators : dict
        Name -> the annotator: a float, its accuracy (errors uniform over the
        other classes, as :func:`symmetric_noise`); or a dict with
        ``"accuracy"`` (a float) or ``"transition_matrix"`` (its own class
        confusions, ``T[i, j] = P(label j | true class i)``, e.g. from
        :func:`lenient_transition_matrix` or :func:`pair_flip_transition_matrix`),
        and optionally ``"share"``, the fraction of the rows it labels
        (default 1).
    random_state : int, numpy Generator or None
    classes : array-like of shape (n_classes,) or None
        Row/column order of the transition matrices; default ``np.unique(y)``.

    Returns
    -------
    labels : pandas.DataFrame of shape (n_samples, n_annotators)
        One column per annotator, in the order given, of dtype object (the
        labels as ``y`` has them); ``None`` where the annotator did not label
        the row (``labels.isna()`` finds them; ``np.isnan`` does not apply).
        Every row has at least one label: a row that no annotator drew is
        given to one annotator, drawn in proportion to the shares.
    accuracy : pandas.Series
        Each annotator's accuracy on the rows it labelled (the realised one,
        not the one asked for).

    Examples
    --------
    >>> import numpy as np
    >>> from noisyskl.noise import annotator_panel, lenient_transition_matrix
    >>> y = np.array(["abnormal", "normal"] * 500)
    >>> labels, accuracy = annotator_panel(
    ...     y, {"dr_a": 0.95, "dr_b": {"accuracy": 0.8, "share": 0.5},
    ...         "dr_c": {"transition_matrix": lenient_transition_matrix(2, 0.4, towards=1)}},
    ...     random_state=0)
    >>> labels.notna().sum().to_dict(), accuracy.round(2).to_dict()
    ({'dr_a': 1000, 'dr_b': 534, 'dr_c': 1000}, {'dr_a': 0.96, 'dr_b': 0.74, 'dr_c': 0.8})
    """
    import pandas as pd

    idx, classes = _encode(y, classes)
    if not isinstance(annotators, dict) or not annotators:
        raise TypeError("annotators must be a non-empty dict of name -> accuracy or spec; "
                        f"got {annotators!r}.")
    rng = _rng(random_state)
    C, n = len(classes), len(idx)
    matrices, shares = {}, {}
    for name, spec in annotators.items():
        spec = {"accuracy": spec} if isinstance(spec, numbers.Real) else dict(spec)
        unknown = set(spec) - {"accuracy", "transition_matrix", "share"}
        if unknown or ("accuracy" in spec) == ("transition_matrix" in spec):
            raise ValueError(
                f"annotator {name!r}: give a float accuracy, or a dict with exactly one of "
                f"'accuracy' and 'transition_matrix' and optionally 'share'; got {spec!r}.")
        if "accuracy" in spec:
            _check_rate(spec["accuracy"], what=f"annotator {name!r}'s accuracy")
            matrices[name] = symmetric_transition_matrix(C, 1.0 - spec["accuracy"])
        else:
            matrices[name] = spec["transition_matrix"]
        shares[name] = spec.get("share", 1.0)
        _check_rate(shares[name], what=f"annotator {name!r}'s share")
        if shares[name] == 0:
            raise ValueError(f"annotator {name!r}'s share is 0: it would label no row.")
    names = list(annotators)
    labelled = np.column_stack([rng.random(n) < shares[k] for k in names])
    orphans = np.flatnonzero(~labelled.any(1))
    p = np.array([shares[k] for k in names]) / sum(shares.values())
    labelled[orphans, rng.choice(len(names), size=len(orphans), p=p)] = True
    columns, accuracy = {}, {}
    for j, name in enumerate(names):
        noisy, flipped = _sample(idx, classes, matrices[name], rng)
        column = np.empty(n, dtype=object)
        column[labelled[:, j]] = noisy[labelled[:, j]]
        columns[name] = column
        accuracy[name] = float(1.0 - flipped[labelled[:, j]].mean())
    return pd.DataFrame(columns), pd.Series(accuracy, name="accuracy")

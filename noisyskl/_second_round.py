"""The second round of a ``rounds=2`` fit: whether it refits, and on which rows.

After the first round, :func:`second_round` decides whether the refit runs
(``_refit.refit_skip_reason``) and :func:`train_refit` on which rows
(``refit_rows``): ``"unflagged"`` trains one refit without the rows the first
round flagged. ``"choose"`` trains two candidates, without the flagged rows
and on every row, both holding out the same rows (those the first round held
out; where it held none out, a stratified fifth of its own), and keeps the one
whose accuracy there, corrected for the noise the first round found
(``functional.noise_corrected_accuracy``), is higher (with ``refit_look``,
also after part of their epochs: the refit on every row, trained second,
stops there where it does not lead, :func:`chosen_kind`); where it held out rows
of its own, the kept kind of refit then trains again on all the rows given
to training (without the flagged ones, for "unflagged"). All are
``_refit.refit_without_issues`` refits; the estimator takes the one returned.

With ``flagged_rows="unlabelled"``, or ``"auto"`` on rows that are feature
vectors given as an array (:func:`unlabelled_refit`), the refit "without the
flagged rows" keeps them as unlabelled rows instead (:func:`without_flagged`;
the loss is ``_semi``'s), in either choice of ``refit_rows``; a data-parallel
fit drops them (with a warning, if ``"unlabelled"`` was asked for).
"""

import warnings

import numpy as np
import torch
from skorch.dataset import Dataset
from torch.utils.data import DataLoader

from . import _functional as Fn
from ._distributed import group_size
from ._once import warn_once
from ._refit import (
    MIN_REFINEMENTS,
    keep_every_class,
    kept_rows,
    module_is_instance,
    module_weights,
    refit_labels,
    refit_skip_reason,
    refit_without_issues,
)
from ._seeding import scoring
from ._split import StratifiedHoldout, holdout_seed

__all__ = ["second_round", "train_refit", "unlabelled_refit", "warn_if_class_flagged_away"]

#: The two refits of ``refit_rows="choose"``, as the verbose lines name them.
ROWS_SAID = {"every": "every training row", "unflagged": "the unflagged training rows"}


def second_round(est, X, y_idx, interrupted, warned_short, routing_method="fit",
                 initial_weights=None, ctrl_c=None, as_unlabelled=False, **fit_params):
    """After the first round of a ``rounds=2`` fit: the refit (returned, for
    the estimator to take its model), unless ``refit_skip_reason`` skips it
    (a warning, unless ``warned_short``: fit has said so already; returns
    None and the model stays the first round's)."""
    X, y_idx = refit_labels(est.refinement_state_, X, y_idx)
    n_refinements = int(est.refinement_state_.n_refinements)
    # the first round's report, once: the flags, the warning and the choice read it
    report = (est.find_label_issues()
              if n_refinements >= MIN_REFINEMENTS and not interrupted else None)
    flagged = None if report is None else report["is_label_issue"].to_numpy()
    reason, caution = refit_skip_reason(interrupted, n_refinements, flagged,
                                        len(est.classes_), est.max_epochs, est.warm_up)
    if n_refinements == 0 and warned_short and not interrupted:
        return None
    if flagged is not None:
        warn_if_class_flagged_away(est, report, stacklevel=5)
    if caution is not None:
        warn_once("many_flagged", caution[0].upper() + caution[1:] + "; the rounds=2 refit "
                  "trains without their labels. Check find_label_issues().", stacklevel=4)
    if reason is not None:
        warnings.warn(
            reason + ": the model, history_ and find_label_issues() are the first round's"
            + (", as of its last completed epoch. Call fit again to train both rounds."
               if interrupted else ". Raise max_epochs, or pass rounds=1."),
            UserWarning, stacklevel=4)  # user -> fit -> _train -> here
        return None
    suggested = np.searchsorted(est.classes_, report["predicted_label"].to_numpy())
    return train_refit(est, X, y_idx, flagged, suggested, routing_method, initial_weights,
                       ctrl_c, as_unlabelled=as_unlabelled, **fit_params)


def train_refit(est, X, y_idx, flagged, suggested, routing_method="fit", initial_weights=None,
                ctrl_c=None, as_unlabelled=False, **fit_params):
    """The trained refit ``refit_rows`` asks for (see the module's docstring);
    its ``refit_choice_`` says which rows it trained on and why (with
    ``"choose"``, the choice and its scores).
    ``flagged`` and ``suggested``: the first round's flags and each row's
    suggested class index (its report's ``is_label_issue``, ``predicted_label``).
    ``ctrl_c``: ``noting_ctrl_c``'s note; after a Ctrl-C the refit being
    trained is returned as it stands. ``as_unlabelled``: :func:`unlabelled_refit`'s
    answer for the fit (the flagged rows kept as unlabelled rows, unless the
    fit is data-parallel)."""
    first = module_weights(est)  # (a module instance, which every refit trains in turn)
    # (a data-parallel fit: every refit trains with the process group, data_parallel;
    # the first round's World has ended by now, so world_of cannot tell)
    parallel = group_size(est) > 1
    if parallel and est.flagged_rows == "unlabelled":  # (asked for; "auto" drops them silently)
        warn_once("unlabelled_distributed",
                  "flagged_rows='unlabelled' is not supported in a data-parallel fit: the "
                  "rounds=2 refit leaves the flagged rows out (flagged_rows='drop').",
                  stacklevel=5)
    as_unlabelled = as_unlabelled and not parallel

    def refit(keep, unlabelled=None, held_out=None, name=None, look=None):
        return refit_without_issues(est, X, y_idx, routing_method, keep=keep,
                                    initial_weights=initial_weights, held_out=held_out,
                                    name=name, first_weights=first, unlabelled=unlabelled,
                                    look=look, **fit_params)

    if est.refit_rows == "unflagged":
        chosen = refit(*without_flagged(flagged, as_unlabelled))
        chosen.refit_choice_ = {"refit_rows": "unflagged",
                                "flagged_rows": flagged_rows_said(as_unlabelled),
                                "reason": "refit_rows='unflagged' (no choice made)"}
        return chosen
    if parallel:
        chosen = refit(~flagged)
        chosen.refit_choice_ = {"refit_rows": "unflagged",
                                "flagged_rows": flagged_rows_said(False),
                                "reason": "a data-parallel fit refits on the unflagged rows"}
        return chosen
    held = ~np.asarray(est.train_mask_, dtype=bool)
    final = not held.any()  # (no rows held out: the choice holds out its own, then refits)
    if final:
        held = choice_rows(est, y_idx)
    if not held.any():  # (every row trusted: a review's)
        chosen = refit(*without_flagged(flagged, as_unlabelled))
        chosen.refit_choice_ = {"refit_rows": "unflagged",
                                "flagged_rows": flagged_rows_said(as_unlabelled),
                                "reason": "no row could be held out to choose on (all trusted)"}
        return chosen
    stopped = (lambda: False) if ctrl_c is None else (lambda: ctrl_c["ctrl_c"])
    try:
        choice = choose_rows(est, X, y_idx, flagged, suggested, held, refit, stopped,
                             as_unlabelled)
        return _refit_chosen(est, choice, y_idx, flagged, held, final, refit, as_unlabelled)
    except Exception:
        if first is not None:  # the first round's weights, as the error says
            est.module_.load_state_dict(first)
        raise


def unlabelled_refit(est, fit_input):
    """Whether the refit keeps the flagged rows as unlabelled data.

    Parameters
    ----------
    est : NoisyNeuralNetClassifier
        Its ``flagged_rows``, and its data path (``dataset``,
        ``iterator_train``).
    fit_input : FitInput
        The fit's input, read.

    Returns
    -------
    bool
        ``"unlabelled"``: True; ``"drop"``: False; ``"auto"``: True for
        floating-point feature vectors given as an array (X of two
        dimensions) on the estimator's own data path (skorch's ``Dataset``
        and ``DataLoader``, no ``collate_fn`` of one's own: its batches are one
        tensor), where the validation splits chose it (15 MLP cells: +0.55
        points); False for images (arrays of them: the blood cells lost 1.5
        points), integers (token ids, ordinal codes: their mixtures mean
        nothing), a Dataset's rows or a data path of one's own (whose batches
        may not mix; an augmenting Dataset of images gains, so its users can
        ask for it).
    """
    if est.flagged_rows != "auto":
        return est.flagged_rows == "unlabelled"
    own_path = (est.dataset is Dataset and not est.get_params_for("dataset")
                and est.iterator_train is DataLoader
                and "collate_fn" not in est.get_params_for("iterator_train"))
    return (own_path and not fit_input.from_dataset and fit_input.floating
            and np.ndim(fit_input.rows) == 2)


def without_flagged(flagged, as_unlabelled, held=None):
    """The rows of the refit "without the flagged rows".

    Parameters
    ----------
    flagged : ndarray of shape (n_samples,), bool
        The first round's label issues.
    as_unlabelled : bool
        :func:`unlabelled_refit`'s answer (and not a data-parallel fit).
    held : ndarray of shape (n_samples,), bool, or None, default=None
        Rows held out to choose on (kept, never trained on).

    Returns
    -------
    keep : ndarray of shape (n_samples,), bool
        The unflagged rows and ``held``; with ``as_unlabelled`` every row.
    unlabelled : ndarray of shape (n_samples,), bool, or None
        With ``as_unlabelled`` the flagged rows not held out; else None.
    """
    held = np.zeros_like(flagged) if held is None else held
    if as_unlabelled:
        return np.ones_like(flagged), flagged & ~held
    return ~flagged | held, None


def _refit_chosen(est, choice, y_idx, flagged, held, final, refit, as_unlabelled=False):
    """The refit :func:`train_refit` keeps, or trains, after its ``choice``."""
    kind = choice["refit_rows"]
    keep, unlabelled = ((np.ones_like(held), None) if kind == "every"
                        else without_flagged(flagged, as_unlabelled))
    own_callbacks = has_own_callbacks(est)
    if "interrupted" in choice["reason"]:
        chosen = choice.pop("refit")
    elif final:  # on every row the user gave to training (of that kind)
        del choice["refit"]
        say(est, f"round 2/2: refit on {rows_said(kind, y_idx, keep, unlabelled)}.")
        chosen = refit(keep, name=f"on {ROWS_SAID[kind]}, as chosen ({int(keep.sum())} rows)",
                       unlabelled=unlabelled)
    elif kind == "every" and own_callbacks and isinstance(est.random_state, (int, np.integer)):
        # your callbacks (a Checkpoint's files) end on the refit trained last:
        # train the kept one again, from the same seed (the same model)
        del choice["refit"]
        say(est, f"round 2/2: refit on {ROWS_SAID[kind]} again, so that your callbacks end "
            "on it.")
        chosen = refit(keep, held_out=held,
                       name=f"on {ROWS_SAID[kind]}, as chosen ({int(keep.sum())} rows)")
    else:
        chosen = choice.pop("refit")
        if kind == "every" and own_callbacks:
            choice["note"] = ("your callbacks ended on the refit on the unflagged training "
                              "rows (not kept); pass an int random_state to have the kept "
                              "one trained again, the same, for them")
    choice.pop("refit", None)
    choice["flagged_rows"] = flagged_rows_said(as_unlabelled)
    chosen.refit_choice_ = choice
    return chosen


class Look:
    """A candidate refit's held-out score after its first ``epoch`` epochs
    (``RefitNet`` calls :meth:`see` then).

    Parameters
    ----------
    epoch : int
        After which epoch to look.
    score : callable
        Held-out predicted class indices -> the score (``noise_corrected_accuracy``).
    n_held : int
        How many rows are held out; a look that sees another count (the
        validation iterator drops some) scores nothing.
    rival : float or None, default=None
        The other candidate's score at its own look: where this one's is not
        higher, it stops there (``stop``; ``RefitNet.on_epoch_begin``).
    """

    def __init__(self, epoch, score, n_held, rival=None):
        self.epoch, self.score, self.rival, self.n_held = epoch, score, rival, n_held
        self.value, self.stop = None, False

    def see(self, refit, dataset_valid):
        prediction = predicted_classes(refit, dataset_valid)
        if len(prediction) != self.n_held:
            return
        self.value = self.score(prediction)
        self.stop = (self.rival is not None and self.rival >= self.value
                     and self.epoch < refit.max_epochs)


def look_epoch(max_epochs, share):
    """The epoch after which ``choose_rows`` looks at each candidate:
    ``share`` (``refit_look``) of ``max_epochs``, at least the first; None
    (no look) where ``share`` is None."""
    return None if share is None else max(1, round(max_epochs * share))


def chosen_kind(looked, ended):
    """The candidate ``choose_rows`` keeps, from each one's held-out score at
    its look (``looked``) and at its end (``ended``; the refit on every row's
    is missing where it stopped at the look). The refit without the flagged
    rows is kept where it scores at least as high at the look (one-sided:
    early on the refit on every row has not yet memorised its wrong labels,
    so a lead then says little; a refit on every row that trails then and
    would end ahead is lost, which on the validation splits cost nothing on
    balance); else the two finished candidates' scores decide, ties to the
    one without the flagged rows. A look that scored nothing (None) leaves
    the choice to the end."""
    if None not in (looked.get("every"), looked.get("unflagged")) and \
            looked["unflagged"] >= looked["every"]:
        return "unflagged"
    return "unflagged" if ended["unflagged"] >= ended["every"] else "every"


def choose_rows(est, X, y_idx, flagged, suggested, held, refit, stopped=lambda: False,
                as_unlabelled=False):
    """Train both candidate refits holding out ``held`` and score them there,
    after ``refit_look`` of their epochs (the look; None: none) and at their end; return the
    choice (:func:`chosen_kind`; a dict, as ``refit_choice_``, with the kept
    candidate's trained refit under ``"refit"``). The refit without the
    flagged rows trains first and the one on every row stops at its look
    where it trails there (it would not be kept), except with callbacks of
    your own: they end on the refit trained last, so then the one more often
    kept trains last, and both train every epoch. A module instance (which
    every refit shares) ends with the kept candidate's weights. After a
    Ctrl-C (``stopped()``) the candidate that finished is kept, unscored, where
    one did; else the one being trained, as it stands."""
    trained = ~held
    transition = Fn.noise_transition(torch.as_tensor(y_idx[trained]),
                                     torch.as_tensor(suggested[trained]),
                                     torch.as_tensor(flagged[trained]), len(est.classes_))
    annotation = torch.as_tensor(y_idx[held])

    def score(prediction):
        return Fn.noise_corrected_accuracy(prediction, annotation, transition)

    ended, looked, epochs, refits, weights = {}, {}, {}, {}, {}
    shared = module_is_instance(est)  # (one module object for all the refits)
    rows_of = {"every": (np.ones_like(held), None),
               "unflagged": without_flagged(flagged, as_unlabelled, held)}
    epoch = look_epoch(est.max_epochs, est.refit_look)
    # (the one that may stop trains last; with callbacks of your own, or no look,
    # the one more often kept, as to 2026-12-07)
    order = (("every", "unflagged") if epoch is None or has_own_callbacks(est)
             else ("unflagged", "every"))
    for rows in order:
        keep, unlabelled = rows_of[rows]
        say(est, f"round 2/2, refit on {rows_said(rows, y_idx, keep, unlabelled, held)}, "
            f"holding out {int(held.sum())} rows to choose on.")
        look = None if epoch is None else Look(
            epoch, score, int(held.sum()),
            rival=looked.get("unflagged") if rows == "every" else None)
        refits[rows] = candidate = refit(keep, held_out=held, look=look,
                                         name=f"on {ROWS_SAID[rows]}, a candidate "
                                         f"({int(keep.sum())} rows)", unlabelled=unlabelled)
        if stopped():
            return _interrupted(rows, refits, ended, weights)
        looked[rows] = None if look is None else look.value
        epochs[rows] = len(candidate.history)
        if look is not None and look.stop:
            say(est, f"round 2/2: stopped the refit on {ROWS_SAID[rows]} after {epoch} of "
                f"{est.max_epochs} epochs: it does not lead there (held-out accuracy "
                f"corrected for noise: every {look.value:.3f}, unflagged "
                f"{looked['unflagged']:.3f}).")
            continue
        prediction = held_out_prediction(candidate, X, y_idx, held)
        ended[rows] = (score(prediction), float((prediction == annotation).float().mean()))
        if shared:
            weights[rows] = module_weights(candidate)
    chosen = chosen_kind(looked, {rows: ended[rows][0] for rows in ended})
    if shared:
        refits[chosen].module_.load_state_dict(weights[chosen])
    said = ", ".join(f"{rows} {ended[rows][0]:.3f}" if rows in ended else
                     f"{rows} {looked[rows]:.3f} after {epoch} epochs, stopped"
                     for rows in ("every", "unflagged"))
    say(est, f"round 2/2: chose the refit on {ROWS_SAID[chosen]} (held-out accuracy "
        f"corrected for noise: {said}).")
    return {"refit_rows": chosen, "reason": "held-out accuracy, corrected for noise",
            "held_out_rows": int(held.sum()),
            **{f"score_{rows}": ended[rows][0] for rows in ended},
            **{f"annotation_accuracy_{rows}": ended[rows][1] for rows in ended},
            **({} if epoch is None else {  # (refit_look=None: as chosen to 2026-12-07)
                "look_epoch": epoch, **{f"look_score_{rows}": looked[rows] for rows in looked},
                **{f"epochs_{rows}": epochs[rows] for rows in epochs}}),
            "refit": refits[chosen]}


def _interrupted(rows, refits, ended, weights):
    """:func:`choose_rows`'s choice after a Ctrl-C in the candidate ``rows``."""
    finished = next(iter(ended), None)
    if finished is None:
        return {"refit_rows": rows, "reason": "interrupted (Ctrl-C) while choosing",
                "refit": refits[rows]}
    if finished in weights:  # (a module instance: the interrupted one trained it last)
        refits[finished].module_.load_state_dict(weights[finished])
    return {"refit_rows": finished, "reason": "interrupted (Ctrl-C) while choosing; the "
            "candidate that had finished kept", "refit": refits[finished]}


def has_own_callbacks(est):
    """Whether the user gave callbacks (which end on the refit trained last)."""
    return isinstance(est.callbacks, (list, tuple)) and len(est.callbacks) > 0


def choice_rows(est, y_idx):
    """Rows to choose on where the first round held none out: a stratified
    fifth (``StratifiedHoldout(0.2)``, drawn with the first round's seed),
    never a review's trusted rows."""
    seed = est.__dict__.get("holdout_seed_")
    if seed is None:
        seed = holdout_seed(est.random_state)
    _, valid = StratifiedHoldout(0.2).split(np.zeros(len(y_idx)), y_idx, seed)
    held = np.zeros(len(y_idx), dtype=bool)
    held[valid.indices] = True
    if est.always_trained_rows_ is not None:
        held &= ~np.asarray(est.always_trained_rows_, dtype=bool)
    return held


def rows_said(kind, y_idx, keep, unlabelled, held=None):
    """The rows a refit trains on, as the verbose lines say them: ``kind``
    (``ROWS_SAID``), how many of the rows ``keep`` (less ``held``, held out)
    it trains on with their labels, and how many without (``unlabelled``, the
    flagged rows kept), counted as the refit will train them (a class whose
    every row was flagged put back, ``_refit.keep_every_class``)."""
    keep, unlabelled = keep_every_class(y_idx, keep, held, unlabelled)
    trained = keep if held is None else keep & ~held
    kept_unlabelled = int(unlabelled.sum())
    if not kept_unlabelled:
        return f"{ROWS_SAID[kind]} ({int(trained.sum())})"
    return (f"{ROWS_SAID[kind]} ({int(trained.sum()) - kept_unlabelled}, with the "
            f"{kept_unlabelled} flagged ones as unlabelled rows)")


def flagged_rows_said(as_unlabelled):
    """``refit_choice_["flagged_rows"]``: what the refit without the flagged
    rows did with them, as ``flagged_rows`` (``"auto"``) decided."""
    return "unlabelled" if as_unlabelled else "drop"


def say(est, line):
    if est.verbose:
        print(line)


def held_out_prediction(refit, X, y_idx, held):
    """The trained ``refit``'s predicted class indices on the held-out rows,
    in their order (its validation rows, as it split them: of the rows it
    kept, ``refit.kept_``, which may add a class flagged whole)."""
    keep = refit.kept_
    rows = np.flatnonzero(keep)
    _, valid = refit.get_split_datasets(kept_rows(X, rows), y_idx[keep])
    prediction = predicted_classes(refit, valid)
    if len(prediction) != int(held.sum()):
        raise ValueError(
            f"refit_rows='choose' scores the refits on the {int(held.sum())} held-out rows, "
            f"but the validation iterator gave {len(prediction)} (iterator_valid__drop_last?); "
            "let it give every row, or pass refit_rows='unflagged'.")
    return prediction


def predicted_classes(refit, valid):
    """``refit``'s predicted class indices on its validation rows ``valid``
    (on the CPU; as many as the validation iterator gives), under
    ``_seeding.scoring``: every pass, the look's and the end's, sees a
    randomly drawing Dataset's rows as the other candidate's does."""
    with scoring(refit.random_state, refit.device):
        return refit.forward(valid, training=False).argmax(1).cpu()


def warn_if_class_flagged_away(est, report=None, stacklevel=4):
    """Warn, once a process, naming each class the network never learnt
    (``functional.unlearnt_classes``: its rows are not flagged) and each
    class whose annotated rows the first round (nearly) all flagged
    (``functional.classes_flagged_away``), with the likely cause: either
    would be erased by whatever trusted the flags (the refit, a cleaned data
    set). ``report``: ``est.find_label_issues()``, where already made."""
    if report is None:
        report = est.find_label_issues()
    classes = est.classes_
    given = torch.tensor(np.searchsorted(classes, report["given_label"].to_numpy()))
    suggested = torch.tensor(np.searchsorted(classes, report["predicted_label"].to_numpy()))
    unlearnt = Fn.unlearnt_classes(given, suggested, len(classes))
    away = Fn.classes_flagged_away(given, torch.tensor(report["is_label_issue"].to_numpy()),
                                   suggested, len(classes))
    lines = []
    for c in np.flatnonzero(unlearnt.numpy()):
        lines.append(
            f"no more than {int((suggested == c).sum())} rows' refined labels favour "
            f"{classes[[c]].tolist()[0]!r}, annotated on {int((given == c).sum())}: the "
            "network had not learnt that class when the refinement began (a rare or slowly "
            "learnt class looks like noise until then), so its rows are not flagged (the "
            "network is no witness there)")
    for c in away:
        name, instead = classes[[c["class"], c["suggested_instead"] or 0]].tolist()
        said = f"{c['flagged']} of the {c['rows']} rows annotated {name!r} were flagged: "
        if c["suggested_instead"] is None:
            said += ("their refined labels favour it again now, but favoured other classes "
                     "in enough refinements to flag them")
        else:
            said += (f"their refined labels mostly favour {instead!r}, so the network "
                     "confuses the two, or these annotations are systematically wrong")
        lines.append(said)
    if lines:
        warn_once("class_flagged_away",
                  "The first round did not learn a whole class: " + "; ".join(lines)
                  + f". If those annotations are mostly right, train longer before refining "
                  f"(warm_up={est.warm_up}, max_epochs={est.max_epochs}) or weigh the classes "
                  "(class_weight='balanced'); the rounds=2 refit keeps the rows of a class "
                  "that is flagged whole. Check find_label_issues().", stacklevel=stacklevel)

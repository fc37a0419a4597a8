"""The second round of a ``rounds=2`` fit: whether it refits, and on which rows.

After the first round, :func:`second_round` decides whether the refit runs
(``_refit.refit_skip_reason``) and :func:`train_refit` on which rows
(``refit_rows``): ``"unflagged"`` trains one refit without the rows the first
round flagged; ``"choose"`` trains two, without the flagged rows and on every
row, both holding out the rows the first round held out, and keeps the one
whose accuracy there, corrected for the noise the first round found
(``functional.noise_corrected_accuracy``), is higher. Both are
``_refit.refit_without_issues`` refits; the estimator takes the one returned.
"""

import warnings

import numpy as np
import torch

from . import _functional as Fn
from ._distributed import world_of
from ._once import warn_once
from ._refit import (
    MIN_REFINEMENTS,
    kept_rows,
    refit_labels,
    refit_skip_reason,
    refit_without_issues,
)

__all__ = ["second_round", "train_refit", "warn_if_class_flagged_away"]

#: The two refits of ``refit_rows="choose"``, as the verbose lines name them.
ROWS_SAID = {"every": "every training row", "unflagged": "the unflagged training rows"}


def second_round(est, X, y_idx, interrupted, warned_short, routing_method="fit",
                 initial_weights=None, **fit_params):
    """After the first round of a ``rounds=2`` fit: the refit (returned, for
    the estimator to take its model), unless ``refit_skip_reason`` skips it
    (a warning, unless ``warned_short``: fit has said so already; returns
    None and the model stays the first round's)."""
    X, y_idx = refit_labels(est.refinement_state_, X, y_idx)
    n_refinements = int(est.refinement_state_.n_refinements)
    flagged = (est.find_label_issues()["is_label_issue"].to_numpy()
               if n_refinements >= MIN_REFINEMENTS and not interrupted else None)
    reason, caution = refit_skip_reason(interrupted, n_refinements, flagged,
                                        len(est.classes_), est.max_epochs, est.warm_up)
    if n_refinements == 0 and warned_short and not interrupted:
        return None
    if flagged is not None:
        warn_if_class_flagged_away(est, stacklevel=5)
    if caution is not None:
        warn_once("many_flagged", caution[0].upper() + caution[1:] + "; the rounds=2 refit "
                  "leaves those rows out. Check find_label_issues().", stacklevel=4)
    if reason is not None:
        warnings.warn(
            reason + ": the model, history_ and find_label_issues() are the first round's"
            + (", as of its last completed epoch. Call fit again to train both rounds."
               if interrupted else ". Raise max_epochs, or pass rounds=1."),
            UserWarning, stacklevel=4)  # user -> fit -> _train -> here
        return None
    return train_refit(est, X, y_idx, flagged, routing_method, initial_weights, **fit_params)




def train_refit(est, X, y_idx, flagged, routing_method="fit", initial_weights=None,
                **fit_params):
    """The trained refit ``refit_rows`` asks for (see the module's docstring);
    with ``"choose"``, its ``refit_choice_`` says what was chosen and why."""
    held = ~np.asarray(est.train_mask_, dtype=bool)
    reason = choice_skip_reason(est, held)
    if reason is not None:
        refit = refit_without_issues(est, X, y_idx, routing_method, keep=~flagged,
                                     initial_weights=initial_weights, **fit_params)
        if est.refit_rows == "choose":
            refit.refit_choice_ = {"refit_rows": "unflagged", "reason": reason}
        return refit
    report = est.find_label_issues()
    suggested = np.searchsorted(est.classes_, report["predicted_label"].to_numpy())
    trained = ~held
    transition = Fn.noise_transition(torch.as_tensor(y_idx[trained]),
                                     torch.as_tensor(suggested[trained]),
                                     torch.as_tensor(flagged[trained]), len(est.classes_))
    annotation = torch.as_tensor(y_idx[held])
    every, unflagged = np.ones_like(held), ~flagged | held

    def train(rows, keep, note=""):
        if est.verbose:
            print(f"round 2/2, refit on {ROWS_SAID[rows]} ({int((keep & trained).sum())}), "
                  f"holding out the {int(held.sum())} rows the first round held out{note}.")
        return refit_without_issues(est, X, y_idx, routing_method, keep=keep,
                                    initial_weights=initial_weights, held_out=held, **fit_params)

    scores, refits = {}, {}
    for rows, keep in (("every", every), ("unflagged", unflagged)):
        refits[rows] = refit = train(rows, keep)
        prediction = held_out_prediction(refit, X, y_idx, held)
        scores[rows] = (Fn.noise_corrected_accuracy(prediction, annotation, transition),
                        float((prediction == annotation).float().mean()))
    chosen = "unflagged" if scores["unflagged"][0] >= scores["every"][0] else "every"
    refit = refits.pop(chosen)
    if chosen == "every" and isinstance(est.callbacks, (list, tuple)) and est.callbacks:
        # the user's callbacks (a Checkpoint's files) end on the refit trained
        # last: train the kept one again, from the same seed (the same model)
        refits.clear()
        del refit
        refit = train("every", every, note=" (again, so that your callbacks end on it)")
    refit.refit_choice_ = {
        "refit_rows": chosen, "reason": "held-out accuracy, corrected for noise",
        "held_out_rows": int(held.sum()),
        **{f"score_{rows}": scores[rows][0] for rows in scores},
        **{f"annotation_accuracy_{rows}": scores[rows][1] for rows in scores}}
    if est.verbose:
        print(f"round 2/2: kept the refit on {ROWS_SAID[chosen]} (held-out accuracy "
              f"corrected for noise: every {scores['every'][0]:.3f}, unflagged "
              f"{scores['unflagged'][0]:.3f}).")
    return refit


def choice_skip_reason(est, held):
    """Why ``refit_rows="choose"`` cannot choose (None: it can), or None-like
    for ``"unflagged"`` (``""``: nothing to choose)."""
    if est.refit_rows == "unflagged":
        return ""
    if world_of(est) is not None:
        return "a data-parallel fit refits on the unflagged rows (not chosen)"
    if not held.any():
        return ("no rows were held out in the first round (train_split=None, or a "
                "validation set of its own), so there was nothing to choose on")
    return None


def held_out_prediction(refit, X, y_idx, held):
    """The trained ``refit``'s predicted class indices on the held-out rows,
    in their order (its validation rows, as it split them: of the rows it
    kept, ``refit.kept_``, which may add a class flagged whole)."""
    keep = refit.kept_
    rows = np.flatnonzero(keep)
    _, valid = refit.get_split_datasets(kept_rows(X, rows), y_idx[keep])
    logits = refit.forward(valid, training=False)
    assert len(logits) == int(held.sum())
    return logits.argmax(1).cpu()


def warn_if_class_flagged_away(est, stacklevel=4):
    """Warn, once a process, naming each class whose annotated rows the first
    round (nearly) all flagged, and the likely cause
    (``functional.classes_flagged_away``): such a class would be erased from
    whatever trusts the flags (the refit's rows, a cleaned data set)."""
    report = est.find_label_issues()
    classes = est.classes_
    found = Fn.classes_flagged_away(
        torch.tensor(np.searchsorted(classes, report["given_label"].to_numpy())),
        torch.tensor(report["is_label_issue"].to_numpy()),
        torch.tensor(np.searchsorted(classes, report["predicted_label"].to_numpy())),
        len(classes))
    if not found:
        return
    lines = []
    for c in found:
        name, instead = (classes[[c["class"], c["suggested_instead"] or 0]].tolist())
        said = (f"{c['flagged']} of the {c['rows']} rows annotated {name!r} were flagged: ")
        if c["suggested_anywhere"] == 0:
            said += (f"no row's refined label favours {name!r}, so the network had not learnt "
                     "that class when the refinement took it for noise (a rare or slowly "
                     "learnt class does this early in training)")
        elif c["suggested_instead"] is None:
            said += ("their refined labels favour it again now, but favoured other classes "
                     "in enough refinements to flag them")
        else:
            said += (f"their refined labels mostly favour {instead!r}, so the network "
                     "confuses the two, or these annotations are systematically wrong")
        lines.append(said)
    warn_once("class_flagged_away",
              "The first round flagged (nearly) a whole class: " + "; ".join(lines)
              + f". If those annotations are mostly right, train longer before refining "
              f"(warm_up={est.warm_up}, max_epochs={est.max_epochs}) or weigh the classes "
              "(class_weight='balanced'); the rounds=2 refit keeps the rows of a class that is "
              "flagged whole. Check find_label_issues().", stacklevel=stacklevel)

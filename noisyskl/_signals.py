"""Telling the user's Ctrl-C from a callback's stop."""

import signal
import threading
from contextlib import contextmanager

__all__ = ["noting_ctrl_c"]


@contextmanager
def noting_ctrl_c():
    """Yield a dict whose ``"ctrl_c"`` turns True if a SIGINT (Ctrl-C, or a
    notebook's interrupt) arrives inside the block.

    skorch catches the ``KeyboardInterrupt`` that Ctrl-C raises, and also the
    one that callbacks such as ``EarlyStopping`` raise to end training; only
    the signal tells the user's stop from theirs. The previous handler still
    runs (and raises), and is put back afterwards. Outside the main thread,
    or where the handler is not Python's, nothing is noted.
    """
    note = {"ctrl_c": False}
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or not callable(previous):
        yield note
        return

    def handler(signum, frame):
        note["ctrl_c"] = True
        previous(signum, frame)

    signal.signal(signal.SIGINT, handler)
    try:
        yield note
    finally:
        signal.signal(signal.SIGINT, previous)

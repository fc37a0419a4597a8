"""Public, stateless torch functions of the method (see ``_functional``)."""

from ._functional import *  # noqa: F403
from ._functional import __all__  # noqa: F401

"""``keldysh-run`` (being split into submodules; this step only moves the file to :mod:`.runner`)."""
from solvers.app.cli.runner import *  # noqa: F401,F403
from solvers.app.cli.runner import __all__, _BASE_BYTES, _KEY_NOTES, _lock_is_stale  # noqa: F401

"""``keldysh-plot`` (being split into submodules; this step only moves the file to :mod:`.figures`)."""
from solvers.app.plot.figures import *  # noqa: F401,F403
from solvers.app.plot.figures import __all__, _figure, _save, _title, _wrap  # noqa: F401

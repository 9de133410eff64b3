"""``python -m solvers CONFIG.toml ...`` = ``keldysh-run`` (see :mod:`solvers.cli`)."""
import sys

from solvers.cli import main

sys.exit(main())

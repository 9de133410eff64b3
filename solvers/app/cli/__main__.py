"""``python -m solvers.app.cli`` = ``keldysh-run``."""
import sys

from solvers.app.cli import main

sys.exit(main())

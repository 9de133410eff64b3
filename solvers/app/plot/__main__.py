"""``python -m solvers.app.plot`` = ``keldysh-plot``."""
import sys

from solvers.app.plot import main

sys.exit(main())

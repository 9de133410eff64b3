"""``python -m solvers CONFIG.toml ...`` = ``keldysh-run`` (see :mod:`solvers.app.cli`)."""
import os
import sys

# One BLAS/OpenMP thread per process unless the user chose otherwise: MPI ranks already
# fill the cores, and numpy reads these variables only when it is first imported.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from solvers.app.cli import main  # noqa: E402

sys.exit(main())

"""Run configuration: a TOML file -> frozen, validated dataclasses (see :mod:`.run_config`)."""
from .run_config import *  # noqa: F401,F403
from .run_config import __all__  # noqa: F401

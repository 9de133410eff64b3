"""Value checks of the run configuration: each returns the normalised value or raises
:class:`ConfigError` naming the dotted key, with a one-line message that says what is
allowed, e.g. ``baths.Gamma1: must be > 0 (got -0.001)``.

:class:`Validated` and :func:`checked` let a frozen dataclass declare the check of each
field next to the field; the dataclass then validates itself on construction.
"""
from __future__ import annotations

import dataclasses
import difflib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

__all__ = ["ConfigError", "Validated", "checked", "show", "number", "integer", "string", "boolean",
           "number_list", "choice_list", "forbid", "set_field", "check_keys"]


class ConfigError(ValueError):
    """A bad configuration value; ``key`` is the dotted key (or file name) it concerns.

    ``str(error)`` is the one-line message ``"<key>: <what is wrong> (got <value>)"``."""

    def __init__(self, key: str, message: str):
        super().__init__(f"{key}: {message}")
        self.key = key


#: integers with more digits than this are shown by their size, not their digits (Python
#: refuses to print integers of more than 4300 digits, and nobody wants to read them)
_SHOW_DIGITS = 20


def _show_int(value: int) -> str:
    if abs(value) < 10**_SHOW_DIGITS:
        return repr(value)
    digits = int(abs(value).bit_length() * 0.30103) + 1
    return f"a{' negative' if value < 0 else 'n'} integer of about {digits} digits"


def show(value: Any) -> str:
    """A value as the user typed it (TOML-like): true, "text", 1e-3, nan, [1, 2]; a huge
    integer by its number of digits; a long list by its first entries and its length."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (int, np.integer)):
        return _show_int(int(value))
    if isinstance(value, (list, tuple)):
        if len(value) > 8:
            return "[" + ", ".join(show(v) for v in value[:3]) + f", ... ({len(value)} entries)]"
        return "[" + ", ".join(show(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k} = {show(v)}" for k, v in value.items()) + "}"
    return repr(value)


def _bounds_text(gt=None, ge=None, lt=None, le=None) -> str:
    parts = []
    for symbol, bound in ((">", gt), (">=", ge), ("<", lt), ("<=", le)):
        if bound is not None:
            parts.append(f"{symbol} {bound:g}")
    return " and ".join(parts)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


def number(key: str, value: Any, *, gt=None, ge=None, lt=None, le=None,
           domain: tuple[float, float] | None = None) -> float:
    """A finite real number (not a bool) within the bounds, as a float.

    ``domain`` = (lo, hi): the range the engine handles, lo <= value <= hi, checked after the
    bounds and with its own message, which states the range (the bounds say what is physical,
    the domain what the numerics can do: docs/running.md, "Bounds")."""
    bounds = _bounds_text(gt, ge, lt, le)
    if not _is_number(value):
        raise ConfigError(key, f"must be a number{' ' + bounds if bounds else ''} (got {show(value)})")
    given = value
    try:
        value = float(value)
    except OverflowError:  # an integer beyond the float range (~1.8e308)
        value = math.inf if given > 0 else -math.inf
    if not math.isfinite(value):
        raise ConfigError(key, f"must be finite{', ' + bounds if bounds else ''} (got {show(given)})")
    if (
        (gt is not None and not value > gt)
        or (ge is not None and not value >= ge)
        or (lt is not None and not value < lt)
        or (le is not None and not value <= le)
    ):
        raise ConfigError(key, f"must be {bounds} (got {show(given)})")
    if domain is not None and not domain[0] <= value <= domain[1]:
        raise ConfigError(key, f"must be within [{domain[0]:g}, {domain[1]:g}], the range the engine "
                               f"handles (got {show(given)}; docs/running.md, Bounds)")
    return value


def integer(key: str, value: Any, *, ge=None, le=None, even=False, at_most: int | None = None) -> int:
    """An integer (not a bool, not a float) in [``ge``, ``le``], even if ``even``, and at most
    ``at_most``: the largest size the engine handles, checked last with its own message
    (docs/running.md, "Bounds")."""
    what = "an even integer" if even else "an integer"
    bounds = (f" >= {ge}" if ge is not None else "") + (" and" if ge is not None and le is not None else "") \
        + (f" <= {le}" if le is not None else "")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ConfigError(key, f"must be {what}{bounds} (got {show(value)})")
    value = int(value)
    if (ge is not None and value < ge) or (le is not None and value > le) or (even and value % 2):
        raise ConfigError(key, f"must be {what}{bounds} (got {_show_int(value)})")
    if at_most is not None and value > at_most:
        raise ConfigError(key, f"must be at most {at_most}, the largest the engine handles "
                               f"(got {_show_int(value)}; docs/running.md, Bounds)")
    return value


def string(key: str, value: Any, choices: Sequence[str] | None = None) -> str:
    """A string, one of ``choices`` if given (with a did-you-mean hint)."""
    allowed = ", ".join(repr(c) for c in choices) if choices else ""
    if not isinstance(value, str):
        what = f"one of {allowed}" if choices else "a string"
        raise ConfigError(key, f"must be {what} (got {show(value)})")
    if choices is not None and value not in choices:
        hint = difflib.get_close_matches(value, choices, n=1)
        extra = f"; did you mean {hint[0]!r}?" if hint else ""
        raise ConfigError(key, f"must be one of {allowed} (got {show(value)}{extra})")
    return value


def boolean(key: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ConfigError(key, f"must be true or false (got {show(value)})")
    return bool(value)


def _list(key: str, value: Any, what: str, max_len: int | None = None) -> list:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, (list, tuple, np.ndarray)):
        raise ConfigError(key, f"must be a list of {what} (got {show(value)})")
    if len(value) == 0:
        raise ConfigError(key, f"must be a non-empty list of {what} (got [])")
    if max_len is not None and len(value) > max_len:
        raise ConfigError(key, f"must have at most {max_len} entries (got {len(value)})")
    return list(value)


def number_list(key: str, value: Any, *, max_len: int | None = None, **bounds) -> tuple[float, ...]:
    """A non-empty list of at most ``max_len`` numbers within the bounds, as a tuple of floats."""
    items = _list(key, value, "numbers", max_len)
    return tuple(number(f"{key}[{i}]", item, **bounds) for i, item in enumerate(items))


def choice_list(key: str, value: Any, choices: Sequence[str]) -> tuple[str, ...]:
    """A non-empty list of distinct strings from ``choices``, as a tuple."""
    items = _list(key, value, "strings")
    out = tuple(string(f"{key}[{i}]", item, choices) for i, item in enumerate(items))
    if len(set(out)) != len(out):
        raise ConfigError(key, f"must not repeat an entry (got {show(list(out))})")
    return out


def set_field(obj: Any, name: str, value: Any) -> None:
    """Set a field of a frozen dataclass (normalisation during ``__post_init__``)."""
    object.__setattr__(obj, name, value)


def forbid(key: str, value: Any, reason: str) -> None:
    """A key that must not be given (``value`` not None) in this context."""
    if value is not None:
        raise ConfigError(key, f"{reason} (got {show(value)})")


def check_keys(where: str, table: Mapping[str, Any], allowed: Iterable[str],
               renamed: Mapping[str, str] | None = None) -> None:
    """Every key of ``table`` is one of ``allowed`` (else: did you mean, or its new name)."""
    allowed = list(allowed)
    for key in table:
        if key not in allowed:
            dotted = f"{where}.{key}" if where else str(key)
            if renamed and dotted in renamed:
                raise ConfigError(dotted, f"unknown key: renamed, use {renamed[dotted]}")
            hint = difflib.get_close_matches(str(key), allowed, n=1)
            extra = f"; did you mean {hint[0]!r}?" if hint else ""
            raise ConfigError(dotted, f"unknown key (allowed: {', '.join(allowed)}{extra})")


def checked(default: Any, check, **options) -> Any:
    """A dataclass field with a default, validated by ``check(key, value, **options)``
    (:class:`Validated`); None means "not given" and is not checked."""
    return dataclasses.field(default=default, metadata={"check": (check, options)})


class Validated:
    """Mixin of the frozen config dataclasses: on construction every field declared with
    :func:`checked` is validated and normalised under the key ``<TABLE>.<field>``."""

    TABLE: ClassVar[str] = ""

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if "check" in f.metadata and value is not None:
                check, options = f.metadata["check"]
                set_field(self, f.name, check(f"{self.TABLE}.{f.name}", value, **options))

"""Assertion helpers for the visible checks in the notebooks.

They fail with a message that says what was compared, the worst difference and where,
so a student knows what to look at. Tolerances are always explicit.

**Plain data** (the rule for everything a graded function returns, caches and configs included):
numbers (Python int, float, bool, or a numpy scalar), str, None, plain numpy arrays of a numeric
dtype (not a subclass such as np.matrix), torch tensors where the docstring allows them, and
plain tuples, lists and dicts with string keys of these. Not allowed: namedtuples, dataclasses,
SimpleNamespace and other objects, functions, dicts with non-string keys, object arrays. The
grader reads your results as data in its own process, so it can use nothing else;
`check_plain_data(value)` tells you where a result breaks the rule.
"""
from __future__ import annotations

import numpy as np


def _as_array(value, name):
    try:
        import torch
        if isinstance(value, torch.Tensor):
            value = value.detach().cpu().numpy()
    except ImportError:
        pass
    if value is None:
        raise AssertionError(f"{name} is None: did your function forget to return its result?")
    return np.asarray(value)


def check_shape(got, shape, name="result"):
    """Assert that `got` has exactly `shape` (no broadcasting)."""
    got = _as_array(got, name)
    if tuple(got.shape) != tuple(shape):
        raise AssertionError(f"{name} has shape {tuple(got.shape)}, expected {tuple(shape)}")


def check_close(got, want, rtol=1e-7, atol=0.0, name="result"):
    """Assert same shape and |got - want| <= atol + rtol * |want| everywhere, NaN never equal."""
    got_a, want_a = _as_array(got, name), _as_array(want, "expected")
    if got_a.shape != want_a.shape:
        raise AssertionError(f"{name} has shape {got_a.shape}, expected {want_a.shape}")
    if got_a.dtype.kind not in "biuf":
        raise AssertionError(f"{name} has dtype {got_a.dtype}; expected a numeric array")
    got_f, want_f = got_a.astype(np.float64), want_a.astype(np.float64)
    if not np.all(np.isfinite(got_f) | ~np.isfinite(want_f)):
        bad = np.argwhere(~np.isfinite(got_f) & np.isfinite(want_f))[0]
        raise AssertionError(f"{name} is not finite at index {tuple(bad)} (value {got_f[tuple(bad)]}); "
                             "look for overflow in exp or a log of 0")
    finite = np.isfinite(want_f)
    with np.errstate(invalid="ignore"):
        err = np.abs(got_f - want_f)
    bound = atol + rtol * np.abs(want_f)
    # finite expected values within tolerance; infinite or NaN ones must be matched exactly
    ok = np.where(finite, err <= bound, (got_f == want_f) | (np.isnan(got_f) & np.isnan(want_f)))
    bad = ~ok
    if np.any(bad):
        idx = tuple(np.argwhere(bad)[0])
        raise AssertionError(
            f"{name} differs from the expected value at {int(bad.sum())} of {bad.size} entries; "
            f"first at index {idx}: got {got_f[idx]!r}, expected {want_f[idx]!r} "
            f"(rtol={rtol}, atol={atol})")


PLAIN_DATA_RULE = ("numbers, str, None, plain numeric numpy arrays, and plain tuples, lists and dicts "
                   "with string keys of these")


def _plain_problem(value, allow_tensor, at="", depth=0):
    """(where, what is wrong) for the first value that is not plain data, or None."""
    if depth > 8:
        return at, "nested too deeply"
    kind = type(value)
    if value is None or kind in (bool, int, float, str):
        return None
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        return None
    if kind is np.ndarray:
        return None if value.dtype.kind in "biuf" and value.dtype.names is None else \
            (at, f"an array of dtype {value.dtype}: return a numeric array")
    if allow_tensor:
        try:
            import torch
            if kind in (torch.Tensor, torch.nn.Parameter):
                return None
        except ImportError:
            pass
    if kind in (tuple, list):
        for i, v in enumerate(value):
            found = _plain_problem(v, allow_tensor, f"{at}[{i}]", depth + 1)
            if found:
                return found
        return None
    if kind is dict:
        for k, v in value.items():
            if type(k) is not str:
                return at, f"a dict with a key of type {type(k).__name__} ({k!r}): use string keys"
            found = _plain_problem(v, allow_tensor, f"{at}[{k!r}]", depth + 1)
            if found:
                return found
        return None
    cls = kind.__qualname__
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return at, f"a namedtuple ({cls}): return a plain tuple"
    for base, plain in ((tuple, "tuple"), (list, "list"), (dict, "dict with string keys")):
        if isinstance(value, base):
            return at, f"a {cls} (a subclass of {base.__name__}): return a plain {plain}"
    if isinstance(value, np.ndarray):
        return at, f"a {cls} (a subclass of numpy.ndarray): return a plain array (np.asarray(...))"
    if hasattr(kind, "__dataclass_fields__"):
        return at, f"a dataclass ({cls}): return a plain tuple or a dict with string keys"
    if cls == "SimpleNamespace":
        return at, "a SimpleNamespace: return a plain dict with string keys"
    if callable(value):
        return at, f"a function or callable ({cls}): return data, not a function"
    return at, f"an object of type {cls}: return plain data ({PLAIN_DATA_RULE})"


def check_plain_data(value, name="result", allow_tensor=False):
    """Assert that `value` is plain data, the only kind of result the grader can read: numbers, str,
    None, plain numeric numpy arrays (torch tensors too when allow_tensor), and plain tuples, lists
    and dicts with string keys of these. The message names where the first offending value sits,
    e.g. "cache[2] is a namedtuple (Cache): return a plain tuple"."""
    found = _plain_problem(value, allow_tensor)
    if found:
        where, what = found
        raise AssertionError(f"{name}{where} is {what}")


def check_raises(exception, func, *args, match=None, **kwargs):
    """Assert that func(*args, **kwargs) raises `exception` (optionally with `match` in its message)."""
    try:
        func(*args, **kwargs)
    except exception as err:
        if match is not None and match not in str(err):
            raise AssertionError(f"{func.__name__} raised {type(err).__name__} but its message "
                                 f"{str(err)!r} does not mention {match!r}") from None
        return
    raise AssertionError(f"{func.__name__} should raise {exception.__name__} here, but returned normally")

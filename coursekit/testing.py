"""Assertion helpers for the visible checks in the notebooks.

They fail with a message that says what was compared, the worst difference and where,
so a student knows what to look at. Tolerances are always explicit.
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

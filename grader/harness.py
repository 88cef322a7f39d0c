"""The hidden checks' side of the grader: a pytest plugin and the assertions checks use.

A check module `grader/checks/test_<assignment>.py` holds ordinary pytest tests. Each is bound to one
graded part with `@part("<grade_id>")` and receives fixtures:

- `student`: calls the student's functions in their kernel (`student.softmax(x)`); returns plain data;
- `ref`: the reference solution loaded from solutions/ into this process;
- `rng`: a numpy Generator seeded from the grading run's seed (drawn at grade time) and the test's name.

A part earns its points only when every check bound to it passes. Failure messages come from
`CheckFailure` (written for students: what failed, never the hidden inputs) or describe how the
student's function failed; pytest's own report, which may show hidden values, goes to the
instructor's log only.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np
import pytest

from . import wire
from .kernel import CallTimeout, KernelDied, StudentMissing, StudentRaised


class CheckFailure(AssertionError):
    """A check found a wrong result; the message is shown to the student."""


def part(part_id: str, *, states=(), shown=(), unshown=""):
    """Bind a check to a graded part (the nbgrader grade_id of its test cell), with its contract.

    states: phrases that must appear in the release notebook where the student reads about this part
        (the markdown and stub cells of its section, or the notebook's conventions): the rules this
        check enforces, as written there. Matching ignores case, whitespace, backticks and asterisks.
    shown: phrases that must appear in the part's visible test cell: the visible check that exercises
        the same rule (a comment or a name there).
    unshown: why the rule cannot be exercised by a visible check (for example: needs torch's RNG
        stream to be observed from outside); give `shown` or `unshown`.
    tests/test_contract.py holds every check to this.
    """
    states = (states,) if isinstance(states, str) else tuple(states)
    shown = (shown,) if isinstance(shown, str) else tuple(shown)
    return pytest.mark.part(part_id, states=states, shown=shown, unshown=unshown)


# -- assertions -------------------------------------------------------------------------------
def expect_array(got, shape, name, *, kind="f", allow_tensor=False) -> np.ndarray:
    """`got` must be a plain numpy array of exactly `shape` whose dtype kind is in `kind`."""
    if isinstance(got, wire.FromTensor):
        if not allow_tensor:
            raise CheckFailure(f"{name} returned a torch tensor; return a numpy array")
        got = got.array
    if isinstance(got, wire.Rejected):
        raise CheckFailure(f"{name} returned {got.what}; return a plain numpy array")
    if type(got) is not np.ndarray:
        raise CheckFailure(f"{name} returned {type(got).__name__}; expected a numpy array of shape {tuple(shape)}")
    if got.shape != tuple(shape):
        raise CheckFailure(f"{name} returned shape {got.shape}; expected exactly {tuple(shape)}")
    if got.dtype.kind not in kind:
        raise CheckFailure(f"{name} returned dtype {got.dtype}; expected a "
                           + {"f": "floating-point", "i": "integer", "b": "boolean"}.get(kind, kind) + " array")
    return got


def expect_float(got, name) -> float:
    """`got` must be one real number (a Python float, a numpy float scalar or a 0-d float array)."""
    if isinstance(got, wire.FromTensor):
        got = got.array
    if isinstance(got, (float, np.floating)) or (type(got) is np.ndarray and got.shape == () and got.dtype.kind == "f"):
        return float(got)
    if type(got) is np.ndarray:
        raise CheckFailure(f"{name} returned an array of shape {got.shape}; expected one number (a float)")
    raise CheckFailure(f"{name} returned {type(got).__name__}; expected a float")


def _compare(got, want, rtol, atol, name, case):
    got64, want64 = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    same_nan = np.isnan(got64) & np.isnan(want64)
    err = np.abs(got64 - want64)
    ok = (err <= atol + rtol * np.abs(want64)) | same_nan | ((got64 == want64) & np.isinf(want64))
    if not np.all(ok):
        bad = ~ok
        if np.any(np.isnan(got64) & ~np.isnan(want64)):
            detail = "contains NaN where the expected value is a number"
        elif np.any(np.isinf(got64) & ~np.isinf(want64)):
            detail = "contains inf where the expected value is finite (overflow?)"
        else:
            detail = f"largest error {np.nanmax(np.where(bad, err, 0)):.3g}"
        raise CheckFailure(f"{name}, {case}: wrong at {int(bad.sum())} of {bad.size} entries, {detail} "
                           f"(tolerance: |error| <= {atol:g} + {rtol:g} * |expected|)")


def expect_close(got, want, name, case, *, rtol, atol, allow_tensor=False) -> np.ndarray:
    """Exact shape, float dtype, then |got - want| <= atol + rtol * |want| entrywise (NaN matches NaN)."""
    want = np.asarray(want)
    if want.shape == () and not isinstance(got, (np.ndarray, wire.FromTensor)):
        _compare(expect_float(got, name), want, rtol, atol, name, case)
        return got
    arr = expect_array(got, want.shape, name, allow_tensor=allow_tensor)
    _compare(arr, want, rtol, atol, name, case)
    return arr


def expect_tuple(got, length, name) -> tuple:
    if isinstance(got, list):
        got = tuple(got)
    if not isinstance(got, tuple) or len(got) != length:
        what = f"a tuple of {len(got)} values" if isinstance(got, tuple) else type(got).__name__
        raise CheckFailure(f"{name} returned {what}; expected a tuple of {length} values")
    return got


def same_as_sent(b, a) -> bool:
    """`a` (an argument as the kernel had it after a call) equals `b` (as the grader sent it)."""
    if isinstance(b, np.ndarray):
        if isinstance(a, wire.FromTensor):
            a = a.array
        return type(a) is np.ndarray and a.shape == b.shape and a.dtype == b.dtype \
            and np.array_equal(a, b, equal_nan=b.dtype.kind == "f")
    if isinstance(b, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(same_as_sent(x, y) for x, y in zip(b, a))
    if isinstance(b, dict):
        return isinstance(a, dict) and a.keys() == {str(k) for k in b} \
            and all(same_as_sent(v, a[str(k)]) for k, v in b.items())
    if isinstance(b, float):
        return isinstance(a, float) and (a == b or (a != a and b != b))
    if isinstance(b, wire.Build):
        return True  # made in the kernel: checks compare such objects themselves
    if isinstance(b, np.generic):  # sent as the Python number it holds (wire.encode)
        return same_as_sent(b.item(), a)
    return type(a) is type(b) and a == b


def expect_unchanged(before, after, name):
    """Inputs must not be modified in place: every argument, whatever its kind (arrays, lists,
    dicts of arrays, numbers), is exactly as it was sent."""
    for i, (b, a) in enumerate(zip(before, after)):
        if not same_as_sent(b, a):
            raise CheckFailure(f"{name} modified its argument number {i + 1} in place; work on a copy")


def _under(paths, part):
    """The paths that lie in item `part` of a tuple result (all paths when part is None)."""
    prefix = "" if part is None else f"[{part}]"
    return [p for p in paths if (p[0] if isinstance(p, tuple) else p).startswith(prefix)]


def expect_no_alias(observation, name, part=None):
    """No array in the result (or in its item `part`, e.g. 0 for `out` of an (out, cache) pair, so a
    cache may keep the input itself) shares memory with an argument (a view or the argument itself)."""
    aliases = _under(observation.aliases, part)
    if aliases:
        where, arg = aliases[0]
        what = f"its result{where}" if where else "its result"
        raise CheckFailure(f"{name}: {what} shares memory with {arg} (a view of it or the same array); "
                           "return a new array")


def expect_writable(observation, name, part=None):
    """Every array in the result (or in its item `part`) can be written to (not a read-only view such
    as np.broadcast_to)."""
    readonly = _under(observation.readonly, part)
    if readonly:
        raise CheckFailure(f"{name}: its result{readonly[0]} is a read-only array; return an ordinary array "
                           "(for example with .copy())")


def expect_new(observation, name, part=None):
    """The result (or its item `part`) is made of new, writable arrays: expect_no_alias and expect_writable."""
    expect_no_alias(observation, name, part)
    expect_writable(observation, name, part)


def expect_rng_untouched(observation, name, which=("numpy", "torch", "python")):
    """The global random states (np.random, torch, random) are as they were before the call."""
    changed = [k for k in observation.rng_changed if k in which]
    if changed:
        label = {"numpy": "numpy's global random state (np.random.*)", "torch": "torch's global random state",
                 "python": "Python's random module"}
        raise CheckFailure(f"{name} changed {label[changed[0]]}; draw from the generator it is given instead")


# -- the plugin -------------------------------------------------------------------------------
class StudentProxy:
    """`student.f(*args)` calls the student's `f` in their kernel and returns plain data."""

    def __init__(self, session):
        self._session = session

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args, **kwargs: self._plain(name, self._session.call(name, *args, **kwargs))

    @staticmethod
    def _plain(name, value):
        """Fail, naming where it sits, when the result holds a value that is not plain data."""
        bad = wire.find_rejected(value)
        if bad is not None:
            where = f"`{name}`'s result{bad.at}" if bad.at else f"`{name}` returned"
            raise CheckFailure(f"{where} is {bad.what}" if bad.at else f"{where} {bad.what}")
        return value

    def call_each(self, name, calls):
        """`name(*args)` for every args tuple of `calls`, in order, in one round trip to the kernel; yields
        each result as `student.name(*args)` would return it, and raises where that call would raise
        (the kernel stops there too). For sweeps of independent calls whose results are compared after."""
        calls = [(tuple(args), {}) for args in calls]
        for outcome in self._session.call_many(name, calls):
            if isinstance(outcome, BaseException):
                raise outcome
            yield self._plain(name, outcome)

    def observe_each(self, name, calls):
        """`observe(name, *args)` for every args tuple of `calls`, in order, in one round trip: yields
        (value, arguments after the call, Observation) as `observe` returns them, and raises where that
        call would raise (the kernel stops there too). For calls that do not depend on each other."""
        calls = [(tuple(args), {}) for args in calls]
        for outcome in self._session.call_many(name, calls, return_args=True, observe=True):
            if isinstance(outcome, BaseException):
                raise outcome
            value, after, seen = outcome
            yield self._plain(name, value), after, seen

    def call_keeping_args(self, name, *args, **kwargs):
        """Call and also return the arguments as they were after the call (to check mutation)."""
        value, after = self._session.call(name, *args, return_args=True, **kwargs)
        return self._plain(name, value), after

    def observe(self, name, *args, fp_errors=False, **kwargs):
        """Call and return (value, arguments after the call, `wire.Observation`): what the kernel saw
        around the call (global random states changed, results aliasing an argument, read-only
        results). fp_errors: numpy overflow and invalid-value warnings raise during the call."""
        value, after, seen = self._session.call(name, *args, return_args=True, observe=True,
                                                fp_errors=fp_errors, **kwargs)
        return self._plain(name, value), after, seen

    def call_strict(self, name, *args, **kwargs):
        """Call with numpy overflow and invalid-value warnings raised as errors (for functions the
        notebook says never overflow)."""
        return self._plain(name, self._session.call(name, *args, fp_errors=True, **kwargs))


@dataclass
class CheckResult:
    name: str
    part: str
    passed: bool
    message: str = ""
    review: str = ""          # non-empty when the failure needs an instructor's review (crash, timeout)
    internal: str = ""        # pytest's report, for the instructor's log only
    seconds: float = 0.0      # how long the check took (setup and call), for the instructor's report


@dataclass
class CheckRun:
    results: list[CheckResult] = field(default_factory=list)
    error: str = ""           # the check module itself could not run


def _student_message(exc) -> tuple[str, str]:
    """(message for the student, review reason) for an exception raised by a check."""
    if isinstance(exc, CheckFailure):
        return str(exc), ""
    if isinstance(exc, StudentRaised):
        return f"`{exc.name}` raised {exc.type_name}: {exc.message}", ""
    if isinstance(exc, StudentMissing):
        return str(exc), ""
    if isinstance(exc, wire.WireError):
        return f"the result could not be read as plain data: {exc}", ""
    if isinstance(exc, (KernelDied, CallTimeout)):
        return f"grading stopped: {exc}", str(exc)
    return (f"the check could not use your result ({type(exc).__name__}); "
            "compare its type and shape with the docstring"), ""


class GradingPlugin:
    def __init__(self, session, reference, seed: int, parts=None):
        self.session, self.reference, self.seed = session, reference, seed
        self.parts = None if parts is None else set(parts)
        self.run = CheckRun()

    @pytest.fixture
    def student(self):
        return StudentProxy(self.session)

    @pytest.fixture
    def ref(self):
        return self.reference

    @pytest.fixture
    def rng(self, request):
        return np.random.default_rng([self.seed, zlib.crc32(request.node.name.encode())])

    def pytest_configure(self, config):
        config.addinivalue_line("markers", "part(grade_id): the graded part a hidden check belongs to")
        # The instructor's copy of a failure is Python's own traceback: pytest's long form parses the
        # check module's source for every entry (seconds for a notebook of unfinished stubs).
        config.option.tbstyle = "native"

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        if call.when == "setup" and report.passed:
            item._course_setup_s = report.duration
            return
        if call.when == "teardown" and report.passed:
            return
        marker = item.get_closest_marker("part")
        part_id = marker.args[0] if marker else ""
        doc = (item.function.__doc__ or item.name).strip().splitlines()[0]
        seconds = round(getattr(item, "_course_setup_s", 0.0) + report.duration, 3)
        if report.passed:
            self.run.results.append(CheckResult(doc, part_id, True, seconds=seconds))
            return
        message, review = _student_message(call.excinfo.value) if call.excinfo else ("check failed", "")
        self.run.results.append(CheckResult(doc, part_id, False, message, review, str(report.longrepr)[-4000:],
                                            seconds))

    def pytest_collection_modifyitems(self, config, items):
        if self.parts is None:
            return
        keep = [i for i in items if (m := i.get_closest_marker("part")) and m.args[0] in self.parts]
        dropped = [i for i in items if i not in keep]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = keep

    def pytest_collectreport(self, report):
        if report.failed:
            self.run.error = str(report.longrepr)[-4000:]


def run_checks(module_path, session, reference, seed: int, parts=None) -> CheckRun:
    """Run the hidden checks of one module (only those of `parts` when given) against `session`."""
    plugin = GradingPlugin(session, reference, seed, parts)
    # The unraisable and thread-exception plugins are off: no student code runs in this process, and
    # at exit each ran gc.collect() several times over the heap torch and the references make (about 1 s).
    # Plugins installed beside pytest (xdist, anyio, platformdirs: the course's own test tools) are not
    # loaded: no check uses them, and importing them (their modules rewritten for assertions, each time
    # where bytecode is not cached) was about 0.35 s of CPU per graded notebook.
    args = [str(module_path), "-s", "--disable-plugin-autoload", "-p", "no:cacheprovider", "-p", "no:terminal",
            "-p", "no:unraisableexception", "-p", "no:threadexception",
            "--import-mode=importlib", "-o", "addopts=", "-W", "ignore::DeprecationWarning",
            "--rootdir", str(module_path.parent)]
    code = pytest.main(args, plugins=[plugin])
    if code not in (0, 1) and not plugin.run.error:
        plugin.run.error = f"pytest exited with code {code}"
    return plugin.run

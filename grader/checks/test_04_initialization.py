"""Hidden checks of notebook 04, weight initialization.

The initializers are random, so they are checked statistically: many seeds (drawn from `rng` at
grade time), large matrices, and the mean, the variance and (for uniform draws) the bounds of the
entries, plus shape, dtype and the role of the seed (same seed: same array; another seed: another
array). Never particular values, never the order of the random calls.

False-failure probability of a correct implementation (the entries are n >= 9000 independent draws):

- normal mean: the sample mean is exactly N(0, sigma^2 / n); we accept |mean| <= Z sigma / sqrt(n)
  with Z = 6.1, so a false alarm has probability 2 Phi(-6.1) = 1.1e-9;
- normal variance: S = sum(w^2) / sigma^2 is chi-square with n degrees of freedom. Laurent and
  Massart (2000, Lemma 1): P(S - n >= 2 sqrt(n x) + 2x) <= e^-x and P(n - S >= 2 sqrt(n x)) <= e^-x.
  We accept n - 2 sqrt(n x) <= S <= n + 2 sqrt(n x) + 2x with x = 21: false alarm <= 2 e^-21 = 1.5e-9;
- uniform mean: entries in [-a, a]; Hoeffding: P(|mean| >= t) <= 2 exp(-n t^2 / (2 a^2)); with
  t = a sqrt(2x / n), x = 21: false alarm <= 1.5e-9;
- uniform variance: w^2 in [0, a^2] with mean a^2 / 3; Hoeffding: P(|mean(w^2) - a^2/3| >= t)
  <= 2 exp(-2 n t^2 / a^4); with t = a^2 sqrt(x / (2n)), x = 21: false alarm <= 1.5e-9;
- uniform bounds: every |w| <= a is certain; max |w| >= (1 - EPS) a fails with probability
  (1 - EPS)^n <= exp(-EPS n) = exp(-45) for EPS = 0.005 and n >= 9000.

A full grading run makes fewer than 200 such comparisons, so by the union bound a correct
implementation fails with probability below 200 * 1.5e-9 = 3e-7 < 1e-6. The bounds are tight
enough to catch the mistakes that matter: with n >= 9000 the accepted relative error of the variance
is below 2 sqrt(21 / 9000) + 2 * 21 / 9000 = 10.1% (normal) and 3 sqrt(21 / 18000) = 10.3% (uniform),
while a wrong gain (1 instead of 2), a uniform limit sqrt(3/n) for sqrt(6/n), or the wrong fan on
layers whose fans differ by a factor >= 5 change the variance by a factor of 2 or more.
"""
import numpy as np

from grader.harness import CheckFailure, expect_array, expect_rng_untouched, expect_unchanged, part

Z_MEAN = 6.1
X_TAIL = 21.0
EPS_MAX = 0.005
N_MIN = 9000


def expect_matrix(W, shape, name):
    W = expect_array(W, shape, name)
    if W.dtype != np.float64:
        raise CheckFailure(f"{name} returned dtype {W.dtype}; expected float64")
    if not np.all(np.isfinite(W)):
        raise CheckFailure(f"{name} returned non-finite entries")
    return W


def check_normal(W, std, name, case):
    n = W.size
    assert n >= N_MIN, "internal: matrix too small for the stated bounds"
    mean = W.mean()
    if abs(mean) > Z_MEAN * std / np.sqrt(n):
        raise CheckFailure(f"{name}, {case}: the mean of the entries is not 0 (it is {Z_MEAN:g} standard "
                           "errors or more away)")
    s = np.sum((W / std) ** 2)
    low, high = n - 2 * np.sqrt(n * X_TAIL), n + 2 * np.sqrt(n * X_TAIL) + 2 * X_TAIL
    if not low <= s <= high:
        raise CheckFailure(f"{name}, {case}: the variance of the entries is {s / n:.3g} times the expected "
                           "one (check the formula, the fan used, and standard deviation vs variance)")


def check_uniform(W, limit, name, case):
    n = W.size
    assert n >= N_MIN, "internal: matrix too small for the stated bounds"
    top = np.abs(W).max()
    if top > limit:
        raise CheckFailure(f"{name}, {case}: an entry lies outside [-a, a] (the largest |entry| is "
                           f"{top / limit:.3g} a)")
    if top < (1 - EPS_MAX) * limit:
        raise CheckFailure(f"{name}, {case}: no entry comes near the limit a (the largest |entry| is only "
                           f"{top / limit:.3g} a): is the limit too small?")
    if abs(W.mean()) > limit * np.sqrt(2 * X_TAIL / n):
        raise CheckFailure(f"{name}, {case}: the mean of the entries is not 0")
    second = np.mean(W ** 2)
    if abs(second - limit ** 2 / 3) > limit ** 2 * np.sqrt(X_TAIL / (2 * n)):
        raise CheckFailure(f"{name}, {case}: the variance of the entries is {3 * second / limit ** 2:.3g} "
                           "times a^2 / 3 (are the entries uniform on [-a, a]?)")


def fans(rng, wide):
    """A (fan_in, fan_out) pair with n >= N_MIN entries whose fans differ by a factor >= 5."""
    small, large = int(rng.integers(30, 61)), int(rng.integers(300, 601))
    return (small, large) if wide else (large, small)


def seed_of(rng):
    return int(rng.integers(0, 2 ** 31 - 1))


def check_seed_is_used(student, fname, fan_in, fan_out, rng, *args, **kwargs):
    seed = seed_of(rng)
    a = expect_matrix(getattr(student, fname)(fan_in, fan_out, seed, *args, **kwargs), (fan_in, fan_out), fname)
    b = expect_matrix(getattr(student, fname)(fan_in, fan_out, seed, *args, **kwargs), (fan_in, fan_out), fname)
    c = expect_matrix(getattr(student, fname)(fan_in, fan_out, seed + 1, *args, **kwargs), (fan_in, fan_out),
                      fname)
    if not np.array_equal(a, b):
        raise CheckFailure(f"{fname}: two calls with the same seed gave different arrays "
                           "(draw from np.random.default_rng(seed) only)")
    if np.array_equal(a, c):
        raise CheckFailure(f"{fname}: two different seeds gave the same array")


def check_global_rng_untouched(student, fname, rng, **kwargs):
    """The call leaves the global random states of numpy, torch and Python's random as they were."""
    fan_in, fan_out = int(rng.integers(20, 60)), int(rng.integers(20, 60))
    value, _, seen = student.observe(fname, fan_in, fan_out, seed_of(rng), **kwargs)
    expect_matrix(value, (fan_in, fan_out), fname)
    expect_rng_untouched(seen, fname)


# -- Xavier ---------------------------------------------------------------------------------------
@part("xavier", states=["mean 0 and the stated variance", "sigma = gain * sqrt(2 / (fan_in + fan_out))",
                        "new float64 array of shape (fan_in, fan_out)", "gain : float, default 1.0"],
      shown=["xavier_normal, gain 5/3", "default gain"])
def test_xavier_normal_moments(student, rng):
    """xavier_normal has mean 0 and variance gain^2 * 2 / (fan_in + fan_out), for many seeds"""
    for trial in range(6):
        fan_in, fan_out = fans(rng, wide=trial % 2 == 0)
        gain = [1.0, 5.0 / 3.0, float(np.sqrt(2.0))][trial % 3]
        args = () if trial == 0 else (gain,)
        gain = 1.0 if trial == 0 else gain
        W = expect_matrix(student.xavier_normal(fan_in, fan_out, seed_of(rng), *args), (fan_in, fan_out),
                          "xavier_normal")
        case = "default gain" if trial == 0 else ("gain 1" if gain == 1.0 else "gain != 1")
        check_normal(W, gain * np.sqrt(2.0 / (fan_in + fan_out)), "xavier_normal",
                     f"{case}, fan_in {'<' if fan_in < fan_out else '>'} fan_out")


@part("xavier", states=["a = gain * sqrt(6 / (fan_in + fan_out))", "variance a^2 / 3"],
      shown=["xavier_uniform, gain 0.5", "an entry lies outside [-a, a]"])
def test_xavier_uniform_bounds_and_moments(student, rng):
    """xavier_uniform stays within +-gain*sqrt(6 / (fan_in + fan_out)) with variance limit^2 / 3"""
    for trial in range(6):
        fan_in, fan_out = fans(rng, wide=trial % 2 == 1)
        gain = [1.0, 5.0 / 3.0, 0.5][trial % 3]
        args = () if trial == 0 else (gain,)
        gain = 1.0 if trial == 0 else gain
        W = expect_matrix(student.xavier_uniform(fan_in, fan_out, seed_of(rng), *args), (fan_in, fan_out),
                          "xavier_uniform")
        case = "default gain" if trial == 0 else ("gain 1" if gain == 1.0 else "gain != 1")
        check_uniform(W, gain * np.sqrt(6.0 / (fan_in + fan_out)), "xavier_uniform", case)


@part("xavier", states=["The same seed must give the same array", "different seeds different arrays"],
      shown=["the same seed must give the same array", "different seeds gave the same array"])
def test_xavier_seed_shape_and_large_matrix(student, rng):
    """xavier initializers are reproducible from their seed, and right on a large square matrix"""
    check_seed_is_used(student, "xavier_normal", 40, 70, rng)
    check_seed_is_used(student, "xavier_uniform", 70, 40, rng)
    check_seed_is_used(student, "xavier_normal", 70, 40, rng, gain=5.0 / 3.0)
    check_seed_is_used(student, "xavier_uniform", 40, 70, rng, gain=0.5)
    n = int(rng.integers(300, 400))
    W = expect_matrix(student.xavier_normal(n, n, seed_of(rng)), (n, n), "xavier_normal")
    check_normal(W, np.sqrt(1.0 / n), "xavier_normal", "a large square matrix")
    W = expect_matrix(student.xavier_uniform(n, n + 1, seed_of(rng)), (n, n + 1), "xavier_uniform")
    check_uniform(W, np.sqrt(6.0 / (2 * n + 1)), "xavier_uniform", "a large matrix")


@part("xavier", states=["never reads or changes the global random state"],
      shown=["global random states are untouched"])
def test_xavier_leaves_global_random_state_alone(student, rng):
    """xavier initializers draw only from their own generator: numpy's, torch's and Python's global
    random states are unchanged by a call"""
    check_global_rng_untouched(student, "xavier_normal", rng)
    check_global_rng_untouched(student, "xavier_uniform", rng, gain=float(rng.uniform(0.5, 2.0)))


# -- He -------------------------------------------------------------------------------------------
@part("he", states=["N(0, 2 / n) with n = fan_in", "mode \"fan_out\"", "new float64 array (fan_in, fan_out)"],
      shown=["he_normal, mode='fan_out'", "he_normal (default mode)"])
def test_he_normal_moments(student, rng):
    """he_normal has mean 0 and variance 2 / fan_in (default) or 2 / fan_out, for many seeds"""
    for trial in range(6):
        fan_in, fan_out = fans(rng, wide=trial % 2 == 0)
        mode = [None, "fan_in", "fan_out"][trial % 3]
        args = () if mode is None else (mode,)
        n = fan_out if mode == "fan_out" else fan_in
        W = expect_matrix(student.he_normal(fan_in, fan_out, seed_of(rng), *args), (fan_in, fan_out), "he_normal")
        check_normal(W, np.sqrt(2.0 / n), "he_normal", f"mode {mode or 'default (fan_in)'}, "
                     f"fan_in {'<' if fan_in < fan_out else '>'} fan_out")


@part("he", states=["U(-a, a) with a = sqrt(6 / n)", "variance a^2 / 3 = 2 / n"],
      shown=["the largest |entry| should be just below sqrt(6 / n)"])
def test_he_uniform_bounds_and_moments(student, rng):
    """he_uniform stays within +-sqrt(6 / n) with variance 2 / n, n the fan of the mode"""
    for trial in range(6):
        fan_in, fan_out = fans(rng, wide=trial % 2 == 1)
        mode = [None, "fan_in", "fan_out"][trial % 3]
        args = () if mode is None else (mode,)
        n = fan_out if mode == "fan_out" else fan_in
        W = expect_matrix(student.he_uniform(fan_in, fan_out, seed_of(rng), *args), (fan_in, fan_out), "he_uniform")
        check_uniform(W, np.sqrt(6.0 / n), "he_uniform", f"mode {mode or 'default (fan_in)'}")


@part("he", states=["The same seed must give the same array", "different seeds different arrays"],
      shown=["same seed, different arrays", "seeds ignored"])
def test_he_seed_and_large_matrix(student, rng):
    """he initializers are reproducible from their seed, and right on a large matrix"""
    check_seed_is_used(student, "he_normal", 40, 70, rng)
    check_seed_is_used(student, "he_uniform", 70, 40, rng, "fan_out")
    check_seed_is_used(student, "he_normal", 70, 40, rng, mode="fan_out")
    check_seed_is_used(student, "he_uniform", 40, 70, rng, mode="fan_in")
    n = int(rng.integers(300, 400))
    W = expect_matrix(student.he_normal(n, 2 * n, seed_of(rng), "fan_out"), (n, 2 * n), "he_normal")
    check_normal(W, np.sqrt(1.0 / n), "he_normal", "a large matrix, mode fan_out")


@part("he", states=["never reads or changes the global random state"],
      shown=["global random states are untouched"])
def test_he_leaves_global_random_state_alone(student, rng):
    """he initializers draw only from their own generator: numpy's, torch's and Python's global
    random states are unchanged by a call"""
    check_global_rng_untouched(student, "he_normal", rng, mode="fan_out")
    check_global_rng_untouched(student, "he_uniform", rng)


# -- symmetry -------------------------------------------------------------------------------------
def naive_labels(W1, b1, W2, atol):
    units = [np.concatenate([W1[:, j], [b1[j]], W2[j]]) for j in range(W1.shape[1])]
    labels = []
    for j, u in enumerate(units):
        labels.append(next(i for i in range(j + 1) if np.max(np.abs(units[i] - u)) <= atol))
    return np.array(labels)


def planted(rng, atol):
    """Random weights where some units copy earlier ones, exactly or up to 0.3 * atol, and some
    near-copies differ in a single number (incoming weight, bias or outgoing weight) by 5 * atol
    or more. Units 1, 2 and 3 are always near-copies of unit 0 spoiled in its incoming weights,
    its bias and its outgoing weights respectively, so each of the three always matters; unit 4 is
    always a true copy."""
    d, h, c = int(rng.integers(1, 8)), int(rng.integers(5, 14)), int(rng.integers(1, 6))
    W1, b1, W2 = rng.normal(size=(d, h)), rng.normal(size=h), rng.normal(size=(h, c))
    for j in range(1, h):
        if j <= 4 or rng.random() < 0.6:
            i = 0 if j <= 3 else int(rng.integers(0, j))
            W1[:, j], b1[j], W2[j] = W1[:, i], b1[i], W2[i]
            if atol > 0:
                W1[:, j] += rng.uniform(-0.3, 0.3, size=d) * atol
            if j <= 3 or (j > 4 and rng.random() < 0.4):  # spoil the copy in one number
                where = j - 1 if j <= 3 else int(rng.integers(0, 3))
                bump = float(rng.choice([-1.0, 1.0])) * max(5 * atol, 1e-3)
                if where == 0:
                    W1[int(rng.integers(0, d)), j] += bump
                elif where == 1:
                    b1[j] += bump
                else:
                    W2[j, int(rng.integers(0, c))] += bump
    return W1, b1, W2


def check_labels(student, ref, W1, b1, W2, atol, case):
    args = (W1, b1, W2) if atol is None else (W1, b1, W2, atol)
    atol = 0.0 if atol is None else atol
    want = naive_labels(W1, b1, W2, atol)
    got = expect_array(student.duplicate_units(*args), want.shape, "duplicate_units", kind="iu")
    if not np.array_equal(got, want) or not np.array_equal(got, ref.duplicate_units(*args)):
        raise CheckFailure(f"duplicate_units, {case}: wrong labels at {int(np.sum(got != want))} of {len(want)} units")
    broken = student.symmetry_broken(*args)
    if not isinstance(broken, (bool, np.bool_)):
        raise CheckFailure(f"symmetry_broken returned {type(broken).__name__}; expected a bool")
    if bool(broken) != bool(np.all(want == np.arange(len(want)))):
        raise CheckFailure(f"symmetry_broken, {case}: wrong answer")


SYMMETRY_RULE = "labels[j] = the smallest index i"


@part("symmetry", states=[SYMMETRY_RULE, "incoming weights, bias and outgoing weights", "with atol = 0 the numbers must be exactly equal"],
      shown=["labels with planted copies", "differs only in one outgoing weight", "differs only in its bias"])
def test_duplicate_units_planted_copies(student, ref, rng):
    """duplicate_units finds exact copies of hidden units (incoming weights, bias and outgoing weights)"""
    for _ in range(6):
        check_labels(student, ref, *planted(rng, 0.0), None, "exact copies, default atol = 0")


@part("symmetry", states=["an absolute, entrywise tolerance", "|u_i[k] - u_j[k]| <= atol for every k"],
      shown=["labels, atol = 1e-6", "every number differs by 0.8 * atol"])
def test_duplicate_units_tolerance(student, ref, rng):
    """duplicate_units treats units within atol as identical, and units differing in any one number as distinct"""
    for _ in range(6):
        atol = float(10.0 ** rng.uniform(-8, -3))
        check_labels(student, ref, *planted(rng, atol), atol, "copies within atol")
    # every one of the D + 1 + C numbers of a copy moved by 0.8 * atol: still within atol entrywise,
    # although a norm of the difference (over all the numbers) exceeds atol
    atol = float(10.0 ** rng.uniform(-7, -3))
    d, h, c = int(rng.integers(2, 6)), int(rng.integers(3, 8)), int(rng.integers(2, 5))
    W1, b1, W2 = rng.normal(size=(d, h)), rng.normal(size=h), rng.normal(size=(h, c))
    j = int(rng.integers(1, h))
    sign = lambda shape: rng.choice([-1.0, 1.0], size=shape)  # noqa: E731
    W1[:, j] = W1[:, 0] + 0.8 * atol * sign(d)
    b1[j] = b1[0] + 0.8 * atol * float(sign(()))
    W2[j] = W2[0] + 0.8 * atol * sign(c)
    check_labels(student, ref, W1, b1, W2, atol, "a copy whose every number differs by 0.8 * atol "
                 "(the tolerance is entrywise, not on a norm of the difference)")


@part("symmetry", states=["an absolute, entrywise tolerance", "no relative part"],
      shown=["large weights: the tolerance is absolute", "tiny weights: the tolerance is absolute"])
def test_duplicate_units_tolerance_is_absolute_at_every_scale(student, ref, rng):
    """duplicate_units reads atol as an absolute tolerance, for large and for tiny weights"""
    # large weights: a relative reading (rtol * |weight|, as np.isclose's default rtol adds) would
    # merge units that differ by far more than atol
    for _ in range(3):
        atol = float(10.0 ** rng.uniform(-6, -4))
        W1, b1, W2 = planted(rng, atol)
        offset = float(rng.choice([-1.0, 1.0]) * 10.0 ** rng.uniform(3, 4))
        check_labels(student, ref, W1 + offset, b1 + offset, W2 + offset, atol,
                     "large weights (all about 1e3 or more), copies within atol")
    # tiny weights: every unit lies within atol of every other, so all are identical to unit 0
    d, h, c = int(rng.integers(2, 6)), int(rng.integers(2, 8)), int(rng.integers(2, 5))
    tiny = 10.0 ** rng.uniform(-12, -10)
    check_labels(student, ref, rng.normal(size=(d, h)) * tiny, rng.normal(size=h) * tiny,
                 rng.normal(size=(h, c)) * tiny, 1e-6, "tiny weights (far below atol): all units identical")


def chain(rng, atol, length):
    """Random units, among which `length` units at random positions form a chain of near-copies:
    each moves every number of the previous one by 0.6 * atol in the same direction, so neighbours
    are within atol and units two steps apart are not."""
    d, c = int(rng.integers(1, 5)), int(rng.integers(1, 4))
    h = length + int(rng.integers(0, 4))
    W1, b1, W2 = rng.normal(size=(d, h)), rng.normal(size=h), rng.normal(size=(h, c))
    where = np.sort(rng.choice(h, size=length, replace=False))
    step_w1, step_b1, step_w2 = (rng.choice([-1.0, 1.0], size=d), float(rng.choice([-1.0, 1.0])),
                                 rng.choice([-1.0, 1.0], size=c))
    for k in range(1, length):
        i, j = where[k - 1], where[k]
        W1[:, j] = W1[:, i] + 0.6 * atol * step_w1
        b1[j] = b1[i] + 0.6 * atol * step_b1
        W2[j] = W2[i] + 0.6 * atol * step_w2
    return W1, b1, W2


@part("symmetry", states=["a chain of near-copies", "labels == [0, 0, 1]", "not a grouping"],
      shown=["a chain of near-copies"])
def test_duplicate_units_chain_of_near_copies(student, ref, rng):
    """duplicate_units reports, for each unit, the smallest unit within atol of it, also along chains
    of near-copies (within atol is not transitive)"""
    for length in (3, 4, 5):
        atol = float(10.0 ** rng.uniform(-6, -3))
        check_labels(student, ref, *chain(rng, atol, length), atol,
                     f"a chain of {length} near-copies (labels[j] is the smallest i within atol of unit j, "
                     "not the first unit of a merged group)")


@part("symmetry", states=["Do not modify W1, b1 or W2"],
      shown=["duplicate_units modified its inputs"])
def test_duplicate_units_edge_cases(student, ref, rng):
    """duplicate_units handles random weights, all-equal weights and a single hidden unit"""
    d, h, c = int(rng.integers(2, 8)), int(rng.integers(2, 10)), int(rng.integers(2, 6))
    check_labels(student, ref, rng.normal(size=(d, h)), rng.normal(size=h), rng.normal(size=(h, c)), None,
                 "random weights (symmetry broken)")
    v = float(rng.normal())
    check_labels(student, ref, np.full((d, h), v), np.full(h, v / 2), np.full((h, c), -v), None,
                 "all-equal weights (one group)")
    check_labels(student, ref, rng.normal(size=(d, 1)), rng.normal(size=1), rng.normal(size=(1, c)), None,
                 "a single hidden unit")
    W1, b1, W2 = planted(rng, 0.0)
    atol = float(10.0 ** rng.uniform(-8, -3))
    _, after = student.call_keeping_args("duplicate_units", W1, b1, W2, atol)
    expect_unchanged([W1, b1, W2, atol], after, "duplicate_units")
    _, after = student.call_keeping_args("symmetry_broken", W1, b1, W2, atol)
    expect_unchanged([W1, b1, W2, atol], after, "symmetry_broken")

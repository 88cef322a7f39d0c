"""Hidden checks of notebook 01, multinomial regression.

Every check draws its shapes and values from `rng` (seeded at grade time), compares in float64 with
the tolerances written next to it (and stated in the notebook), against the reference solution and
against torch, and checks shapes exactly. Functions the notebook says never overflow run with numpy's
overflow and invalid-value warnings raised as errors, on batches whose whole rows are extreme (all
about +1e3, all about -1e3, rows of very different scales). Every argument must be left unchanged
and results must not share memory with an argument. Messages name the case, never the inputs.
"""
import numpy as np
import torch
import torch.nn.functional as F

from grader.harness import (CheckFailure, expect_array, expect_close, expect_float, expect_no_alias,
                            expect_tuple, expect_unchanged, part)
from grader.kernel import StudentRaised

# Tolerances (float64). Results are compared entrywise: |got - want| <= ATOL + RTOL * |want|.
RTOL, ATOL = 1e-10, 1e-12          # values computed in a different but equivalent order
RTOL_GRAD, ATOL_GRAD = 1e-9, 1e-12  # gradients through matrix products


def logits_batch(rng, scale=None):
    n, c = int(rng.integers(1, 40)), int(rng.integers(2, 12))
    scale = scale if scale is not None else float(rng.choice([0.1, 1.0, 10.0, 50.0]))
    return rng.normal(0.0, scale, size=(n, c)), rng.integers(0, c, size=n)


def extreme_rows(rng):
    """A batch whose rows are each extreme as a whole: all scores about +1e3, all about -1e3, one
    row of tiny scores, one of moderate scores, next to each other (every kind always present)."""
    c = int(rng.integers(2, 9))
    rows = [rng.uniform(900, 1100, size=c), -rng.uniform(900, 1100, size=c), rng.normal(0, 1e-3, size=c),
            rng.normal(0, 3, size=c), rng.choice([-1.0, 1.0], size=c) * rng.uniform(900, 1100, size=c)]
    order = rng.permutation(len(rows))
    return np.stack([rows[i] for i in order])


def t(x):
    return torch.from_numpy(np.array(x, dtype=np.float64))


# -- softmax -------------------------------------------------------------------------------------
@part("softmax", states=["Row-wise softmax", "probs : float64 array of shape (N, C)", "1e-10"],
      shown=["softmax vs torch.softmax"])
def test_softmax_matches_reference_and_torch(student, ref, rng):
    """softmax matches torch.softmax on random batches"""
    for _ in range(6):
        z, _y = logits_batch(rng)
        got = expect_close(student.softmax(z), ref.softmax(z), "softmax(logits)", "random logits",
                           rtol=RTOL, atol=ATOL)
        expect_close(got, torch.softmax(t(z), dim=1).numpy(), "softmax(logits)", "random logits",
                     rtol=RTOL, atol=ATOL)


@part("softmax", states=["no overflow or invalid-value warning", "rows whose scores are all about +1e3 or all about -1e3",
                         "rows of very different scales in one batch"],
      shown=["every score of a row about -1000", "rows of very different scales"])
def test_softmax_edge_cases(student, ref, rng):
    """softmax handles huge logits (also whole rows of one sign), one example, one class and equal logits,
    without overflow"""
    n, c = int(rng.integers(2, 9)), int(rng.integers(2, 9))
    cases = {
        "huge logits (about +-1e3)": rng.choice([-1.0, 1.0], size=(n, c)) * rng.uniform(900, 1100, size=(n, c)),
        "whole rows all about +1e3 or all about -1e3, and rows of very different scales": extreme_rows(rng),
        "a single example": rng.normal(size=(1, c)),
        "a single class": rng.normal(size=(n, 1)),
        "all logits equal": np.full((n, c), float(rng.normal()) * 100),
    }
    for case, z in cases.items():
        expect_close(student.call_strict("softmax", z), torch.softmax(t(z), dim=1).numpy(), "softmax(logits)",
                     case + " (overflow warnings raised as errors)", rtol=RTOL, atol=ATOL)


@part("softmax", states=["Do not modify `logits` in place", "return a new array"],
      shown=["the input is left alone", "softmax(logits + 100)"])
def test_softmax_is_shift_invariant_and_pure(student, rng):
    """softmax ignores a constant added to a row, leaves its input unchanged and returns a new array"""
    z, _ = logits_batch(rng, scale=3.0)
    shift = rng.normal(0, 100, size=(z.shape[0], 1))
    p1, after, seen = student.observe("softmax", z)
    expect_unchanged([z], after, "softmax")
    expect_no_alias(seen, "softmax")
    p2 = student.softmax(z + shift)
    p1 = expect_array(p1, z.shape, "softmax(logits)")
    expect_close(p2, p1, "softmax(logits + a per-row constant)", "rows shifted by a constant",
                 rtol=1e-9, atol=1e-12)


# -- cross-entropy --------------------------------------------------------------------------------
def torch_ce(z, y):
    zt = t(z).requires_grad_(True)
    loss = F.cross_entropy(zt, torch.from_numpy(np.asarray(y, dtype=np.int64)))
    loss.backward()
    return loss.item(), zt.grad.numpy()


def check_ce(student, ref, z, y, case, strict=False):
    call = student.call_strict if strict else (lambda name, *a: getattr(student, name)(*a))
    loss, dlogits = expect_tuple(call("cross_entropy", z, y), 2, "cross_entropy")
    case = case + (" (overflow warnings raised as errors)" if strict else "")
    want_loss, want_grad = torch_ce(z, y)
    ref_loss, ref_grad = ref.cross_entropy(z, y)
    expect_close(expect_float(loss, "cross_entropy loss"), want_loss, "cross_entropy loss", case,
                 rtol=RTOL, atol=ATOL)
    expect_close(loss, ref_loss, "cross_entropy loss", case, rtol=RTOL, atol=ATOL)
    expect_close(dlogits, want_grad, "cross_entropy dlogits", case, rtol=RTOL_GRAD, atol=ATOL)
    expect_close(dlogits, ref_grad, "cross_entropy dlogits", case, rtol=RTOL_GRAD, atol=ATOL)


@part("cross_entropy", states=["(softmax(logits) - onehot(y)) / N", "a mean over the batch"],
      shown=["F.cross_entropy (a batch mean) and autograd"])
def test_cross_entropy_matches_torch_and_autograd(student, ref, rng):
    """cross_entropy loss and gradient match torch and autograd on random batches"""
    for _ in range(6):
        z, y = logits_batch(rng)
        check_ce(student, ref, z, y, "random logits")


@part("cross_entropy", states=["finite and exact even when a probability underflows to 0",
                               "no overflow or invalid-value warning", "whole rows"],
      shown=["Huge logits", "every score of a row about -1000"])
def test_cross_entropy_edge_cases(student, ref, rng):
    """cross_entropy is exact, without overflow, for huge logits (also whole rows of one sign), one example
    and one class"""
    n, c = int(rng.integers(2, 9)), int(rng.integers(2, 9))
    z = rng.choice([-1.0, 1.0], size=(n, c)) * rng.uniform(900, 1100, size=(n, c))
    y = rng.integers(0, c, size=n)
    z[0, 0], z[0, 1], y[0] = -abs(z[0, 0]), abs(z[0, 1]), 0  # always one confidently wrong example (p about e^-2000)
    check_ce(student, ref, z, y, "huge logits (about +-1e3)")
    z = extreme_rows(rng)
    check_ce(student, ref, z, rng.integers(0, z.shape[1], size=len(z)),
             "whole rows all about +1e3 or all about -1e3, and rows of very different scales", strict=True)
    check_ce(student, ref, rng.normal(size=(1, c)), rng.integers(0, c, size=1), "a single example")
    check_ce(student, ref, rng.normal(size=(n, 1)), np.zeros(n, dtype=np.int64), "a single class")


@part("cross_entropy", states=["Do not modify the inputs", "never a view of an argument"],
      shown=["cross_entropy modified its inputs"])
def test_cross_entropy_leaves_inputs_unchanged(student, rng):
    """cross_entropy does not modify its inputs and returns a new gradient array"""
    z, y = logits_batch(rng)
    _, after, seen = student.observe("cross_entropy", z, y)
    expect_unchanged([z, y], after, "cross_entropy")
    expect_no_alias(seen, "cross_entropy")


# -- softmax regression ---------------------------------------------------------------------------
def regression_problem(rng):
    n, d, c = int(rng.integers(1, 30)), int(rng.integers(1, 10)), int(rng.integers(2, 8))
    W = rng.normal(0, 0.5, size=(d, c))
    b = rng.normal(0, 0.5, size=c)
    X = rng.normal(0, 2.0, size=(n, d))
    y = rng.integers(0, c, size=n)
    return W, b, X, y


def torch_regression(W, b, X, y, reg):
    Wt, bt = t(W).requires_grad_(True), t(b).requires_grad_(True)
    loss = F.cross_entropy(t(X) @ Wt + bt, torch.from_numpy(y.astype(np.int64))) + 0.5 * reg * (Wt ** 2).sum()
    loss.backward()
    return loss.item(), Wt.grad.numpy(), bt.grad.numpy()


@part("softmax_regression", states=["plus 0.5 * reg * sum(W ** 2)", "the bias is not penalized"],
      shown=["Random parameters and a penalty, against torch autograd"])
def test_softmax_regression_matches_autograd(student, ref, rng):
    """softmax_regression_loss matches torch autograd, with and without the L2 penalty"""
    for trial in range(6):
        W, b, X, y = regression_problem(rng)
        reg = 0.0 if trial % 2 == 0 else float(rng.uniform(0.01, 2.0))
        case = "random problem, reg = 0" if reg == 0 else "random problem, reg > 0"
        if trial % 3 == 1:  # the penalty also passed by keyword
            got = student.softmax_regression_loss(W, b, X, y, reg=reg)
        else:
            got = student.softmax_regression_loss(W, b, X, y, reg)
        got = expect_tuple(got, 3, "softmax_regression_loss")
        want = torch_regression(W, b, X, y, reg)
        mine = ref.softmax_regression_loss(W, b, X, y, reg)
        for name, g, w, r in zip(("loss", "dW", "db"), got, want, mine):
            label = f"softmax_regression_loss {name}"
            expect_close(g if name != "loss" else expect_float(g, label), w, label, case,
                         rtol=RTOL_GRAD, atol=ATOL_GRAD)
            expect_close(g, r, label, case, rtol=RTOL_GRAD, atol=ATOL_GRAD)


@part("softmax_regression", states=["reg=0.0"], shown=["softmax_regression_loss(np.zeros((D, C)), np.zeros(C), X, y)"])
def test_softmax_regression_default_reg_and_numerical_gradient(student, rng):
    """softmax_regression_loss defaults to reg = 0 and agrees with centred differences"""
    W, b, X, y = regression_problem(rng)
    loss0, dW, db = expect_tuple(student.softmax_regression_loss(W, b, X, y), 3, "softmax_regression_loss")
    want = torch_regression(W, b, X, y, 0.0)
    expect_close(expect_float(loss0, "loss"), want[0], "softmax_regression_loss loss", "default reg",
                 rtol=RTOL, atol=ATOL)
    eps = 1e-6
    num = np.zeros_like(W)
    for i in range(W.shape[0]):
        for j in range(W.shape[1]):
            Wp, Wm = W.copy(), W.copy()
            Wp[i, j] += eps
            Wm[i, j] -= eps
            num[i, j] = (torch_regression(Wp, b, X, y, 0.0)[0] - torch_regression(Wm, b, X, y, 0.0)[0]) / (2 * eps)
    expect_close(dW, num, "softmax_regression_loss dW", "centred differences (eps = 1e-6)", rtol=1e-5, atol=1e-7)


@part("softmax_regression", states=["do not modify the inputs", "scores of size 1e3"],
      shown=["softmax_regression_loss modified its input", "scores (1000, 0)"])
def test_softmax_regression_pure_and_huge_scores(student, ref, rng):
    """softmax_regression_loss modifies none of W, b, X, y, and is exact without overflow for huge scores"""
    W, b, X, y = regression_problem(rng)
    reg = float(rng.uniform(0.1, 1.0))
    _, after, seen = student.observe("softmax_regression_loss", W, b, X, y, reg)
    expect_unchanged([W, b, X, y, reg], after, "softmax_regression_loss")
    expect_no_alias(seen, "softmax_regression_loss")
    X = X * (1000.0 / np.maximum(np.abs(X @ W).max(), 1e-3))  # whole rows of scores of size ~1e3
    got = expect_tuple(student.call_strict("softmax_regression_loss", W, b, X, y, reg), 3, "softmax_regression_loss")
    want = torch_regression(W, b, X, y, reg)
    for name, g, w in zip(("loss", "dW", "db"), got, want):
        label = f"softmax_regression_loss {name}"
        expect_close(g if name != "loss" else expect_float(g, label), w, label,
                     "scores of size 1e3 (overflow warnings raised as errors)", rtol=RTOL_GRAD, atol=1e-9)


# -- binary logistic regression -------------------------------------------------------------------
def torch_logistic(w, b, X, y):
    wt, bt = t(w).requires_grad_(True), torch.tensor(float(b), dtype=torch.float64, requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(t(X) @ wt + bt, t(y))
    loss.backward()
    return loss.item(), wt.grad.numpy(), bt.grad.item()


def check_logistic(student, ref, w, b, X, y, case, strict=False):
    if strict:
        got = student.call_strict("binary_logistic_loss", w, b, X, y)
        case += " (overflow warnings raised as errors)"
    else:
        got = student.binary_logistic_loss(w, b, X, y)
    got = expect_tuple(got, 3, "binary_logistic_loss")
    want, mine = torch_logistic(w, b, X, y), ref.binary_logistic_loss(w, b, X, y)
    names = ("loss", "dw", "db")
    for name, g, wv, r in zip(names, got, want, mine):
        label = f"binary_logistic_loss {name}"
        if name != "dw":
            g = expect_float(g, label)
        expect_close(g, wv, label, case, rtol=RTOL_GRAD, atol=ATOL_GRAD)
        expect_close(g, r, label, case, rtol=RTOL_GRAD, atol=ATOL_GRAD)


@part("binary_logistic", states=["Logistic function 1 / (1 + exp(-z)), elementwise, with no overflow for any float z",
                                 "whole arrays of huge values of one sign"],
      shown=["sigmoid([-1000, 0, 1000])", "sigmoid vs torch.sigmoid", "all about -1000"])
def test_sigmoid_matches_torch_without_overflow(student, rng):
    """sigmoid matches torch.sigmoid, also on whole arrays of huge values of one sign, without overflow"""
    shape = (int(rng.integers(1, 6)), int(rng.integers(1, 6)))
    cases = {
        "random inputs": rng.normal(0, float(rng.choice([0.1, 1.0, 10.0, 40.0])), size=shape),
        "an array whose entries are all about +1000": rng.uniform(750, 1000, size=shape),
        "an array whose entries are all about -1000": -rng.uniform(750, 1000, size=shape),
        "entries of both signs up to 1e300": rng.choice([-1.0, 1.0], size=shape) * 10.0 ** rng.uniform(0, 300, size=shape),
    }
    for case, z in cases.items():
        expect_close(student.call_strict("sigmoid", z), torch.sigmoid(t(z)).numpy(), "sigmoid(z)",
                     case + " (overflow warnings raised as errors)", rtol=RTOL, atol=ATOL)


@part("binary_logistic", states=["(1/N) * sum_i [log(1 + exp(s_i)) - y_i * s_i]", "y : array of shape (N,)           labels, 0 or 1 (int or float)"],
      shown=["Random parameters against F.binary_cross_entropy_with_logits"])
def test_binary_logistic_matches_torch(student, ref, rng):
    """binary_logistic_loss matches binary_cross_entropy_with_logits and autograd"""
    for trial in range(6):
        n, d = int(rng.integers(1, 30)), int(rng.integers(1, 10))
        w, b = rng.normal(size=d), float(rng.normal())
        X = rng.normal(0, 2.0, size=(n, d))
        y = rng.integers(0, 2, size=n)
        check_logistic(student, ref, w, b, X, y if trial % 2 else y.astype(np.float64), "random problem")


@part("binary_logistic", states=["exact even for |s| ~ 1e3", "no overflow or invalid-value warning",
                                 "every score of the batch"],
      shown=["Huge scores", "overflow and nan are made errors"])
def test_binary_logistic_huge_scores(student, ref, rng):
    """binary_logistic_loss is exact, without overflow, when the scores are about +-1e3"""
    n, d = int(rng.integers(2, 20)), int(rng.integers(1, 6))
    w = rng.choice([-1.0, 1.0], size=d) * (1000.0 / d)
    X = rng.choice([-1.0, 1.0], size=(n, d)) * rng.uniform(0.9, 1.1, size=(n, d))
    y = rng.integers(0, 2, size=n)
    # always both confidently wrong cases: a huge positive score with label 0, a huge negative with label 1
    X[0], y[0] = np.sign(w) * np.abs(X[0]), 0
    X[1], y[1] = -np.sign(w) * np.abs(X[1]), 1
    check_logistic(student, ref, w, float(rng.normal()), X, y, "huge scores (about +-1e3)", strict=True)
    for sign in (1.0, -1.0):  # every score of the batch huge and of one sign
        Xs = sign * np.sign(w) * np.abs(X)
        check_logistic(student, ref, w, 0.0, Xs, rng.integers(0, 2, size=n),
                       f"every score about {'+' if sign > 0 else '-'}1e3", strict=True)


@part("binary_logistic", states=["do not modify the inputs"], shown=["binary_logistic_loss modified its input"])
def test_binary_logistic_leaves_inputs_unchanged(student, rng):
    """binary_logistic_loss modifies none of w, b, X, y"""
    n, d = int(rng.integers(2, 20)), int(rng.integers(1, 6))
    w, b, X, y = rng.normal(size=d), float(rng.normal()), rng.normal(size=(n, d)), rng.integers(0, 2, size=n)
    y[0], y[1] = 0, 1  # both labels always present, so a relabelling in place always shows
    for labels in (y, y.astype(np.float64)):
        _, after, seen = student.observe("binary_logistic_loss", w, b, X, labels)
        expect_unchanged([w, b, X, labels], after, "binary_logistic_loss")
        expect_no_alias(seen, "binary_logistic_loss")


# -- standardization ------------------------------------------------------------------------------
# Tolerances stated in the notebook: each mean to within 1e-12 times the largest |entry| of its
# column (any order of summation meets it), each std to a relative error of 1e-9 (a two-pass or
# Welford computation meets it; the one-pass E[x^2] - E[x]^2 loses about (mean / std)^2 * 1e-16).
MEAN_TOL, STD_RTOL = 1e-12, 1e-9


def expect_statistics(student, X, case):
    mean, std = expect_tuple(student.fit_standardizer(X), 2, "fit_standardizer")
    mean = expect_array(mean, (X.shape[1],), "fit_standardizer mean")
    std = expect_array(std, (X.shape[1],), "fit_standardizer std")
    want_mean = X.mean(axis=0)
    scale = np.abs(X).max(axis=0)
    err = np.abs(mean - want_mean)
    if not np.all(err <= MEAN_TOL * scale):
        raise CheckFailure(f"fit_standardizer mean, {case}: wrong in {int(np.sum(err > MEAN_TOL * scale))} of "
                           f"{X.shape[1]} columns (tolerance: |error| <= 1e-12 * the largest |entry| of the column)")
    want_std = X.std(axis=0)
    want_std[want_std == 0] = 1.0
    try:
        expect_close(std, want_std, "fit_standardizer std", case, rtol=STD_RTOL, atol=0.0)
    except CheckFailure as err:
        offset = np.abs(want_mean) > 1e3 * want_std
        hint = (" The columns that fail have a mean much larger than their spread: the likely cause is "
                "cancellation in the one-pass formula E[x^2] - E[x]^2 (two huge, nearly equal numbers "
                "subtracted). Compute the variance from the deviations from the mean, x - mean.") \
            if np.any(offset) else " Use the population std (divide by N)."
        raise CheckFailure(str(err) + hint) from None
    return mean, std


@part("standardize", states=["population standard deviation of each column (ddof=0)",
                             "deviations from the mean", "relative error of at most 1e-9",
                             "1e-12 times the largest |entry| of that column"],
      shown=["large offset", "std vs torch (correction=0)"])
def test_fit_standardizer_statistics(student, ref, rng):
    """fit_standardizer returns column means and population standard deviations, stable for large offsets"""
    for _ in range(3):
        n, d = int(rng.integers(2, 50)), int(rng.integers(1, 10))
        X = rng.normal(size=(n, d)) * 10.0 ** rng.uniform(-3, 3, size=d) + rng.normal(0, 100, size=d)
        expect_statistics(student, X, "features on very different scales")
    for _ in range(3):
        n, d = int(rng.integers(2, 50)), int(rng.integers(1, 6))
        scale = 10.0 ** rng.uniform(-3, 3, size=d)
        ratio = 10.0 ** rng.uniform(4.5, 6.0, size=d)
        ratio[0] = 10.0 ** rng.uniform(5.5, 6.0)  # always one column where E[x^2] - E[x]^2 cancels badly
        X = rng.normal(size=(n, d)) * scale + rng.choice([-1.0, 1.0], size=d) * scale * ratio
        X[0, 0], X[1, 0] = X[:, 0].mean() + scale[0], X[:, 0].mean() - scale[0]  # spread never tiny
        expect_statistics(student, X, "features with a large offset (mean far larger than the spread)")


@part("standardize", states=["a column whose std is exactly 0 gets 1.0 instead"],
      shown=["A single training example"])
def test_fit_standardizer_constant_feature_and_one_row(student, rng):
    """fit_standardizer gives std 1 to constant features, also with a single row"""
    n, d = int(rng.integers(3, 20)), int(rng.integers(2, 6))
    X = rng.normal(size=(n, d))
    X[:, 0] = float(rng.integers(-40, 40)) * 0.25  # exactly representable, so its std is exactly 0
    mean, std = expect_tuple(student.fit_standardizer(X), 2, "fit_standardizer")
    want = X.std(axis=0)
    want[0] = 1.0
    expect_close(std, want, "fit_standardizer std", "a constant feature", rtol=STD_RTOL, atol=0.0)
    one = rng.normal(size=(1, d))
    mean, std = expect_tuple(student.fit_standardizer(one), 2, "fit_standardizer")
    expect_close(std, np.ones(d), "fit_standardizer std", "a single training row", rtol=0.0, atol=0.0)
    expect_close(mean, one[0], "fit_standardizer mean", "a single training row", rtol=1e-15, atol=0.0)


@part("standardize", states=["return new arrays", "Do not modify X"],
      shown=["fit_standardizer or standardize modified its input"])
def test_fit_standardizer_is_pure(student, rng):
    """fit_standardizer leaves X unchanged and returns new arrays (no view of X), also for one row"""
    for n in (1, int(rng.integers(2, 20))):
        X = rng.normal(size=(n, int(rng.integers(1, 6)))) * 5.0 + 2.0
        _, after, seen = student.observe("fit_standardizer", X)
        expect_unchanged([X], after, "fit_standardizer")
        expect_no_alias(seen, "fit_standardizer")


@part("standardize", states=["X itself is not modified", "(X - mean) / std"],
      shown=["standardized test data"])
def test_standardize_uses_the_given_training_statistics(student, ref, rng):
    """standardize applies the training statistics it is given to new data, without changing it"""
    d = int(rng.integers(1, 8))
    mean = rng.normal(0, 10, size=d)
    std = rng.uniform(0.1, 10, size=d)
    for n in (1, int(rng.integers(2, 40))):
        X_new = rng.normal(0, 5, size=(n, d)) + 3.0
        got, after, seen = student.observe("standardize", X_new, mean, std)
        expect_unchanged([X_new, mean, std], after, "standardize")
        expect_no_alias(seen, "standardize")
        expect_close(got, (X_new - mean) / std, "standardize(X, mean, std)",
                     f"{'one new row' if n == 1 else 'new rows'} with training statistics", rtol=RTOL, atol=ATOL)
        expect_close(got, ref.standardize(X_new, mean, std), "standardize(X, mean, std)", "new rows",
                     rtol=RTOL, atol=ATOL)


# -- whitening ------------------------------------------------------------------------------------
# Tolerances stated in the notebook: each mean as for fit_standardizer; W entrywise to within 1e-9
# times its largest |entry|, on data whose largest covariance eigenvalue is at most 1e6 times eps (an
# eigenvalue computed by eigh or an SVD is off by about 1e-16 times the largest, which moves
# 1 / sqrt(lam + eps) by a relative 1e-16 * lam_max / eps at most).
W_TOL = 1e-9


def zca_reference(X, eps):
    """The ZCA matrix from its definition, with numpy's eigh and, independently, torch's."""
    Xc = X - X.mean(axis=0)
    lam, U = np.linalg.eigh(Xc.T @ Xc / len(X))
    d = X.shape[1]
    lam_t, U_t = torch.linalg.eigh(torch.cov(t(X).T, correction=0).reshape(d, d))  # 0-d when d = 1
    return (U / np.sqrt(lam + eps)) @ U.T, (U_t @ torch.diag(1.0 / torch.sqrt(lam_t + eps)) @ U_t.T).numpy()


def expect_whitening(student, X, eps, case):
    mean, W = expect_tuple(student.fit_whitening(X, eps), 2, "fit_whitening")
    d = X.shape[1]
    mean = expect_array(mean, (d,), "fit_whitening mean")
    W = expect_array(W, (d, d), "fit_whitening W")
    err = np.abs(mean - X.mean(axis=0))
    if not np.all(err <= MEAN_TOL * np.abs(X).max(axis=0)):
        raise CheckFailure(f"fit_whitening mean, {case}: wrong (tolerance: |error| <= 1e-12 * the largest |entry| "
                           f"of the column)")
    for want, by in zip(zca_reference(X, eps), ("np.linalg.eigh", "torch.linalg.eigh")):
        try:
            expect_close(W, want, "fit_whitening W", case, rtol=0.0, atol=W_TOL * np.abs(want).max())
        except CheckFailure as err:
            raise CheckFailure(f"{err} (the reference is U diag(1 / sqrt(lam + eps)) U^T from {by} of the "
                               f"covariance normalised by N; tolerance 1e-9 times the largest |entry| of W)") from None
    return mean, W


def correlated(rng, n, d):
    """n rows of d correlated features on different scales, with offsets; eps between 1e-5 and 1e-1
    times the largest covariance eigenvalue (so never below 1e-6 of it)."""
    X = rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) * 10.0 ** rng.uniform(-1, 1, size=d)
    X += rng.normal(0, 20, size=d)
    Xc = X - X.mean(axis=0)
    lam_max = max(float(np.linalg.eigvalsh(Xc.T @ Xc / n)[-1]), 1e-3)
    return X, lam_max * 10.0 ** float(rng.uniform(-5, -1))


@part("whitening", states=["the ZCA matrix U diag(1 / sqrt(lam + eps)) U^T",
                           "covariance normalised by N (ddof=0)", "W entrywise to within 1e-9 times the largest |entry| of W",
                           "at most 1e6 times eps"],
      shown=["W vs torch.linalg.eigh", "W of perfectly correlated columns (ZCA: U diag(...) U^T)"])
def test_fit_whitening_matches_eigh_and_torch(student, rng):
    """fit_whitening returns the column means and the ZCA matrix of the covariance normalised by N"""
    for _ in range(4):
        n, d = int(rng.integers(20, 120)), int(rng.integers(1, 9))
        X, eps = correlated(rng, n, d)
        expect_whitening(student, X, eps, "correlated features on different scales")


@part("whitening", states=["does not depend on the signs or the order of the eigenvectors",
                           "W is symmetric and equals (cov + eps I)^(-1/2)"],
      shown=["W of a single example", "W of perfectly correlated columns"])
def test_fit_whitening_singular_covariance(student, rng):
    """fit_whitening handles singular covariances: fewer rows than features, a constant feature, an exact
    duplicate feature, a single row (eigenvalue 0, so 1 / sqrt(eps) in those directions)"""
    n, d = int(rng.integers(2, 5)), int(rng.integers(5, 9))
    X, eps = correlated(rng, n, d)
    expect_whitening(student, X, eps, "fewer examples than features")
    X, eps = correlated(rng, int(rng.integers(10, 60)), int(rng.integers(3, 7)))
    X[:, 0] = float(rng.integers(-40, 40)) * 0.25  # exactly representable: variance exactly 0
    X[:, -1] = X[:, 1]
    expect_whitening(student, X, eps, "a constant feature and a duplicated feature")
    one = rng.normal(0, 5, size=(1, int(rng.integers(1, 6))))
    eps = float(10.0 ** rng.uniform(-3, 1))
    _, W = expect_whitening(student, one, eps, "a single training row")
    expect_close(W, np.eye(one.shape[1]) / np.sqrt(eps), "fit_whitening W", "a single training row",
                 rtol=1e-12, atol=0.0)


@part("whitening", states=["Raise ValueError if eps <= 0"], shown=["must raise ValueError (eps must be > 0)"])
def test_fit_whitening_rejects_nonpositive_eps(student, rng):
    """fit_whitening raises ValueError for eps = 0 and for a negative eps"""
    X, _ = correlated(rng, int(rng.integers(5, 30)), int(rng.integers(1, 5)))
    for eps, case in ((0.0, "eps = 0"), (-float(10.0 ** rng.uniform(-6, 0)), "a negative eps")):
        try:
            student.fit_whitening(X, eps)
        except StudentRaised as err:
            if err.type_name != "ValueError":
                raise CheckFailure(f"fit_whitening, {case}: raised {err.type_name}; expected a ValueError")
            continue
        raise CheckFailure(f"fit_whitening, {case}: returned normally; expected a ValueError")


@part("whitening", states=["Do not modify X; return new arrays", "X itself is not modified", "(X - mean) @ W"],
      shown=["fit_whitening or whiten modified its input", "whitened test data"])
def test_whitening_is_pure_and_uses_training_statistics(student, ref, rng):
    """fit_whitening and whiten leave their inputs unchanged and return new arrays; whiten applies the
    training mean and W it is given to new data"""
    for n in (1, int(rng.integers(2, 30))):
        X, eps = correlated(rng, n, int(rng.integers(1, 6)))
        _, after, seen = student.observe("fit_whitening", X, eps)
        expect_unchanged([X, eps], after, "fit_whitening")
        expect_no_alias(seen, "fit_whitening")
    d = int(rng.integers(1, 7))
    mean, A = rng.normal(0, 10, size=d), rng.normal(size=(d, d))
    W = A @ A.T + np.eye(d)
    for n in (1, int(rng.integers(2, 40))):
        X_new = rng.normal(0, 5, size=(n, d)) + 3.0
        got, after, seen = student.observe("whiten", X_new, mean, W)
        expect_unchanged([X_new, mean, W], after, "whiten")
        expect_no_alias(seen, "whiten")
        case = f"{'one new row' if n == 1 else 'new rows'} with the training mean and W"
        expect_close(got, (X_new - mean) @ W, "whiten(X, mean, W)", case, rtol=RTOL_GRAD, atol=ATOL_GRAD)
        expect_close(got, ref.whiten(X_new, mean, W), "whiten(X, mean, W)", case, rtol=RTOL_GRAD, atol=ATOL_GRAD)

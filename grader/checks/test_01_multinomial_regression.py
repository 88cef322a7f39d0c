"""Hidden checks of notebook 01, multinomial regression.

Every check draws its shapes and values from `rng` (seeded at grade time), compares in float64 with
the tolerances written next to it, against the reference solution and against torch, and checks
shapes exactly. Messages name the case, never the inputs.
"""
import numpy as np
import torch
import torch.nn.functional as F

from grader.harness import (expect_array, expect_close, expect_float, expect_tuple,
                            expect_unchanged, part)

# Tolerances (float64). Results are compared entrywise: |got - want| <= ATOL + RTOL * |want|.
RTOL, ATOL = 1e-10, 1e-12          # values computed in a different but equivalent order
RTOL_GRAD, ATOL_GRAD = 1e-9, 1e-12  # gradients through matrix products


def logits_batch(rng, scale=None):
    n, c = int(rng.integers(1, 40)), int(rng.integers(2, 12))
    scale = scale if scale is not None else float(rng.choice([0.1, 1.0, 10.0, 50.0]))
    return rng.normal(0.0, scale, size=(n, c)), rng.integers(0, c, size=n)


def t(x):
    return torch.from_numpy(np.array(x, dtype=np.float64))


# -- softmax -------------------------------------------------------------------------------------
@part("softmax")
def test_softmax_matches_reference_and_torch(student, ref, rng):
    """softmax matches torch.softmax on random batches"""
    for _ in range(6):
        z, _y = logits_batch(rng)
        got = expect_close(student.softmax(z), ref.softmax(z), "softmax(logits)", "random logits",
                           rtol=RTOL, atol=ATOL)
        expect_close(got, torch.softmax(t(z), dim=1).numpy(), "softmax(logits)", "random logits",
                     rtol=RTOL, atol=ATOL)


@part("softmax")
def test_softmax_edge_cases(student, ref, rng):
    """softmax handles huge logits, one example, one class and equal logits"""
    n, c = int(rng.integers(2, 9)), int(rng.integers(2, 9))
    cases = {
        "huge logits (about +-1e3)": rng.choice([-1.0, 1.0], size=(n, c)) * rng.uniform(900, 1100, size=(n, c)),
        "a single example": rng.normal(size=(1, c)),
        "a single class": rng.normal(size=(n, 1)),
        "all logits equal": np.full((n, c), float(rng.normal()) * 100),
    }
    for case, z in cases.items():
        expect_close(student.softmax(z), torch.softmax(t(z), dim=1).numpy(), "softmax(logits)", case,
                     rtol=RTOL, atol=ATOL)


@part("softmax")
def test_softmax_is_shift_invariant_and_pure(student, rng):
    """softmax ignores a constant added to a row and leaves its input unchanged"""
    z, _ = logits_batch(rng, scale=3.0)
    shift = rng.normal(0, 100, size=(z.shape[0], 1))
    p1, after = student.call_keeping_args("softmax", z)
    expect_unchanged([z], after, "softmax")
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


def check_ce(student, ref, z, y, case):
    loss, dlogits = expect_tuple(student.cross_entropy(z, y), 2, "cross_entropy")
    want_loss, want_grad = torch_ce(z, y)
    ref_loss, ref_grad = ref.cross_entropy(z, y)
    expect_close(expect_float(loss, "cross_entropy loss"), want_loss, "cross_entropy loss", case,
                 rtol=RTOL, atol=ATOL)
    expect_close(loss, ref_loss, "cross_entropy loss", case, rtol=RTOL, atol=ATOL)
    expect_close(dlogits, want_grad, "cross_entropy dlogits", case, rtol=RTOL_GRAD, atol=ATOL)
    expect_close(dlogits, ref_grad, "cross_entropy dlogits", case, rtol=RTOL_GRAD, atol=ATOL)


@part("cross_entropy")
def test_cross_entropy_matches_torch_and_autograd(student, ref, rng):
    """cross_entropy loss and gradient match torch and autograd on random batches"""
    for _ in range(6):
        z, y = logits_batch(rng)
        check_ce(student, ref, z, y, "random logits")


@part("cross_entropy")
def test_cross_entropy_edge_cases(student, ref, rng):
    """cross_entropy is exact for huge logits, one example and one class"""
    n, c = int(rng.integers(2, 9)), int(rng.integers(2, 9))
    z = rng.choice([-1.0, 1.0], size=(n, c)) * rng.uniform(900, 1100, size=(n, c))
    check_ce(student, ref, z, rng.integers(0, c, size=n), "huge logits (about +-1e3)")
    check_ce(student, ref, rng.normal(size=(1, c)), rng.integers(0, c, size=1), "a single example")
    check_ce(student, ref, rng.normal(size=(n, 1)), np.zeros(n, dtype=np.int64), "a single class")


@part("cross_entropy")
def test_cross_entropy_leaves_inputs_unchanged(student, rng):
    """cross_entropy does not modify its inputs"""
    z, y = logits_batch(rng)
    _, after = student.call_keeping_args("cross_entropy", z, y)
    expect_unchanged([z, y], after, "cross_entropy")


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


@part("softmax_regression")
def test_softmax_regression_matches_autograd(student, ref, rng):
    """softmax_regression_loss matches torch autograd, with and without the L2 penalty"""
    for trial in range(6):
        W, b, X, y = regression_problem(rng)
        reg = 0.0 if trial % 2 == 0 else float(rng.uniform(0.01, 2.0))
        case = "random problem, reg = 0" if reg == 0 else "random problem, reg > 0"
        got = expect_tuple(student.softmax_regression_loss(W, b, X, y, reg), 3, "softmax_regression_loss")
        want = torch_regression(W, b, X, y, reg)
        mine = ref.softmax_regression_loss(W, b, X, y, reg)
        for name, g, w, r in zip(("loss", "dW", "db"), got, want, mine):
            label = f"softmax_regression_loss {name}"
            expect_close(g if name != "loss" else expect_float(g, label), w, label, case,
                         rtol=RTOL_GRAD, atol=ATOL_GRAD)
            expect_close(g, r, label, case, rtol=RTOL_GRAD, atol=ATOL_GRAD)


@part("softmax_regression")
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


# -- binary logistic regression -------------------------------------------------------------------
def torch_logistic(w, b, X, y):
    wt, bt = t(w).requires_grad_(True), torch.tensor(float(b), dtype=torch.float64, requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(t(X) @ wt + bt, t(y))
    loss.backward()
    return loss.item(), wt.grad.numpy(), bt.grad.item()


def check_logistic(student, ref, w, b, X, y, case):
    got = expect_tuple(student.binary_logistic_loss(w, b, X, y), 3, "binary_logistic_loss")
    want, mine = torch_logistic(w, b, X, y), ref.binary_logistic_loss(w, b, X, y)
    names = ("loss", "dw", "db")
    for name, g, wv, r in zip(names, got, want, mine):
        label = f"binary_logistic_loss {name}"
        if name != "dw":
            g = expect_float(g, label)
        expect_close(g, wv, label, case, rtol=RTOL_GRAD, atol=ATOL_GRAD)
        expect_close(g, r, label, case, rtol=RTOL_GRAD, atol=ATOL_GRAD)


@part("binary_logistic")
def test_binary_logistic_matches_torch(student, ref, rng):
    """binary_logistic_loss matches binary_cross_entropy_with_logits and autograd"""
    for trial in range(6):
        n, d = int(rng.integers(1, 30)), int(rng.integers(1, 10))
        w, b = rng.normal(size=d), float(rng.normal())
        X = rng.normal(0, 2.0, size=(n, d))
        y = rng.integers(0, 2, size=n)
        check_logistic(student, ref, w, b, X, y if trial % 2 else y.astype(np.float64), "random problem")


@part("binary_logistic")
def test_binary_logistic_huge_scores(student, ref, rng):
    """binary_logistic_loss is exact when the scores are about +-1e3"""
    n, d = int(rng.integers(2, 20)), int(rng.integers(1, 6))
    w = rng.choice([-1.0, 1.0], size=d) * (1000.0 / d)
    X = rng.choice([-1.0, 1.0], size=(n, d)) * rng.uniform(0.9, 1.1, size=(n, d))
    y = rng.integers(0, 2, size=n)
    # always both confidently wrong cases: a huge positive score with label 0, a huge negative with label 1
    X[0], y[0] = np.sign(w) * np.abs(X[0]), 0
    X[1], y[1] = -np.sign(w) * np.abs(X[1]), 1
    check_logistic(student, ref, w, float(rng.normal()), X, y, "huge scores (about +-1e3)")


# -- standardization ------------------------------------------------------------------------------
@part("standardize")
def test_fit_standardizer_statistics(student, ref, rng):
    """fit_standardizer returns column means and population standard deviations"""
    for _ in range(4):
        n, d = int(rng.integers(2, 50)), int(rng.integers(1, 10))
        X = rng.normal(size=(n, d)) * 10.0 ** rng.uniform(-3, 3, size=d) + rng.normal(0, 100, size=d)
        mean, std = expect_tuple(student.fit_standardizer(X), 2, "fit_standardizer")
        expect_close(mean, X.mean(axis=0), "fit_standardizer mean", "features on very different scales",
                     rtol=RTOL, atol=ATOL)
        expect_close(std, X.std(axis=0, ddof=0), "fit_standardizer std", "features on very different scales "
                     "(population std, ddof = 0)", rtol=RTOL, atol=ATOL)
        ref_mean, ref_std = ref.fit_standardizer(X)
        expect_close(std, ref_std, "fit_standardizer std", "random features", rtol=RTOL, atol=ATOL)


@part("standardize")
def test_fit_standardizer_constant_feature_and_one_row(student, rng):
    """fit_standardizer gives std 1 to constant features, also with a single row"""
    n, d = int(rng.integers(3, 20)), int(rng.integers(2, 6))
    X = rng.normal(size=(n, d))
    X[:, 0] = float(rng.integers(-40, 40)) * 0.25  # exactly representable, so its std is exactly 0
    mean, std = expect_tuple(student.fit_standardizer(X), 2, "fit_standardizer")
    want = X.std(axis=0)
    want[0] = 1.0
    expect_close(std, want, "fit_standardizer std", "a constant feature", rtol=RTOL, atol=0.0)
    one = rng.normal(size=(1, d))
    mean, std = expect_tuple(student.fit_standardizer(one), 2, "fit_standardizer")
    expect_close(std, np.ones(d), "fit_standardizer std", "a single training row", rtol=0.0, atol=0.0)
    expect_close(mean, one[0], "fit_standardizer mean", "a single training row", rtol=RTOL, atol=0.0)


@part("standardize")
def test_standardize_uses_the_given_training_statistics(student, ref, rng):
    """standardize applies the training statistics it is given to new data, without changing it"""
    d = int(rng.integers(1, 8))
    mean = rng.normal(0, 10, size=d)
    std = rng.uniform(0.1, 10, size=d)
    for n in (1, int(rng.integers(2, 40))):
        X_new = rng.normal(0, 5, size=(n, d)) + 3.0
        got, after = student.call_keeping_args("standardize", X_new, mean, std)
        expect_unchanged([X_new, mean, std], after, "standardize")
        expect_close(got, (X_new - mean) / std, "standardize(X, mean, std)",
                     f"{'one new row' if n == 1 else 'new rows'} with training statistics", rtol=RTOL, atol=ATOL)
        expect_close(got, ref.standardize(X_new, mean, std), "standardize(X, mean, std)", "new rows",
                     rtol=RTOL, atol=ATOL)

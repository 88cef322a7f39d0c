"""Hidden checks of notebook 07, learning rate, curvature and batch size.

Schedules are compared over whole sequences of steps with torch.optim.lr_scheduler run on a dummy
optimizer; the Newton step with a float64 solve and with the residual of its linear system; the
L-BFGS two-loop recursion with the explicit BFGS inverse-Hessian matrix built from the same pairs
(an independent oracle) and with the reference; Hessian-vector products with torch double backward;
power iteration with np.linalg.eigvalsh (spectra with a gap, so the convergence after the given
number of iterations is far below the tolerance); gradient clipping with
torch.nn.utils.clip_grad_norm_. Random sizes and values from `rng`; messages name the case only.
"""
import warnings

import numpy as np
import torch
import torch.nn.functional as F

from grader.harness import CheckFailure, expect_array, expect_close, expect_float, expect_tuple, expect_unchanged, part
from grader.kernel import StudentRaised

LR_RTOL, LR_ATOL = 1e-10, 1e-15    # closed forms vs torch's recursive/chainable forms
LIN_RTOL = 1e-8                    # linear algebra on matrices with condition number <= 1e3
HVP_RTOL, HVP_ATOL = 1e-10, 1e-13
EIG_RTOL = 1e-9                    # power iteration: error ~ ratio^(2 iters) <= 0.7^600, far below
CLIP_RTOL, CLIP_ATOL = 1e-12, 1e-15

S = torch.optim.lr_scheduler


def torch_lrs(make, n, base_lr):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=base_lr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sched = make(opt)
        out = []
        for _ in range(n):
            out.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
    return np.array(out)


def random_after(rng):
    """(schedule dict without base_lr, torch factory, case name) of a random base schedule."""
    kind = ["step", "exponential", "cosine"][int(rng.integers(0, 3))]
    if kind == "step":
        k, gamma = int(rng.integers(1, 15)), float(rng.uniform(0.05, 0.95))
        return {"name": "step", "step_size": k, "gamma": gamma}, (lambda o: S.StepLR(o, step_size=k, gamma=gamma)), kind
    if kind == "exponential":
        gamma = float(rng.uniform(0.8, 0.999))
        return {"name": "exponential", "gamma": gamma}, (lambda o: S.ExponentialLR(o, gamma=gamma)), kind
    t_max = int(rng.integers(1, 40))
    eta_min = float(rng.choice([0.0, float(rng.uniform(1e-5, 1e-3))]))
    return ({"name": "cosine", "t_max": t_max, "eta_min": eta_min},
            (lambda o: S.CosineAnnealingLR(o, T_max=t_max, eta_min=eta_min)), kind)


def lr_sequence(student, fname, schedule, n, case):
    got = []
    for t in range(n):
        got.append(expect_float(getattr(student, fname)(schedule, t), f"{fname}(schedule, {t})"))
    return np.array(got)


# -- schedules ------------------------------------------------------------------------------------
@part("lr_schedule")
def test_lr_at_matches_torch_schedulers(student, ref, rng):
    """lr_at gives the same learning rates as StepLR, ExponentialLR and CosineAnnealingLR at every step"""
    for trial, kind in enumerate(["step", "exponential", "cosine", "cosine", "step"]):
        while True:
            after, make, got_kind = random_after(rng)
            if got_kind == kind:
                break
        base = float(10 ** rng.uniform(-4, 0))
        if trial == 3:  # always one cosine with a floor well above the tolerance
            eta_min, t_max = base * float(rng.uniform(0.05, 0.5)), after["t_max"]
            after = dict(after, eta_min=eta_min)
            make = (lambda o, t_max=t_max, eta_min=eta_min: S.CosineAnnealingLR(o, T_max=t_max, eta_min=eta_min))
        schedule = dict(after, base_lr=base)
        n = 2 * after.get("t_max", 20) + int(rng.integers(5, 30))
        case = f"{kind} schedule over {n} steps" + (" (past t_max)" if kind == "cosine" else "")
        got = lr_sequence(student, "lr_at", schedule, n, case)
        expect_close(got, torch_lrs(make, n, base), "lr_at", case, rtol=LR_RTOL, atol=LR_ATOL * base)
        expect_close(got, [ref.lr_at(schedule, t) for t in range(n)], "lr_at", case, rtol=LR_RTOL, atol=LR_ATOL * base)


@part("lr_schedule")
def test_lr_at_defaults_errors_and_purity(student, rng):
    """lr_at defaults eta_min to 0, rejects an unknown name with ValueError and leaves its dict alone"""
    t_max = int(rng.integers(2, 30))
    schedule = {"name": "cosine", "base_lr": 0.1, "t_max": t_max}
    got = lr_sequence(student, "lr_at", schedule, t_max + 3, "cosine without eta_min")
    expect_close(got, torch_lrs(lambda o: S.CosineAnnealingLR(o, T_max=t_max), t_max + 3, 0.1), "lr_at",
                 "cosine without eta_min (default 0)", rtol=LR_RTOL, atol=1e-16)
    out, after = student.call_keeping_args("lr_at", schedule, t_max)
    if after[0] != schedule:
        raise CheckFailure("lr_at modified its schedule dict")
    try:
        student.lr_at({"name": "polynomial", "base_lr": 0.1, "power": 2.0}, 3)
    except StudentRaised as err:
        if err.type_name != "ValueError":
            raise CheckFailure(f"lr_at with an unknown schedule name raised {err.type_name}; expected a ValueError")
        return
    raise CheckFailure("lr_at with an unknown schedule name returned normally; expected a ValueError")


@part("warmup")
def test_warmup_matches_sequential_lr(student, ref, rng):
    """warmup_lr_at matches SequentialLR(LinearLR warm-up, base schedule) at every step"""
    for trial in range(5):
        W = int(rng.integers(1, 15))
        f0 = float(rng.uniform(0.01, 1.0)) if trial else 1e-3
        after, make_after, kind = random_after(rng)
        base = float(10 ** rng.uniform(-4, 0))
        schedule = {"name": "warmup", "base_lr": base, "warmup_steps": W, "start_factor": f0, "after": after}

        def make(o, W=W, f0=f0, make_after=make_after):
            return S.SequentialLR(o, [S.LinearLR(o, start_factor=f0, end_factor=1.0, total_iters=W), make_after(o)],
                                  milestones=[W])

        n = W + 2 * after.get("t_max", 15) + int(rng.integers(3, 20))
        case = f"warm-up of {W} steps then a {kind} schedule"
        got = lr_sequence(student, "warmup_lr_at", schedule, n, case)
        expect_close(got, torch_lrs(make, n, base), "warmup_lr_at", case, rtol=LR_RTOL, atol=LR_ATOL * base)
        expect_close(got, [ref.warmup_lr_at(schedule, t) for t in range(n)], "warmup_lr_at", case,
                     rtol=LR_RTOL, atol=LR_ATOL * base)


@part("warmup")
def test_warmup_leaves_its_dicts_alone(student, rng):
    """warmup_lr_at does not modify the schedule or its 'after' dict"""
    after, _, _ = random_after(rng)
    schedule = {"name": "warmup", "base_lr": 0.3, "warmup_steps": 3, "start_factor": 0.2, "after": dict(after)}
    for t in (1, 5):
        _, args_after = student.call_keeping_args("warmup_lr_at", schedule, t)
        if args_after[0] != schedule:
            raise CheckFailure("warmup_lr_at modified its schedule dict (or the 'after' dict inside it)")


# -- Newton -------------------------------------------------------------------------------------
def random_symmetric(rng, n, eigenvalues):
    q, r = np.linalg.qr(rng.normal(size=(n, n)))
    q = q * np.sign(np.diag(r))
    return (q * eigenvalues) @ q.T, q


@part("newton")
def test_newton_step_solves_the_system(student, ref, rng):
    """newton_step returns the solution of H step = -g, for positive definite and indefinite H"""
    for trial in range(6):
        n = int(rng.integers(1, 10))
        mags = 10 ** rng.uniform(-1.5, 1.5, size=n)
        signs = np.ones(n) if trial < 3 else rng.choice([-1.0, 1.0], size=n)
        H, _ = random_symmetric(rng, n, signs * mags)
        g = rng.normal(0, 3, size=n)
        case = "positive definite Hessian" if trial < 3 else "indefinite Hessian"
        step = expect_array(student.newton_step(g, H), (n,), "newton_step")
        expect_close(step, np.linalg.solve(H, -g), "newton_step", case, rtol=LIN_RTOL, atol=1e-12)
        expect_close(step, ref.newton_step(g, H), "newton_step", case, rtol=LIN_RTOL, atol=1e-12)


@part("newton")
def test_newton_step_on_a_quadratic(student, rng):
    """one Newton step from any point lands on the minimizer of a quadratic, and leaves its inputs alone"""
    n = int(rng.integers(2, 9))
    A, _ = random_symmetric(rng, n, 10 ** rng.uniform(-2, 2, size=n))
    b = rng.normal(size=n)
    w = rng.normal(0, 5, size=n)
    g = A @ w - b
    step, after = student.call_keeping_args("newton_step", g, A)
    expect_unchanged([g, A], after, "newton_step")
    step = expect_array(step, (n,), "newton_step")
    expect_close(A @ (w + step) - b, np.zeros(n), "gradient after one Newton step", "a quadratic (should be 0)",
                 rtol=0, atol=1e-8)


# -- L-BFGS ---------------------------------------------------------------------------------------
def bfgs_matrix(s_list, y_list):
    n = len(s_list[0])
    B = float(s_list[-1] @ y_list[-1]) / float(y_list[-1] @ y_list[-1]) * np.eye(n)
    for s, y in zip(s_list, y_list):
        rho = 1.0 / float(y @ s)
        B = (np.eye(n) - rho * np.outer(s, y)) @ B @ (np.eye(n) - rho * np.outer(y, s)) + rho * np.outer(s, s)
    return B


def secant_pairs(rng, n, m, varying):
    """m pairs with y.s > 0: from one SPD matrix, or from a different SPD matrix per pair."""
    A, _ = random_symmetric(rng, n, 10 ** rng.uniform(-1, 1, size=n))
    s_list, y_list = [], []
    for _ in range(m):
        if varying:
            A, _ = random_symmetric(rng, n, 10 ** rng.uniform(-1, 1, size=n))
        s = rng.normal(size=n) * float(10 ** rng.uniform(-1, 1))
        s_list.append(s)
        y_list.append(A @ s)
    return s_list, y_list


@part("lbfgs")
def test_lbfgs_matches_explicit_bfgs(student, ref, rng):
    """lbfgs_direction equals -B g for the explicit BFGS matrix built from the same pairs"""
    for trial in range(8):
        n = int(rng.integers(2, 12))
        m = int(rng.integers(1, 8))
        varying = trial % 2 == 1
        s_list, y_list = secant_pairs(rng, n, m, varying)
        g = rng.normal(0, 2, size=n)
        case = f"{m} pair{'s' if m > 1 else ''} from {'a different curvature each' if varying else 'one quadratic'}"
        d = expect_array(student.lbfgs_direction(g, s_list, y_list), (n,), "lbfgs_direction")
        want = -bfgs_matrix(s_list, y_list) @ g
        scale = float(np.abs(want).max())
        expect_close(d, want, "lbfgs_direction vs the explicit BFGS matrix", case, rtol=LIN_RTOL, atol=1e-10 * scale)
        expect_close(d, ref.lbfgs_direction(g, s_list, y_list), "lbfgs_direction", case,
                     rtol=LIN_RTOL, atol=1e-10 * scale)


@part("lbfgs")
def test_lbfgs_no_pairs_secant_and_purity(student, rng):
    """lbfgs_direction is -g without pairs, satisfies the newest secant condition, and leaves its inputs alone"""
    n = int(rng.integers(2, 10))
    g = rng.normal(size=n)
    d = expect_array(student.lbfgs_direction(g, [], []), (n,), "lbfgs_direction")
    expect_close(d, -g, "lbfgs_direction", "no pairs (steepest descent)", rtol=1e-15, atol=0)
    s_list, y_list = secant_pairs(rng, n, int(rng.integers(2, 6)), True)
    out, after = student.call_keeping_args("lbfgs_direction", y_list[-1], s_list, y_list)
    expect_close(-expect_array(out, (n,), "lbfgs_direction"), s_list[-1], "B y for the newest pair",
                 "secant condition B y = s", rtol=LIN_RTOL, atol=1e-10 * float(np.abs(s_list[-1]).max()))
    for name, before, now in (("s_list", s_list, after[1]), ("y_list", y_list, after[2])):
        if not (isinstance(now, list) and len(now) == len(before)
                and all(type(a) is np.ndarray and np.array_equal(a, b) for a, b in zip(now, before))):
            raise CheckFailure(f"lbfgs_direction modified {name}; work on copies")


# -- critical points --------------------------------------------------------------------------------
def classify(student, H, want, case):
    got = student.classify_critical_point(H)
    if not isinstance(got, str):
        raise CheckFailure(f"classify_critical_point returned {type(got).__name__}; expected a string")
    if got != want:
        raise CheckFailure(f"classify_critical_point, {case}: returned {got!r}, expected {want!r}")


@part("critical_point")
def test_classify_random_rotated_hessians(student, rng):
    """classify_critical_point reads the eigenvalues of rotated Hessians, with the stated tolerance"""
    for trial in range(3):
        n = int(rng.integers(2, 9))
        scale = float(10 ** rng.uniform(-1, 4))
        mags = scale * 10 ** rng.uniform(-3, 0, size=n)
        k = int(rng.integers(1, n))           # 1 .. n-1 negative eigenvalues
        mixed = mags * np.where(np.arange(n) < k, -1.0, 1.0)
        with_zero = np.abs(mags)
        with_zero[int(rng.integers(0, n))] = 0.0
        cases = {"positive definite": (mags, "minimum"), "negative definite": (-mags, "maximum"),
                 "indefinite": (mixed, "saddle"),
                 "positive semi-definite with a zero eigenvalue": (with_zero, "degenerate"),
                 "negative semi-definite with a zero eigenvalue": (-with_zero, "degenerate")}
        if n >= 3:
            z = mixed.copy()
            z[-1] = 0.0
            z[0] = -abs(z[0])
            z[1] = abs(z[1])
            cases["indefinite with a zero eigenvalue"] = (z, "saddle")
        for case, (eig, want) in cases.items():
            H, _ = random_symmetric(rng, n, eig)
            H = (H + H.T) / 2 + rng.normal(0, 1e-14 * scale, size=(n, n))   # symmetric up to rounding
            classify(student, H, want, f"{case} (rotated)")


@part("critical_point")
def test_classify_edge_cases(student, rng):
    """classify_critical_point handles the zero matrix, 1 x 1 Hessians and diagonal ones"""
    n = int(rng.integers(2, 6))
    classify(student, np.zeros((n, n)), "degenerate", "the zero matrix")
    classify(student, np.array([[float(rng.uniform(0.1, 5))]]), "minimum", "a 1 x 1 positive Hessian")
    classify(student, np.array([[-float(rng.uniform(0.1, 5))]]), "maximum", "a 1 x 1 negative Hessian")
    # Diagonal entries all positive, eigenvalues not: [[1, 2], [2, 1]] has eigenvalues 3 and -1.
    a = float(rng.uniform(0.5, 2))
    classify(student, np.array([[a, 2 * a], [2 * a, a]]), "saddle", "positive diagonal but indefinite")


# -- Hessian-vector products -----------------------------------------------------------------------
def torch_hvp(X, y, w, v, reg):
    Xt = torch.from_numpy(X)
    wt = torch.tensor(w, requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(Xt @ wt, torch.tensor(y, dtype=torch.float64)) + 0.5 * reg * (wt ** 2).sum()
    (g,) = torch.autograd.grad(loss, wt, create_graph=True)
    (hv,) = torch.autograd.grad(g @ torch.from_numpy(v), wt)
    return hv.numpy()


@part("hvp")
def test_logistic_hvp_matches_double_backward(student, ref, rng):
    """logistic_hvp matches torch double backward, with and without the L2 term"""
    for trial in range(6):
        N, n = int(rng.integers(1, 60)), int(rng.integers(1, 10))
        X = rng.normal(0, float(rng.choice([0.5, 2.0])), size=(N, n))
        y = rng.integers(0, 2, size=N)
        w, v = rng.normal(size=n), rng.normal(size=n)
        reg = 0.0 if trial % 2 == 0 else float(rng.uniform(0.01, 2.0))
        case = f"random problem, {'reg = 0' if reg == 0 else 'reg > 0'}"
        hv, after = student.call_keeping_args("logistic_hvp", X, y, w, v, reg)
        expect_unchanged([X, y, w, v], after, "logistic_hvp")
        expect_close(hv, torch_hvp(X, y, w, v, reg), "logistic_hvp", case, rtol=HVP_RTOL, atol=HVP_ATOL)
        expect_close(hv, ref.logistic_hvp(X, y, w, v, reg), "logistic_hvp", case, rtol=HVP_RTOL, atol=HVP_ATOL)


@part("hvp")
def test_logistic_hvp_default_reg_and_linearity(student, rng):
    """logistic_hvp defaults to reg = 0, is linear in v, and equals the Hessian built column by column"""
    N, n = int(rng.integers(5, 40)), int(rng.integers(2, 7))
    X, y = rng.normal(size=(N, n)), rng.integers(0, 2, size=N)
    w = rng.normal(size=n)
    v = rng.normal(size=n)
    expect_close(student.logistic_hvp(X, y, w, v), torch_hvp(X, y, w, v, 0.0), "logistic_hvp", "default reg",
                 rtol=HVP_RTOL, atol=HVP_ATOL)
    cols = np.stack([expect_array(student.logistic_hvp(X, y, w, e, 0.3), (n,), "logistic_hvp") for e in np.eye(n)], axis=1)
    p = 1 / (1 + np.exp(-(X @ w)))
    expect_close(cols, (X * (p * (1 - p))[:, None]).T @ X / N + 0.3 * np.eye(n), "Hessian from logistic_hvp columns",
                 "H e_j for every basis vector e_j", rtol=1e-9, atol=1e-13)


# -- power iteration --------------------------------------------------------------------------------
def check_power(student, H, want_lam, want_vec, iters, seed, case):
    n = H.shape[0]
    out, after = student.call_keeping_args("top_eigenvalue", H, iters, seed)
    expect_unchanged([H], after, "top_eigenvalue")
    lam, v = expect_tuple(out, 2, "top_eigenvalue")
    lam = expect_float(lam, "top_eigenvalue eigenvalue")
    v = expect_array(v, (n,), "top_eigenvalue eigenvector")
    expect_close(lam, want_lam, "top_eigenvalue eigenvalue", case, rtol=EIG_RTOL, atol=1e-12)
    expect_close(np.linalg.norm(v), 1.0, "norm of the eigenvector", case, rtol=1e-10, atol=0)
    expect_close(abs(float(v @ want_vec)), 1.0, "|cos| between the eigenvector and the true one", case,
                 rtol=1e-8, atol=0)


@part("power_iteration")
def test_top_eigenvalue_matches_eigvalsh(student, rng):
    """top_eigenvalue finds the dominant eigenvalue with its sign, and its eigenvector"""
    for trial in range(6):
        n = int(rng.integers(2, 15))
        top = float(rng.uniform(2, 10)) * (1.0 if trial % 3 else -1.0)
        rest = rng.uniform(-0.7, 0.7, size=n - 1) * abs(top)      # |lambda_2 / lambda_1| <= 0.7
        H, Q = random_symmetric(rng, n, np.concatenate([[top], rest]))
        H = (H + H.T) / 2
        case = "dominant negative eigenvalue" if top < 0 else "dominant positive eigenvalue"
        check_power(student, H, float(np.linalg.eigvalsh(H)[0 if top < 0 else -1]), Q[:, 0], 300,
                    int(rng.integers(0, 1000)), case)


@part("power_iteration")
def test_top_eigenvalue_random_start(student, rng):
    """top_eigenvalue starts from a random vector (all ones is an eigenvector of the second eigenvalue here)"""
    # Eigenvalues: top for u (orthogonal to the all-ones vector), top / 2 for the all-ones vector, the
    # rest within 0.3 top. With 40 iterations a random start converges (error in the eigenvalue about
    # (1/2)^80 / c1^2, c1 the start's component along u); a start along all ones only gains a
    # u-component from rounding (1e-16), grown by 2^40 = 1e12: still far from u, so it fails.
    n = int(rng.integers(4, 12))
    ones = np.ones(n) / np.sqrt(n)
    u = rng.normal(size=n)
    u -= (u @ ones) * ones
    u /= np.linalg.norm(u)
    M = np.column_stack([u, ones, rng.normal(size=(n, n - 2))])
    Q, _ = np.linalg.qr(M)
    top = float(rng.uniform(3, 6))
    eig = np.concatenate([[top, top / 2], rng.uniform(-0.3, 0.3, size=n - 2) * top])
    H = (Q * eig) @ Q.T
    H = (H + H.T) / 2
    check_power(student, H, float(np.linalg.eigvalsh(H)[-1]), u, 40, int(rng.integers(0, 1000)),
                "a matrix for which the all-ones vector is an eigenvector of the second eigenvalue")


# -- clipping -------------------------------------------------------------------------------------
def torch_clip(grads, max_norm):
    params = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, g in zip(params, grads):
        p.grad = torch.from_numpy(np.array(g))
    total = torch.nn.utils.clip_grad_norm_(params, max_norm)
    return [p.grad.numpy() for p in params], float(total)


def check_clip(student, grads, max_norm, case):
    out, after = student.call_keeping_args("clip_grad_norm", grads, max_norm)
    now = after[0]
    if not (isinstance(now, list) and len(now) == len(grads)
            and all(type(a) is np.ndarray and np.array_equal(a, b) for a, b in zip(now, grads))):
        raise CheckFailure("clip_grad_norm modified its list of gradients; return new arrays")
    clipped, total = expect_tuple(out, 2, "clip_grad_norm")
    want, want_total = torch_clip(grads, max_norm)
    expect_close(expect_float(total, "clip_grad_norm total_norm"), want_total, "clip_grad_norm total_norm", case,
                 rtol=CLIP_RTOL, atol=CLIP_ATOL)
    if not isinstance(clipped, (list, tuple)) or len(clipped) != len(grads):
        raise CheckFailure("clip_grad_norm must return a list with one clipped array per gradient")
    for k, (c, w) in enumerate(zip(clipped, want)):
        expect_close(c, w, f"clip_grad_norm clipped gradient {k + 1}", case, rtol=CLIP_RTOL, atol=CLIP_ATOL)


@part("clip")
def test_clip_matches_torch(student, rng):
    """clip_grad_norm matches torch.nn.utils.clip_grad_norm_ above and below the threshold"""
    for trial in range(6):
        k = int(rng.integers(1, 5))
        grads = [rng.normal(0, float(10 ** rng.uniform(-2, 2)), size=tuple(int(s) for s in rng.integers(1, 5, size=int(rng.integers(1, 4)))))
                 for _ in range(k)]
        total = float(np.sqrt(sum(np.sum(g ** 2) for g in grads)))
        above = trial % 2 == 0
        max_norm = total * float(rng.uniform(0.05, 0.9) if above else rng.uniform(1.1, 10))
        check_clip(student, grads, max_norm, "norm above max_norm" if above else "norm below max_norm (unchanged)")


@part("clip")
def test_clip_edge_cases(student, rng):
    """clip_grad_norm handles zero gradients, one tensor, and a norm just above the threshold"""
    shape = (int(rng.integers(1, 5)), int(rng.integers(1, 5)))
    check_clip(student, [np.zeros(shape), np.zeros(3)], 1.0, "all-zero gradients")
    g = rng.normal(size=shape)
    check_clip(student, [g], float(rng.uniform(0.1, 0.5)), "a single tensor")
    grads = [rng.normal(size=shape), rng.normal(size=4)]
    total = float(np.sqrt(sum(np.sum(x ** 2) for x in grads)))
    check_clip(student, grads, total * (1 - 1e-3), "a norm just above max_norm")

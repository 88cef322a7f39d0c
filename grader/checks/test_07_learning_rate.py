"""Hidden checks of notebook 07, learning rate, curvature and batch size.

Schedules (decay, warm-up, cyclical, warm restarts, one-cycle) are compared with torch.optim.lr_scheduler
run on a dummy optimizer, at every step around each boundary and at random others; the Newton step with a float64 solve and with the residual of its linear system; the
L-BFGS two-loop recursion with the explicit BFGS inverse-Hessian matrix built from the same pairs
(an independent oracle) and with the reference; Hessian-vector products with torch double backward;
power iteration with np.linalg.eigvalsh (spectra with a gap, so the convergence after the given
number of iterations is far below the tolerance) and with the stated recipe replayed for a few
updates (either reading of the Rayleigh quotient accepted); gradient clipping with
torch.nn.utils.clip_grad_norm_. Every check's contract (the rules it enforces, as the release
states them) is on its @part marker. Random sizes and values from `rng`; messages name the case only.
"""
import warnings

import numpy as np
import torch
import torch.nn.functional as F

from grader.harness import (CheckFailure, expect_array, expect_close, expect_float, expect_no_alias, expect_rng_untouched,
                            expect_tuple, expect_unchanged, part)
from grader.kernel import StudentRaised

LR_RTOL, LR_ATOL = 1e-10, 1e-15    # closed forms vs torch's recursive/chainable forms
LIN_RTOL = 1e-8                    # linear algebra on matrices with condition number <= 1e3
HVP_RTOL, HVP_ATOL = 1e-8, 1e-13  # |error| <= HVP_ATOL + HVP_RTOL * max |expected|, entrywise (stated)


def hvp_close(got, want, name, case):
    """Entrywise within HVP_ATOL + HVP_RTOL * (largest |entry| of the expected vector): an entry of Hv
    is a sum whose terms may cancel, so its rounding error scales with the vector, not with the entry."""
    want = np.asarray(want)
    scale = float(np.max(np.abs(want))) if want.size else 0.0
    return expect_close(got, want, name, case, rtol=0.0, atol=HVP_ATOL + HVP_RTOL * scale)
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


def lr_sequence(student, fname, schedule, steps, case):
    """fname(schedule, t) for every t of steps (independent calls, sent in one round trip), as floats."""
    got = []
    for t, value in zip(steps, student.call_each(fname, [(schedule, int(t)) for t in steps])):
        got.append(expect_float(value, f"{fname}(schedule, {t})"))
    return np.array(got)


def probe_steps(rng, n, after, offset=0):
    """The steps of 0 .. n-1 where schedules go wrong (the first ones, around each boundary of the base
    schedule, shifted by `offset` warm-up steps, the last one) and a dozen random others: each call of
    the student's function costs a round trip to the kernel, so not every step is asked for."""
    steps = {0, 1, n - 1, offset - 1, offset, offset + 1}
    k, T = after.get("step_size"), after.get("t_max")
    if k:
        for j in (1, 2, max((n - offset) // k, 1)):
            steps |= {offset + j * k - 1, offset + j * k}
    if T:
        for j in (1, 2):
            steps |= {offset + j * T - 1, offset + j * T, offset + j * T + 1}
    steps |= {int(t) for t in rng.choice(n, size=min(n, 6), replace=False)}
    return np.array(sorted(t for t in steps if 0 <= t < n))


# -- schedules ------------------------------------------------------------------------------------
@part("lr_schedule",
      states=["eta_0 * gamma ** (step // k)", "eta_0 * gamma ** step",
              "eta_min + (eta_0 - eta_min) * (1 + cos(pi * step / T)) / 2, for every step >= 0",
              "Every value comes from the dict, none is fixed in the code",
              "within a relative tolerance of $10^{-10}$"],
      shown=["Whole sequences against torch.optim.lr_scheduler (other parameters than above",
             "The cosine keeps following the formula past t_max"])
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
        steps = probe_steps(rng, n, after)
        got = lr_sequence(student, "lr_at", schedule, steps, case)
        expect_close(got, torch_lrs(make, n, base)[steps], "lr_at", case, rtol=LR_RTOL, atol=LR_ATOL * base)
        expect_close(got, [ref.lr_at(schedule, int(t)) for t in steps], "lr_at", case, rtol=LR_RTOL,
                     atol=LR_ATOL * base)


@part("lr_schedule",
      states=["eta_min` defaults to 0", "An unknown name raises a `ValueError` whose message contains the unknown name",
              "The dict is not modified"],
      shown=["An unknown name: a ValueError whose message contains the unknown name", "eta_min default 0",
             "lr_at modified its schedule dict"])
def test_lr_at_defaults_errors_and_purity(student, rng):
    """lr_at defaults eta_min to 0, rejects an unknown name with a ValueError naming it, and leaves its dict alone"""
    t_max = int(rng.integers(2, 30))
    base = float(10 ** rng.uniform(-3, 0))
    schedule = {"name": "cosine", "base_lr": base, "t_max": t_max}
    steps = probe_steps(rng, t_max + 3, schedule)
    got = lr_sequence(student, "lr_at", schedule, steps, "cosine without eta_min")
    expect_close(got, torch_lrs(lambda o: S.CosineAnnealingLR(o, T_max=t_max), t_max + 3, base)[steps], "lr_at",
                 "cosine without eta_min (default 0)", rtol=LR_RTOL, atol=1e-16)
    for sched in (schedule, {"name": "step", "base_lr": base, "step_size": 2, "gamma": 0.5}):
        out, after = student.call_keeping_args("lr_at", sched, t_max)
        expect_unchanged([sched, t_max], after, "lr_at")
    unknown = ["polynomial", "onecycle", "linear", "triangular"][int(rng.integers(0, 4))]
    try:
        student.lr_at({"name": unknown, "base_lr": 0.1, "power": 2.0}, 3)
    except StudentRaised as err:
        if err.type_name != "ValueError":
            raise CheckFailure(f"lr_at with an unknown schedule name raised {err.type_name}; expected a ValueError")
        if unknown not in err.message:
            raise CheckFailure("lr_at with an unknown schedule name raised a ValueError whose message does not "
                               "contain the unknown name; put the name in the message")
        return
    raise CheckFailure("lr_at with an unknown schedule name returned normally; expected a ValueError")


@part("warmup",
      states=["eta_0 * (f0 + (1 - f0) * step / W) for step < W, else lr_at(after with base_lr, step - W)",
              "within a relative tolerance of $10^{-10}$"],
      shown="Against torch's SequentialLR(LinearLR, base schedule)")
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
        steps = probe_steps(rng, n, after, offset=W)
        got = lr_sequence(student, "warmup_lr_at", schedule, steps, case)
        expect_close(got, torch_lrs(make, n, base)[steps], "warmup_lr_at", case, rtol=LR_RTOL, atol=LR_ATOL * base)
        expect_close(got, [ref.warmup_lr_at(schedule, int(t)) for t in steps], "warmup_lr_at", case,
                     rtol=LR_RTOL, atol=LR_ATOL * base)


def warmup_formula(schedule, step):
    """The stated formula, written out independently of lr_at (for the boundary checks)."""
    base, W, f0, a = schedule["base_lr"], schedule["warmup_steps"], schedule["start_factor"], schedule["after"]
    if step < W:
        return base * (f0 + (1.0 - f0) * step / W)
    t = step - W
    if a["name"] == "step":
        return base * a["gamma"] ** (t // a["step_size"])
    if a["name"] == "exponential":
        return base * a["gamma"] ** t
    m = a.get("eta_min", 0.0)
    return m + (base - m) * (1 + np.cos(np.pi * t / a["t_max"])) / 2


@part("warmup",
      states=["step 0 gives $f_0\\eta_0$", "the last warm-up step, $t = W - 1$",
              "step $W$ gives the base schedule at its step 0", "however far beyond the end of the warm-up",
              "$t/W$ is a true division", "$W = 1$ (a single step at $f_0\\eta_0$) and $f_0 = 1$ (no ramp) are allowed"],
      shown=["Boundaries: step 0, the last warm-up step W - 1, step W, and far beyond the end", "W = 1 and f0 = 1 are allowed"])
def test_warmup_boundaries(student, rng):
    """warmup_lr_at at step 0, the last warm-up step, step W and far beyond, for W = 1, f0 = 1 and random settings"""
    after, _, kind = random_after(rng)
    cosine = {"name": "cosine", "t_max": int(rng.integers(2, 12)), "eta_min": float(rng.uniform(1e-3, 1e-2))}
    settings = [(int(rng.integers(2, 12)), float(rng.uniform(0.05, 0.9)), after, f"warm-up then {kind}"),
                (int(rng.integers(3, 9)), float(rng.uniform(0.05, 0.9)), cosine, "warm-up then cosine past t_max"),
                (1, float(rng.uniform(0.05, 0.9)), after, "a single warm-up step (W = 1)"),
                (int(rng.integers(2, 9)), 1.0, {"name": "exponential", "gamma": float(rng.uniform(0.8, 0.99))},
                 "start factor 1 (no ramp)")]
    points = []
    for W, f0, a, case in settings:
        base = float(10 ** rng.uniform(-3, 0))
        schedule = {"name": "warmup", "base_lr": base, "warmup_steps": W, "start_factor": f0, "after": dict(a)}
        far = W + 3 * a.get("t_max", 10) + 1     # past t_max, off the cosine's minima and maxima
        points += [(schedule, t, f"{case}, at {where}")
                   for t, where in [(0, "step 0"), (W - 1, "the last warm-up step W - 1"), (W, "step W"),
                                    (W + 1, "step W + 1"), (far, "far beyond the end of the warm-up")]]
    # every point of every setting in one request
    for (schedule, t, case), got in zip(points, student.call_each("warmup_lr_at", [pt[:2] for pt in points])):
        got = expect_float(got, "warmup_lr_at")
        expect_close(got, warmup_formula(schedule, t), "warmup_lr_at", case,
                     rtol=LR_RTOL, atol=LR_ATOL * schedule["base_lr"])


@part("warmup", states=["Neither dict is modified"], shown="warmup_lr_at modified the 'after' dict")
def test_warmup_leaves_its_dicts_alone(student, rng):
    """warmup_lr_at does not modify the schedule or its 'after' dict"""
    after, _, _ = random_after(rng)
    schedule = {"name": "warmup", "base_lr": 0.3, "warmup_steps": 3, "start_factor": 0.2, "after": dict(after)}
    for t in (1, 5):
        _, args_after = student.call_keeping_args("warmup_lr_at", schedule, t)
        expect_unchanged([schedule, t], args_after, "warmup_lr_at")


# -- cyclical schedules, warm restarts, one-cycle --------------------------------------------------
def random_cyclic(rng, kind, mult=None, asymmetric=False):
    """(schedule dict, torch factory, case name, boundary steps, n) of a random cyclical or SGDR schedule;
    `mult` fixes SGDR's T_mult, `asymmetric` asks for a triangle with d != u."""
    if kind in ("triangular", "triangular2"):
        base = float(10 ** rng.uniform(-5, -2))
        peak = base * float(rng.uniform(2.0, 200.0))
        up = int(rng.integers(1, 12))
        down = int(rng.integers(1, 12)) if rng.uniform() < 0.7 else None
        if asymmetric:
            down = up + int(rng.integers(1, 10)) if rng.uniform() < 0.5 or up == 1 else int(rng.integers(1, up))
        schedule = {"name": kind, "base_lr": base, "max_lr": peak, "step_size_up": up}
        if down is not None:
            schedule["step_size_down"] = down
        d = up if down is None else down

        def make(o):
            return S.CyclicLR(o, base, peak, step_size_up=up, step_size_down=down, mode=kind, cycle_momentum=False)
        c = up + d
        bounds = [j * c + k for j in range(4) for k in (up - 1, up, up + 1, c - 1, c, c + 1)]
        return schedule, make, f"{kind}, {up} steps up and {d} down", bounds, 4 * c + int(rng.integers(1, 8))
    t0 = int(rng.integers(1, 12))
    mult = int(rng.choice([1, 1, 2, 3])) if mult is None else mult
    eta_min = float(rng.choice([0.0, float(rng.uniform(1e-5, 1e-3))]))
    base = float(10 ** rng.uniform(-3, 0))
    schedule = {"name": "sgdr", "base_lr": base, "t_0": t0, "t_mult": mult, "eta_min": eta_min}
    restarts, period, t = [], t0, 0
    while len(restarts) < 4:
        t += period
        restarts.append(t)
        period *= mult
    bounds = [r + k for r in restarts for k in (-1, 0, 1)]
    n = min(restarts[-1] + int(rng.integers(2, 10)), 400)
    return (schedule, lambda o: S.CosineAnnealingWarmRestarts(o, T_0=t0, T_mult=mult, eta_min=eta_min),
            f"warm restarts with T_0 = {t0}, T_mult = {mult}", bounds, n)


def steps_around(rng, n, bounds):
    """0, 1, the given boundary steps, the last step and a few random others, all in 0 .. n-1."""
    steps = {0, 1, n - 1} | {int(b) for b in bounds} | {int(t) for t in rng.choice(n, size=min(n, 6), replace=False)}
    return np.array(sorted(t for t in steps if 0 <= t < n))


@part("cyclic",
      states=["triangular : base_lr + (max_lr - base_lr) * s", "triangular2: base_lr + (max_lr - base_lr) * s / 2 ** (step // c)",
              "s = p / u if p <= u else (c - p) / d",
              "eta_min + (eta_0 - eta_min) * (1 + cos(pi * t_cur / T_i)) / 2",
              "periods of T_0, T_0 * t_mult, T_0 * t_mult ** 2, ... steps",
              "every peak and restart among them, within a relative tolerance of $10^{-10}$"],
      shown=["Whole sequences against torch", "triangular2: cycle 0 full, cycle 1 half, cycle 2 a quarter",
             "sgdr, T_0 = 2, T_mult = 2"])
def test_cyclic_matches_torch(student, ref, rng):
    """cyclic_lr_at gives the learning rates of CyclicLR (triangular, triangular2) and CosineAnnealingWarmRestarts"""
    for trial, kind in enumerate(["triangular", "triangular2", "sgdr", "sgdr", "triangular", "triangular2", "sgdr"]):
        mult = {2: 1, 3: int(rng.integers(2, 4))}.get(trial)       # SGDR: once T_mult = 1, once T_mult > 1
        schedule, make, case, bounds, n = random_cyclic(rng, kind, mult, asymmetric=trial < 2)
        steps = steps_around(rng, n, bounds)
        got = lr_sequence(student, "cyclic_lr_at", schedule, steps, case)
        base = schedule["base_lr"]
        expect_close(got, torch_lrs(make, n, base)[steps], "cyclic_lr_at", case, rtol=LR_RTOL, atol=LR_ATOL * base)
        expect_close(got, [ref.cyclic_lr_at(schedule, int(t)) for t in steps], "cyclic_lr_at", case,
                     rtol=LR_RTOL, atol=LR_ATOL * base)


@part("cyclic",
      states=["`step_size_down` defaults to `step_size_up`", "`t_mult` defaults to 1, `eta_min` to 0",
              "An unknown name raises a `ValueError` whose message contains the unknown name",
              "The dict is not modified"],
      shown=["step_size_down defaults to step_size_up", "t_mult and eta_min omitted", "An unknown name: a ValueError whose message contains the unknown name",
             "cyclic_lr_at modified its schedule dict"])
def test_cyclic_defaults_errors_and_purity(student, rng):
    """cyclic_lr_at's defaults (symmetric triangle, T_mult 1, eta_min 0), its ValueError naming an unknown name, a dict left alone"""
    up = int(rng.integers(2, 10))
    base = float(10 ** rng.uniform(-4, -2))
    peak = base * float(rng.uniform(3, 50))
    mode = ["triangular", "triangular2"][int(rng.integers(0, 2))]
    tri = {"name": mode, "base_lr": base, "max_lr": peak, "step_size_up": up}
    n = 5 * up + 3
    steps = steps_around(rng, n, [j * up + k for j in range(1, 5) for k in (-1, 0, 1)])
    got = lr_sequence(student, "cyclic_lr_at", tri, steps, "without step_size_down")
    want = torch_lrs(lambda o: S.CyclicLR(o, base, peak, step_size_up=up, mode=mode, cycle_momentum=False), n, base)
    expect_close(got, want[steps], "cyclic_lr_at", f"{mode} without step_size_down (symmetric cycle)",
                 rtol=LR_RTOL, atol=LR_ATOL * base)
    t0 = int(rng.integers(2, 9))
    sgdr = {"name": "sgdr", "base_lr": base, "t_0": t0}
    n = 4 * t0 + 2
    steps = steps_around(rng, n, [j * t0 + k for j in range(1, 4) for k in (-1, 0, 1)])
    got = lr_sequence(student, "cyclic_lr_at", sgdr, steps, "sgdr with only t_0")
    expect_close(got, torch_lrs(lambda o: S.CosineAnnealingWarmRestarts(o, T_0=t0), n, base)[steps], "cyclic_lr_at",
                 "sgdr without t_mult and eta_min (defaults 1 and 0)", rtol=LR_RTOL, atol=1e-16)
    for sched in (tri, sgdr, {"name": "triangular", "base_lr": base, "max_lr": peak, "step_size_up": up,
                              "step_size_down": up + 2}):
        t = int(rng.integers(0, 3 * up))
        _, after = student.call_keeping_args("cyclic_lr_at", sched, t)
        expect_unchanged([sched, t], after, "cyclic_lr_at")
    unknown = ["exp_range", "cosine_restarts", "triangle", "one_cycle"][int(rng.integers(0, 4))]
    try:
        student.cyclic_lr_at({"name": unknown, "base_lr": 0.1, "max_lr": 1.0, "step_size_up": 3}, 2)
    except StudentRaised as err:
        if err.type_name != "ValueError":
            raise CheckFailure(f"cyclic_lr_at with an unknown schedule name raised {err.type_name}; expected a ValueError")
        if unknown not in err.message:
            raise CheckFailure("cyclic_lr_at with an unknown schedule name raised a ValueError whose message does not "
                               "contain the unknown name; put the name in the message")
        return
    raise CheckFailure("cyclic_lr_at with an unknown schedule name returned normally; expected a ValueError")


def random_one_cycle(rng, strategy, integer_peak=False):
    """(schedule dict, torch factory, case name, T, peak step q) with 1 < pct_start * T < T."""
    T = int(rng.integers(8, 160))
    if integer_peak:
        pct = int(rng.integers(2, T)) / T
    else:
        pct = float(rng.uniform(max(0.02, 1.5 / T), 0.95))
    peak = float(10 ** rng.uniform(-4, 0))
    div, fdiv = float(rng.uniform(2, 60)), float(10 ** rng.uniform(0, 5))
    schedule = {"max_lr": peak, "total_steps": T, "pct_start": pct, "anneal_strategy": strategy,
                "div_factor": div, "final_div_factor": fdiv}

    def make(o):
        return S.OneCycleLR(o, max_lr=peak, total_steps=T, pct_start=pct, anneal_strategy=strategy, div_factor=div,
                            final_div_factor=fdiv, three_phase=False, cycle_momentum=False)
    return schedule, make, f"{strategy} one-cycle over {T} steps", T, pct * T - 1.0


@part("one_cycle",
      states=["start = max_lr / div_factor, end = start / final_div_factor, peak step q = pct_start * T - 1",
              "anneal(start, max_lr, step / q) for step <= q, else anneal(max_lr, end, (step - q) / (T - 1 - q))",
              "cos: anneal(a, b, f) = b + (a - b) * (1 + cos(pi * f)) / 2;  linear: a + (b - a) * f",
              "both sides of the peak and the last step among them, within a relative tolerance of $10^{-10}$"],
      shown=["Whole sequences against torch's OneCycleLR", "A peak step that is not an integer",
             "linear one-cycle: start, ramp, peak, first annealing step, end"])
def test_one_cycle_matches_torch(student, ref, rng):
    """one_cycle_lr_at gives OneCycleLR's learning rates, cos and linear, integer and fractional peak steps"""
    for trial, strategy in enumerate(["cos", "linear", "cos", "linear", "cos", "linear"]):
        schedule, make, case, T, q = random_one_cycle(rng, strategy, integer_peak=trial >= 4)
        fq = int(np.floor(q))
        steps = steps_around(rng, T, [fq - 1, fq, fq + 1, fq + 2, T - 2])
        got = lr_sequence(student, "one_cycle_lr_at", schedule, steps, case)
        peak = schedule["max_lr"]
        expect_close(got, torch_lrs(make, T, peak)[steps], "one_cycle_lr_at", case, rtol=LR_RTOL, atol=LR_ATOL * peak)
        expect_close(got, [ref.one_cycle_lr_at(schedule, int(t)) for t in steps], "one_cycle_lr_at", case,
                     rtol=LR_RTOL, atol=LR_ATOL * peak)


@part("one_cycle",
      states=["every key but the first two may be missing and then takes torch's default: `pct_start` 0.3, "
              "`anneal_strategy` `\"cos\"`, `div_factor` 25, `final_div_factor` $10^4$"],
      shown="one of them with torch's defaults (only max_lr and T given)")
def test_one_cycle_defaults(student, rng):
    """one_cycle_lr_at takes torch's defaults for every key that is missing"""
    optional = {"pct_start": float(rng.uniform(0.1, 0.6)), "anneal_strategy": "linear",
                "div_factor": float(rng.uniform(3, 50)), "final_div_factor": float(10 ** rng.uniform(1, 4))}
    for trial in range(4):
        T = int(rng.integers(20, 120))
        peak = float(10 ** rng.uniform(-3, 0))
        keep = [k for k in optional if rng.uniform() < 0.5] if trial else []
        schedule = {"max_lr": peak, "total_steps": T, **{k: optional[k] for k in keep}}
        kwargs = {k: optional[k] for k in keep}
        missing = [k for k in optional if k not in keep]
        case = "only max_lr and total_steps given" if not keep else "without " + ", ".join(missing) if missing else "all keys given"

        def make(o, peak=peak, T=T, kwargs=kwargs):
            return S.OneCycleLR(o, max_lr=peak, total_steps=T, cycle_momentum=False, **kwargs)
        q = schedule.get("pct_start", 0.3) * T - 1
        steps = steps_around(rng, T, [int(q), int(q) + 1, T - 2])
        got = lr_sequence(student, "one_cycle_lr_at", schedule, steps, case)
        expect_close(got, torch_lrs(make, T, peak)[steps], "one_cycle_lr_at", case, rtol=LR_RTOL, atol=LR_ATOL * peak)


@part("one_cycle",
      states=["a step $t \\ge T$ raises a `ValueError`",
              "an `anneal_strategy` other than `\"cos\"` and `\"linear\"`, with the unknown strategy in its message",
              "The dict is not modified"],
      shown=["a step past the end, an unknown strategy", "one_cycle_lr_at modified its schedule dict"])
def test_one_cycle_errors_and_purity(student, rng):
    """one_cycle_lr_at raises a ValueError past the last step and for an unknown strategy, and leaves its dict alone"""
    schedule, _, _, T, _ = random_one_cycle(rng, ["cos", "linear"][int(rng.integers(0, 2))])
    bare = {"max_lr": schedule["max_lr"], "total_steps": T}     # the defaults must not be written into it
    for sched, t in ((schedule, 0), (schedule, T - 1), (bare, int(rng.integers(0, T)))):
        _, after = student.call_keeping_args("one_cycle_lr_at", sched, t)
        expect_unchanged([sched, t], after, "one_cycle_lr_at")
    for t, where in [(T, "step = total_steps"), (T + int(rng.integers(1, 50)), "a step beyond total_steps")]:
        try:
            student.one_cycle_lr_at(schedule, t)
        except StudentRaised as err:
            if err.type_name != "ValueError":
                raise CheckFailure(f"one_cycle_lr_at at {where} raised {err.type_name}; expected a ValueError")
            continue
        raise CheckFailure(f"one_cycle_lr_at at {where} returned normally; expected a ValueError "
                           "(the schedule has one learning rate per step, 0 <= step < total_steps)")
    unknown = ["exp", "cosine", "step", "lin"][int(rng.integers(0, 4))]
    try:
        student.one_cycle_lr_at(dict(schedule, anneal_strategy=unknown), int(rng.integers(0, T)))
    except StudentRaised as err:
        if err.type_name != "ValueError":
            raise CheckFailure(f"one_cycle_lr_at with an unknown anneal_strategy raised {err.type_name}; expected a ValueError")
        if unknown not in err.message:
            raise CheckFailure("one_cycle_lr_at with an unknown anneal_strategy raised a ValueError whose message does "
                               "not contain the strategy; put it in the message")
        return
    raise CheckFailure("one_cycle_lr_at with an unknown anneal_strategy returned normally; expected a ValueError")


# -- Newton -------------------------------------------------------------------------------------
def random_symmetric(rng, n, eigenvalues):
    q, r = np.linalg.qr(rng.normal(size=(n, n)))
    q = q * np.sign(np.diag(r))
    return (q * eigenvalues) @ q.T, q


@part("newton",
      states=["for condition numbers up to $10^3$ the step matches the exact solution within a relative tolerance of $10^{-8}$",
              "positive definite or indefinite"],
      shown="By hand: H = diag(2, 4)")
def test_newton_step_solves_the_system(student, ref, rng):
    """newton_step returns the solution of H step = -g, for positive definite and indefinite H"""
    systems = []
    for trial in range(6):
        n = int(rng.integers(1, 10))
        mags = 10 ** rng.uniform(-1.5, 1.5, size=n)
        signs = np.ones(n) if trial < 3 else rng.choice([-1.0, 1.0], size=n)
        H, _ = random_symmetric(rng, n, signs * mags)
        systems.append((rng.normal(0, 3, size=n), H))
    # every system in one request
    for trial, ((g, H), step) in enumerate(zip(systems, student.call_each("newton_step", systems))):
        n = len(g)
        case = "positive definite Hessian" if trial < 3 else "indefinite Hessian"
        step = expect_array(step, (n,), "newton_step")
        expect_close(step, np.linalg.solve(H, -g), "newton_step", case, rtol=LIN_RTOL, atol=1e-12)
        expect_close(step, ref.newton_step(g, H), "newton_step", case, rtol=LIN_RTOL, atol=1e-12)


@part("newton", states=["Neither input is modified"], shown="newton_step modified its inputs")
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


@part("newton",
      states=["||hess @ step + grad|| <= 1e-12 * (||hess||_2 ||step|| + ||grad||), even for condition number 1e12",
              "forming the inverse of hess does not meet this"],
      shown="The residual on an ill-conditioned, indefinite system (condition number 1e12)")
def test_newton_step_residual_on_ill_conditioned_systems(student, rng):
    """newton_step keeps the residual of H step = -g small for condition number 1e12 (solve, do not invert)"""
    # A backward-stable solve leaves a relative residual near 1e-16; inv(H) @ g, with g along the
    # eigenvectors of the large eigenvalues, leaves 1e-9 or more (measured over hundreds of systems).
    systems = []
    for trial in range(4):
        n = int(rng.integers(3, 10))
        eig = np.geomspace(1e-12, 1.0, n) * float(10 ** rng.uniform(-3, 3))
        if trial % 2:
            eig = eig * rng.choice([-1.0, 1.0], size=n)
        H, Q = random_symmetric(rng, n, eig)
        H = (H + H.T) / 2
        g = Q[:, -1] * float(rng.uniform(0.5, 5.0)) * float(rng.choice([-1.0, 1.0]))   # along the top eigenvector
        systems.append((g, H))
    # every system in one request
    for trial, ((g, H), step) in enumerate(zip(systems, student.call_each("newton_step", systems))):
        case = ("indefinite" if trial % 2 else "positive definite") + " Hessian with condition number 1e12"
        step = expect_array(step, (len(g),), "newton_step")
        if not np.all(np.isfinite(step)):
            raise CheckFailure(f"newton_step, {case}: the step contains inf or NaN")
        res = float(np.linalg.norm(H @ step + g))
        bound = 1e-12 * (float(np.linalg.norm(H, 2)) * float(np.linalg.norm(step)) + float(np.linalg.norm(g)))
        if not res <= bound:
            raise CheckFailure(f"newton_step, {case}: the residual ||H step + g|| is {res / bound * 1e-12:.1e} "
                               "relative to ||H|| ||step|| + ||g||, above 1e-12; solve the linear system "
                               "(np.linalg.solve) instead of forming the inverse of H")


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


@part("lbfgs",
      states=["The check cell compares your two-loop result with that explicit matrix, an independent oracle (relative tolerance $10^{-8}$)",
              "uses every pair it is given", "1, 5 or 20 alike"],
      shown=["the two-loop result equals -B g for the explicit BFGS B", "every pair given is used: 20 pairs too"])
def test_lbfgs_matches_explicit_bfgs(student, ref, rng):
    """lbfgs_direction equals -B g for the explicit BFGS matrix built from the same pairs, short and long histories"""
    histories = []
    for trial in range(8):
        n = int(rng.integers(2, 12))
        m = int(rng.integers(1, 8)) if trial < 6 else int(rng.integers(12, 25))   # always two long histories
        varying = trial % 2 == 1
        s_list, y_list = secant_pairs(rng, n, m, varying)
        histories.append((rng.normal(0, 2, size=n), s_list, y_list))
    # every history in one request
    for trial, ((g, s_list, y_list), d) in enumerate(zip(histories, student.call_each("lbfgs_direction", histories))):
        n, m, varying = len(g), len(s_list), trial % 2 == 1
        case = f"{m} pair{'s' if m > 1 else ''} from {'a different curvature each' if varying else 'one quadratic'}"
        d = expect_array(d, (n,), "lbfgs_direction")
        want = -bfgs_matrix(s_list, y_list) @ g
        scale = float(np.abs(want).max())
        expect_close(d, want, "lbfgs_direction vs the explicit BFGS matrix", case, rtol=LIN_RTOL, atol=1e-10 * scale)
        expect_close(d, ref.lbfgs_direction(g, s_list, y_list), "lbfgs_direction", case,
                     rtol=LIN_RTOL, atol=1e-10 * scale)


@part("lbfgs",
      states=["with an **empty history** ($m = 0$) the direction is $-g$",
              "It **modifies neither `grad` nor the lists** (nor the arrays in them)"],
      shown=["An empty history (no pairs): steepest descent", "neither grad nor the lists are modified",
             "secant condition B y = s for the newest pair"])
def test_lbfgs_no_pairs_secant_and_purity(student, rng):
    """lbfgs_direction is -g without pairs, satisfies the newest secant condition, and leaves every input alone"""
    n = int(rng.integers(2, 10))
    g = rng.normal(size=n)
    d, after = student.call_keeping_args("lbfgs_direction", g, [], [])
    expect_unchanged([g, [], []], after, "lbfgs_direction")
    d = expect_array(d, (n,), "lbfgs_direction")
    expect_close(d, -g, "lbfgs_direction", "an empty history (steepest descent)", rtol=1e-15, atol=0)
    s_list, y_list = secant_pairs(rng, n, int(rng.integers(2, 6)), True)
    out, after = student.call_keeping_args("lbfgs_direction", y_list[-1].copy(), s_list, y_list)
    expect_close(-expect_array(out, (n,), "lbfgs_direction"), s_list[-1], "B y for the newest pair",
                 "secant condition B y = s", rtol=LIN_RTOL, atol=1e-10 * float(np.abs(s_list[-1]).max()))
    expect_unchanged([y_list[-1], s_list, y_list], after, "lbfgs_direction")
    g = rng.normal(size=n)
    s_list, y_list = secant_pairs(rng, n, int(rng.integers(3, 8)), False)
    _, after = student.call_keeping_args("lbfgs_direction", g, s_list, y_list)
    expect_unchanged([g, s_list, y_list], after, "lbfgs_direction")


# -- critical points --------------------------------------------------------------------------------
def expect_classified(got, after, args, want, case):
    expect_unchanged(list(args), after, "classify_critical_point")
    if not isinstance(got, str):
        raise CheckFailure(f"classify_critical_point returned {type(got).__name__}; expected a string")
    if got != want:
        raise CheckFailure(f"classify_critical_point, {case}: returned {got!r}, expected {want!r}")


def classify(student, H, want, case, tol=None):
    args = (H,) if tol is None else (H, tol)
    got, after = student.call_keeping_args("classify_critical_point", *args)
    expect_classified(got, after, args, want, case)


def classify_all(student, cases):
    """cases: [(H, want, case)] or [(H, want, case, tol)], every call in one request."""
    calls = [(c[0],) if len(c) == 3 else (c[0], c[3]) for c in cases]
    replies = student.observe_each("classify_critical_point", calls)
    for args, (_, want, case, *_), (got, after, _) in zip(calls, cases, replies):
        expect_classified(got, after, args, want, case)


@part("critical_point",
      states=['"saddle"     at least one > 0 and at least one < 0 (zeros allowed)',
              '"degenerate" otherwise (no eigenvalue of one sign, at least one zero; e.g. H = 0)',
              "the Hessian you are given is not modified"],
      shown=["Rotated Hessians: the diagonal entries are no evidence, the eigenvalues are",
             "The Hessian is not modified"])
def test_classify_random_rotated_hessians(student, rng):
    """classify_critical_point reads the eigenvalues of rotated Hessians, with the stated tolerance"""
    hessians = []
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
            hessians.append((H, want, f"{case} (rotated)"))
    classify_all(student, hessians)


@part("critical_point", states=["e.g. H = 0"], shown="By hand: the Hessians of x^2 + y^2")
def test_classify_edge_cases(student, rng):
    """classify_critical_point handles the zero matrix, 1 x 1 Hessians and diagonal ones"""
    n = int(rng.integers(2, 6))
    classify(student, np.zeros((n, n)), "degenerate", "the zero matrix")
    classify(student, np.zeros((1, 1)), "degenerate", "the 1 x 1 zero matrix")
    classify(student, np.array([[float(rng.uniform(0.1, 5))]]), "minimum", "a 1 x 1 positive Hessian")
    classify(student, np.array([[-float(rng.uniform(0.1, 5))]]), "maximum", "a 1 x 1 negative Hessian")
    # Diagonal entries all positive, eigenvalues not: [[1, 2], [2, 1]] has eigenvalues 3 and -1.
    a = float(rng.uniform(0.5, 2))
    classify(student, np.array([[a, 2 * a], [2 * a, a]]), "saddle", "positive diagonal but indefinite")


@part("critical_point",
      states=["counts as **zero when $|\\lambda_i| \\le \\texttt{tol}\\cdot\\max(1, \\max_j |\\lambda_j|)$**",
              "It is **relative** to the largest magnitude when that exceeds 1",
              "and **absolute** below 1", "an eigenvalue exactly at the threshold counts as zero",
              "Use the `tol` you are given"],
      shown=["The tolerance across scales: relative to the largest magnitude above 1, absolute below 1",
             "the tol argument is used", "an eigenvalue exactly at the threshold counts as zero"])
def test_classify_tolerance_across_scales(student, rng):
    """classify_critical_point applies tol * max(1, max |lambda|): relative above 1, absolute below, <= at the threshold"""
    n = int(rng.integers(3, 7))
    sign = float(rng.choice([-1.0, 1.0]))
    extreme = "minimum" if sign > 0 else "maximum"
    # Large scale: the largest magnitude is 1e4 .. 1e8; one eigenvalue far above 1e-8 in absolute terms
    # but below tol * max |lambda|: zero under the stated (relative) rule.
    big = float(10 ** rng.uniform(4, 8))
    eig = sign * np.concatenate([[big], big * rng.uniform(0.1, 1, size=n - 2), [big * 1e-8 * float(rng.uniform(0.01, 0.5))]])
    H, _ = random_symmetric(rng, n, eig)
    hessians = [((H + H.T) / 2, "degenerate", "large eigenvalues with one below tol * max |lambda| (relative rule)")]
    # Small scale: the largest magnitude is 1e-6 .. 1e-2, one eigenvalue below 1e-8 (absolute rule) but far
    # above tol * max |lambda|.
    small = float(10 ** rng.uniform(-6, -2))
    eig = sign * np.concatenate([[small], small * rng.uniform(0.1, 1, size=n - 2), [1e-8 * float(rng.uniform(0.05, 0.5))]])
    H, _ = random_symmetric(rng, n, eig)
    hessians.append(((H + H.T) / 2, "degenerate", "small eigenvalues with one below tol (absolute rule below 1)"))
    # Every eigenvalue below 1e-8 in magnitude: all count as zero.
    eig = sign * 1e-8 * rng.uniform(0.05, 0.9, size=n)
    H, _ = random_symmetric(rng, n, eig)
    hessians.append(((H + H.T) / 2, "degenerate", "every eigenvalue below tol (all zero)"))
    # Small but clearly non-zero eigenvalues: a minimum or maximum (a purely absolute tol * max |lambda| would agree,
    # a tolerance of 1e-8 scaled up would not).
    eig = sign * small * rng.uniform(0.1, 1, size=n)
    H, _ = random_symmetric(rng, n, eig)
    hessians.append(((H + H.T) / 2, extreme, "small eigenvalues all of one sign, above tol"))
    # The tol argument: non-default values change the answer.
    eig = sign * np.concatenate([rng.uniform(0.5, 2, size=n - 1), [float(rng.uniform(1e-5, 5e-4))]])
    H, _ = random_symmetric(rng, n, eig)
    H = (H + H.T) / 2
    hessians.append((H, "degenerate", "tol = 1e-3 given (the smallest eigenvalue counts as zero)", 1e-3))
    hessians.append((H, extreme, "tol = 1e-6 given (the smallest eigenvalue is not zero)", 1e-6))
    eig = sign * np.concatenate([rng.uniform(0.5, 2, size=n - 1), [float(rng.uniform(1e-10, 1e-9))]])
    H = np.diag(eig)
    hessians.append((H, extreme, "tol = 1e-12 given (an eigenvalue of about 1e-10 is not zero)", 1e-12))
    # Exactly at the threshold (diagonal: the eigenvalues are exact; powers of two keep tol * max exact).
    top = 2.0 ** int(rng.integers(1, 20))
    for tol in (1e-8, float(rng.choice([1e-6, 1e-4, 1e-10]))):
        d = sign * np.array([top] + [top / 2.0] * (n - 2) + [tol * top])
        hessians.append((np.diag(d[rng.permutation(n)]), "degenerate",
                         "an eigenvalue exactly at the threshold tol * max |lambda| (counts as zero)", tol))
    d = sign * np.array([0.5] * (n - 1) + [1e-8])
    hessians.append((np.diag(d), "degenerate", "an eigenvalue exactly at the threshold tol * 1 (counts as zero)"))
    classify_all(student, hessians)


# -- Hessian-vector products -----------------------------------------------------------------------
def torch_hvp(X, y, w, v, reg):
    Xt = torch.from_numpy(X)
    wt = torch.tensor(w, requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(Xt @ wt, torch.tensor(y, dtype=torch.float64)) + 0.5 * reg * (wt ** 2).sum()
    (g,) = torch.autograd.grad(loss, wt, create_graph=True)
    (hv,) = torch.autograd.grad(g @ torch.from_numpy(v), wt)
    return hv.numpy()


@part("hvp",
      states=["H = X.T @ diag(p * (1 - p)) @ X / N + reg * I and p = sigmoid(X @ w)",
              "within $|\\text{error}| \\le 10^{-13} + 10^{-8}\\,\\max_j|\\text{expected}_j|$",
              "`X`, `y`, `w` and `v` are not modified"],
      shown=["Random problems against torch double backward", "logistic_hvp modified X"])
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
        expect_unchanged([X, y, w, v, reg], after, "logistic_hvp")
        hvp_close(hv, torch_hvp(X, y, w, v, reg), "logistic_hvp", case)
        hvp_close(hv, ref.logistic_hvp(X, y, w, v, reg), "logistic_hvp", case)


@part("hvp", states=["`reg` defaults to 0"], shown="default reg = 0")
def test_logistic_hvp_default_reg_and_linearity(student, rng):
    """logistic_hvp defaults to reg = 0, is linear in v, and equals the Hessian built column by column"""
    N, n = int(rng.integers(5, 40)), int(rng.integers(2, 7))
    X, y = rng.normal(size=(N, n)), rng.integers(0, 2, size=N)
    w = rng.normal(size=n)
    v = rng.normal(size=n)
    hvp_close(student.logistic_hvp(X, y, w, v), torch_hvp(X, y, w, v, 0.0), "logistic_hvp", "default reg")
    cols = np.stack([expect_array(student.logistic_hvp(X, y, w, e, 0.3), (n,), "logistic_hvp") for e in np.eye(n)], axis=1)
    p = 1 / (1 + np.exp(-(X @ w)))
    expect_close(cols, (X * (p * (1 - p))[:, None]).T @ X / N + 0.3 * np.eye(n), "Hessian from logistic_hvp columns",
                 "H e_j for every basis vector e_j", rtol=1e-9, atol=1e-13)


@part("hvp",
      states=["The function **never overflows**: no overflow or invalid-value warning and no NaN for logits of any size",
              "the checks raise numpy's overflow warnings as errors"],
      shown=["Whole examples with extreme logits", "overflow warnings as errors, as in the checks"])
def test_logistic_hvp_extreme_examples(student, rng):
    """logistic_hvp never overflows when whole examples have logits in the thousands, positive and negative"""
    N, n = int(rng.integers(6, 30)), int(rng.integers(2, 8))
    X = rng.normal(size=(N, n))
    w, v = rng.normal(size=n), rng.normal(size=n)
    # at least two examples pushed to logits of about +1000 .. +3000 and two to about -3000 .. -1000
    k = int(rng.integers(2, N // 2))
    shift = rng.uniform(1000, 3000, size=2 * k) * np.repeat([1.0, -1.0], k)
    rows = rng.permutation(N)[:2 * k]
    X[rows] += (shift - X[rows] @ w)[:, None] * w / (w @ w)
    y = rng.integers(0, 2, size=N).astype(float)
    reg = float(rng.choice([0.0, float(rng.uniform(0.01, 1.0))]))
    try:
        hv = student.call_strict("logistic_hvp", X, y, w, v, reg)
    except StudentRaised as err:
        if err.type_name == "FloatingPointError":
            raise CheckFailure("logistic_hvp overflowed (numpy's overflow or invalid-value warning, raised as an "
                               "error here) on examples whose logits X @ w are in the thousands; compute the sigmoid "
                               "without exp of a large positive number") from None
        raise
    hv = expect_array(hv, (n,), "logistic_hvp")
    if not np.all(np.isfinite(hv)):
        raise CheckFailure("logistic_hvp returned inf or NaN on examples with logits in the thousands")
    hvp_close(hv, torch_hvp(X, y, w, v, reg), "logistic_hvp", "whole examples with extreme logits")
    _, after = student.call_keeping_args("logistic_hvp", X, y, w, v, reg)
    expect_unchanged([X, y, w, v, reg], after, "logistic_hvp")


# -- power iteration --------------------------------------------------------------------------------
def check_power(student, H, want_lam, want_vec, iters, seed, case):
    n = H.shape[0]
    out, after, seen = student.observe("top_eigenvalue", H, iters, seed)
    expect_unchanged([H, iters, seed], after, "top_eigenvalue")
    expect_rng_untouched(seen, "top_eigenvalue")
    expect_no_alias(seen, "top_eigenvalue")
    lam, v = expect_tuple(out, 2, "top_eigenvalue")
    lam = expect_float(lam, "top_eigenvalue eigenvalue")
    v = expect_array(v, (n,), "top_eigenvalue eigenvector")
    expect_close(lam, want_lam, "top_eigenvalue eigenvalue", case, rtol=EIG_RTOL, atol=1e-12)
    expect_close(np.linalg.norm(v), 1.0, "norm of the eigenvector", case, rtol=1e-10, atol=0)
    expect_close(abs(float(v @ want_vec)), 1.0, "|cos| between the eigenvector and the true one", case,
                 rtol=1e-8, atol=0)


def power_recipe(H, iters, seed):
    """The stated recipe: v_0 from the seed, then iters updates. Returns (v_{iters}, both readings of lam)."""
    x = np.random.default_rng(seed).standard_normal(H.shape[0])
    v = x / np.linalg.norm(x)
    before = 0.0
    for _ in range(iters):
        h = H @ v
        before = float(v @ h)
        v = h / np.linalg.norm(h)
    return v, (before, float(v @ (H @ v)))


@part("power_iteration",
      states=["Return $\\lambda$, a Python float **with its sign**", "a new array of norm 1",
              "$H$ is not modified"],
      shown=["A dominant NEGATIVE eigenvalue keeps its sign", "norm of the eigenvector"])
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


@part("power_iteration",
      states=["Never start from a fixed vector such as all ones",
              "the global random state is not touched, and the same seed gives the same result"],
      shown=["A matrix for which the all-ones vector is an eigenvector of a SMALL eigenvalue",
             "top_eigenvalue touched numpy's global random state"])
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


@part("power_iteration",
      states=["Start from $x$ = `np.random.default_rng(seed).standard_normal(n)` and $v = x/\\|x\\|$",
              "$\\lambda$ is $v^\\top H v$ for the unit vector *before* the last multiplication",
              "the checks accept either value, and both must come with exactly this $v$",
              "with the defaults `iters = 100`, `seed = 0`"],
      shown=["The recipe step by step: after iters = 2 updates from the seeded start",
             "The defaults (iters = 100, seed = 0) give the same as passing them"])
def test_top_eigenvalue_follows_the_recipe(student, rng):
    """top_eigenvalue after 1, 2 and 3 updates and with the defaults: the seeded start, v after the last update,
    lam of the vector before it (or of the returned one)"""
    n = int(rng.integers(3, 9))
    H, _ = random_symmetric(rng, n, rng.uniform(-1, 1, size=n) * float(10 ** rng.uniform(-1, 1)))
    H = (H + H.T) / 2
    runs = [(iters, int(rng.integers(0, 10_000))) for iters in (1, 2, 3)] + [(None, None)]
    for iters, seed in runs:
        case = "with the defaults (iters = 100, seed = 0)" if iters is None else f"after {iters} update(s) from the seeded start"
        if iters is None:
            # eigenvalues within 0.95 .. 0.99 of the top one in magnitude: after 100 updates v still
            # depends on the start in every slow direction, so another default seed or count shows.
            slow = rng.uniform(0.95, 0.99, size=n - 1) * rng.choice([-1.0, 1.0], size=n - 1)
            H, _ = random_symmetric(rng, n, np.concatenate([[1.0], slow]) * float(10 ** rng.uniform(-1, 1)))
            H = (H + H.T) / 2
            out, after, seen = student.observe("top_eigenvalue", H)
            iters, seed = 100, 0
        else:
            out, after, seen = student.observe("top_eigenvalue", H, iters, seed)
        expect_rng_untouched(seen, "top_eigenvalue")
        lam, v = expect_tuple(out, 2, "top_eigenvalue")
        lam = expect_float(lam, "top_eigenvalue eigenvalue")
        want_v, readings = power_recipe(H, iters, seed)
        expect_close(expect_array(v, (n,), "top_eigenvalue eigenvector"), want_v, "top_eigenvalue eigenvector",
                     case, rtol=EIG_RTOL, atol=1e-12)
        scale = float(np.abs(H).max())
        if not any(abs(lam - r) <= EIG_RTOL * abs(r) + 1e-13 * scale for r in readings):
            raise CheckFailure(f"top_eigenvalue eigenvalue, {case}: neither the Rayleigh quotient of the unit vector "
                               "before the last multiplication nor that of the returned vector; check the start "
                               "vector, the number of updates and which vector the quotient uses")
    a = student.top_eigenvalue(H, 5, runs[0][1])
    b = student.top_eigenvalue(H, 5, runs[0][1])
    if expect_float(a[0], "top_eigenvalue eigenvalue") != expect_float(b[0], "top_eigenvalue eigenvalue") \
            or not np.array_equal(expect_array(a[1], (n,), "top_eigenvalue eigenvector"), b[1]):
        raise CheckFailure("top_eigenvalue gave two different results for the same seed")


@part("power_iteration",
      states=["If $h$ is exactly 0 (for instance $H = 0$), stop and return $(0.0, v)$ with the current unit vector $v$: no division by zero, no NaN"],
      shown="H = 0: h is exactly 0, so (0.0, v) with the current unit vector: no NaN")
def test_top_eigenvalue_zero_matrix(student, rng):
    """top_eigenvalue of the zero matrix is (0.0, the seeded unit start vector), with no NaN"""
    n = int(rng.integers(2, 8))
    seed, iters = int(rng.integers(0, 10_000)), int(rng.integers(1, 6))
    lam, v = expect_tuple(student.top_eigenvalue(np.zeros((n, n)), iters, seed), 2, "top_eigenvalue")
    lam = expect_float(lam, "top_eigenvalue eigenvalue")
    v = expect_array(v, (n,), "top_eigenvalue eigenvector")
    if lam != 0.0 or not np.all(np.isfinite(v)):
        raise CheckFailure("top_eigenvalue of the zero matrix: expected (0.0, the current unit vector) with no NaN")
    x = np.random.default_rng(seed).standard_normal(n)
    expect_close(v, x / np.linalg.norm(x), "top_eigenvalue eigenvector", "the zero matrix (the current unit vector)",
                 rtol=1e-12, atol=1e-15)


# -- clipping -------------------------------------------------------------------------------------
def torch_clip(grads, max_norm):
    params = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, g in zip(params, grads):
        p.grad = torch.from_numpy(np.array(g))
    total = torch.nn.utils.clip_grad_norm_(params, max_norm)
    return [p.grad.numpy() for p in params], float(total)


def check_clip(student, grads, max_norm, case, want=None):
    out, after, seen = student.observe("clip_grad_norm", grads, max_norm)
    expect_unchanged([grads, max_norm], after, "clip_grad_norm")
    expect_no_alias(seen, "clip_grad_norm")
    clipped, total = expect_tuple(out, 2, "clip_grad_norm")
    want, want_total = torch_clip(grads, max_norm) if want is None else want
    expect_close(expect_float(total, "clip_grad_norm total_norm"), want_total, "clip_grad_norm total_norm", case,
                 rtol=CLIP_RTOL, atol=CLIP_ATOL)
    if not isinstance(clipped, (list, tuple)) or len(clipped) != len(grads):
        raise CheckFailure("clip_grad_norm must return a list with one clipped array per gradient")
    for k, (c, w) in enumerate(zip(clipped, want)):
        expect_close(c, w, f"clip_grad_norm clipped gradient {k + 1}", case, rtol=CLIP_RTOL, atol=CLIP_ATOL)


@part("clip",
      states=["the norm is taken over **all** tensors at once", "within a relative tolerance of $10^{-12}$",
              "the function returns the total norm **before** clipping", "clip **by norm, not by value**",
              "Ours does not modify its inputs"],
      shown=["Random lists against torch, above and below the threshold; inputs unchanged"])
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


@part("clip",
      states=["all-zero gradients stay zero, with total norm 0.0 (no NaN)", "`max_norm` is any float $c > 0$",
              "the factor is never above 1 (a small gradient is never scaled up)"],
      shown=["zeros give zeros, no NaN", "for max_norm in [0.5, 5.0, 100.0]"])
def test_clip_edge_cases(student, rng):
    """clip_grad_norm handles zero gradients, one tensor, and a norm just above the threshold"""
    shape = (int(rng.integers(1, 5)), int(rng.integers(1, 5)))
    check_clip(student, [np.zeros(shape), np.zeros(3)], 1.0, "all-zero gradients")
    check_clip(student, [np.zeros(shape)], float(10 ** rng.uniform(-3, 3)), "all-zero gradients, another max_norm")
    g = rng.normal(size=shape)
    check_clip(student, [g], float(rng.uniform(0.1, 0.5)), "a single tensor")
    grads = [rng.normal(size=shape), rng.normal(size=4)]
    total = float(np.sqrt(sum(np.sum(x ** 2) for x in grads)))
    check_clip(student, grads, total * (1 - 1e-3), "a norm just above max_norm")
    # wildly different scales between the tensors of one list
    grads = [rng.normal(0, 1e-4, size=shape), rng.normal(0, 1e4, size=3), rng.normal(0, 1.0, size=(2, 2))]
    total = float(np.sqrt(sum(np.sum(x ** 2) for x in grads)))
    check_clip(student, grads, total * float(rng.uniform(0.01, 0.5)), "tensors of wildly different scales")


@part("clip",
      states=["**a norm exactly equal to $c$ is still scaled**, by $c/(c + 10^{-6})$",
              "a gradient is left unchanged exactly when $\\|g\\| + 10^{-6} \\le c$",
              "it **returns new arrays**, never the input arrays themselves, even when nothing is clipped"],
      shown=["A norm exactly equal to max_norm is still scaled", "New arrays, never the inputs themselves"])
def test_clip_threshold_and_new_arrays(student, rng):
    """clip_grad_norm scales a norm exactly at max_norm by c / (c + 1e-6), and returns new arrays when nothing is clipped"""
    # (3, 4) and (12,) times a power of two: the norm 13 * 2^k is exact in floating point.
    scale = 2.0 ** int(rng.integers(-6, 7))
    grads = [np.array([3.0, 4.0]) * scale, np.array([[12.0]]) * scale]
    c = 13.0 * scale
    coef = c / (c + 1e-6)
    check_clip(student, grads, c, "a norm exactly equal to max_norm (still scaled)",
               want=([g * coef for g in grads], c))
    # A norm just below c - 1e-6: unchanged, and returned as new arrays (never the input arrays).
    shape = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    grads = [rng.normal(size=shape), rng.normal(size=int(rng.integers(1, 5)))]
    total = float(np.sqrt(sum(np.sum(x ** 2) for x in grads)))
    check_clip(student, grads, total * float(rng.uniform(1.5, 100)), "nothing to clip (returned as new arrays)")

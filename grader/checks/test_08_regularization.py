"""Hidden checks of notebook 08, regularization and the training recipe.

Shapes, values and hyperparameters are drawn from `rng` at grade time; deterministic results are
compared in float64 against torch (SGD, Adam, AdamW, AveragedModel, autograd) and the reference.
Random functions (dropout, the log-uniform sampler, the fold shuffle) are checked through what the
docstrings promise: exact structure given a seed or a mask, and statistical bounds whose
false-failure probabilities are written next to them (in total below 1e-6 per grading run).
Update rules use the config convention of notebook 06 and torch (keys lr, eps, beta1, beta2,
weight_decay; state absent before the first step) and are also run with a learning rate that changes
between steps. Functions that take a seed are called twice with it and observed for changes of the
global random states. Messages name the case, never the inputs.
"""
import math

import numpy as np
import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from grader.harness import (CheckFailure, expect_array, expect_close, expect_float, expect_no_alias,
                            expect_rng_untouched, expect_tuple, expect_unchanged, expect_writable, part)

# Tolerances (float64): |got - want| <= ATOL + RTOL * |want| entrywise.
RTOL, ATOL = 1e-12, 1e-14            # one or two roundings apart
RTOL_TRAJ, ATOL_TRAJ = 1e-9, 1e-12   # optimizer trajectories of up to 25 steps
RTOL_SCALE = 1e-15                   # x / q versus x * (1 / q): at most one rounding apart
DELTA = 1e-7                         # false-failure probability allowed per statistical bound (<= 8 bounds)


def t(x):
    return torch.from_numpy(np.array(x, dtype=np.float64))


def random_shape(rng):
    return [(int(rng.integers(1, 9)),), (int(rng.integers(1, 6)), int(rng.integers(1, 6))),
            (int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.integers(1, 4)))][int(rng.integers(0, 3))]


def lr_schedule(rng, lr, steps):
    """A learning rate per step that changes between steps: a drop by 10 and two or three other
    changes (factors 0.3 to 3), all after the first step."""
    lrs = np.full(steps, lr)
    at = rng.choice(np.arange(1, steps), size=min(steps - 1, int(rng.integers(3, 5))), replace=False)
    for j, a in enumerate(at):
        lrs[a:] *= 0.1 if j == 0 else float(rng.choice([0.3, 0.5, 2.0, 3.0]))
    return [float(v) for v in lrs]


def expect_fresh(observation, name, args=("argument 1", "argument 2"), within=None):
    """No array of the result (or of its part `within`, e.g. "[0]") shares memory with the listed
    arguments; no read-only result."""
    bad = [(where, arg) for where, arg in observation.aliases
           if arg in args and (within is None or where == within or where.startswith(within + "["))]
    if bad:
        where, arg = bad[0]
        raise CheckFailure(f"{name}: its result{where} shares memory with its {arg} (a view of it or the same "
                           "array); return new arrays and store copies in the config")
    expect_writable(observation, name)


# Contract phrases of the conventions (first cell).
PURE = ["never modify their array inputs", "return new arrays, never views of their inputs"]
LR_CHANGES = ["A caller may change a hyperparameter between two steps of an update rule"]
SEEDED = ["the same seed gives the same result", "the global random state of numpy (np.random.*) and torch is never touched"]


# -- L2 penalty and SGD with weight decay ----------------------------------------------------------
@part("l2_penalty", states=PURE + ["(reg / 2) * sum(w ** 2)", "loss a Python float", "(= reg * w)",
                                   "|error| ≤ 1e-14 + 1e-12 × |expected|"],
      shown=["against torch autograd", "the input is left alone"])
def test_l2_penalty_matches_autograd(student, ref, rng):
    """l2_penalty returns (reg / 2) * sum(w^2) and its gradient, as autograd does"""
    trials = []
    for trial in range(6):
        shape = random_shape(rng)
        w = rng.normal(0, float(rng.choice([0.01, 1.0, 100.0])), size=shape)
        reg = 0.0 if trial == 0 else float(10 ** rng.uniform(-4, 1))
        trials.append((w, reg))
    for (w, reg), (result, after, seen) in zip(trials, student.observe_each("l2_penalty", trials)):
        case = "reg = 0" if reg == 0 else f"random {w.ndim}-D weights"
        expect_unchanged([w, reg], after, "l2_penalty")
        expect_fresh(seen, "l2_penalty", ("argument 1",))
        loss, dw = expect_tuple(result, 2, "l2_penalty")
        wt = t(w).requires_grad_(True)
        penalty = 0.5 * reg * (wt ** 2).sum()
        penalty.backward()
        expect_close(expect_float(loss, "l2_penalty loss"), penalty.item(), "l2_penalty loss", case,
                     rtol=RTOL, atol=ATOL)
        expect_close(dw, wt.grad.numpy(), "l2_penalty dw", case, rtol=RTOL, atol=ATOL)
        expect_close(dw, ref.l2_penalty(w, reg)[1], "l2_penalty dw", case, rtol=RTOL, atol=ATOL)


def torch_sgd_path(w0, grads, lr, wd, lrs=None):
    p = t(w0).requires_grad_(True)
    opt = torch.optim.SGD([p], lr=lr, weight_decay=wd)
    out = []
    for step, g in enumerate(grads):
        if lrs is not None:
            opt.param_groups[0]["lr"] = lrs[step]
        p.grad = t(g)
        opt.step()
        out.append(p.detach().numpy().copy())
    return out


@part("l2_penalty", states=PURE + LR_CHANGES + ["next_w = w - lr * (dw + weight_decay * w)",
                                                "|error| ≤ 1e-12 + 1e-9 × |expected|", "hyperparameters otherwise unchanged"],
      shown=["vs torch.optim.SGD", "a learning rate that changes between steps"])
def test_sgd_l2_step_matches_torch_sgd(student, rng):
    """sgd_l2_step follows torch.optim.SGD(weight_decay) step by step, also when lr changes between steps"""
    runs = []
    for trial in range(4):
        shape = random_shape(rng)
        w0 = rng.normal(size=shape)
        grads = [rng.normal(0, float(10 ** rng.uniform(-2, 1)), size=shape) for _ in range(10)]
        lr, wd = float(10 ** rng.uniform(-3, 0)), float(10 ** rng.uniform(-3, 1))
        lrs = lr_schedule(rng, lr, len(grads)) if trial % 2 else None
        case = "torch.optim.SGD with weight decay" + (", lr changing between steps" if lrs else "")
        runs.append((case, w0, grads, {"lr": lr, "weight_decay": wd}, lrs, torch_sgd_path(w0, grads, lr, wd, lrs)))

    def sgd_step_checks(result, config, hyper, case):
        w, config = expect_tuple(result, 2, "sgd_l2_step")
        if not isinstance(config, dict):
            raise CheckFailure("sgd_l2_step must return (next_w, config) with config a dict")
        if any(config.get(k) != v for k, v in hyper.items()):
            raise CheckFailure("sgd_l2_step changed a hyperparameter of its config (lr or weight_decay)")
        return w, config

    run_side_by_side(student, "sgd_l2_step", runs, lambda config: dict(config), sgd_step_checks)


@part("l2_penalty", states=['"lr" (default 1e-2) and "weight_decay" lambda (default 0.0)'],
      shown=["Defaults: config None"])
def test_sgd_l2_step_defaults(student, rng):
    """sgd_l2_step with config None (or {}) uses learning rate 1e-2 and no decay"""
    w, g = rng.normal(size=(3, 2)), rng.normal(size=(3, 2))
    for config in (None, {}, {"weight_decay": 0.5}):
        nw, cfg = expect_tuple(student.sgd_l2_step(w, g, config), 2, "sgd_l2_step")
        wd = (config or {}).get("weight_decay", 0.0)
        expect_close(nw, w - 1e-2 * (g + wd * w), "sgd_l2_step", "defaults filled in", rtol=RTOL, atol=ATOL)
        if not isinstance(cfg, dict) or cfg.get("lr") != 1e-2 or cfg.get("weight_decay") != wd:
            raise CheckFailure("sgd_l2_step must return its config with the defaults filled in "
                               "(lr 1e-2, weight_decay 0.0)")


# -- Adam with coupled L2 and AdamW -----------------------------------------------------------------
def torch_adam_path(cls, w0, grads, lrs=None, **hyper):
    p = t(w0).requires_grad_(True)
    opt = cls([p], **hyper)
    out = []
    for step, g in enumerate(grads):
        if lrs is not None:
            opt.param_groups[0]["lr"] = lrs[step]
        p.grad = t(g)
        opt.step()
        out.append(p.detach().numpy().copy())
    return out


def run_side_by_side(student, name, runs, hyper_of, step_checks):
    """Advance independent trajectories of the update rule `name` side by side: step k of every run that
    has one goes to the kernel in one request (each call gets only its own run's previous result).
    runs: (case, w0, grads, config, lrs, want); lrs is None or one learning rate per step, written into
    the config before each call. hyper_of(config): what the step must keep; step_checks(result, config,
    hyper, case) -> (next_w, next_config) checks the returned pair. Returns the final configs."""
    states = [(w0, dict(config)) for (_, w0, _, config, _, _) in runs]
    for step in range(max(len(r[2]) for r in runs)):
        live = [k for k, r in enumerate(runs) if step < len(r[2])]
        hypers = {}
        for k in live:
            lrs, config = runs[k][4], states[k][1]
            if lrs is not None:
                config["lr"] = lrs[step]
            hypers[k] = hyper_of(config)
        replies = student.observe_each(name, [(states[k][0], runs[k][2][step], states[k][1]) for k in live])
        for k in live:
            case, _, grads, _, _, want = runs[k]
            result, after, seen = next(replies)
            expect_unchanged([states[k][0], grads[step]], after[:2], name)
            expect_fresh(seen, name)
            w, config = step_checks(result, states[k][1], hypers[k], case)
            expect_close(w, want[step], name, f"{case}, step {step + 1}", rtol=RTOL_TRAJ, atol=ATOL_TRAJ)
            states[k] = (w, config)
    return [config for _, config in states]


def run_rules(student, name, runs):
    """Adam-type trajectories side by side; after its last step each config counts its steps in "t"."""
    def adam_step_checks(result, config, hyper, case):
        w, config = expect_tuple(result, 2, name)
        if not isinstance(config, dict):
            raise CheckFailure(f"{name} must return (next_w, config) with config a dict")
        if any(k not in config or config[k] != v for k, v in hyper.items()):
            raise CheckFailure(f"{name} changed or dropped a hyperparameter of its config ({case})")
        return w, config

    finals = run_side_by_side(student, name, runs, lambda config: {k: v for k, v in config.items()
                                                                   if k not in ("m", "v", "t")}, adam_step_checks)
    for (_, _, grads, _, _, _), config in zip(runs, finals):
        if config.get("t") != len(grads) or isinstance(config.get("t"), bool):
            raise CheckFailure(f"{name}: after {len(grads)} steps config['t'] should be {len(grads)}")


ADAM_RULES = ["added to $\\sqrt{\\hat v}$ after the bias\ncorrection", "The state is absent before the first step",
              "each step uses the `lr` of the\nconfig it receives, both in the Adam step and in AdamW's decay factor",
              "|error| ≤ 1e-12 + 1e-9 × |expected|", "must not\nshare memory with `w` or `dw`"]


@part("decoupled_decay", states=PURE + LR_CHANGES + ADAM_RULES + ["incremented **before** it is used"],
      shown=["vs torch.optim", "A learning rate that changes between steps"])
def test_adam_rules_match_torch(student, rng):
    """adam_l2_step follows torch.optim.Adam(weight_decay) and adamw_step follows torch.optim.AdamW"""
    adam_runs, adamw_runs = [], []
    for trial in range(4):
        shape = random_shape(rng)
        w0 = rng.normal(size=shape)
        scale = 10 ** rng.uniform(-3, 2, size=shape)  # very different gradient scales per coordinate
        grads = [rng.normal(size=shape) * scale for _ in range(int(rng.integers(5, 21)))]
        lr = float(10 ** rng.uniform(-3, -1))
        b1, b2 = float(rng.uniform(0.5, 0.95)), float(rng.uniform(0.9, 0.9999))
        eps, wd = float(10 ** rng.uniform(-8, -4)), float(10 ** rng.uniform(-2, 1))
        config = {"lr": lr, "beta1": b1, "beta2": b2, "eps": eps, "weight_decay": wd}
        hyper = dict(lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd)
        lrs = lr_schedule(rng, lr, len(grads)) if trial % 2 else None
        more = ", lr changing between steps" if lrs else ""
        adam_runs.append(("torch.optim.Adam(weight_decay)" + more, w0, grads, config, lrs,
                          torch_adam_path(torch.optim.Adam, w0, grads, lrs, **hyper)))
        adamw_runs.append(("torch.optim.AdamW(weight_decay)" + more, w0, grads, config, lrs,
                           torch_adam_path(torch.optim.AdamW, w0, grads, lrs, **hyper)))
    run_rules(student, "adam_l2_step", adam_runs)
    run_rules(student, "adamw_step", adamw_runs)


@part("decoupled_decay", states=["`lr` (default\n`1e-3`), `beta1` (`0.9`), `beta2` (`0.999`), `eps` (`1e-8`"],
      shown=["Defaults (config None)"])
def test_adam_rules_defaults(student, rng):
    """with config None both rules are plain Adam with torch's defaults (lr 1e-3, no decay)"""
    shape = random_shape(rng)
    w0 = rng.normal(size=shape)
    grads = [rng.normal(size=shape) for _ in range(5)]
    want = torch_adam_path(torch.optim.Adam, w0, grads)
    for name in ("adam_l2_step", "adamw_step"):
        w, config = w0, None
        for step, g in enumerate(grads):
            w, config = expect_tuple(getattr(student, name)(w, g, config), 2, name)
            expect_close(w, want[step], name, f"config None (defaults), step {step + 1}",
                         rtol=RTOL_TRAJ, atol=ATOL_TRAJ)


@part("decoupled_decay", states=["multiply by $1 - \\eta\\lambda$, then take the Adam step",
                                 "both in the Adam step and in AdamW's decay factor"],
      shown=["AdamW:   (1 - 0.1 * 0.5) w", "A learning rate that changes between steps"])
def test_decoupled_decay_ignores_gradient_scale(student, rng):
    """with zero gradients AdamW shrinks w by exactly (1 - lr * wd) per step, with the lr of each step"""
    shape = random_shape(rng)
    w = rng.normal(size=shape)
    lr, wd = float(10 ** rng.uniform(-3, -1)), float(10 ** rng.uniform(-2, 0))
    config = {"lr": lr, "weight_decay": wd}
    lrs = lr_schedule(rng, lr, 6)
    want = w.copy()
    for step in range(6):
        config["lr"] = lrs[step]
        w, config = expect_tuple(student.adamw_step(w, np.zeros(shape), config), 2, "adamw_step")
        want = want * (1 - lrs[step] * wd)
        expect_close(w, want, "adamw_step", f"zero data gradient, step {step + 1}", rtol=1e-12, atol=0.0)


# -- dropout ---------------------------------------------------------------------------------------
def p_away_from_half(rng):
    """A drop probability where keeping p instead of 1 - p changes the kept fraction by >= 0.2."""
    return float(rng.choice([rng.uniform(0.1, 0.4), rng.uniform(0.6, 0.9)]))


def nonzero_normal(rng, shape):
    x = rng.normal(size=shape)
    return np.where(x == 0.0, 1.0, x)


DROPOUT = ["True where a unit is **kept**; use it as is", "|error| ≤ 1e-15 × |expected|",
           "dropped entries are exactly 0", "including the edges"]


@part("dropout", states=PURE + DROPOUT + ["new float64\n  arrays, never views of `x` or `dout`"],
      shown=["A given mask", "Edge values of p", "p_drop = 0.999 with a given mask"])
def test_dropout_with_a_given_mask(student, rng):
    """with a given mask (p from 0 to 0.999), kept entries are x / (1 - p), dropped ones 0, and backward matches"""
    trials = []
    for trial in range(6):
        shape = random_shape(rng)
        p = [0.0, 0.999][trial] if trial < 2 else float(rng.uniform(0.05, 0.95))
        x, dout = nonzero_normal(rng, shape), rng.normal(size=shape)
        mask = rng.random(shape) < rng.uniform(0.2, 0.8)
        mask.flat[0] = True  # always a kept unit, whose scale 1 / (1 - p) is checked (p = 0.999 too)
        trials.append((p, x, dout, mask))
    # every forward call in one request, then every backward call (each with its own cache)
    caches = []
    forwards = student.observe_each("dropout_forward", [(x, p, "train", None, mask) for p, x, _, mask in trials])
    for (p, x, dout, mask), (result, after, seen) in zip(trials, forwards):
        expect_unchanged([x, p, "train", None, mask], after, "dropout_forward")
        expect_fresh(seen, "dropout_forward", ("argument 1", "argument 5"), within="[0]")  # the cache may hold them
        out, cache = expect_tuple(result, 2, "dropout_forward")
        expect_close(out, np.where(mask, x / (1 - p), 0.0), "dropout_forward", "train mode with a given mask",
                     rtol=RTOL_SCALE, atol=0.0)
        caches.append(cache)
    backwards = student.observe_each("dropout_backward", [(dout, cache) for (_, _, dout, _), cache in zip(trials, caches)])
    for (p, x, dout, mask), (dx, after, seen) in zip(trials, backwards):
        expect_unchanged([dout], after[:1], "dropout_backward")
        expect_fresh(seen, "dropout_backward", ("argument 1",))
        expect_close(dx, np.where(mask, dout / (1 - p), 0.0), "dropout_backward",
                     f"train mode with a given mask{', p = 0' if p == 0 else ''}{', p = 0.999' if p == 0.999 else ''}",
                     rtol=RTOL_SCALE, atol=0.0)


@part("dropout", states=['`mode == "eval"`: return `x` unchanged in value', "whatever `p_drop`, `seed`, `mask`",
                         "In eval mode $dx = d\\text{out}$"],
      shown=["Eval mode is the identity"])
def test_dropout_eval_mode_is_the_identity(student, rng):
    """in eval mode dropout returns x and passes dout through, whatever p, seed and mask"""
    trials = []
    for trial in range(3):
        shape = random_shape(rng)
        x, dout = nonzero_normal(rng, shape), rng.normal(size=shape)
        p = [0.0, 0.999, float(rng.uniform(0.05, 0.95))][trial]
        mask = rng.random(shape) < 0.5 if trial == 2 else None
        trials.append((x, p, "eval", int(rng.integers(2 ** 31)), mask, dout))
    # every forward call in one request, then every backward call with its own cache
    caches = []
    for (x, *_), result in zip(trials, student.call_each("dropout_forward", [tr[:5] for tr in trials])):
        out, cache = expect_tuple(result, 2, "dropout_forward")
        expect_close(out, x, "dropout_forward", "eval mode", rtol=0.0, atol=0.0)
        caches.append(cache)
    backwards = student.call_each("dropout_backward", [(tr[5], cache) for tr, cache in zip(trials, caches)])
    for tr, dx in zip(trials, backwards):
        expect_close(dx, tr[5], "dropout_backward", "eval mode", rtol=0.0, atol=0.0)


@part("dropout", states=SEEDED + ["the same seed must give the same mask", "no global random state is touched",
                                  "the same mask,\nthe same scale"],
      shown=["two calls with the same seed", "the global\n#    random state is untouched"])
def test_dropout_seeded_structure_and_backward(student, rng):
    """a seed gives a reproducible mask without touching the global random state: each entry is 0 or
    x / (1 - p), and backward uses the same mask"""
    trials = []
    for trial in range(4):
        shape = (int(rng.integers(20, 60)), int(rng.integers(20, 60)))
        p = p_away_from_half(rng)
        x, dout = nonzero_normal(rng, shape), rng.normal(size=shape)
        trials.append((x, p, "train", int(rng.integers(2 ** 31)), None, dout))
    # the first call of every trial in one request, the second calls (same seeds) in another, then
    # every backward call with its own cache
    outs, caches = [], []
    for (x, *_), (result, _, seen) in zip(trials, student.observe_each("dropout_forward", [tr[:5] for tr in trials])):
        expect_rng_untouched(seen, "dropout_forward", which=("numpy", "torch"))
        out, cache = expect_tuple(result, 2, "dropout_forward")
        outs.append(expect_array(out, x.shape, "dropout_forward"))
        caches.append(cache)
    for (x, p, *_), out, result in zip(trials, outs, student.call_each("dropout_forward", [tr[:5] for tr in trials])):
        out2, _ = expect_tuple(result, 2, "dropout_forward")
        expect_close(out2, out, "dropout_forward", "two calls with the same seed", rtol=0.0, atol=0.0)
        kept = out != 0
        expect_close(out[kept], x[kept] / (1 - p), "dropout_forward", "kept entries (must be x / (1 - p))",
                     rtol=RTOL_SCALE, atol=0.0)
    backwards = student.call_each("dropout_backward", [(tr[5], cache) for tr, cache in zip(trials, caches)])
    for (_, p, *_, dout), out, dx in zip(trials, outs, backwards):
        expect_close(dx, np.where(out != 0, dout / (1 - p), 0.0), "dropout_backward",
                     "after a seeded forward (same mask, same scale)", rtol=RTOL_SCALE, atol=0.0)


@part("dropout", states=["draw the mask from `np.random.default_rng(seed)`", "with $p = 0$ training mode is the\n  identity too"],
      shown=["p_drop = 0 in train mode"])
def test_dropout_seed_matters_and_p_zero(student, rng):
    """different seeds give different masks, and p = 0 keeps everything"""
    x = nonzero_normal(rng, (1000,))
    a, _ = expect_tuple(student.dropout_forward(x, 0.5, "train", 1, None), 2, "dropout_forward")
    b, _ = expect_tuple(student.dropout_forward(x, 0.5, "train", 2, None), 2, "dropout_forward")
    # two independent masks of 1000 fair coins coincide with probability 2^-1000
    if np.array_equal(np.asarray(a) != 0, np.asarray(b) != 0):
        raise CheckFailure("dropout_forward gave the same mask for two different seeds: draw it from "
                           "np.random.default_rng(seed)")
    out, _ = expect_tuple(student.dropout_forward(x, 0.0, "train", 3, None), 2, "dropout_forward")
    expect_close(out, x, "dropout_forward", "p_drop = 0 in train mode", rtol=0.0, atol=0.0)


@part("dropout", states=["probability $p$ (the *drop* probability", "Inverted dropout** divides by $q$ at training\ntime"],
      shown=["the kept fraction is 1 - p, and the mean is preserved"])
def test_dropout_keep_rate_and_mean_statistically(student, rng):
    """over 200 000 units the kept fraction is 1 - p and the mean of x is preserved"""
    n = 200_000
    # Hoeffding: P(|kept fraction - q| >= t) <= 2 exp(-2 n t^2) = DELTA for t = sqrt(ln(2 / DELTA) / (2 n))
    # (t = 0.0065 for n = 2e5). A keep rate of p instead of 1 - p is off by |1 - 2p| >= 0.2 here, over 30
    # times the bound (about 60 times for p = 0.3).
    t_frac = math.sqrt(math.log(2 / DELTA) / (2 * n))
    for trial in range(3):  # 3 trials x 2 bounds x DELTA = 6e-7 < 1e-6
        p = p_away_from_half(rng)
        q = 1 - p
        x = rng.uniform(1.0, 2.0, size=n)
        out, _ = expect_tuple(student.dropout_forward(x, p, "train", int(rng.integers(2 ** 31)), None), 2,
                              "dropout_forward")
        out = expect_array(out, (n,), "dropout_forward")
        frac = float(np.mean(out != 0))
        if abs(frac - q) >= t_frac:
            raise CheckFailure(f"dropout_forward kept a fraction of units far from 1 - p_drop (p_drop = {p:.2f}); "
                               "is p_drop the probability of dropping?")
        # out_i - x_i = x_i (M_i / q - 1) lies in an interval of length x_i / q <= 2 / q: Hoeffding for
        # the mean gives P(|mean(out) - mean(x)| >= s) <= 2 exp(-2 n s^2 / (2 / q)^2) = DELTA.
        s = math.sqrt(math.log(2 / DELTA) * (2 / q) ** 2 / (2 * n))
        if abs(float(out.mean()) - float(x.mean())) >= s:
            raise CheckFailure("the mean of dropout's output differs from the mean of its input by more than "
                               "chance allows: kept units must be divided by the keep rate 1 - p_drop")


# -- EMA of the weights ------------------------------------------------------------------------------
def random_params(rng, names):
    return {n: rng.normal(size=random_shape(rng)) for n in names}


def expect_params(got, like, name, case, want):
    if not isinstance(got, dict) or set(got) != set(like):
        raise CheckFailure(f"{name} must return a dict with the same keys as its arguments ({case})")
    for k in like:
        expect_close(got[k], want[k], f"{name}[{k!r}]", case, rtol=RTOL, atol=ATOL)


EMA = ["Return a **new** dict with the same keys", "modify neither argument", "decay * avg + (1 - decay) * param"]


@part("ema", states=PURE + EMA, shown=["ema_update with decay 0.75", "(must not change)", "must return new arrays"])
def test_ema_update_formula_and_purity(student, ref, rng):
    """ema_update returns decay * avg + (1 - decay) * params for every name, without changing its inputs"""
    trials = []
    for trial in range(5):
        names = [f"p{i}" for i in range(int(rng.integers(1, 4)))]
        avg = random_params(rng, names)
        params = {n: rng.normal(size=a.shape) for n, a in avg.items()}
        decay = [0.0, 1.0][trial] if trial < 2 else float(rng.uniform(0, 1))
        trials.append((avg, params, decay))
    replies = student.observe_each("ema_update", trials)
    for trial, ((avg, params, decay), (got, after, seen)) in enumerate(zip(trials, replies)):
        names = list(avg)
        case = {0: "decay 0", 1: "decay 1"}.get(trial, "random decay")
        expect_unchanged([avg, params, decay], after, "ema_update")
        expect_no_alias(seen, "ema_update")
        expect_writable(seen, "ema_update")
        want = {n: decay * avg[n] + (1 - decay) * params[n] for n in names}
        expect_params(got, avg, "ema_update", case, want)
        expect_params(got, avg, "ema_update", case, ref.ema_update(avg, params, decay))


@part("ema", states=["as `torch.optim.swa_utils.AveragedModel` does", "There is no bias\ncorrection"],
      shown=["AveragedModel"])
def test_ema_update_matches_averaged_model(student, rng):
    """repeated ema_update calls match torch's AveragedModel with an EMA over a whole run"""
    decay = float(rng.uniform(0.5, 0.99))
    n_in = int(rng.integers(1, 5))
    # nn.Linear initializes from torch's global generator: seed a private copy of it from rng, so that
    # the grading seed alone decides the model (`grader check --seed` repeats the grade) and the
    # grader's own global state is left as it was
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(rng.integers(2 ** 63)))
        model = torch.nn.Sequential(torch.nn.Linear(n_in, 3), torch.nn.Linear(3, 2)).double()
    ema_model = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay))
    avg = None
    for step in range(int(rng.integers(10, 30))):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(t(rng.normal(size=tuple(p.shape))))
        ema_model.update_parameters(model)
        cur = {n: p.detach().numpy().copy() for n, p in model.named_parameters()}
        avg = {n: a.copy() for n, a in cur.items()} if avg is None else student.ema_update(avg, cur, decay)
        if not isinstance(avg, dict):
            raise CheckFailure("ema_update must return a dict")
    for (n, _), p in zip(model.named_parameters(), ema_model.module.parameters()):
        expect_close(avg.get(n), p.detach().numpy(), f"ema_update[{n!r}]", "AveragedModel with an EMA, many steps",
                     rtol=1e-10, atol=1e-12)


@part("ema", states=["$\\beta_k = k/(k+1)$ at the $k$-th update"], shown=["decay k / (k + 1)"])
def test_ema_update_gives_the_polyak_mean(student, rng):
    """with decay k / (k + 1) at update k the average is the uniform mean of the iterates"""
    shape = random_shape(rng)
    iterates = [rng.normal(size=shape) for _ in range(int(rng.integers(3, 12)))]
    avg = {"w": iterates[0].copy()}
    for k, it in enumerate(iterates[1:], start=1):
        avg = student.ema_update(avg, {"w": it}, k / (k + 1))
        if not isinstance(avg, dict):
            raise CheckFailure("ema_update must return a dict")
    expect_close(avg.get("w"), np.mean(iterates, axis=0), "ema_update", "decay k / (k + 1): Polyak mean",
                 rtol=1e-10, atol=1e-12)


# -- k-fold splits ---------------------------------------------------------------------------------
def check_splits(splits, n, k, case):
    if isinstance(splits, tuple):
        splits = list(splits)
    if not isinstance(splits, list) or len(splits) != k:
        raise CheckFailure(f"kfold_splits must return a list of k (train_idx, val_idx) tuples ({case})")
    seen = np.zeros(n, dtype=np.int64)
    sizes = []
    for j, pair in enumerate(splits):
        train_idx, val_idx = expect_tuple(pair, 2, "kfold_splits (each fold)")
        for name, idx in (("train_idx", train_idx), ("val_idx", val_idx)):
            if type(idx) is not np.ndarray or idx.ndim != 1 or idx.dtype.kind not in "iu":
                raise CheckFailure(f"kfold_splits: {name} must be a 1-D integer numpy array ({case})")
        if val_idx.size and (val_idx.min() < 0 or val_idx.max() >= n):
            raise CheckFailure(f"kfold_splits: validation indices outside range(n) ({case})")
        if len(np.unique(val_idx)) != len(val_idx):
            raise CheckFailure(f"kfold_splits: a validation fold repeats an index ({case})")
        complement = np.setdiff1d(np.arange(n), val_idx)
        if len(train_idx) != len(complement) or not np.array_equal(np.sort(train_idx), complement):
            raise CheckFailure(f"kfold_splits: train_idx must be exactly the indices not in val_idx ({case})")
        seen[val_idx] += 1
        sizes.append(len(val_idx))
    if not np.all(seen == 1):
        raise CheckFailure(f"kfold_splits: every index must be in exactly one validation fold ({case})")
    if max(sizes) - min(sizes) > 1:
        raise CheckFailure(f"kfold_splits: fold sizes differ by more than one ({case})")
    return [np.sort(v) for _, v in splits]


KFOLD = ["whose sizes differ by at most one", "the first $n \\bmod k$ folds get one extra index",
         "`train_idx` all the other indices", "Every index appears in exactly one validation fold", "Assume $2 \\le k \\le n$"]


@part("kfold", states=KFOLD + ["list of k tuples (train_idx, val_idx) of integer numpy arrays"],
      shown=["leave-one-out", "a partition, complements"])
def test_kfold_partitions(student, rng):
    """kfold_splits gives k folds that partition range(n), sizes within one, train = complement"""
    cases = [("n divisible by k", None), ("n not divisible by k", None), ("a remainder of two or more", -2),
             ("k = 2", 2), ("leave one out (k = n)", -1)]
    for case, k in cases:
        n = int(rng.integers(5, 60))
        if k == -2:  # n = q k + r with 2 <= r < k: putting the whole remainder in one fold is caught
            k = int(rng.integers(3, 11))
            n = k * int(rng.integers(1, 9)) + int(rng.integers(2, k))
        elif k is None:
            k = int(rng.integers(2, min(n, 10) + 1))
            if case == "n divisible by k":
                n = k * int(rng.integers(1, 12))
            elif n % k == 0:
                n += 1
        elif k == -1:
            n = k = int(rng.integers(2, 15))
        check_splits(student.kfold_splits(n, k, int(rng.integers(2 ** 31))), n, k, case)


@part("kfold", states=SEEDED + ["the same seed gives the same\nsplits", "the global random state (`np.random.*`, torch) is never touched"],
      shown=["same seed, same splits", "The global random state is untouched"])
def test_kfold_seed_decides_the_shuffle(student, rng):
    """the same seed gives the same folds, another seed a different partition; the global RNG is untouched"""
    n, k = int(rng.integers(60, 120)), int(rng.integers(3, 9))
    s1, s2 = (int(v) for v in rng.choice(2 ** 31, size=2, replace=False))
    first, _, seen = student.observe("kfold_splits", n, k, s1)
    expect_rng_untouched(seen, "kfold_splits", which=("numpy", "torch"))
    a = check_splits(first, n, k, "first seed")
    b = check_splits(student.kfold_splits(n, k, s1), n, k, "first seed again")
    c = check_splits(student.kfold_splits(n, k, s2), n, k, "second seed")
    if any(not np.array_equal(x, y) for x, y in zip(a, b)):
        raise CheckFailure("kfold_splits: the same seed must give the same folds")
    # a shuffled partition of n >= 60 indices into k >= 3 folds repeats with probability below 1e-25
    if {tuple(x) for x in a} == {tuple(x) for x in c}:
        raise CheckFailure("kfold_splits: two different seeds gave the same folds; shuffle the indices with "
                           "np.random.default_rng(seed)")


# -- random search: log-uniform sampling and early abort -------------------------------------------
@part("random_search", states=SEEDED + ["returns a float64 array of shape `(n,)`", "every value in [low, high]",
                                        "the same seed gives the same samples, and the global\nrandom state is never touched"],
      shown=["Shape, dtype, range, reproducibility", "low == high", "changed numpy's global random state"])
def test_sample_log_uniform_basics(student, rng):
    """sample_log_uniform returns n float64 values in [low, high], reproducibly from the seed, global RNG untouched"""
    low = float(10 ** rng.uniform(-8, 0))
    high = low * float(10 ** rng.uniform(0.5, 6))
    n = int(rng.integers(1, 50))
    seed = int(rng.integers(2 ** 31))
    first, _, seen = student.observe("sample_log_uniform", low, high, n, seed)
    expect_rng_untouched(seen, "sample_log_uniform", which=("numpy", "torch"))
    s = expect_array(first, (n,), "sample_log_uniform")
    if s.dtype != np.float64:
        raise CheckFailure("sample_log_uniform must return float64")
    if not np.all((s >= low) & (s <= high)):
        raise CheckFailure("sample_log_uniform returned values outside [low, high]")
    expect_close(student.sample_log_uniform(low, high, n, seed), s, "sample_log_uniform", "the same seed twice",
                 rtol=0.0, atol=0.0)
    other = expect_array(student.sample_log_uniform(low, high, 20, seed + 1), (20,), "sample_log_uniform")
    same = expect_array(student.sample_log_uniform(low, high, 20, seed), (20,), "sample_log_uniform")
    if np.array_equal(other, same):
        raise CheckFailure("sample_log_uniform gave the same samples for two seeds: draw from "
                           "np.random.default_rng(seed)")
    expect_close(student.sample_log_uniform(low, low, 3, seed), np.full(3, low), "sample_log_uniform",
                 "low == high", rtol=1e-14, atol=0.0)


@part("random_search", states=["with $\\log$ of the samples uniform on $[\\log a, \\log b]$", "Dvoretzky–Kiefer–Wolfowitz"],
      shown=["Log-uniformity (DKW)"])
def test_sample_log_uniform_is_uniform_in_log_space(student, rng):
    """the logarithms of 20 000 samples pass a Kolmogorov-Smirnov (DKW) test of uniformity"""
    n = 20_000
    # DKW: P(sup |F_n - F| > eps) <= 2 exp(-2 n eps^2) = DELTA for eps = sqrt(ln(2 / DELTA) / (2 n)) = 0.0205.
    eps = math.sqrt(math.log(2 / DELTA) / (2 * n))
    for trial in range(2):  # 2 x DELTA
        low = float(10 ** rng.uniform(-8, -1))
        high = low * float(10 ** rng.uniform(2, 6))
        s = expect_array(student.sample_log_uniform(low, high, n, int(rng.integers(2 ** 31))), (n,),
                         "sample_log_uniform")
        u = np.sort((np.log(np.clip(s, low, high)) - math.log(low)) / (math.log(high) - math.log(low)))
        gap = max(np.max(np.arange(1, n + 1) / n - u), np.max(u - np.arange(n) / n))
        if not gap < eps:
            raise CheckFailure("sample_log_uniform: the logarithms of the samples are not uniform on "
                               "[log(low), log(high)] (Kolmogorov-Smirnov distance too large)")


def expect_bool(got, want, case):
    if type(got) not in (bool, np.bool_):
        raise CheckFailure(f"should_abort returned {type(got).__name__}; expected a bool ({case})")
    if bool(got) != want:
        raise CheckFailure(f"should_abort should return {want} ({case})")


@part("random_search", states=["returns a Python `bool`", "is not\nfinite (NaN or $\\pm\\infty$)", "is **strictly** greater than\n`factor * initial_loss`",
                                "possibly empty"],
      shown=["exactly 3 x initial is not strictly greater", "an empty history", "compare with initial_loss"])
def test_should_abort(student, rng):
    """should_abort is True exactly when a loss is not finite or strictly above factor x the initial loss"""
    for trial in range(3):
        init = float(rng.uniform(0.5, 3.0))
        factor = float(rng.uniform(1.5, 5.0))
        m = int(rng.integers(3, 20))
        below = list(rng.uniform(0.0, factor * init * 0.99, size=m))
        kw = {"factor": factor}
        expect_bool(student.should_abort(below, init, **kw), False, "all losses below the threshold")
        expect_bool(student.should_abort(np.array(below), init, **kw), False, "an array of losses below the threshold")
        expect_bool(student.should_abort([], init, **kw), False, "an empty history")
        j = int(rng.integers(0, m))
        for value, case in ((factor * init * 1.01 + 0.01, "one loss above the threshold, the rest below"),
                            (float("nan"), "a NaN loss"), (float("inf"), "an infinite loss"),
                            (float("-inf"), "a loss of -inf")):
            hist = list(below)
            hist[j] = value
            expect_bool(student.should_abort(hist, init, **kw), True, case)
    # the threshold itself: 2.0 * 3 = 6.0 exactly is not strictly greater
    expect_bool(student.should_abort([2.0, 6.0, 5.0], 2.0), False, "a loss exactly 3 x initial (default factor)")
    expect_bool(student.should_abort([2.0, 6.5], 2.0), True, "a loss above 3 x initial (default factor)")
    # the reference is initial_loss, not the first recorded loss
    expect_bool(student.should_abort([9.0, 1.0], 2.0), True, "initial_loss differs from the first entry")
    expect_bool(student.should_abort([0.1, 0.5], 1.0), False, "initial_loss differs from the first entry")


# -- DropConnect and stochastic depth --------------------------------------------------------------
DROPCONNECT = ["`True`\nwhere a weight is **kept** (the caller draws it; use it as is)", "in evaluation mode `mask` is ignored,\nwhatever it holds",
               "|error| ≤ 1e-9 + 1e-9 × |expected|", "Every $p$ with $0 \\le p < 1$ is allowed",
               "new float64 arrays shaped\nlike `x`, `W` and `b`"]
TOL_DC = 1e-9


def dropconnect_case(rng, p=None):
    n, d, h = (int(v) for v in rng.integers(1, 7, size=3))
    x, W, b = rng.normal(size=(n, d)), rng.normal(size=(d, h)), rng.normal(size=h)
    mask = rng.random((d, h)) < rng.uniform(0.2, 0.8)
    mask.flat[int(rng.integers(mask.size))] = True  # at least one kept weight, whose scale is checked
    if p is None:
        p = float(rng.uniform(0.05, 0.95))
    return x, W, b, mask, p


def torch_dropconnect(x, W, b, scale, dout):
    xt, Wt, bt = (t(a).requires_grad_(True) for a in (x, W, b))
    out = xt @ (Wt * t(scale)) + bt
    out.backward(t(dout))
    return out.detach().numpy(), xt.grad.numpy(), Wt.grad.numpy(), bt.grad.numpy()


def check_dropconnect(student, cases):
    """cases: (x, W, b, p, mode, mask, scale, case, dout); every forward call in one request, then every
    backward call with its own cache."""
    wants, caches = [], []
    forwards = student.observe_each("dropconnect_forward", [c[:6] for c in cases])
    for (x, W, b, p, mode, mask, scale, case, dout), (result, after, seen) in zip(cases, forwards):
        expect_unchanged([x, W, b, p, mode, mask], after, "dropconnect_forward")
        expect_fresh(seen, "dropconnect_forward", ("argument 1", "argument 2", "argument 3", "argument 6"),
                     within="[0]")
        out, cache = expect_tuple(result, 2, "dropconnect_forward")
        want = torch_dropconnect(x, W, b, scale, dout)
        expect_close(out, want[0], "dropconnect_forward", case, rtol=TOL_DC, atol=TOL_DC)
        wants.append(want)
        caches.append(cache)
    backwards = student.observe_each("dropconnect_backward", [(c[8], cache) for c, cache in zip(cases, caches)])
    for (*_, case, dout), want, (result, after, seen) in zip(cases, wants, backwards):
        expect_unchanged([dout], after[:1], "dropconnect_backward")
        expect_fresh(seen, "dropconnect_backward", ("argument 1",))
        grads = expect_tuple(result, 3, "dropconnect_backward")
        for name, got, w in zip(("dx", "dW", "db"), grads, want[1:]):
            expect_close(got, w, f"dropconnect_backward {name}", case, rtol=TOL_DC, atol=TOL_DC)


def dropconnect_dout(rng, x, W):
    return rng.normal(size=(x.shape[0], W.shape[1]))


@part("dropconnect", states=PURE + DROPCONNECT + ["kept weights are divided by $q$\nin training"],
      shown=["against torch autograd", "the inputs are left alone", "p = 0.999"])
def test_dropconnect_train_mode_matches_autograd(student, rng):
    """in train mode the layer uses W * mask / (1 - p); forward and the three gradients match autograd"""
    cases = []
    for trial in range(6):
        x, W, b, mask, p = dropconnect_case(rng, [0.0, 0.999][trial] if trial < 2 else None)
        case = {0: "train mode, p = 0", 1: "train mode, p = 0.999"}.get(trial, "train mode with a given mask")
        cases.append((x, W, b, p, "train", mask, mask / (1 - p), case, dropconnect_dout(rng, x, W)))
    check_dropconnect(student, cases)


@part("dropconnect", states=["In evaluation mode the layer is\n$xW + b$"], shown=["Eval mode is the plain layer"])
def test_dropconnect_eval_mode_is_the_plain_layer(student, rng):
    """in eval mode the layer is x @ W + b with ordinary gradients, whatever the mask holds"""
    cases = []
    for trial in range(3):
        x, W, b, mask, p = dropconnect_case(rng)
        cases.append((x, W, b, p, "eval", mask if trial else None, np.ones(W.shape),
                      "eval mode" + (" (a mask is given and must be ignored)" if trial else ""),
                      dropconnect_dout(rng, x, W)))
    check_dropconnect(student, cases)


@part("dropconnect", states=["row $i$ of $M$ is all zeros"], shown=["whole rows dropped"])
def test_dropconnect_with_whole_rows_dropped_is_dropout(student, rng):
    """a mask whose rows are all True or all False gives dropout of the input units"""
    x, W, b, _, p = dropconnect_case(rng)
    units = rng.random(x.shape[1]) < 0.5
    units[0] = True
    mask = np.repeat(units[:, None], W.shape[1], axis=1)
    out, _ = expect_tuple(student.dropconnect_forward(x, W, b, p, "train", mask), 2, "dropconnect_forward")
    expect_close(out, (x * units / (1 - p)) @ W + b, "dropconnect_forward", "whole rows of the mask dropped",
                 rtol=TOL_DC, atol=TOL_DC)


SD = ["survival_prob` is a float in $(0, 1]$", "In training mode `gate` is\n`0` or `1` (an int, a bool or a float",
      "in evaluation mode `gate` is ignored", "(never\n`dout` itself or a view of it)", "|error| ≤ 1e-12 + 1e-12 × |expected|",
      "as in the paper"]


@part("stochastic_depth", states=PURE + SD + ["$dx = d\\text{out}$ through the identity, always"],
      shown=["against torch autograd", "block dropped", "dx must be a new array"])
def test_stochastic_depth_matches_autograd(student, rng):
    """out = x + gate * residual in training, x + survival_prob * residual at test; gradients as autograd"""
    modes = [("train", 1), ("train", 0), ("train", True), ("train", False), ("train", 1.0), ("eval", None), ("eval", 0)]
    trials = []
    for trial, (mode, gate) in enumerate(modes):
        shape = random_shape(rng)
        x, r, dout = rng.normal(size=shape), rng.normal(size=shape), rng.normal(size=shape)
        p = 1.0 if trial == 0 else float(rng.uniform(0.3, 0.95))  # p = 1: a block that is never dropped
        scale = p if mode == "eval" else float(gate)
        case = f"{mode} mode, gate {gate!r}" if mode == "train" else "eval mode" + (" (gate ignored)" if gate is not None else "")
        trials.append((x, r, p, mode, gate, dout, scale, case))
    # every forward call in one request, then every backward call with its own cache
    caches, autograd = [], []
    forwards = student.observe_each("stochastic_depth_forward", [tr[:5] for tr in trials])
    for (x, r, p, mode, gate, dout, scale, case), (result, after, seen) in zip(trials, forwards):
        expect_unchanged([x, r, p, mode, gate], after, "stochastic_depth_forward")
        expect_fresh(seen, "stochastic_depth_forward", ("argument 1", "argument 2"), within="[0]")
        out, cache = expect_tuple(result, 2, "stochastic_depth_forward")
        xt, rt = t(x).requires_grad_(True), t(r).requires_grad_(True)
        out_t = xt + scale * rt
        out_t.backward(t(dout))
        expect_close(out, out_t.detach().numpy(), "stochastic_depth_forward", case, rtol=1e-12, atol=1e-12)
        caches.append(cache)
        autograd.append((xt, rt))
    backwards = student.observe_each("stochastic_depth_backward", [(tr[5], cache) for tr, cache in zip(trials, caches)])
    for (*_, dout, scale, case), (xt, rt), (result, after, seen) in zip(trials, autograd, backwards):
        expect_unchanged([dout], after[:1], "stochastic_depth_backward")
        expect_fresh(seen, "stochastic_depth_backward", ("argument 1",))
        dx, dres = expect_tuple(result, 2, "stochastic_depth_backward")
        expect_close(dx, xt.grad.numpy(), "stochastic_depth_backward dx", case, rtol=1e-12, atol=1e-12)
        expect_close(dres, rt.grad.numpy(), "stochastic_depth_backward dresidual", case, rtol=1e-12, atol=1e-12)

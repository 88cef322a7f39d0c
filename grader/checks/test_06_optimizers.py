"""Hidden checks of notebook 06, the optimizer family.

Every rule is run for tens of steps on random parameters (random shape) and a random sequence of
gradients, feeding each returned config into the next call, side by side with torch.optim on one
float64 tensor whose .grad is set by hand; several hyperparameter settings per rule, including tiny
gradients (where the place of eps matters) and the defaults. At every step the checks also require
a new float64 array of the right shape, inputs w and dw unchanged, and the hyperparameters the
caller set unchanged in the returned config, no result array sharing memory with w or dw, and plain
data (the harness rejects anything else). Two trajectories are advanced in alternation, so a rule
that keeps its state anywhere but in its config (or forgets it) fails. Some runs change the learning
rate between steps (as a schedule does, through config["lr"] and torch's param_groups), which
grades torch's convention of storing the state without the learning rate folded in. Messages name
the case, never the inputs.
"""
import numpy as np
import torch

from grader.harness import (CheckFailure, expect_array, expect_close, expect_tuple, expect_unchanged,
                            expect_writable, part)

# Tolerances (float64). The gradients do not depend on w (except through weight decay, which is a
# contraction), so rounding differences do not grow along a trajectory: parameters agree with torch
# to about 1e-15 relative. Steps (next_w - w) are compared too, so that a wrong rule whose steps are
# small compared with |w| cannot hide; their absolute tolerance covers the cancellation error of the
# difference (|w| <= ~10, so about 1e-14).
W_RTOL, W_ATOL = 1e-10, 1e-12
STEP_RTOL, STEP_ATOL = 1e-7, 1e-13


def random_shape(rng):
    return tuple(int(n) for n in rng.integers(1, 6, size=int(rng.integers(1, 4))))


def gradient_sequence(rng, shape, steps, scale):
    """Random gradients with a non-zero mean (so momentum matters), a scale that varies per step,
    and an occasional exactly-zero entry."""
    mean = rng.normal(0.0, 1.0, size=shape)
    grads = []
    for _ in range(steps):
        g = scale * rng.uniform(0.3, 3.0) * (mean + rng.normal(0.0, 1.0, size=shape))
        g[rng.random(shape) < 0.05] = 0.0
        grads.append(g)
    return grads


def torch_path(opt_name, kwargs, w0, grads, lrs=None):
    """torch's trajectory; lrs (one per step, or None) sets the group's lr before each step."""
    p = torch.tensor(w0, dtype=torch.float64, requires_grad=True)
    opt = getattr(torch.optim, opt_name)([p], foreach=False, **kwargs)
    out = []
    for step, g in enumerate(grads):
        if lrs is not None:
            opt.param_groups[0]["lr"] = lrs[step]
        p.grad = torch.from_numpy(np.array(g, dtype=np.float64))
        opt.step()
        out.append(p.detach().numpy().copy())
    return out


def expect_fresh(observation, fname):
    """No array of the result (next_w or a state array in config) shares memory with w or dw."""
    bad = [(where, arg) for where, arg in observation.aliases if arg in ("argument 1", "argument 2")]
    if bad:
        where, arg = bad[0]
        what = {"argument 1": "w", "argument 2": "dw"}[arg]
        raise CheckFailure(f"{fname}: its result{where} shares memory with {what}; next_w must be a new array "
                           "and the state you store in config must be a copy (not dw itself or a view of it)")
    expect_writable(observation, fname)


def check_rules_together(student, fname, runs, ref=None):
    """runs: list of (case, config, opt_name, torch_kwargs, w0, grads, lrs); advanced in alternation.
    lrs is None (the config's lr throughout) or one learning rate per step, written into the config
    before each call (as a schedule does) and into torch's param group."""
    wants = [torch_path(name, kw, w0, grads, lrs) for (_, _, name, kw, w0, grads, lrs) in runs]
    states = [(w0, dict(config)) for (_, config, _, _, w0, _, _) in runs]
    refs = [(w0, dict(config)) for (_, config, _, _, w0, _, _) in runs]
    steps = len(runs[0][5])
    for step in range(steps):
        # this step of every run, in one round trip: each call needs only its own run's previous result
        for k, (_, _, _, _, _, _, lrs) in enumerate(runs):
            if lrs is not None:
                states[k][1]["lr"] = lrs[step]
        replies = student.observe_each(fname, [(w, run[5][step], config) for (w, config), run in zip(states, runs)])
        for k, (case, hyper, _, _, w0, grads, lrs) in enumerate(runs):
            w, config = states[k]
            g = grads[step]
            if lrs is not None:
                hyper = dict(hyper, lr=lrs[step])
            label = f"{fname}, {case}, step {step + 1}"
            out, after, seen = next(replies)
            expect_unchanged([w, g], after[:2], fname)
            next_w, config = expect_tuple(out, 2, fname)
            next_w = expect_array(next_w, w0.shape, f"{fname} next_w")
            if next_w.dtype != np.float64:
                raise CheckFailure(f"{fname} returned next_w of dtype {next_w.dtype}; expected float64")
            if not isinstance(config, dict):
                raise CheckFailure(f"{fname} must return its config dict as the second value")
            expect_fresh(seen, fname)
            for key, value in hyper.items():
                if key not in config or config[key] != value:
                    raise CheckFailure(f"{fname} changed or dropped the hyperparameter '{key}' of its config "
                                       f"({case}): keep the caller's settings and store the state under other keys")
            want = wants[k][step]
            expect_close(next_w - w, want - (wants[k][step - 1] if step else w0), f"{fname} step (next_w - w)",
                         f"{case}, step {step + 1}", rtol=STEP_RTOL, atol=STEP_ATOL)
            expect_close(next_w, want, f"{fname} parameters vs torch.optim", f"{case}, step {step + 1}",
                         rtol=W_RTOL, atol=W_ATOL)
            if ref is not None:
                rw, rconfig = refs[k]
                if lrs is not None:
                    rconfig["lr"] = lrs[step]
                rw, rconfig = getattr(ref, fname)(rw, g, rconfig)
                refs[k] = (rw, rconfig)
                expect_close(next_w, rw, f"{fname} parameters vs the reference", label, rtol=W_RTOL, atol=W_ATOL)
            states[k] = (next_w, config)


def lr_schedule(rng, lr, steps):
    """A learning rate that changes between steps: piecewise constant, with drops and rises by
    factors 0.1 to 3 at three to five random steps (never the first)."""
    lrs = np.full(steps, lr)
    # every change falls in the first 20 steps (runs have at least 20), one of them a drop by 10
    at = rng.choice(np.arange(1, 20), size=int(rng.integers(3, 6)), replace=False)
    for j, a in enumerate(at):
        lrs[a:] *= 0.1 if j == 0 else float(rng.choice([0.3, 0.5, 2.0, 3.0]))
    return [float(v) for v in lrs]


def make_run(rng, case, config, opt_name, torch_kwargs, scale, steps=None, changing_lr=False):
    """One run; with changing_lr the learning rate (config["lr"]) changes between steps."""
    shape = random_shape(rng)
    steps = steps or int(rng.integers(20, 41))
    w0 = rng.normal(0.0, 1.5, size=shape)
    lrs = lr_schedule(rng, config["lr"], 60) if changing_lr else None
    return (case, config, opt_name, torch_kwargs, w0, gradient_sequence(rng, shape, steps, scale), lrs)


def same_length(runs):
    n = min(len(r[5]) for r in runs)
    return [r[:5] + (r[5][:n], None if r[6] is None else r[6][:n]) for r in runs]


# Contract phrases shared by every rule (the notebook's conventions, cell 0).
PURE = ["Never modify `w` or `dw` in place", "must not share memory with `w` or `dw`", "a new float64 array"]
KEEP = ["A hyperparameter the caller set is never changed", "A key that is absent means \"first step\""]
TOL = ["1e-12 + 1e-10 × |expected|", "1e-13 + 1e-7 × |expected|"]
LR_CHANGES = ["The caller may change a hyperparameter between steps", "without the learning rate folded in"]
SHOWN_TORCH = ["check_trajectory"]


# -- SGD --------------------------------------------------------------------------------------------
@part("sgd", states=PURE + KEEP + TOL + LR_CHANGES + ["lr (default 1e-2)", "weight_decay (default 0.0)",
                                                        "g = dw + weight_decay * w"],
      shown=SHOWN_TORCH + ["a learning rate that changes between steps", "defaults"])
def test_sgd_matches_torch(student, ref, rng):
    """sgd matches torch.optim.SGD over many steps, with and without weight decay, a changing lr and the defaults"""
    lr = float(rng.uniform(0.01, 0.3))
    wd = float(rng.uniform(0.05, 0.5))
    runs = [make_run(rng, "weight decay 0", {"lr": lr}, "SGD", {"lr": lr}, 1.0),
            make_run(rng, "weight decay > 0, lr changing between steps", {"lr": lr, "weight_decay": wd}, "SGD",
                     {"lr": lr, "weight_decay": wd}, 1.0, changing_lr=True),
            make_run(rng, "default hyperparameters", {}, "SGD", {"lr": 1e-2}, 10.0)]
    check_rules_together(student, "sgd", same_length(runs), ref)


# -- momentum ---------------------------------------------------------------------------------------
MOMENTUM = ["momentum (0.9)", "dampening (0.0)", "The first step is not dampened", "Weight decay first",
            "a new lr applies to the whole velocity at once"]


@part("sgd_momentum", states=PURE + KEEP + TOL + LR_CHANGES + MOMENTUM,
      shown=SHOWN_TORCH + ["a learning rate that changes between steps", "dampening", "weight_decay"])
def test_sgd_momentum_matches_torch(student, ref, rng):
    """sgd_momentum matches torch.optim.SGD(momentum) over many steps in several settings, lr changing too"""
    mu = float(rng.uniform(0.5, 0.95))
    lr = float(rng.uniform(0.005, 0.1))
    damp = float(rng.uniform(0.2, 0.8))
    wd = float(rng.uniform(0.05, 0.5))
    runs = [make_run(rng, "momentum, no dampening, lr changing between steps", {"lr": lr, "momentum": mu}, "SGD",
                     {"lr": lr, "momentum": mu}, 1.0, changing_lr=True),
            make_run(rng, "momentum with dampening", {"lr": lr, "momentum": mu, "dampening": damp}, "SGD",
                     {"lr": lr, "momentum": mu, "dampening": damp}, 1.0),
            make_run(rng, "momentum with weight decay and dampening, lr changing between steps",
                     {"lr": lr, "momentum": mu, "weight_decay": wd, "dampening": damp}, "SGD",
                     {"lr": lr, "momentum": mu, "weight_decay": wd, "dampening": damp}, 0.1, changing_lr=True)]
    check_rules_together(student, "sgd_momentum", same_length(runs), ref)


@part("sgd_momentum", states=["lr (1e-2)", "momentum (0.9)", "dampening (0.0)"] + TOL,
      shown=["defaults", "tiny gradients"])
def test_sgd_momentum_defaults_and_tiny_gradients(student, rng):
    """sgd_momentum uses lr = 1e-2, momentum = 0.9, dampening = 0 by default, and works for tiny gradients"""
    runs = [make_run(rng, "default hyperparameters", {}, "SGD", {"lr": 1e-2, "momentum": 0.9}, 1.0),
            make_run(rng, "tiny gradients", {"lr": 0.05, "momentum": 0.8, "dampening": 0.5}, "SGD",
                     {"lr": 0.05, "momentum": 0.8, "dampening": 0.5}, 1e-6)]
    check_rules_together(student, "sgd_momentum", same_length(runs))


# -- Nesterov ---------------------------------------------------------------------------------------
@part("nesterov", states=PURE + KEEP + TOL + LR_CHANGES + ["with the NEW b", "momentum (0.9)",
                                                             "weight_decay (0.0, added to the gradient first)"],
      shown=SHOWN_TORCH + ["a learning rate that changes between steps", "defaults", "weight_decay"])
def test_nesterov_matches_torch(student, ref, rng):
    """nesterov_momentum matches torch.optim.SGD(nesterov=True) over many steps in several settings"""
    mu = float(rng.uniform(0.5, 0.95))
    lr = float(rng.uniform(0.005, 0.1))
    wd = float(rng.uniform(0.05, 0.5))
    runs = [make_run(rng, "Nesterov momentum, lr changing between steps", {"lr": lr, "momentum": mu}, "SGD",
                     {"lr": lr, "momentum": mu, "nesterov": True}, 1.0, changing_lr=True),
            make_run(rng, "Nesterov with weight decay", {"lr": lr, "momentum": mu, "weight_decay": wd}, "SGD",
                     {"lr": lr, "momentum": mu, "weight_decay": wd, "nesterov": True}, 0.1),
            make_run(rng, "default hyperparameters", {}, "SGD", {"lr": 1e-2, "momentum": 0.9, "nesterov": True}, 1.0)]
    check_rules_together(student, "nesterov_momentum", same_length(runs), ref)


# -- AdaGrad ----------------------------------------------------------------------------------------
ADAGRAD = ["eps (1e-10)", "initial_accumulator_value (0.0)", "is added **after** the square root",
           "the update uses the sum *including* the current gradient"]


@part("adagrad", states=PURE + KEEP + TOL + LR_CHANGES + ADAGRAD,
      shown=SHOWN_TORCH + ["a learning rate that changes between steps", "initial_accumulator_value", "eps"])
def test_adagrad_matches_torch(student, ref, rng):
    """adagrad matches torch.optim.Adagrad over many steps in several settings"""
    lr = float(rng.uniform(0.01, 0.5))
    init = float(rng.uniform(0.1, 2.0))
    wd = float(rng.uniform(0.05, 0.5))
    eps = float(rng.choice([1e-6, 1e-3]))
    runs = [make_run(rng, "unit gradients, lr changing between steps", {"lr": lr}, "Adagrad", {"lr": lr}, 1.0,
                     changing_lr=True),
            make_run(rng, "initial accumulator value > 0", {"lr": lr, "initial_accumulator_value": init}, "Adagrad",
                     {"lr": lr, "initial_accumulator_value": init}, 1.0),
            make_run(rng, "weight decay and a large eps", {"lr": lr, "weight_decay": wd, "eps": eps}, "Adagrad",
                     {"lr": lr, "weight_decay": wd, "eps": eps}, 1e-3)]
    check_rules_together(student, "adagrad", same_length(runs), ref)


@part("adagrad", states=["lr (1e-2)", "eps (1e-10)"] + TOL, shown=["tiny gradients", "dict()"])
def test_adagrad_defaults_and_tiny_gradients(student, rng):
    """adagrad uses lr = 1e-2 and eps = 1e-10 by default, also for tiny gradients"""
    runs = [make_run(rng, "default hyperparameters, tiny gradients", {}, "Adagrad", {}, 1e-8),
            make_run(rng, "default hyperparameters", {}, "Adagrad", {}, 100.0)]
    check_rules_together(student, "adagrad", same_length(runs))


# -- RMSProp ----------------------------------------------------------------------------------------
RMSPROP = ["alpha (0.99)", "eps (1e-8)", "**no bias correction**", "$\\alpha$ multiplies the **old** average"]


@part("rmsprop", states=PURE + KEEP + TOL + LR_CHANGES + RMSPROP,
      shown=SHOWN_TORCH + ["a learning rate that changes between steps", "alpha", "weight_decay"])
def test_rmsprop_matches_torch(student, ref, rng):
    """rmsprop matches torch.optim.RMSprop over many steps in several settings"""
    lr = float(rng.uniform(0.001, 0.05))
    alpha = float(rng.uniform(0.5, 0.95))
    wd = float(rng.uniform(0.05, 0.5))
    eps = float(rng.choice([1e-6, 1e-3]))
    runs = [make_run(rng, "alpha < 0.99, lr changing between steps", {"lr": lr, "alpha": alpha}, "RMSprop",
                     {"lr": lr, "alpha": alpha}, 1.0, changing_lr=True),
            make_run(rng, "weight decay and a large eps", {"lr": lr, "alpha": alpha, "weight_decay": wd, "eps": eps},
                     "RMSprop", {"lr": lr, "alpha": alpha, "weight_decay": wd, "eps": eps}, 1e-3),
            make_run(rng, "default hyperparameters", {}, "RMSprop", {}, 1.0)]
    check_rules_together(student, "rmsprop", same_length(runs), ref)


@part("rmsprop", states=["eps (1e-8)", "lr (1e-2)"] + TOL, shown=["1e-7", "10.0"])
def test_rmsprop_tiny_and_huge_gradients(student, rng):
    """rmsprop matches torch.optim.RMSprop for tiny and huge gradients"""
    runs = [make_run(rng, "tiny gradients", {"alpha": 0.9}, "RMSprop", {"alpha": 0.9}, 1e-7),
            make_run(rng, "huge gradients", {"lr": 1e-3}, "RMSprop", {"lr": 1e-3}, 1e4)]
    check_rules_together(student, "rmsprop", same_length(runs))


# -- Adam -------------------------------------------------------------------------------------------
def adam_torch_kwargs(config, wd_default=0.0):
    return {"lr": config.get("lr", 1e-3), "betas": (config.get("beta1", 0.9), config.get("beta2", 0.999)),
            "eps": config.get("eps", 1e-8), "weight_decay": config.get("weight_decay", wd_default)}


ADAM = ["The step counter $t$ is incremented before it is used", "is added **after the square root of the corrected**",
        "is **L2 regularization**"]


@part("adam", states=PURE + KEEP + TOL + LR_CHANGES + ADAM + ["beta1 (0.9), beta2 (0.999)"],
      shown=SHOWN_TORCH + ["a learning rate that changes between steps", "beta1 = 0", "weight decay"])
def test_adam_matches_torch(student, ref, rng):
    """adam matches torch.optim.Adam over many steps in several settings, lr changing too"""
    lr = float(rng.uniform(1e-3, 0.1))
    b1 = float(rng.uniform(0.5, 0.95))
    b2 = float(rng.uniform(0.9, 0.9999))
    wd = float(rng.uniform(0.05, 0.5))
    configs = {"betas different from the defaults, lr changing between steps": {"lr": lr, "beta1": b1, "beta2": b2},
               "beta1 = 0": {"lr": lr, "beta1": 0.0, "beta2": b2},
               "L2 weight decay, lr changing between steps": {"lr": lr, "beta1": b1, "beta2": b2, "weight_decay": wd}}
    runs = [make_run(rng, case, c, "Adam", adam_torch_kwargs(c), 1.0, changing_lr="changing" in case)
            for case, c in configs.items()]
    check_rules_together(student, "adam", same_length(runs), ref)


@part("adam", states=["lr (1e-3)", "beta1 (0.9)", "beta2 (0.999)", "eps (1e-8)", ADAM[1]] + TOL,
      shown=["defaults", "eps=1e-3"])
def test_adam_defaults_and_small_gradients(student, rng):
    """adam uses the defaults lr = 1e-3, betas (0.9, 0.999), eps = 1e-8; eps is added after the corrected root"""
    runs = [make_run(rng, "default hyperparameters", {}, "Adam", adam_torch_kwargs({}), 1.0),
            make_run(rng, "default hyperparameters, small gradients", {}, "Adam", adam_torch_kwargs({}), 1e-7),
            make_run(rng, "a large eps", {"lr": 0.01, "eps": 1e-2}, "Adam", adam_torch_kwargs({"lr": 0.01, "eps": 1e-2}), 0.1)]
    check_rules_together(student, "adam", same_length(runs))


@part("adam", states=["Store the count in `config[\"t\"]`, an `int`"], shown=["config['t'] must count the steps"])
def test_adam_counts_steps_in_config(student, rng):
    """adam's config holds the number of steps taken, under the key 't'"""
    shape = random_shape(rng)
    w, config = rng.normal(size=shape), {"lr": 0.01}
    n = int(rng.integers(3, 9))
    for _ in range(n):
        w, config = expect_tuple(student.adam(w, rng.normal(size=shape), config), 2, "adam")
        w = expect_array(w, shape, "adam next_w")
    if not isinstance(config, dict) or config.get("t") != n or isinstance(config.get("t"), bool):
        raise CheckFailure("after n calls, adam's config['t'] must equal n (incremented before use)")


# -- AdamW ------------------------------------------------------------------------------------------
ADAMW = ["the decay factor is $1 - \\eta\\lambda$", "applied **before** the Adam step", "`weight_decay` (`1e-2`, decoupled)",
         "the learning rate of the current step"]


@part("adamw", states=PURE + KEEP + TOL + LR_CHANGES + ADAMW,
      shown=SHOWN_TORCH + ["a learning rate that changes between steps", "eps", "defaults"])
def test_adamw_matches_torch(student, ref, rng):
    """adamw matches torch.optim.AdamW over many steps in several settings, lr changing too"""
    lr = float(rng.uniform(1e-3, 0.1))
    b1 = float(rng.uniform(0.5, 0.95))
    b2 = float(rng.uniform(0.9, 0.9999))
    wd = float(rng.uniform(0.1, 2.0))
    eps = float(rng.choice([1e-4, 1e-2]))
    configs = {"decoupled weight decay, lr changing between steps": {"lr": lr, "beta1": b1, "beta2": b2,
                                                                     "weight_decay": wd},
               "weight decay 0, a large eps": {"lr": lr, "beta1": b1, "beta2": b2, "weight_decay": 0.0, "eps": eps},
               "default hyperparameters": {}}
    runs = [make_run(rng, case, c, "AdamW", adam_torch_kwargs(c, 1e-2), 0.1 if "eps" in case else 1.0,
                     changing_lr="changing" in case) for case, c in configs.items()]
    check_rules_together(student, "adamw", same_length(runs), ref)


@part("adamw", states=["`weight_decay` (`1e-2`, decoupled)", ADAMW[0]] + TOL, shown=["1e-5", "weight_decay=1.0"])
def test_adamw_small_gradients_and_large_decay(student, rng):
    """adamw matches torch.optim.AdamW for small gradients and a large learning rate times decay"""
    c1 = {"lr": 0.2, "weight_decay": 1.5, "beta1": 0.8}
    c2 = {"weight_decay": 0.5}
    runs = [make_run(rng, "large lr * weight_decay", c1, "AdamW", adam_torch_kwargs(c1, 1e-2), 1.0),
            make_run(rng, "small gradients", c2, "AdamW", adam_torch_kwargs(c2, 1e-2), 1e-7)]
    check_rules_together(student, "adamw", same_length(runs))

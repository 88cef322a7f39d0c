"""Hidden checks of notebook 12, the capstone.

Every graded part is called with tools="course": the layers, optimizer rules and schedules come from
coursekit's course-provided toolbox, so a mistake of notebooks 02-10 is never charged here; the
checks test only the assembly, the loss, the solver, the loop and the babysitting tools. Models are
drawn from `rng` (several architectures, channel counts, image sizes, dropout rates, batch sizes) and
compared in float64 against the same network written with torch.nn.functional and autograd, or, for
the loop and the gradient check, against the reference solution. Messages name the case, never the
inputs.
"""
import math

import numpy as np
import torch
import torch.nn.functional as F

from grader.kernel import StudentRaised
from grader.harness import CheckFailure, expect_close, expect_float, expect_tuple, expect_unchanged, part

PLAIN = "plain data"
TOOLS = "course"
RTOL, ATOL = 1e-9, 1e-12          # scores, losses: the same operations in another order
RTOL_GRAD, ATOL_GRAD = 1e-8, 1e-11  # gradients through a few layers (entries of size ~1e-3-10)


# -- random models -----------------------------------------------------------------------------------
def random_model(rng, conv=True, p_drop=None, bn=None):
    """A random network: conv [-> spatial BN] -> relu [-> max pool] [-> dropout] -> affine, or, with
    conv=False, affine -> relu [-> dropout] -> affine. Returns (model, input shape without N)."""
    r = lambda lo, hi: int(rng.integers(lo, hi + 1))  # noqa: E731
    layers = []
    if conv:
        c_in, f, size = r(1, 2), r(2, 4), r(4, 6)
        k = int(rng.choice([1, 3]))
        pad = (k - 1) // 2 if rng.random() < 0.7 else 0
        stride = 1
        layers.append({"kind": "conv", "params": {"w": rng.normal(0, 0.5, (f, c_in, k, k)), "b": rng.normal(0, 0.1, f)},
                       "conv_param": {"stride": stride, "pad": pad}})
        h = (size + 2 * pad - k) // stride + 1
        if (rng.random() < 0.8) if bn is None else bn:
            layers.append({"kind": "spatial_bn", "params": {"gamma": rng.uniform(0.5, 1.5, f), "beta": rng.normal(0, 0.2, f)},
                           "bn_param": {"mode": "train", "momentum": float(rng.choice([0.1, 0.3])), "eps": 1e-5,
                                        "running_mean": rng.normal(0, 0.1, f), "running_var": rng.uniform(0.5, 1.5, f)}})
        layers.append({"kind": "relu"})
        if rng.random() < 0.7 and h >= 2:
            layers.append({"kind": "max_pool", "pool_param": {"kernel": 2}})
            h //= 2
        d, in_shape = f * h * h, (c_in, size, size)
    else:
        d_in, d = r(2, 7), r(3, 8)
        layers += [{"kind": "affine", "params": {"w": rng.normal(0, 0.5, (d_in, d)), "b": rng.normal(0, 0.1, d)}},
                   {"kind": "relu"}]
        in_shape = (d_in,)
    p = float(rng.choice([0.0, 0.2, 0.5])) if p_drop is None else p_drop
    if p > 0 or rng.random() < 0.3:
        layers.append({"kind": "dropout", "p_drop": p})
    c = r(2, 6)
    layers.append({"kind": "affine", "params": {"w": rng.normal(0, 0.5, (d, c)), "b": rng.normal(0, 0.1, c)}})
    return {"layers": layers}, in_shape


def param_names(model):
    return [f"{i}.{k}" for i, layer in enumerate(model["layers"]) for k in layer.get("params", {})]


def torch_net(model, x, mode, seed=0, y=None, reg=0.0, dout=None):
    """The oracle: the same network with torch.nn.functional in float64. Returns (scores, running,
    loss or None, grads or None)."""
    params, h, running = {}, torch.tensor(np.asarray(x, dtype=np.float64)), {}
    for i, layer in enumerate(model["layers"]):
        p = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in layer.get("params", {}).items()}
        params.update({f"{i}.{k}": v for k, v in p.items()})
        kind = layer["kind"]
        if kind == "conv":
            h = F.conv2d(h, p["w"], p["b"], stride=layer["conv_param"]["stride"], padding=layer["conv_param"]["pad"])
        elif kind == "spatial_bn":
            bn = layer["bn_param"]
            rm, rv = torch.tensor(np.array(bn["running_mean"])), torch.tensor(np.array(bn["running_var"]))
            h = F.batch_norm(h, rm, rv, p["gamma"], p["beta"], training=(mode == "train"), momentum=bn["momentum"],
                             eps=bn["eps"])
            running[i] = (rm.numpy(), rv.numpy())
        elif kind == "relu":
            h = torch.relu(h)
        elif kind == "max_pool":
            h = F.max_pool2d(h, layer["pool_param"]["kernel"])
        elif kind == "dropout" and mode == "train":
            keep = np.random.default_rng(seed + i).random(tuple(h.shape)) >= layer["p_drop"]
            h = h * torch.tensor(keep / (1.0 - layer["p_drop"]))
        elif kind == "affine":
            h = h.reshape(h.shape[0], -1) @ p["w"] + p["b"]
    loss = grads = None
    if y is not None:
        total = F.cross_entropy(h, torch.tensor(np.asarray(y, dtype=np.int64)))
        total = total + 0.5 * reg * sum((v ** 2).sum() for k, v in params.items() if k.endswith(".w"))
        loss = float(total.detach())
    elif dout is not None:
        total = (h * torch.tensor(dout)).sum()
    if y is not None or dout is not None:
        total.backward()
        grads = {k: v.grad.numpy() for k, v in params.items()}
    return h.detach().numpy(), running, loss, grads


def batch(rng, in_shape, n=None):
    n = n or int(rng.integers(2, 7))
    return rng.normal(size=(n,) + tuple(in_shape))


def scale_of(a):
    return max(1.0, float(np.abs(a).max()))


# -- model_forward -------------------------------------------------------------------------------
@part("model_forward", states=["forward, backward = toolbox(tools)[kind]", "dropout layer i draws its mask with seed + i",
                               "flattens its input to (N, D) first", "a NEW dict like model",
                               "each batch-norm layer holds the new_bn_param", PLAIN],
      shown=["train-mode scores against torch", "batch norm's running mean in new_model", "check_plain_data(caches"])
def test_model_forward_matches_torch(student, rng):
    """model_forward matches the same network in torch, in train mode, on random architectures"""
    cases = []
    for trial in range(5):
        model, shape = random_model(rng, conv=trial != 4, bn=True if trial == 0 else None)
        cases.append((model, batch(rng, shape), int(rng.integers(0, 1000))))
    # every call in one request
    replies = student.call_each("model_forward", [(model, x, "train", TOOLS, seed) for model, x, seed in cases])
    for trial, ((model, x, seed), result) in enumerate(zip(cases, replies)):
        scores, caches, new_model = expect_tuple(result, 3, "model_forward")
        want, running, _, _ = torch_net(model, x, "train", seed)
        case = f"random network {trial + 1} in train mode"
        expect_close(scores, want, "model_forward scores", case, rtol=RTOL, atol=ATOL * scale_of(want))
        if not isinstance(caches, (list, tuple)) or len(caches) != len(model["layers"]):
            raise CheckFailure("model_forward should return one cache per layer, in a list")
        if not isinstance(new_model, dict) or len(new_model.get("layers", [])) != len(model["layers"]):
            raise CheckFailure("model_forward's new_model should be a model dict with the same layers")
        for i, (mean, var) in running.items():
            bn = new_model["layers"][i].get("bn_param", {})
            for key, value in (("running_mean", mean), ("running_var", var)):
                if key not in bn:
                    raise CheckFailure(f"new_model's batch-norm layer has no {key} ({case})")
                expect_close(bn[key], value, f"new_model batch norm {key}", case, rtol=RTOL, atol=ATOL)
        for i, (old, new) in enumerate(zip(model["layers"], new_model["layers"])):
            if old["kind"] != "spatial_bn" and not _same(old, new):
                raise CheckFailure(f"new_model changed layer {i} ({old['kind']}); only batch norm's bn_param changes")


def _same(a, b):
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.shape == b.shape and np.array_equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(_same(u, v) for u, v in zip(a, b))
    return a == b


@part("model_forward", states=["eval", "running_mean"], shown=["eval-mode scores against torch"])
def test_model_forward_eval_mode(student, rng):
    """in eval mode model_forward uses the running statistics and no dropout"""
    for trial in range(3):
        model, shape = random_model(rng, p_drop=0.5, bn=True)
        x = batch(rng, shape)
        scores, _, _ = expect_tuple(student.model_forward(model, x, "eval", TOOLS, 3), 3, "model_forward")
        want = torch_net(model, x, "eval")[0]
        expect_close(scores, want, "model_forward scores", f"random network {trial + 1} in eval mode",
                     rtol=RTOL, atol=ATOL * scale_of(want))


@part("model_forward", states=["Do not modify model (nor any dict or array inside it) or x"],
      shown=["model_forward modified the model or x"])
def test_model_forward_leaves_inputs_unchanged(student, rng):
    """model_forward modifies neither the model (batch norm's bn_param included) nor x"""
    model, shape = random_model(rng, p_drop=0.2)
    x = batch(rng, shape)
    _, after = student.call_keeping_args("model_forward", model, x, "train", TOOLS, 1)
    expect_unchanged([model, x], after[:2], "model_forward")


# -- model_backward ------------------------------------------------------------------------------
def expect_grads(grads, want, fn, case):
    """grads: a dict with exactly want's keys, each entry within the gradient tolerance of want's."""
    if not isinstance(grads, dict) or sorted(grads) != sorted(want):
        got = sorted(grads) if isinstance(grads, dict) else type(grads).__name__
        raise CheckFailure(f"{fn} should return a dict with one key per parameter, "
                           f"{sorted(want)}; got {got} ({case})")
    for name, g in want.items():
        expect_close(grads[name], g, f"{fn} grads[{name!r}]", case, rtol=RTOL_GRAD, atol=ATOL_GRAD * scale_of(g))


def check_backward(student, cases):
    """cases: [(model, x, seed, dout, case)]. Every forward call in one request, then every backward call
    (each with its own caches) in another."""
    caches = [expect_tuple(r, 3, "model_forward")[1]
              for r in student.call_each("model_forward", [(model, x, "train", TOOLS, seed)
                                                           for model, x, seed, _, _ in cases])]
    backwards = student.call_each("model_backward", [(c[0], c[3], cache, TOOLS) for c, cache in zip(cases, caches)])
    for (model, x, seed, dout, case), grads in zip(cases, backwards):
        expect_grads(grads, torch_net(model, x, "train", seed, dout=dout)[3], "model_backward", case)


@part("model_backward", states=["from the last layer to the first", "one entry for every parameter of every layer",
                                "\"<i>.<name>\""],
      shown=["against torch autograd"])
def test_model_backward_matches_autograd(student, rng):
    """model_backward gives every parameter's gradient as torch autograd does, on random architectures"""
    cases = []
    for trial in range(5):
        model, shape = random_model(rng, conv=trial != 4)
        x, seed = batch(rng, shape), int(rng.integers(0, 1000))
        n_out = model["layers"][-1]["params"]["w"].shape[1]
        cases.append((model, x, seed, rng.normal(size=(x.shape[0], n_out)), f"random network {trial + 1}"))
    check_backward(student, cases)


@part("model_backward", states=["caches : the caches list that model_forward returned"],
      unshown="needs two networks of different shapes whose caches are kept side by side")
def test_model_backward_two_forwards(student, rng):
    """model_backward uses only the caches it is given, when another forward ran in between"""
    model, shape = random_model(rng, p_drop=0.2)
    x1, x2 = batch(rng, shape, 3), batch(rng, shape, 5)
    n_out = model["layers"][-1]["params"]["w"].shape[1]
    d1 = rng.normal(size=(3, n_out))
    _, caches1, _ = expect_tuple(student.model_forward(model, x1, "train", TOOLS, 4), 3, "model_forward")
    student.model_forward(model, x2, "train", TOOLS, 9)
    grads = student.model_backward(model, d1, caches1, TOOLS)
    expect_grads(grads, torch_net(model, x1, "train", 4, dout=d1)[3], "model_backward",
                 "the first forward's caches, after a second forward")


@part("model_backward", states=["Do not modify dscores, the caches or the model"],
      shown=["model_backward modified the model, a cache or dscores"])
def test_model_backward_leaves_inputs_unchanged(student, rng):
    """model_backward modifies neither dscores, nor the caches, nor the model"""
    model, shape = random_model(rng, p_drop=0.2)
    x = batch(rng, shape)
    _, caches, _ = expect_tuple(student.model_forward(model, x, "train", TOOLS, 2), 3, "model_forward")
    dout = rng.normal(size=(x.shape[0], model["layers"][-1]["params"]["w"].shape[1]))
    _, after = student.call_keeping_args("model_backward", model, dout, caches, TOOLS)
    expect_unchanged([model, dout, caches], after[:3], "model_backward")


# -- model_loss ----------------------------------------------------------------------------------
@part("model_loss", states=["mean cross-entropy + (reg / 2) * sum of squares of every \"w\" of the",
                            "never the biases nor gamma, beta", "with reg * w", "loss a Python float"],
      shown=["loss against torch", "with the penalty", "ln 10"])
def test_model_loss_matches_torch(student, rng):
    """model_loss gives the penalized loss and its gradients as torch does"""
    for trial in range(4):
        model, shape = random_model(rng, conv=trial != 3)
        x, seed = batch(rng, shape), int(rng.integers(0, 1000))
        n_out = model["layers"][-1]["params"]["w"].shape[1]
        y = rng.integers(0, n_out, x.shape[0])
        reg = float(rng.choice([0.0, 0.05, 0.5]))
        loss, grads, _ = expect_tuple(student.model_loss(model, x, y, reg, "train", TOOLS, seed), 3, "model_loss")
        _, _, want_loss, want = torch_net(model, x, "train", seed, y=y, reg=reg)
        case = f"random network {trial + 1}, reg = {reg}"
        expect_close(expect_float(loss, "model_loss loss"), want_loss, "model_loss loss", case, rtol=RTOL, atol=ATOL)
        expect_grads(grads, want, "model_loss", case)


@part("model_loss", states=["in \"eval\" mode grads is an empty dict {}"], shown=["eval-mode loss"])
def test_model_loss_eval(student, rng):
    """in eval mode model_loss returns the loss with the running statistics and an empty dict"""
    model, shape = random_model(rng, p_drop=0.5)
    x = batch(rng, shape)
    y = rng.integers(0, model["layers"][-1]["params"]["w"].shape[1], x.shape[0])
    loss, grads, _ = expect_tuple(student.model_loss(model, x, y, 0.1, "eval", TOOLS, 0), 3, "model_loss")
    expect_close(expect_float(loss, "model_loss loss"), torch_net(model, x, "eval", y=y, reg=0.1)[2], "model_loss loss",
                 "eval mode", rtol=RTOL, atol=ATOL)
    if grads != {}:
        raise CheckFailure("in eval mode model_loss should return an empty dict of gradients")


@part("model_loss", states=["Do not modify the model or the data"], shown=["model_loss modified the model"])
def test_model_loss_leaves_inputs_unchanged(student, rng):
    """model_loss modifies neither the model nor the data"""
    model, shape = random_model(rng)
    x = batch(rng, shape)
    y = rng.integers(0, model["layers"][-1]["params"]["w"].shape[1], x.shape[0])
    _, after = student.call_keeping_args("model_loss", model, x, y, 0.1, "train", TOOLS, 0)
    expect_unchanged([model, x, y], after[:3], "model_loss")


# -- solver_step ---------------------------------------------------------------------------------
RULES = {"sgd": {"lr": 0.1, "weight_decay": 0.01}, "sgd_momentum": {"lr": 0.05, "momentum": 0.8},
         "adam": {"lr": 0.01, "beta1": 0.8}}


def oracle_steps(model, grads_seq, rule, configs):
    """Each parameter through the course rule on its own, the configs' keys set on top of the state."""
    from coursekit import toolbox
    fn = toolbox("course")["optim"][rule]
    params = {f"{i}.{k}": v for i, layer in enumerate(model["layers"]) for k, v in layer.get("params", {}).items()}
    state = {}
    for grads, config in zip(grads_seq, configs):
        for name in params:
            params[name], state[name] = fn(params[name], grads[name], dict(state.get(name, {}), **config))
    return params, state


@part("solver_step", states=["config = its state from opt_state, with every key of optim[\"config\"] set",
                             "new_opt_state maps every parameter to the config the rule returned",
                             "toolbox(tools)[\"optim\"]"],
      shown=["SGD step of", "two Adam steps of 0.w"])
def test_solver_step_matches_rule(student, rng):
    """three solver steps match each parameter's rule, with the state carried and a new lr each step"""
    for rule, base in RULES.items():
        model, _ = random_model(rng)
        names = param_names(model)
        grads_seq = [{n: rng.normal(size=np.shape(_param(model, n))) for n in names} for _ in range(3)]
        configs = [dict(base, lr=base["lr"] * f) for f in (1.0, 0.5, 0.25)]
        current, state = model, {}
        for grads, config in zip(grads_seq, configs):
            current, state = expect_tuple(student.solver_step(current, grads, state, {"rule": rule, "config": config},
                                                              TOOLS), 2, "solver_step")
        want, want_state = oracle_steps(model, grads_seq, rule, configs)
        for name in names:
            expect_close(_param(current, name), want[name], f"solver_step {name}", f"three {rule} steps, lr halved each step",
                         rtol=1e-10, atol=1e-13)
        if not isinstance(state, dict) or sorted(state) != sorted(names):
            raise CheckFailure(f"solver_step's new optimizer state should map every parameter name to its config ({rule})")
        if rule == "adam" and any(int(state[n].get("t", 0)) != 3 for n in names):
            raise CheckFailure("after three Adam steps every parameter's config should hold t = 3")


def _param(model, name):
    i, k = name.split(".", 1)
    return model["layers"][int(i)]["params"][k]


@part("solver_step", states=["Do not modify model, grads, opt_state or optim"],
      shown=["solver_step modified the model or the gradients", "solver_step modified the optimizer state"])
def test_solver_step_leaves_inputs_unchanged(student, rng):
    """solver_step modifies neither the model, the gradients, the optimizer state nor optim"""
    model, _ = random_model(rng)
    grads = {n: rng.normal(size=np.shape(_param(model, n))) for n in param_names(model)}
    optim = {"rule": "adam", "config": {"lr": 0.01}}
    m1, s1 = expect_tuple(student.solver_step(model, grads, {}, optim, TOOLS), 2, "solver_step")
    _, after = student.call_keeping_args("solver_step", m1, grads, s1, optim, TOOLS)
    expect_unchanged([m1, grads, s1, optim], after[:4], "solver_step")


# -- train ---------------------------------------------------------------------------------------
def train_problem(rng, p_drop=None):
    model, shape = random_model(rng, p_drop=float(rng.choice([0.0, 0.2])) if p_drop is None else p_drop)
    n = int(rng.integers(9, 30))
    batch_size = int(rng.integers(4, 9))
    n += int(n % batch_size == 0)  # always a smaller last batch
    x = rng.normal(size=(n,) + shape)
    y = rng.integers(0, model["layers"][-1]["params"]["w"].shape[1], n)
    rule = str(rng.choice(["sgd_momentum", "adam"]))
    schedule = [{"name": "step", "base_lr": 0.05, "step_size": 2, "gamma": 0.5},
                {"name": "cosine", "base_lr": 0.05, "t_max": 3}][int(rng.integers(0, 2))]
    spec = {"optim": {"rule": rule, "config": dict(RULES[rule])}, "schedule": schedule, "epochs": int(rng.integers(2, 4)),
            "batch_size": batch_size, "reg": float(rng.choice([0.0, 1e-3])), "seed": int(rng.integers(0, 100))}
    return model, x, y, spec


@part("train", states=["stepped once per EPOCH", "rng = np.random.default_rng(seed) is created once",
                       "rng.permutation(N)", "seed=100 * s", "the optimizer state carries over from step to step",
                       "history = {\"loss\": [float per step], \"lr\": [float per step]}"],
      shown=["lr per step (step schedule, per epoch)", "loss of the first step (first batch of rng.permutation, seed 0)"])
def test_train_matches_reference(student, ref, rng):
    """train follows the stated batches, seeds, schedule and solver steps (against the reference loop)"""
    for trial in range(2):
        model, x, y, spec = train_problem(rng, p_drop=0.2 if trial == 0 else None)
        got_model, history = expect_tuple(student.train(model, x, y, spec, TOOLS), 2, "train")
        want_model, want = ref.train(model, x, y, spec, TOOLS)
        case = f"{spec['epochs']} epochs of {spec['optim']['rule']}, {len(x)} examples in batches of {spec['batch_size']}"
        if not isinstance(history, dict) or len(history.get("loss", [])) != len(want["loss"]) \
                or len(history.get("lr", [])) != len(want["lr"]):
            raise CheckFailure(f"train's history should hold one loss and one lr per step ({case})")
        expect_close(np.array(history["lr"], dtype=float), np.array(want["lr"]), "history lr", case, rtol=1e-12, atol=0)
        expect_close(np.array(history["loss"], dtype=float), np.array(want["loss"]), "history loss", case,
                     rtol=1e-8, atol=1e-10)
        for name in param_names(model):
            w = _param(want_model, name)
            expect_close(_param(got_model, name), w, f"trained {name}", case, rtol=1e-7, atol=1e-9 * scale_of(w))


@part("train", states=["Do not modify model, X, y or spec"], shown=["train modified the model, the data or the spec"])
def test_train_leaves_inputs_unchanged(student, rng):
    """train modifies neither the model, the data nor the spec"""
    model, x, y, spec = train_problem(rng)
    spec["epochs"] = 1
    _, after = student.call_keeping_args("train", model, x, y, spec, TOOLS)
    expect_unchanged([model, x, y, spec], after[:4], "train")


# -- update_ratios -------------------------------------------------------------------------------
@part("update_ratios", states=["norm(new - old) / norm(old)", "0.0 if the parameter did not",
                               "float(\"inf\") if it did"],
      shown=["ratio of 0.w by hand", "a zero parameter: 0.0 if unchanged, inf if moved"])
def test_update_ratios(student, rng):
    """update_ratios gives norm(new - old) / norm(old) per parameter, zero parameters included"""
    for trial in range(3):
        model, _ = random_model(rng)
        new = {"layers": [dict(layer) for layer in model["layers"]]}
        want, j = {}, 0
        for i, layer in enumerate(new["layers"]):
            if "params" not in layer:
                continue
            layer["params"] = {}
            for k, w in model["layers"][i]["params"].items():
                forced = {0: "zero, moved", 1: "zero, unchanged"}.get(j) if trial == 0 else None
                j += 1
                if forced or rng.random() < 0.15:  # a zero parameter that stays zero, or moves
                    model["layers"][i]["params"][k] = w = np.zeros_like(w)
                moves = forced != "zero, unchanged" and (forced == "zero, moved" or rng.random() < 0.9)
                moved = w + rng.normal(0, float(rng.choice([1e-4, 1e-2, 1.0])), w.shape) * moves
                layer["params"][k] = moved
                size, change = np.linalg.norm(w), np.linalg.norm(moved - w)
                want[f"{i}.{k}"] = change / size if size > 0 else (0.0 if change == 0 else math.inf)
        got = student.update_ratios(model, new)
        if not isinstance(got, dict) or sorted(got) != sorted(want):
            raise CheckFailure("update_ratios should return one ratio per parameter, keyed \"<i>.<name>\"")
        for name, value in want.items():
            g = expect_float(got[name], f"update_ratios[{name!r}]")
            if math.isinf(value) or value == 0.0:
                if g != value:
                    raise CheckFailure(f"update_ratios[{name!r}] of a parameter that was 0 should be {value}")
            else:
                expect_close(g, value, f"update_ratios[{name!r}]", f"random step {trial + 1}", rtol=1e-9, atol=0)


# -- unit_health ---------------------------------------------------------------------------------
@part("unit_health", states=["every position after the first axis is a unit", "<= 0 on EVERY example of the batch",
                             "|a| >= 1 - tol", "a <= tol or a >= 1 - tol", "ValueError"],
      shown=["dead ReLU units by hand", "saturated tanh entries by hand", "dead units of (N, C, H, W) maps"])
def test_unit_health(student, rng):
    """unit_health counts dead ReLU units and saturated tanh and sigmoid entries"""
    calls = []
    for trial in range(4):
        shape = (int(rng.integers(2, 8)),) + tuple(int(s) for s in rng.integers(1, 4, size=int(rng.integers(1, 4))))
        tol = (0.05, 0.1, 0.02, 0.2)[trial]
        z = rng.normal(0, 2.0, shape)
        relu = np.maximum(z, 0)
        units = relu.reshape(shape[0], -1)
        units[:, rng.random(units.shape[1]) < 0.3] = 0.0
        relu = units.reshape(shape)
        cases = {"relu": (relu, float(np.mean(np.all(units <= 0, axis=0))), 0.0)}
        t = np.tanh(z * 2)
        cases["tanh"] = (t, 0.0, float(np.mean(np.abs(t) >= 1 - tol)))
        s = 1 / (1 + np.exp(-z * 2))
        cases["sigmoid"] = (s, 0.0, float(np.mean((s <= tol) | (s >= 1 - tol))))
        calls += [(acts, kind, tol, dead, sat) for kind, (acts, dead, sat) in cases.items()]
    # every case in one request
    for (acts, kind, _, dead, sat), got in zip(calls, student.call_each("unit_health", [c[:3] for c in calls])):
        if not isinstance(got, dict) or sorted(got) != ["dead", "saturated"]:
            raise CheckFailure("unit_health should return a dict with the keys \"dead\" and \"saturated\"")
        case = f"{kind} activations of shape {acts.shape}"
        expect_close(expect_float(got["dead"], "dead"), dead, "unit_health dead", case, rtol=1e-12, atol=0)
        expect_close(expect_float(got["saturated"], "saturated"), sat, "unit_health saturated", case, rtol=1e-12, atol=0)
    try:
        student.unit_health(relu, "softsign", 0.01)
    except StudentRaised as err:
        if err.type_name != "ValueError":
            raise CheckFailure(f"unit_health with an unknown kind raised {err.type_name}; expected a ValueError")
        return
    raise CheckFailure("unit_health with an unknown kind returned normally; expected a ValueError")


# -- network_grad_check --------------------------------------------------------------------------
def grad_check_problem(rng, p_drop=None):
    model, shape = random_model(rng, p_drop=float(rng.choice([0.0, 0.3])) if p_drop is None else p_drop)
    x = batch(rng, shape, int(rng.integers(3, 6)))
    y = rng.integers(0, model["layers"][-1]["params"]["w"].shape[1], x.shape[0])
    names = [n for n in param_names(model)
             if not (n.endswith(".b") and model["layers"][int(n.split(".")[0])]["kind"] == "conv"
                     and len(model["layers"]) > int(n.split(".")[0]) + 1
                     and model["layers"][int(n.split(".")[0]) + 1]["kind"] == "spatial_bn")]
    return model, x, y, names


@part("network_grad_check", states=["np.random.default_rng(seed).choice(w.size, min(n_entries, w.size)",
                                    "(loss(w + h e) - loss(w - h e)) / (2 h)",
                                    "norm(analytic - numeric) / (norm(analytic) + norm(numeric))",
                                    "always in \"train\" mode with this `seed`"],
      shown=["relative error of", "should be below 1e-6"])
def test_network_grad_check_against_reference(student, ref, rng):
    """network_grad_check picks the stated entries and computes the stated relative error (a large h,
    where the error is not rounding noise, against the reference)"""
    for trial in range(2):
        model, x, y, names = grad_check_problem(rng, p_drop=0.3 if trial == 0 else None)
        reg, seed, n_entries = float(rng.choice([0.0, 0.1])), int(rng.integers(0, 50)), int(rng.integers(2, 6))
        h = float(rng.choice([3e-2, 1e-1]))
        got = student.network_grad_check(model, x, y, reg, TOOLS, names, h, n_entries, seed)
        want = ref.network_grad_check(model, x, y, reg, TOOLS, names, h, n_entries, seed)
        if not isinstance(got, dict) or sorted(got) != sorted(names):
            raise CheckFailure("network_grad_check should return one error per requested name")
        for name in names:
            expect_close(expect_float(got[name], f"error of {name}"), want[name], f"network_grad_check[{name!r}]",
                         f"random network {trial + 1}, h = {h}", rtol=1e-5, atol=1e-12)


@part("network_grad_check", states=["Do not modify the model (perturb copies)"],
      shown=["network_grad_check modified the model", "should be below 1e-6"])
def test_network_grad_check_small_and_pure(student, ref, rng):
    """with h = 1e-5 every error of a correct network is tiny, and the model is left unchanged"""
    # On a few random networks even a correct check reports an error near or above 1e-6 (a sampled entry
    # with a tiny gradient, where rounding in the loss differences dominates; or a ReLU or max-pool kink
    # within h): the problem is drawn again until the reference's errors are all below 1e-8, so the
    # bound of 1e-6 leaves a correct implementation a margin of 100 for its own rounding.
    for _ in range(200):
        model, x, y, names = grad_check_problem(rng)
        if max(ref.network_grad_check(model, x, y, 0.05, TOOLS, names, 1e-5, 4, 1).values()) < 1e-8:
            break
    else:
        raise RuntimeError("no random network on which the reference's gradient check is below 1e-8")
    (errors), after = student.call_keeping_args("network_grad_check", model, x, y, 0.05, TOOLS, names, 1e-5, 4, 1)
    expect_unchanged([model, x, y], after[:3], "network_grad_check")
    for name in names:
        if not expect_float(errors[name], f"error of {name}") < 1e-6:
            raise CheckFailure(f"the relative error of {name} should be below 1e-6 on a correct network (h = 1e-5)")

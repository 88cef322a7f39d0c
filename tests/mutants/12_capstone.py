"""Plausible wrong implementations for notebook 12. Each is appended to the solution cell of its
part (so it redefines the function there); the hidden checks must take that part's points away and
leave every other part untouched, except the parts that call the broken function (DEPENDS)."""

# The checks of these parts call the student's own functions of earlier parts of this notebook.
DEPENDS = {"model_backward": ["model_forward"], "model_loss": ["model_forward", "model_backward"],
           "train": ["model_forward", "model_backward", "model_loss", "solver_step"],
           "network_grad_check": ["model_forward", "model_backward", "model_loss"]}

_MODEL_FORWARD = '''
def model_forward(model, x, mode, tools, seed=0):
    fns = toolbox(tools)
    out = np.asarray(x, dtype=np.float64)
    caches, layers = [], []
    for i, layer in enumerate(model["layers"]):
        kind, p, new = layer["kind"], layer.get("params", {}), dict(layer)
        forward = fns[kind][0]
        if kind == "conv":
            out, cache = forward(out, p["w"], p["b"], layer["conv_param"])
        elif kind == "spatial_bn":
            bn_param = dict(layer.get("bn_param", {}), mode=mode)
            out, cache, new["bn_param"] = forward(out, p["gamma"], p["beta"], bn_param)
        elif kind == "relu":
            out, cache = forward(out)
        elif kind == "max_pool":
            out, cache = forward(out, layer["pool_param"])
        elif kind == "dropout":
            out, cache = forward(out, layer["p_drop"], mode, seed + i)
        elif kind == "affine":
            shape = out.shape
            out, inner = forward(out.reshape(shape[0], -1), p["w"], p["b"])
            cache = {"shape": shape, "inner": inner}
        else:
            raise ValueError(f"unknown layer kind {kind!r}")
        caches.append(cache)
        layers.append(new)
    new_model = dict(model, layers=layers)
    return out, caches, new_model
'''


def _forward_with(right, wrong):
    """The correct model_forward with its one line `right` replaced by `wrong`."""
    assert _MODEL_FORWARD.count(right) == 1, right
    return _MODEL_FORWARD.replace(right, wrong)


MUTANTS = {
    "model_forward": {
        'dropout seed not offset by the layer index': _forward_with(
            'out, cache = forward(out, layer["p_drop"], mode, seed + i)',
            'out, cache = forward(out, layer["p_drop"], mode, seed)'),
        'batch norm always in train mode (mode not passed on)': _forward_with(
            'bn_param = dict(layer.get("bn_param", {}), mode=mode)',
            'bn_param = dict(layer.get("bn_param", {}), mode="train")'),
        'new model keeps the old bn_param': _forward_with(
            'out, cache, new["bn_param"] = forward(out, p["gamma"], p["beta"], bn_param)',
            'out, cache, _unused = forward(out, p["gamma"], p["beta"], bn_param)'),
        'writes the new bn_param into the given layer': _forward_with(
            'out, cache, new["bn_param"] = forward(out, p["gamma"], p["beta"], bn_param)',
            'out, cache, layer["bn_param"] = forward(out, p["gamma"], p["beta"], bn_param)'),
        'affine flattens to (D, N) (transposed)': _forward_with(
            'out, inner = forward(out.reshape(shape[0], -1), p["w"], p["b"])',
            'out, inner = forward(out.reshape(-1, shape[0]).T, p["w"], p["b"])'),
    },
    "model_backward": {
        "walks the layers first to last": '''
def model_backward(model, dscores, caches, tools):
    fns = toolbox(tools)
    grads = {}
    dout = np.asarray(dscores, dtype=np.float64)
    for i in range(len(model["layers"])):
        kind, cache = model["layers"][i]["kind"], caches[i]
        backward = fns[kind][1]
        if kind == "conv":
            dout, grads[f"{i}.w"], grads[f"{i}.b"] = backward(dout, cache)
        elif kind == "spatial_bn":
            dout, grads[f"{i}.gamma"], grads[f"{i}.beta"] = backward(dout, cache)
        elif kind == "affine":
            dx, grads[f"{i}.w"], grads[f"{i}.b"] = backward(dout, cache["inner"])
            dout = dx.reshape(cache["shape"])
        else:  # relu, max_pool, dropout: no parameters
            dout = backward(dout, cache)
    return grads
''',
        "affine dx not reshaped back": '''
def model_backward(model, dscores, caches, tools):
    fns = toolbox(tools)
    grads = {}
    dout = np.asarray(dscores, dtype=np.float64)
    for i in reversed(range(len(model["layers"]))):
        kind, cache = model["layers"][i]["kind"], caches[i]
        backward = fns[kind][1]
        if kind == "conv":
            dout, grads[f"{i}.w"], grads[f"{i}.b"] = backward(dout, cache)
        elif kind == "spatial_bn":
            dout, grads[f"{i}.gamma"], grads[f"{i}.beta"] = backward(dout, cache)
        elif kind == "affine":
            dx, grads[f"{i}.w"], grads[f"{i}.b"] = backward(dout, cache["inner"])
            dout = dx
        else:  # relu, max_pool, dropout: no parameters
            dout = backward(dout, cache)
    return grads
''',
        "dropout skipped in the backward pass": '''
def model_backward(model, dscores, caches, tools):
    fns = toolbox(tools)
    grads = {}
    dout = np.asarray(dscores, dtype=np.float64)
    for i in reversed(range(len(model["layers"]))):
        kind, cache = model["layers"][i]["kind"], caches[i]
        backward = fns[kind][1]
        if kind == "conv":
            dout, grads[f"{i}.w"], grads[f"{i}.b"] = backward(dout, cache)
        elif kind == "spatial_bn":
            dout, grads[f"{i}.gamma"], grads[f"{i}.beta"] = backward(dout, cache)
        elif kind == "affine":
            dx, grads[f"{i}.w"], grads[f"{i}.b"] = backward(dout, cache["inner"])
            dout = dx.reshape(cache["shape"])
        elif kind != 'dropout':  # relu, max_pool
            dout = backward(dout, cache)
    return grads
''',
        "gradient of the batch-norm parameters swapped": '''
def model_backward(model, dscores, caches, tools):
    fns = toolbox(tools)
    grads = {}
    dout = np.asarray(dscores, dtype=np.float64)
    for i in reversed(range(len(model["layers"]))):
        kind, cache = model["layers"][i]["kind"], caches[i]
        backward = fns[kind][1]
        if kind == "conv":
            dout, grads[f"{i}.w"], grads[f"{i}.b"] = backward(dout, cache)
        elif kind == "spatial_bn":
            dout, grads[f"{i}.beta"], grads[f"{i}.gamma"] = backward(dout, cache)
        elif kind == "affine":
            dx, grads[f"{i}.w"], grads[f"{i}.b"] = backward(dout, cache["inner"])
            dout = dx.reshape(cache["shape"])
        else:  # relu, max_pool, dropout: no parameters
            dout = backward(dout, cache)
    return grads
''',
    },
    "model_loss": {
        "penalty on the biases too": '''
def model_loss(model, X, y, reg, mode, tools, seed=0):
    fns = toolbox(tools)
    scores, caches, new_model = model_forward(model, X, mode, tools, seed)
    loss, dscores = fns["softmax_ce"](scores, y)
    weights = {f"{i}.{k}": v for i, layer in enumerate(model["layers"]) if layer["kind"] in ("conv", "affine")
               for k, v in layer["params"].items()}
    loss = float(loss) + 0.5 * reg * sum(float(np.sum(w * w)) for w in weights.values())
    grads = {}
    if mode == "train":
        grads = model_backward(model, dscores, caches, tools)
        for name, w in weights.items():
            grads[name] = grads[name] + reg * w
    return loss, grads, new_model
''',
        "penalty without the 1/2": '''
def model_loss(model, X, y, reg, mode, tools, seed=0):
    fns = toolbox(tools)
    scores, caches, new_model = model_forward(model, X, mode, tools, seed)
    loss, dscores = fns["softmax_ce"](scores, y)
    weights = {f"{i}.w": layer["params"]["w"] for i, layer in enumerate(model["layers"])
               if layer["kind"] in ("conv", "affine")}
    loss = float(loss) + reg * sum(float(np.sum(w * w)) for w in weights.values())
    grads = {}
    if mode == "train":
        grads = model_backward(model, dscores, caches, tools)
        for name, w in weights.items():
            grads[name] = grads[name] + reg * w
    return loss, grads, new_model
''',
        "penalty gradient 2 reg w": '''
def model_loss(model, X, y, reg, mode, tools, seed=0):
    fns = toolbox(tools)
    scores, caches, new_model = model_forward(model, X, mode, tools, seed)
    loss, dscores = fns["softmax_ce"](scores, y)
    weights = {f"{i}.w": layer["params"]["w"] for i, layer in enumerate(model["layers"])
               if layer["kind"] in ("conv", "affine")}
    loss = float(loss) + 0.5 * reg * sum(float(np.sum(w * w)) for w in weights.values())
    grads = {}
    if mode == "train":
        grads = model_backward(model, dscores, caches, tools)
        for name, w in weights.items():
            grads[name] = grads[name] + 2 * reg * w
    return loss, grads, new_model
''',
        "penalty gradient added in place into the backward's arrays, twice": '''
def model_loss(model, X, y, reg, mode, tools, seed=0):
    fns = toolbox(tools)
    scores, caches, new_model = model_forward(model, X, mode, tools, seed)
    loss, dscores = fns["softmax_ce"](scores, y)
    weights = {f"{i}.w": layer["params"]["w"] for i, layer in enumerate(model["layers"])
               if layer["kind"] in ("conv", "affine")}
    loss = float(loss) + 0.5 * reg * sum(float(np.sum(w * w)) for w in weights.values())
    grads = {}
    if mode == "train":
        grads = model_backward(model, dscores, caches, tools)
        for name, w in weights.items():
            grads[name] += reg * w
            grads[name] += 0.0 * w if reg == 0 else reg * w
    return loss, grads, new_model
''',
        "gradients computed in eval mode too": '''
def model_loss(model, X, y, reg, mode, tools, seed=0):
    fns = toolbox(tools)
    scores, caches, new_model = model_forward(model, X, mode, tools, seed)
    loss, dscores = fns["softmax_ce"](scores, y)
    weights = {f"{i}.w": layer["params"]["w"] for i, layer in enumerate(model["layers"])
               if layer["kind"] in ("conv", "affine")}
    loss = float(loss) + 0.5 * reg * sum(float(np.sum(w * w)) for w in weights.values())
    grads = {}
    if True:
        grads = model_backward(model, dscores, caches, tools)
        for name, w in weights.items():
            grads[name] = grads[name] + reg * w
    return loss, grads, new_model
''',
    },
    "solver_step": {
        "state wins over this step's hyperparameters": '''
def solver_step(model, grads, opt_state, optim, tools):
    rule = toolbox(tools)["optim"][optim["rule"]]
    new_state, layers = dict(opt_state), []
    for i, layer in enumerate(model["layers"]):
        new = dict(layer)
        if "params" in layer:
            new["params"] = {}
            for name, w in layer["params"].items():
                key = f"{i}.{name}"
                config = dict(optim["config"], **opt_state.get(key, {}))
                new["params"][name], new_state[key] = rule(w, grads[key], config)
        layers.append(new)
    new_model = dict(model, layers=layers)
    return new_model, new_state
''',
        "state not carried (fresh config every step)": '''
def solver_step(model, grads, opt_state, optim, tools):
    rule = toolbox(tools)["optim"][optim["rule"]]
    new_state, layers = dict(opt_state), []
    for i, layer in enumerate(model["layers"]):
        new = dict(layer)
        if "params" in layer:
            new["params"] = {}
            for name, w in layer["params"].items():
                key = f"{i}.{name}"
                config = dict(optim["config"])
                new["params"][name], new_state[key] = rule(w, grads[key], config)
        layers.append(new)
    new_model = dict(model, layers=layers)
    return new_model, new_state
''',
        "one shared config for all parameters": '''
def solver_step(model, grads, opt_state, optim, tools):
    rule = toolbox(tools)["optim"][optim["rule"]]
    new_state, layers = dict(opt_state), []
    for i, layer in enumerate(model["layers"]):
        new = dict(layer)
        if "params" in layer:
            new["params"] = {}
            for name, w in layer["params"].items():
                key = f"{i}.{name}"
                config = opt_state.setdefault("shared", dict(optim["config"]))
                new["params"][name], new_state[key] = rule(w, grads[key], config)
        layers.append(new)
    new_model = dict(model, layers=layers)
    return new_model, new_state
''',
        "writes into the given optimizer state": '''
def solver_step(model, grads, opt_state, optim, tools):
    rule = toolbox(tools)["optim"][optim["rule"]]
    new_state, layers = dict(opt_state), []
    for i, layer in enumerate(model["layers"]):
        new = dict(layer)
        if "params" in layer:
            new["params"] = {}
            for name, w in layer["params"].items():
                key = f"{i}.{name}"
                config = opt_state.setdefault(key, {})
                config.update(optim["config"])
                new["params"][name], new_state[key] = rule(w, grads[key], config)
        layers.append(new)
    new_model = dict(model, layers=layers)
    return new_model, new_state
''',
    },
    "train": {
        "schedule stepped per mini-batch": '''
def train(model, X, y, spec, tools):
    fns = toolbox(tools)
    rng = np.random.default_rng(spec["seed"])
    opt_state, history, step = {}, {"loss": [], "lr": []}, 0
    for epoch in progress(range(spec["epochs"]), desc="train"):
        order = rng.permutation(len(X))
        for start in range(0, len(X), spec["batch_size"]):
            lr = fns["lr_at"](spec["schedule"], step)
            optim = {"rule": spec["optim"]["rule"], "config": dict(spec["optim"]["config"], lr=lr)}
            batch = order[start:start + spec["batch_size"]]
            loss, grads, model = model_loss(model, X[batch], y[batch], spec["reg"], "train", tools,
                                            seed=100 * step)
            model, opt_state = solver_step(model, grads, opt_state, optim, tools)
            history["loss"].append(loss)
            history["lr"].append(lr)
            step += 1
    return model, history
''',
        "new generator every epoch": '''
def train(model, X, y, spec, tools):
    fns = toolbox(tools)
    rng = np.random.default_rng(spec["seed"])
    opt_state, history, step = {}, {"loss": [], "lr": []}, 0
    for epoch in progress(range(spec["epochs"]), desc="train"):
        lr = fns["lr_at"](spec["schedule"], epoch)
        optim = {"rule": spec["optim"]["rule"], "config": dict(spec["optim"]["config"], lr=lr)}
        order = np.random.default_rng(spec["seed"]).permutation(len(X))
        for start in range(0, len(X), spec["batch_size"]):
            batch = order[start:start + spec["batch_size"]]
            loss, grads, model = model_loss(model, X[batch], y[batch], spec["reg"], "train", tools,
                                            seed=100 * step)
            model, opt_state = solver_step(model, grads, opt_state, optim, tools)
            history["loss"].append(loss)
            history["lr"].append(lr)
            step += 1
    return model, history
''',
        "optimizer state reset every epoch": '''
def train(model, X, y, spec, tools):
    fns = toolbox(tools)
    rng = np.random.default_rng(spec["seed"])
    opt_state, history, step = {}, {"loss": [], "lr": []}, 0
    for epoch in progress(range(spec["epochs"]), desc="train"):
        lr = fns["lr_at"](spec["schedule"], epoch)
        optim = {"rule": spec["optim"]["rule"], "config": dict(spec["optim"]["config"], lr=lr)}
        order = rng.permutation(len(X))
        opt_state = {}
        for start in range(0, len(X), spec["batch_size"]):
            batch = order[start:start + spec["batch_size"]]
            loss, grads, model = model_loss(model, X[batch], y[batch], spec["reg"], "train", tools,
                                            seed=100 * step)
            model, opt_state = solver_step(model, grads, opt_state, optim, tools)
            history["loss"].append(loss)
            history["lr"].append(lr)
            step += 1
    return model, history
''',
        "last partial batch dropped": '''
def train(model, X, y, spec, tools):
    fns = toolbox(tools)
    rng = np.random.default_rng(spec["seed"])
    opt_state, history, step = {}, {"loss": [], "lr": []}, 0
    for epoch in progress(range(spec["epochs"]), desc="train"):
        lr = fns["lr_at"](spec["schedule"], epoch)
        optim = {"rule": spec["optim"]["rule"], "config": dict(spec["optim"]["config"], lr=lr)}
        order = rng.permutation(len(X))
        for start in range(0, len(X) - spec["batch_size"] + 1, spec["batch_size"]):
            batch = order[start:start + spec["batch_size"]]
            loss, grads, model = model_loss(model, X[batch], y[batch], spec["reg"], "train", tools,
                                            seed=100 * step)
            model, opt_state = solver_step(model, grads, opt_state, optim, tools)
            history["loss"].append(loss)
            history["lr"].append(lr)
            step += 1
    return model, history
''',
        "dropout seed is the epoch": '''
def train(model, X, y, spec, tools):
    fns = toolbox(tools)
    rng = np.random.default_rng(spec["seed"])
    opt_state, history, step = {}, {"loss": [], "lr": []}, 0
    for epoch in progress(range(spec["epochs"]), desc="train"):
        lr = fns["lr_at"](spec["schedule"], epoch)
        optim = {"rule": spec["optim"]["rule"], "config": dict(spec["optim"]["config"], lr=lr)}
        order = rng.permutation(len(X))
        for start in range(0, len(X), spec["batch_size"]):
            batch = order[start:start + spec["batch_size"]]
            loss, grads, model = model_loss(model, X[batch], y[batch], spec["reg"], "train", tools,
                                            seed=100 * epoch)
            model, opt_state = solver_step(model, grads, opt_state, optim, tools)
            history["loss"].append(loss)
            history["lr"].append(lr)
            step += 1
    return model, history
''',
    },
    "update_ratios": {
        "ratio of norms, not norm of the change": '''
def update_ratios(model, new_model):
    ratios = {}
    for i, (old, new) in enumerate(zip(model["layers"], new_model["layers"])):
        for name, w in old.get("params", {}).items():
            change = abs(float(np.linalg.norm(new["params"][name]) - np.linalg.norm(w)))
            size = float(np.linalg.norm(w))
            ratios[f"{i}.{name}"] = change / size if size > 0 else (0.0 if change == 0 else float("inf"))
    return ratios
''',
        "divided by the new weights' norm": '''
def update_ratios(model, new_model):
    ratios = {}
    for i, (old, new) in enumerate(zip(model["layers"], new_model["layers"])):
        for name, w in old.get("params", {}).items():
            change = float(np.linalg.norm(new["params"][name] - w))
            size = float(np.linalg.norm(new["params"][name]))
            ratios[f"{i}.{name}"] = change / size if size > 0 else (0.0 if change == 0 else float("inf"))
    return ratios
''',
        "zero weights give 0.0 always": '''
def update_ratios(model, new_model):
    ratios = {}
    for i, (old, new) in enumerate(zip(model["layers"], new_model["layers"])):
        for name, w in old.get("params", {}).items():
            change = float(np.linalg.norm(new["params"][name] - w))
            size = float(np.linalg.norm(w))
            ratios[f"{i}.{name}"] = change / size if size > 0 else 0.0
    return ratios
''',
        "mean absolute ratio entrywise": '''
def update_ratios(model, new_model):
    ratios = {}
    for i, (old, new) in enumerate(zip(model["layers"], new_model["layers"])):
        for name, w in old.get("params", {}).items():
            change = float(np.linalg.norm(new["params"][name] - w))
            size = float(np.linalg.norm(w))
            ratios[f"{i}.{name}"] = float(np.mean(np.abs(new['params'][name] - w)) / np.mean(np.abs(w))) if size > 0 else (0.0 if change == 0 else float("inf"))
    return ratios
''',
    },
    "unit_health": {
        "dead if 0 on any example": '''
def unit_health(acts, kind, tol=0.01):
    a = np.asarray(acts, dtype=np.float64).reshape(len(acts), -1)
    if kind == "relu":
        dead, saturated = float(np.mean(np.any(a <= 0, axis=0))), 0.0
    elif kind == "tanh":
        dead, saturated = 0.0, float(np.mean(np.abs(a) >= 1 - tol))
    elif kind == "sigmoid":
        dead, saturated = 0.0, float(np.mean((a <= tol) | (a >= 1 - tol)))
    else:
        raise ValueError(f"unknown activation {kind!r}")
    return {"dead": dead, "saturated": saturated}
''',
        "dead counted over entries, not units": '''
def unit_health(acts, kind, tol=0.01):
    a = np.asarray(acts, dtype=np.float64).reshape(len(acts), -1)
    if kind == "relu":
        dead, saturated = float(np.mean(a <= 0)), 0.0
    elif kind == "tanh":
        dead, saturated = 0.0, float(np.mean(np.abs(a) >= 1 - tol))
    elif kind == "sigmoid":
        dead, saturated = 0.0, float(np.mean((a <= tol) | (a >= 1 - tol)))
    else:
        raise ValueError(f"unknown activation {kind!r}")
    return {"dead": dead, "saturated": saturated}
''',
        "tanh saturation with tol ignored (0.99 always)": '''
def unit_health(acts, kind, tol=0.01):
    a = np.asarray(acts, dtype=np.float64).reshape(len(acts), -1)
    if kind == "relu":
        dead, saturated = float(np.mean(np.all(a <= 0, axis=0))), 0.0
    elif kind == "tanh":
        dead, saturated = 0.0, float(np.mean(np.abs(a) >= 0.99))
    elif kind == "sigmoid":
        dead, saturated = 0.0, float(np.mean((a <= tol) | (a >= 1 - tol)))
    else:
        raise ValueError(f"unknown activation {kind!r}")
    return {"dead": dead, "saturated": saturated}
''',
        "sigmoid only saturated at the top": '''
def unit_health(acts, kind, tol=0.01):
    a = np.asarray(acts, dtype=np.float64).reshape(len(acts), -1)
    if kind == "relu":
        dead, saturated = float(np.mean(np.all(a <= 0, axis=0))), 0.0
    elif kind == "tanh":
        dead, saturated = 0.0, float(np.mean(np.abs(a) >= 1 - tol))
    elif kind == "sigmoid":
        dead, saturated = 0.0, float(np.mean(a >= 1 - tol))
    else:
        raise ValueError(f"unknown activation {kind!r}")
    return {"dead": dead, "saturated": saturated}
''',
        "channels as units (positions pooled)": '''
def unit_health(acts, kind, tol=0.01):
    a = np.asarray(acts, dtype=np.float64)
    a = a.reshape(len(a), a.shape[1] if a.ndim > 2 else -1, -1).max(axis=2) if kind == 'relu' else a.reshape(len(a), -1)
    if kind == "relu":
        dead, saturated = float(np.mean(np.all(a <= 0, axis=0))), 0.0
    elif kind == "tanh":
        dead, saturated = 0.0, float(np.mean(np.abs(a) >= 1 - tol))
    elif kind == "sigmoid":
        dead, saturated = 0.0, float(np.mean((a <= tol) | (a >= 1 - tol)))
    else:
        raise ValueError(f"unknown activation {kind!r}")
    return {"dead": dead, "saturated": saturated}
''',
    },
    "network_grad_check": {
        "one-sided differences": '''
def network_grad_check(model, X, y, reg, tools, names, h=1e-5, n_entries=10, seed=0):
    _, grads, _ = model_loss(model, X, y, reg, "train", tools, seed)
    where = {f"{i}.{n}": (i, n) for i, layer in enumerate(model["layers"]) for n in layer.get("params", {})}
    errors = {}
    for name in names:
        i, n = where[name]
        w = model["layers"][i]["params"][n]
        picks = np.random.default_rng(seed).choice(w.size, min(n_entries, w.size), replace=False)
        analytic, numeric = grads[name].ravel()[picks], np.zeros(len(picks))
        for k, flat in enumerate(picks):
            values = []
            for sign in (1.0, -1.0):
                moved = w.copy()
                moved.flat[flat] += sign * h
                layers = list(model["layers"])
                layers[i] = dict(layers[i], params=dict(layers[i]["params"], **{n: moved}))
                values.append(model_loss(dict(model, layers=layers), X, y, reg, "train", tools, seed)[0])
            numeric[k] = (values[0] - model_loss(model, X, y, reg, "train", tools, seed)[0]) / h
        total = np.linalg.norm(analytic) + np.linalg.norm(numeric)
        errors[name] = 0.0 if total == 0 else float(np.linalg.norm(analytic - numeric) / total)
    return errors
''',
        "entries drawn with another generator call": '''
def network_grad_check(model, X, y, reg, tools, names, h=1e-5, n_entries=10, seed=0):
    _, grads, _ = model_loss(model, X, y, reg, "train", tools, seed)
    where = {f"{i}.{n}": (i, n) for i, layer in enumerate(model["layers"]) for n in layer.get("params", {})}
    errors = {}
    for name in names:
        i, n = where[name]
        w = model["layers"][i]["params"][n]
        picks = np.random.default_rng(seed).permutation(w.size)[:min(n_entries, w.size)]
        analytic, numeric = grads[name].ravel()[picks], np.zeros(len(picks))
        for k, flat in enumerate(picks):
            values = []
            for sign in (1.0, -1.0):
                moved = w.copy()
                moved.flat[flat] += sign * h
                layers = list(model["layers"])
                layers[i] = dict(layers[i], params=dict(layers[i]["params"], **{n: moved}))
                values.append(model_loss(dict(model, layers=layers), X, y, reg, "train", tools, seed)[0])
            numeric[k] = (values[0] - values[1]) / (2 * h)
        total = np.linalg.norm(analytic) + np.linalg.norm(numeric)
        errors[name] = 0.0 if total == 0 else float(np.linalg.norm(analytic - numeric) / total)
    return errors
''',
        "max entrywise relative error": '''
def network_grad_check(model, X, y, reg, tools, names, h=1e-5, n_entries=10, seed=0):
    _, grads, _ = model_loss(model, X, y, reg, "train", tools, seed)
    where = {f"{i}.{n}": (i, n) for i, layer in enumerate(model["layers"]) for n in layer.get("params", {})}
    errors = {}
    for name in names:
        i, n = where[name]
        w = model["layers"][i]["params"][n]
        picks = np.random.default_rng(seed).choice(w.size, min(n_entries, w.size), replace=False)
        analytic, numeric = grads[name].ravel()[picks], np.zeros(len(picks))
        for k, flat in enumerate(picks):
            values = []
            for sign in (1.0, -1.0):
                moved = w.copy()
                moved.flat[flat] += sign * h
                layers = list(model["layers"])
                layers[i] = dict(layers[i], params=dict(layers[i]["params"], **{n: moved}))
                values.append(model_loss(dict(model, layers=layers), X, y, reg, "train", tools, seed)[0])
            numeric[k] = (values[0] - values[1]) / (2 * h)
        den = np.abs(analytic) + np.abs(numeric)
        errors[name] = float(np.max(np.where(den > 0, np.abs(analytic - numeric) / np.where(den > 0, den, 1), 0.0)))
    return errors
''',
        "new dropout masks at every evaluation": '''
def network_grad_check(model, X, y, reg, tools, names, h=1e-5, n_entries=10, seed=0):
    _, grads, _ = model_loss(model, X, y, reg, "train", tools, seed)
    where = {f"{i}.{n}": (i, n) for i, layer in enumerate(model["layers"]) for n in layer.get("params", {})}
    errors = {}
    for name in names:
        i, n = where[name]
        w = model["layers"][i]["params"][n]
        picks = np.random.default_rng(seed).choice(w.size, min(n_entries, w.size), replace=False)
        analytic, numeric = grads[name].ravel()[picks], np.zeros(len(picks))
        for k, flat in enumerate(picks):
            values = []
            for sign in (1.0, -1.0):
                moved = w.copy()
                moved.flat[flat] += sign * h
                layers = list(model["layers"])
                layers[i] = dict(layers[i], params=dict(layers[i]["params"], **{n: moved}))
                values.append(model_loss(dict(model, layers=layers), X, y, reg, "train", tools, seed + 1 + k)[0])
            numeric[k] = (values[0] - values[1]) / (2 * h)
        total = np.linalg.norm(analytic) + np.linalg.norm(numeric)
        errors[name] = 0.0 if total == 0 else float(np.linalg.norm(analytic - numeric) / total)
    return errors
''',
        "perturbs the model's own array": '''
def network_grad_check(model, X, y, reg, tools, names, h=1e-5, n_entries=10, seed=0):
    _, grads, _ = model_loss(model, X, y, reg, "train", tools, seed)
    where = {f"{i}.{n}": (i, n) for i, layer in enumerate(model["layers"]) for n in layer.get("params", {})}
    errors = {}
    for name in names:
        i, n = where[name]
        w = model["layers"][i]["params"][n]
        picks = np.random.default_rng(seed).choice(w.size, min(n_entries, w.size), replace=False)
        analytic, numeric = grads[name].ravel()[picks], np.zeros(len(picks))
        for k, flat in enumerate(picks):
            values = []
            for sign in (1.0, -1.0):
                moved = w
                moved.flat[flat] += sign * h
                layers = list(model["layers"])
                layers[i] = dict(layers[i], params=dict(layers[i]["params"], **{n: moved}))
                values.append(model_loss(dict(model, layers=layers), X, y, reg, "train", tools, seed)[0])
            numeric[k] = (values[0] - values[1]) / (2 * h)
        total = np.linalg.norm(analytic) + np.linalg.norm(numeric)
        errors[name] = 0.0 if total == 0 else float(np.linalg.norm(analytic - numeric) / total)
    return errors
''',
    },
}

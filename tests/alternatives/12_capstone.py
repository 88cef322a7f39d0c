"""Correct implementations of notebook 12's parts, written differently from the reference. Each is
appended to the solution cell of its part and must earn full marks under every seed. A forward and
its backward share the design of the caches: alternatives of model_forward keep the reference's
(affine: {"shape", "inner"}, the layer's own cache otherwise), and those of model_backward read it."""

DEPENDS = {"model_backward": ["model_forward"], "model_loss": ["model_forward", "model_backward"],
           "train": ["model_forward", "model_backward", "model_loss", "solver_step"],
           "network_grad_check": ["model_forward", "model_backward", "model_loss"]}

ALTERNATIVES = {
    "model_forward": {
        "dispatch table of small functions, deep copy of the model": '''
import copy as _copy


def model_forward(model, x, mode, tools, seed=0):
    fns = toolbox(tools)
    new_model = _copy.deepcopy(model)

    def run(i, layer, h):
        kind = layer["kind"]
        fwd = fns[kind][0]
        p = layer.get("params", {})
        if kind == "affine":
            out, c = fwd(h.reshape(len(h), -1), p["w"], p["b"])
            return out, {"inner": c, "shape": tuple(h.shape)}
        if kind == "conv":
            return fwd(h, p["w"], p["b"], layer["conv_param"])
        if kind == "spatial_bn":
            bn = dict(layer["bn_param"])
            bn["mode"] = mode
            out, c, new_bn = fwd(h, p["gamma"], p["beta"], bn)
            new_model["layers"][i]["bn_param"] = new_bn
            return out, c
        if kind == "max_pool":
            return fwd(h, layer["pool_param"])
        if kind == "dropout":
            return fwd(h, layer["p_drop"], mode, seed=seed + i)
        return fwd(h)

    h, caches = np.array(x, dtype=np.float64), []
    for i, layer in enumerate(model["layers"]):
        h, c = run(i, layer, h)
        caches.append(c)
    return h, caches, new_model
''',
        "while loop with an index, new layer dicts by unpacking": '''
def model_forward(model, x, mode, tools, seed=0):
    box = toolbox(tools)
    layers = model["layers"]
    out, caches, new_layers, i = x, [], [], 0
    while i < len(layers):
        L = layers[i]
        k = L["kind"]
        if k == "spatial_bn":
            out, c, nb = box[k][0](out, L["params"]["gamma"], L["params"]["beta"], {**L["bn_param"], "mode": mode})
            new_layers.append({**L, "bn_param": nb})
        else:
            if k == "conv":
                out, c = box[k][0](out, L["params"]["w"], L["params"]["b"], L["conv_param"])
            elif k == "affine":
                n = out.shape[0]
                flat = np.reshape(out, (n, int(np.prod(out.shape[1:]))))
                y, inner = box[k][0](flat, L["params"]["w"], L["params"]["b"])
                c = {"shape": out.shape, "inner": inner}
                out = y
            elif k == "max_pool":
                out, c = box[k][0](out, L["pool_param"])
            elif k == "dropout":
                out, c = box[k][0](out, L["p_drop"], mode, seed + i)
            else:
                out, c = box[k][0](out)
            new_layers.append(L)
        caches.append(c)
        i += 1
    return out, caches, {**model, "layers": new_layers}
''',
    },
    "model_backward": {
        "gradients gathered in a list, then a dict": '''
def model_backward(model, dscores, caches, tools):
    box = toolbox(tools)
    collected = []
    g = dscores
    for i in range(len(model["layers"]) - 1, -1, -1):
        kind = model["layers"][i]["kind"]
        res = box[kind][1](g, caches[i]["inner"] if kind == "affine" else caches[i])
        if kind in ("conv", "affine", "spatial_bn"):
            g, d1, d2 = res
            n1, n2 = ("gamma", "beta") if kind == "spatial_bn" else ("w", "b")
            collected += [(f"{i}.{n1}", d1), (f"{i}.{n2}", d2)]
            if kind == "affine":
                g = g.reshape(model_forward_shape(caches[i]))
        else:
            g = res
    return dict(collected)


def model_forward_shape(cache):
    return tuple(cache["shape"])
''',
        "recursion over the layers": '''
def model_backward(model, dscores, caches, tools):
    box = toolbox(tools)

    def back(i, g, acc):
        if i < 0:
            return acc
        kind, c = model["layers"][i]["kind"], caches[i]
        if kind == "affine":
            dx, dw, db = box[kind][1](g, c["inner"])
            return back(i - 1, np.reshape(dx, c["shape"]), {**acc, f"{i}.w": dw, f"{i}.b": db})
        if kind == "conv":
            dx, dw, db = box[kind][1](g, c)
            return back(i - 1, dx, {**acc, f"{i}.w": dw, f"{i}.b": db})
        if kind == "spatial_bn":
            dx, dg, dbeta = box[kind][1](g, c)
            return back(i - 1, dx, {**acc, f"{i}.gamma": dg, f"{i}.beta": dbeta})
        return back(i - 1, box[kind][1](g, c), acc)

    return back(len(model["layers"]) - 1, dscores, {})
''',
    },
    "model_loss": {
        "penalty through a loop over the layers, gradients in a new dict": '''
def model_loss(model, X, y, reg, mode, tools, seed=0):
    scores, caches, new_model = model_forward(model, X, mode, tools, seed)
    data_loss, dscores = toolbox(tools)["softmax_ce"](scores, y)
    penalty = 0.0
    for layer in model["layers"]:
        if layer["kind"] in ("conv", "affine"):
            penalty += float(np.vdot(layer["params"]["w"], layer["params"]["w"]))
    loss = float(data_loss + reg / 2.0 * penalty)
    if mode != "train":
        return loss, {}, new_model
    raw = model_backward(model, dscores, caches, tools)
    out = {}
    for name, g in raw.items():
        i, key = name.split(".")
        layer = model["layers"][int(i)]
        out[name] = g + reg * layer["params"]["w"] if key == "w" and layer["kind"] in ("conv", "affine") else g
    return loss, out, new_model
''',
        "einsum penalty, copy then in-place add on the copies": '''
def model_loss(model, X, y, reg, mode, tools, seed=0):
    scores, caches, new_model = model_forward(model, X, mode, tools, seed)
    loss, dscores = toolbox(tools)["softmax_ce"](scores, y)
    ws = [(i, L["params"]["w"]) for i, L in enumerate(model["layers"]) if L["kind"] in ("conv", "affine")]
    loss = float(loss) + 0.5 * reg * float(sum(np.einsum("i,i->", w.ravel(), w.ravel()) for _, w in ws))
    if mode == "eval":
        return loss, {}, new_model
    grads = {k: np.array(v, copy=True) for k, v in model_backward(model, dscores, caches, tools).items()}
    for i, w in ws:
        grads[f"{i}.w"] += reg * w
    return loss, grads, new_model
''',
    },
    "solver_step": {
        "flat loop over the parameter names": '''
import copy as _copy


def solver_step(model, grads, opt_state, optim, tools):
    update = toolbox(tools)["optim"][optim["rule"]]
    new_model = {**model, "layers": [dict(L) for L in model["layers"]]}
    for L in new_model["layers"]:
        if "params" in L:
            L["params"] = dict(L["params"])
    new_state = {k: v for k, v in opt_state.items()}
    names = [(i, k) for i, L in enumerate(model["layers"]) for k in L.get("params", {})]
    for i, k in names:
        key = f"{i}.{k}"
        cfg = _copy.deepcopy(opt_state.get(key, {}))
        cfg.update(_copy.deepcopy(optim["config"]))
        w_next, cfg = update(model["layers"][i]["params"][k], grads[key], cfg)
        new_model["layers"][i]["params"][k] = w_next
        new_state[key] = cfg
    return new_model, new_state
''',
        "comprehensions": '''
def solver_step(model, grads, opt_state, optim, tools):
    rule = toolbox(tools)["optim"][optim["rule"]]
    results = {f"{i}.{k}": rule(w, grads[f"{i}.{k}"], {**opt_state.get(f"{i}.{k}", {}), **optim["config"]})
               for i, L in enumerate(model["layers"]) for k, w in L.get("params", {}).items()}
    layers = [({**L, "params": {k: results[f"{i}.{k}"][0] for k in L["params"]}} if "params" in L else L)
              for i, L in enumerate(model["layers"])]
    return {**model, "layers": layers}, {**opt_state, **{k: v[1] for k, v in results.items()}}
''',
    },
    "train": {
        "precomputed batches with np.array_split, no progress bar": '''
def train(model, X, y, spec, tools):
    fns = toolbox(tools)
    rng = np.random.default_rng(spec["seed"])
    bs, n = spec["batch_size"], len(X)
    state, losses, lrs, s = {}, [], [], 0
    for epoch in range(spec["epochs"]):
        order = rng.permutation(n)
        lr = float(fns["lr_at"](spec["schedule"], epoch))
        optim = {"rule": spec["optim"]["rule"], "config": {**spec["optim"]["config"], "lr": lr}}
        for idx in np.array_split(order, list(range(bs, n, bs))):
            loss, g, model = model_loss(model, X[idx], y[idx], spec["reg"], "train", tools, seed=100 * s)
            model, state = solver_step(model, g, state, optim, tools)
            losses.append(float(loss))
            lrs.append(lr)
            s += 1
    return model, {"loss": losses, "lr": lrs}
''',
        "while loop over a running step counter": '''
def train(model, X, y, spec, tools):
    lr_at = toolbox(tools)["lr_at"]
    gen = np.random.default_rng(spec["seed"])
    history = {"loss": [], "lr": []}
    state = {}
    for epoch in progress(range(spec["epochs"])):
        perm = gen.permutation(X.shape[0])
        start = 0
        while start < X.shape[0]:
            b = perm[start:start + spec["batch_size"]]
            step = len(history["loss"])
            loss, grads, model = model_loss(model, X[b], y[b], spec["reg"], "train", tools, 100 * step)
            lr = lr_at(spec["schedule"], epoch)
            cfg = dict(spec["optim"]["config"])
            cfg["lr"] = lr
            model, state = solver_step(model, grads, state, {"rule": spec["optim"]["rule"], "config": cfg}, tools)
            history["loss"].append(loss)
            history["lr"].append(lr)
            start += spec["batch_size"]
    return model, history
''',
    },
    "update_ratios": {
        "sqrt of sums of squares": '''
def update_ratios(model, new_model):
    out = {}
    for i, L in enumerate(model["layers"]):
        for k, w in L.get("params", {}).items():
            d = new_model["layers"][i]["params"][k] - w
            num, den = float(np.sqrt(np.sum(d * d))), float(np.sqrt(np.sum(w * w)))
            if den == 0.0:
                out[f"{i}.{k}"] = float("inf") if num > 0 else 0.0
            else:
                out[f"{i}.{k}"] = num / den
    return out
''',
        "ravel and np.linalg.norm with errstate": '''
def update_ratios(model, new_model):
    res = {}
    for i, (a, b) in enumerate(zip(model["layers"], new_model["layers"])):
        for k in a.get("params", {}):
            old, new = np.ravel(a["params"][k]), np.ravel(b["params"][k])
            with np.errstate(divide="ignore", invalid="ignore"):
                r = np.linalg.norm(new - old) / np.linalg.norm(old)
            res[f"{i}.{k}"] = 0.0 if np.isnan(r) else float(r)
    return res
''',
    },
    "unit_health": {
        "max over examples for ReLU, counts for the others": '''
def unit_health(acts, kind, tol=0.01):
    a = np.reshape(acts, (np.shape(acts)[0], -1))
    if kind == "relu":
        return {"dead": float(np.count_nonzero(a.max(axis=0) <= 0) / a.shape[1]), "saturated": 0.0}
    if kind == "tanh":
        return {"dead": 0.0, "saturated": float(np.count_nonzero(np.abs(a) >= 1 - tol) / a.size)}
    if kind == "sigmoid":
        hit = np.logical_or(a <= tol, a >= 1 - tol)
        return {"dead": 0.0, "saturated": float(hit.sum() / a.size)}
    raise ValueError(f"unit_health: unknown kind {kind}")
''',
        "dict of rules": '''
def unit_health(acts, kind, tol=0.01):
    rules = {"relu": lambda a: (float(np.mean(~np.any(a > 0, axis=0))), 0.0),
             "tanh": lambda a: (0.0, float(np.mean(np.abs(a) >= 1 - tol))),
             "sigmoid": lambda a: (0.0, float(np.mean((a <= tol) | (a >= 1 - tol))))}
    if kind not in rules:
        raise ValueError(kind)
    dead, sat = rules[kind](np.asarray(acts, dtype=np.float64).reshape(len(acts), -1))
    return {"dead": dead, "saturated": sat}
''',
    },
    "network_grad_check": {
        "a loss function of one parameter, numbers collected in lists": '''
import copy as _copy


def network_grad_check(model, X, y, reg, tools, names, h=1e-5, n_entries=10, seed=0):
    grads = model_loss(model, X, y, reg, "train", tools, seed)[1]
    out = {}
    for name in names:
        li, pk = name.split(".")
        li = int(li)
        w0 = model["layers"][li]["params"][pk]

        def f(w):
            m = _copy.deepcopy(model)
            m["layers"][li]["params"][pk] = w
            return model_loss(m, X, y, reg, "train", tools, seed)[0]

        idx = np.random.default_rng(seed).choice(w0.size, min(n_entries, w0.size), replace=False)
        an, nu = [], []
        for j in idx:
            e = np.zeros(w0.size)
            e[j] = h
            e = e.reshape(w0.shape)
            nu.append((f(w0 + e) - f(w0 - e)) / (2 * h))
            an.append(grads[name].flat[j])
        an, nu = np.array(an), np.array(nu)
        s = np.linalg.norm(an) + np.linalg.norm(nu)
        out[name] = float(np.linalg.norm(an - nu) / s) if s > 0 else 0.0
    return out
''',
        "unravel_index and a restored working copy": '''
def network_grad_check(model, X, y, reg, tools, names, h=1e-5, n_entries=10, seed=0):
    _, grads, _ = model_loss(model, X, y, reg, "train", tools, seed)
    result = {}
    for name in names:
        i, key = name.split(".", 1)
        i = int(i)
        work = np.array(model["layers"][i]["params"][key], dtype=np.float64)
        layers = [dict(L) for L in model["layers"]]
        layers[i]["params"] = {**layers[i]["params"], key: work}
        trial = {**model, "layers": layers}
        picks = np.random.default_rng(seed).choice(work.size, min(n_entries, work.size), replace=False)
        a = np.empty(len(picks))
        n = np.empty(len(picks))
        for t, flat in enumerate(picks):
            idx = np.unravel_index(flat, work.shape)
            old = work[idx]
            work[idx] = old + h
            up = model_loss(trial, X, y, reg, "train", tools, seed)[0]
            work[idx] = old - h
            down = model_loss(trial, X, y, reg, "train", tools, seed)[0]
            work[idx] = old
            n[t] = (up - down) / (2 * h)
            a[t] = grads[name][idx]
        denom = np.linalg.norm(a) + np.linalg.norm(n)
        result[name] = 0.0 if denom == 0 else float(np.linalg.norm(a - n) / denom)
    return result
''',
    },
}

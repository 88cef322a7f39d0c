"""Correct implementations of notebook 08's graded functions, written differently from the
reference. Each is appended to the solution cell of its part and must earn full marks under every
seed."""

DEPENDS = {}

ALTERNATIVES = {
    "l2_penalty": {
        "np.dot / ravel penalty, decay written as a shrink factor": '''
def l2_penalty(w, reg):
    flat = np.ravel(np.asarray(w, dtype=np.float64))
    return float(reg) * float(np.dot(flat, flat)) / 2.0, reg * np.array(w, dtype=np.float64)


def sgd_l2_step(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("lr", 1e-2)
    config.setdefault("weight_decay", 0.0)
    lr, wd = config["lr"], config["weight_decay"]
    return (1.0 - lr * wd) * w - lr * dw, config
''',
        "einsum penalty, in-place update of a copy, new config dict": '''
def l2_penalty(w, reg):
    w = np.asarray(w, dtype=np.float64)
    flat = w.ravel()
    total = np.einsum("i,i->", flat, flat)
    return float(0.5 * reg * total), np.multiply(reg, w)


def sgd_l2_step(w, dw, config=None):
    cfg = {"lr": 1e-2, "weight_decay": 0.0}
    cfg.update(config or {})
    next_w = np.array(w, dtype=np.float64, copy=True)
    next_w -= cfg["lr"] * (dw + cfg["weight_decay"] * w)
    return next_w, cfg
''',
        "loop over entries, tuple built from a list": '''
import math as _math
def l2_penalty(w, reg):
    w = np.asarray(w, dtype=np.float64)
    s = _math.fsum(float(v) * float(v) for v in w.ravel())
    return 0.5 * reg * s, w * reg


def sgd_l2_step(w, dw, config=None):
    if config is None:
        config = {}
    for key, default in (("lr", 1e-2), ("weight_decay", 0.0)):
        config.setdefault(key, default)
    _, grad_pen = l2_penalty(w, config["weight_decay"])
    total = np.add(dw, grad_pen)
    return tuple([w - config["lr"] * total, config])
''',
    },
    "decoupled_decay": {
        "torch's arrangement (sqrt(v) / sqrt(bc2) + eps, lr / bc1)": '''
import math as _math
def _adam_core(w, g, config):
    b1, b2 = config["beta1"], config["beta2"]
    t = config.get("t", 0) + 1
    m = b1 * config.get("m", np.zeros(np.shape(w))) + (1 - b1) * g
    v = b2 * config.get("v", np.zeros(np.shape(w))) + (1 - b2) * g * g
    denom = np.sqrt(v) / _math.sqrt(1 - b2 ** t) + config["eps"]
    config["m"], config["v"], config["t"] = m, v, t
    return (config["lr"] / (1 - b1 ** t)) * m / denom


def adam_l2_step(w, dw, config=None):
    config = _adam_defaults(config)
    return w - _adam_core(w, dw + config["weight_decay"] * w, config), config


def adamw_step(w, dw, config=None):
    config = _adam_defaults(config)
    shrunk = w - config["lr"] * config["weight_decay"] * w
    return shrunk - _adam_core(w, dw, config), config
''',
        "moments by interpolation, new config dicts": '''
def adam_l2_step(w, dw, config=None):
    cfg = _adam_defaults(dict(config) if config else None)
    g = dw + cfg["weight_decay"] * w
    m = cfg.get("m", np.zeros_like(w, dtype=np.float64))
    v = cfg.get("v", np.zeros_like(w, dtype=np.float64))
    m = m + (1 - cfg["beta1"]) * (g - m)
    v = v + (1 - cfg["beta2"]) * (g * g - v)
    t = cfg.get("t", 0) + 1
    cfg.update(m=m, v=v, t=t)
    step = (m / (1 - cfg["beta1"] ** t)) / (np.sqrt(v / (1 - cfg["beta2"] ** t)) + cfg["eps"])
    return w - cfg["lr"] * step, cfg


def adamw_step(w, dw, config=None):
    cfg = _adam_defaults(dict(config) if config else None)
    m = cfg.get("m", np.zeros_like(w, dtype=np.float64))
    v = cfg.get("v", np.zeros_like(w, dtype=np.float64))
    m = m + (1 - cfg["beta1"]) * (dw - m)
    v = v + (1 - cfg["beta2"]) * (dw * dw - v)
    t = cfg.get("t", 0) + 1
    cfg.update(m=m, v=v, t=t)
    step = (m / (1 - cfg["beta1"] ** t)) / (np.sqrt(v / (1 - cfg["beta2"] ** t)) + cfg["eps"])
    return w - cfg["lr"] * (step + cfg["weight_decay"] * w), cfg
''',
        "AdamW through adam_l2_step with weight_decay 0, in-place moments": '''
def adam_l2_step(w, dw, config=None):
    config = _adam_defaults(config)
    b1, b2 = np.float64(config["beta1"]), np.float64(config["beta2"])
    g = dw + config["weight_decay"] * w
    m = np.array(config["m"], copy=True) if "m" in config else np.zeros(np.shape(w))
    v = np.array(config["v"], copy=True) if "v" in config else np.zeros(np.shape(w))
    m *= b1
    m += (1 - b1) * g
    v *= b2
    v += (1 - b2) * np.square(g)
    t = int(config.get("t", 0)) + 1
    config["m"], config["v"], config["t"] = m, v, t
    return w - config["lr"] * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + config["eps"]), config


def adamw_step(w, dw, config=None):
    config = _adam_defaults(config)
    inner = dict(config, weight_decay=0.0)
    moved, inner = adam_l2_step(w, dw, inner)
    for key in ("m", "v", "t"):
        config[key] = inner[key]
    return moved - config["lr"] * config["weight_decay"] * w, config
''',
    },
    "dropout": {
        "np.where forward, mask stored as bool with the keep rate": '''
def dropout_forward(x, p_drop, mode, seed=None, mask=None):
    x = np.array(x, dtype=np.float64)
    if mode == "eval":
        return x, {"mode": "eval"}
    keep = 1.0 - p_drop
    if mask is None:
        mask = np.random.default_rng(seed).random(x.shape) >= p_drop
    mask = np.array(mask, dtype=bool)
    return np.where(mask, x / keep, 0.0), {"mode": "train", "mask": mask, "keep": keep}


def dropout_backward(dout, cache):
    if cache["mode"] == "eval":
        return np.array(dout, dtype=np.float64)
    return np.where(cache["mask"], dout / cache["keep"], 0.0)
''',
        "uniform draw compared with the keep rate, list cache": '''
def dropout_forward(x, p_drop, mode, seed=None, mask=None):
    x = np.asarray(x, dtype=np.float64)
    if mode != "train":
        return x.copy(), ["eval"]
    q = 1.0 - p_drop
    if mask is None:
        rng = np.random.default_rng(seed)
        mask = rng.random(x.shape) >= p_drop
    out = x * mask / q
    return out, ["train", np.asarray(mask, dtype=np.float64), q]


def dropout_backward(dout, cache):
    if cache[0] == "eval":
        return np.copy(dout)
    return dout * cache[1] / cache[2]
''',
        "in-place zeroing of a scaled copy": '''
def dropout_forward(x, p_drop, mode, seed=None, mask=None):
    out = np.array(x, dtype=np.float64, copy=True)
    if mode == "eval":
        return out, ("eval", 1.0, None)
    if mask is None:
        mask = np.random.default_rng(seed).random(out.shape) >= p_drop
    keep = np.asarray(mask, dtype=bool)
    out /= (1.0 - p_drop)
    out[~keep] = 0.0
    return out, ("train", 1.0 - p_drop, keep)


def dropout_backward(dout, cache):
    mode, q, keep = cache
    dx = np.array(dout, dtype=np.float64, copy=True)
    if mode == "train":
        dx /= q
        dx[~keep] = 0.0
    return dx
''',
    },
    "ema": {
        "loop over items with float decay": '''
def ema_update(avg_params, params, decay):
    d = float(decay)
    out = {}
    for name, avg in avg_params.items():
        out[name] = d * avg + (1.0 - d) * params[name]
    return out
''',
        "interpolation avg + (1 - decay)(param - avg)": '''
def ema_update(avg_params, params, decay):
    return {k: a + (1 - decay) * (params[k] - a) for k, a in avg_params.items()}
''',
        "in-place update of copies": '''
def ema_update(avg_params, params, decay):
    new = {}
    for k in params:
        acc = np.array(avg_params[k], dtype=np.float64, copy=True)
        acc *= decay
        acc += (1 - decay) * params[k]
        new[k] = acc
    return new
''',
    },
    "kfold": {
        "shuffled, then fold j takes its slice by explicit bounds": '''
def kfold_splits(n, k, seed):
    perm = np.random.default_rng(seed).permutation(n)
    base, extra = divmod(n, k)
    bounds = [0]
    for j in range(k):
        bounds.append(bounds[-1] + base + (1 if j < extra else 0))
    out = []
    for j in range(k):
        val = perm[bounds[j]:bounds[j + 1]].copy()
        train = np.concatenate([perm[:bounds[j]], perm[bounds[j + 1]:]])
        out.append((train, val))
    return out
''',
        "boolean mask complement, shuffled with rng.shuffle": '''
def kfold_splits(n, k, seed):
    rng = np.random.default_rng(seed)
    idx = np.arange(n)
    rng.shuffle(idx)
    folds = np.array_split(idx, k)
    splits = []
    for fold in folds:
        in_val = np.zeros(n, dtype=bool)
        in_val[fold] = True
        splits.append((np.flatnonzero(~in_val), fold))
    return splits
''',
        "round-robin assignment of the shuffled order, sorted outputs": '''
def kfold_splits(n, k, seed):
    order = np.random.default_rng(seed).permutation(n)
    labels = np.arange(n) % k
    result = []
    for j in range(k):
        val = np.sort(order[labels == j])
        train = np.sort(order[labels != j])
        result.append((train, val))
    return result
''',
    },
    "random_search": {
        "log10 sampling, power of ten": '''
def sample_log_uniform(low, high, n, seed):
    e = np.random.default_rng(seed).uniform(np.log10(low), np.log10(high), n)
    return np.minimum(np.maximum(10.0 ** e, low), high)


def should_abort(loss_history, initial_loss, factor=3.0):
    for loss in loss_history:
        loss = float(loss)
        if loss != loss or loss in (float("inf"), float("-inf")) or loss > factor * initial_loss:
            return True
    return False
''',
        "interpolation in log space with rng.random, math module": '''
import math as _math
def sample_log_uniform(low, high, n, seed):
    u = np.random.default_rng(seed).random(n)
    a, b = _math.log(low), _math.log(high)
    return np.clip(np.exp(a + (b - a) * u), low, high).astype(np.float64)


def should_abort(loss_history, initial_loss, factor=3.0):
    limit = factor * initial_loss
    return any((not _math.isfinite(float(v))) or float(v) > limit for v in loss_history)
''',
        "ratio form low * (high / low) ** u, numpy bool reduction": '''
def sample_log_uniform(low, high, n, seed):
    u = np.random.default_rng(seed).uniform(0.0, 1.0, size=n)
    return np.clip(low * (high / low) ** u, low, high)


def should_abort(loss_history, initial_loss, factor=3.0):
    losses = np.array(loss_history, dtype=np.float64).ravel()
    bad = ~np.isfinite(losses) | (losses > factor * initial_loss)
    return bool(bad.any())
''',
    },
}
ALTERNATIVES["dropconnect"] = {
    "np.where mask, dict cache, scaled after the product": '''
def dropconnect_forward(x, W, b, p_drop, mode, mask=None):
    if mode == "train":
        q = 1.0 - p_drop
        masked = np.where(mask, W, 0.0)
        out = (x @ masked) / q + b
        return out, {"x": x.copy(), "Wm": masked, "q": q, "mask": np.array(mask, dtype=bool)}
    return x @ W + b, {"x": x.copy(), "Wm": W.copy(), "q": 1.0, "mask": np.ones(W.shape, dtype=bool)}


def dropconnect_backward(dout, cache):
    x, Wm, q, mask = cache["x"], cache["Wm"], cache["q"], cache["mask"]
    dx = (dout @ Wm.T) / q
    dW = np.where(mask, x.T @ dout, 0.0) / q
    return dx, dW, np.sum(dout, axis=0)
''',
    "einsum, list cache": '''
def dropconnect_forward(x, W, b, p_drop, mode, mask=None):
    eff = W.astype(np.float64) if mode == "eval" else W * mask * (1.0 / (1.0 - p_drop))
    out = np.einsum("nd,dh->nh", x, eff) + b[None, :]
    factor = np.ones_like(W) if mode == "eval" else mask * (1.0 / (1.0 - p_drop))
    return out, [x.copy(), eff, factor]


def dropconnect_backward(dout, cache):
    x, eff, factor = cache
    dx = np.einsum("nh,dh->nd", dout, eff)
    dW = np.einsum("nd,nh->dh", x, dout) * factor
    db = np.einsum("nh->h", dout)
    return dx, dW, db
''',
}

ALTERNATIVES["stochastic_depth"] = {
    "copy and add in place, tuple cache with the mode": '''
def stochastic_depth_forward(x, residual, survival_prob, mode, gate=None):
    out = np.array(x, dtype=np.float64, copy=True)
    s = survival_prob if mode == "eval" else (1.0 if gate else 0.0)
    out += s * residual
    return out, (mode, float(s))


def stochastic_depth_backward(dout, cache):
    _, s = cache
    return np.copy(dout).astype(np.float64), np.multiply(dout, s)
''',
    "branch on the gate, dict cache": '''
def stochastic_depth_forward(x, residual, survival_prob, mode, gate=None):
    if mode == "eval":
        return x + survival_prob * residual, {"scale": float(survival_prob)}
    if int(gate) == 1:
        return x + residual, {"scale": 1.0}
    return x.copy(), {"scale": 0.0}


def stochastic_depth_backward(dout, cache):
    dres = dout * cache["scale"] if cache["scale"] != 0 else np.zeros_like(dout)
    return dout.copy(), dres
''',
}

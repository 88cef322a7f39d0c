"""Plausible wrong implementations for notebook 08. Each is appended to the solution cell of its
part (so it redefines the function there); the hidden checks must take that part's points away and
leave every other part untouched."""

# sgd_l2_step calls l2_penalty inside the same part; no part calls another part's functions.
DEPENDS = {}

MUTANTS = {
    "l2_penalty": {
        "sgd_l2_step keeps the first learning rate in its config": '''
def sgd_l2_step(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("lr", 1e-2)
    config.setdefault("weight_decay", 0.0)
    config.setdefault("first_lr", config["lr"])
    return w - config["first_lr"] * (dw + config["weight_decay"] * w), config
''',
        "default learning rate 1e-3": '''
def sgd_l2_step(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("lr", 1e-3)
    config.setdefault("weight_decay", 0.0)
    return w - config["lr"] * (dw + config["weight_decay"] * w), config
''',
        "penalty without the 1/2 (gradient 2 reg w)": '''
def l2_penalty(w, reg):
    return reg * float(np.sum(w * w)), 2 * reg * w
''',
        "decay factor (1 - wd) instead of (1 - lr * wd)": '''
def sgd_l2_step(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("lr", 1e-2)
    config.setdefault("weight_decay", 0.0)
    return (1 - config["weight_decay"]) * w - config["lr"] * dw, config
''',
        "updates w in place": '''
def sgd_l2_step(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("lr", 1e-2)
    config.setdefault("weight_decay", 0.0)
    w -= config["lr"] * (dw + config["weight_decay"] * w)
    return w, config
''',
    },
    "decoupled_decay": {
        "AdamW puts the decay into the gradient (coupled)": '''
def adamw_step(w, dw, config=None):
    return adam_l2_step(w, dw, config)
''',
        "AdamW decay not multiplied by the learning rate": '''
def adamw_step(w, dw, config=None):
    config = _adam_defaults(config)
    lr, b1, b2 = config["lr"], config["beta1"], config["beta2"]
    t = config.get("t", 0) + 1
    m = b1 * config.get("m", 0.0) + (1 - b1) * dw
    v = b2 * config.get("v", 0.0) + (1 - b2) * dw * dw
    config["m"], config["v"], config["t"] = m, v, t
    m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
    return w * (1 - config["weight_decay"]) - lr * m_hat / (np.sqrt(v_hat) + config["eps"]), config
''',
        "AdamW decay factor computed once, with the first learning rate": '''
def adamw_step(w, dw, config=None):
    config = _adam_defaults(config)
    config.setdefault("shrink", 1 - config["lr"] * config["weight_decay"])
    lr, b1, b2 = config["lr"], config["beta1"], config["beta2"]
    t = config.get("t", 0) + 1
    m = b1 * config.get("m", 0.0) + (1 - b1) * dw
    v = b2 * config.get("v", 0.0) + (1 - b2) * dw * dw
    config["m"], config["v"], config["t"] = m, v, t
    m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
    return w * config["shrink"] - lr * m_hat / (np.sqrt(v_hat) + config["eps"]), config
''',
        "Adam + L2 with the learning rate frozen at the first step": '''
def adam_l2_step(w, dw, config=None):
    config = _adam_defaults(config)
    config.setdefault("lr0", config["lr"])
    b1, b2 = config["beta1"], config["beta2"]
    g = dw + config["weight_decay"] * w
    t = config.get("t", 0) + 1
    m = b1 * config.get("m", 0.0) + (1 - b1) * g
    v = b2 * config.get("v", 0.0) + (1 - b2) * g * g
    config["m"], config["v"], config["t"] = m, v, t
    m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
    return w - config["lr0"] * m_hat / (np.sqrt(v_hat) + config["eps"]), config
''',
        "eps ignored (always 1e-8)": '''
def adam_l2_step(w, dw, config=None):
    config = _adam_defaults(config)
    b1, b2 = config["beta1"], config["beta2"]
    g = dw + config["weight_decay"] * w
    t = config.get("t", 0) + 1
    m = b1 * config.get("m", 0.0) + (1 - b1) * g
    v = b2 * config.get("v", 0.0) + (1 - b2) * g * g
    config["m"], config["v"], config["t"] = m, v, t
    m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
    return w - config["lr"] * m_hat / (np.sqrt(v_hat) + 1e-8), config
''',
        "Adam + L2 adds the decay after the moments (decoupled)": '''
def adam_l2_step(w, dw, config=None):
    return adamw_step(w, dw, config)
''',
        "no bias correction": '''
def adam_l2_step(w, dw, config=None):
    config = _adam_defaults(config)
    g = dw + config["weight_decay"] * w
    config["t"] = config.get("t", 0) + 1
    config["m"] = config["beta1"] * config.get("m", 0.0) + (1 - config["beta1"]) * g
    config["v"] = config["beta2"] * config.get("v", 0.0) + (1 - config["beta2"]) * g * g
    return w - config["lr"] * config["m"] / (np.sqrt(config["v"]) + config["eps"]), config
''',
    },
    "dropout": {
        "returns x itself when p_drop = 0": '''
def dropout_forward(x, p_drop, mode, seed=None, mask=None):
    x = np.asarray(x, dtype=np.float64)
    if mode == "eval":
        return x.copy(), ("eval", None)
    if p_drop == 0:
        return x, ("train", np.ones(x.shape))
    if mask is None:
        mask = np.random.default_rng(seed).random(x.shape) >= p_drop
    m = np.asarray(mask, dtype=np.float64) / (1 - p_drop)
    return x * m, ("train", m)
''',
        "seeds numpy's global generator (np.random.seed)": '''
def dropout_forward(x, p_drop, mode, seed=None, mask=None):
    x = np.asarray(x, dtype=np.float64)
    if mode == "eval":
        return x.copy(), ("eval", None)
    if mask is None:
        np.random.seed(seed % 2 ** 32 if seed is not None else None)
        mask = np.random.random(x.shape) >= p_drop
    m = np.asarray(mask, dtype=np.float64) / (1 - p_drop)
    return x * m, ("train", m)
''',
        "keep rate floored at 0.01 (wrong scale for p close to 1)": '''
def dropout_forward(x, p_drop, mode, seed=None, mask=None):
    x = np.asarray(x, dtype=np.float64)
    if mode == "eval":
        return x.copy(), ("eval", None)
    keep = max(1.0 - p_drop, 0.01)
    if mask is None:
        mask = np.random.default_rng(seed).random(x.shape) >= p_drop
    m = np.asarray(mask, dtype=np.float64) / keep
    return x * m, ("train", m)
''',
        "missing the 1 / keep scale": '''
def dropout_forward(x, p_drop, mode, seed=None, mask=None):
    x = np.asarray(x, dtype=np.float64)
    if mode == "eval":
        return x.copy(), ("eval", None)
    if mask is None:
        mask = np.random.default_rng(seed).random(x.shape) >= p_drop
    m = np.asarray(mask, dtype=np.float64)
    return x * m, ("train", m)
''',
        "drops units in eval mode too": '''
def dropout_forward(x, p_drop, mode, seed=None, mask=None):
    x = np.asarray(x, dtype=np.float64)
    if mask is None:
        mask = np.random.default_rng(seed).random(x.shape) >= p_drop
    m = np.asarray(mask, dtype=np.float64) / (1 - p_drop)
    return x * m, ("train", m)
''',
        "keeps a unit with probability p_drop (wrong keep rate)": '''
def dropout_forward(x, p_drop, mode, seed=None, mask=None):
    x = np.asarray(x, dtype=np.float64)
    if mode == "eval":
        return x.copy(), ("eval", None)
    if mask is None:
        mask = np.random.default_rng(seed).random(x.shape) < p_drop
    m = np.asarray(mask, dtype=np.float64) / (1 - p_drop)
    return x * m, ("train", m)
''',
        "old-style dropout: no scale in training, times keep in eval": '''
def dropout_forward(x, p_drop, mode, seed=None, mask=None):
    x = np.asarray(x, dtype=np.float64)
    if mode == "eval":
        return x * (1 - p_drop), ("eval", None)
    if mask is None:
        mask = np.random.default_rng(seed).random(x.shape) >= p_drop
    m = np.asarray(mask, dtype=np.float64)
    return x * m, ("train", m)
''',
        "backward forgets the scale": '''
def dropout_backward(dout, cache):
    mode, scaled_mask = cache
    return np.array(dout, dtype=np.float64) if mode == "eval" else dout * (scaled_mask != 0)
''',
        "global random state instead of the seed": '''
def dropout_forward(x, p_drop, mode, seed=None, mask=None):
    x = np.asarray(x, dtype=np.float64)
    if mode == "eval":
        return x.copy(), ("eval", None)
    if mask is None:
        mask = np.random.random(x.shape) >= p_drop
    m = np.asarray(mask, dtype=np.float64) / (1 - p_drop)
    return x * m, ("train", m)
''',
    },
    "ema": {
        "returns the weights' own arrays when decay = 0": '''
def ema_update(avg_params, params, decay):
    if decay == 0:
        return dict(params)
    return {k: decay * avg_params[k] + (1 - decay) * params[k] for k in avg_params}
''',
        "decay ignored (always 0.9)": '''
def ema_update(avg_params, params, decay):
    return {k: 0.9 * avg_params[k] + 0.1 * params[k] for k in avg_params}
''',
        "weights swapped (decay on the new weights)": '''
def ema_update(avg_params, params, decay):
    return {k: (1 - decay) * avg_params[k] + decay * params[k] for k in avg_params}
''',
        "updates the average in place": '''
def ema_update(avg_params, params, decay):
    for k in avg_params:
        avg_params[k] *= decay
        avg_params[k] += (1 - decay) * params[k]
    return avg_params
''',
        "returns float32": '''
def ema_update(avg_params, params, decay):
    return {k: (decay * avg_params[k] + (1 - decay) * params[k]).astype(np.float32) for k in avg_params}
''',
    },
    "kfold": {
        "shuffles with numpy's global generator (np.random.seed)": '''
def kfold_splits(n, k, seed):
    np.random.seed(seed % 2 ** 32)
    order = np.random.permutation(n)
    folds = np.array_split(order, k)
    return [(np.concatenate(folds[:j] + folds[j + 1:]), folds[j]) for j in range(k)]
''',
        "no shuffle (contiguous folds)": '''
def kfold_splits(n, k, seed):
    folds = np.array_split(np.arange(n), k)
    return [(np.concatenate(folds[:j] + folds[j + 1:]), folds[j]) for j in range(k)]
''',
        "the remainder all goes to the last fold": '''
def kfold_splits(n, k, seed):
    order = np.random.default_rng(seed).permutation(n)
    size = n // k
    folds = [order[j * size:(j + 1) * size] for j in range(k - 1)] + [order[(k - 1) * size:]]
    return [(np.concatenate(folds[:j] + folds[j + 1:]), folds[j]) for j in range(k)]
''',
        "the remainder is dropped": '''
def kfold_splits(n, k, seed):
    order = np.random.default_rng(seed).permutation(n)
    size = n // k
    folds = [order[j * size:(j + 1) * size] for j in range(k)]
    return [(np.concatenate(folds[:j] + folds[j + 1:]), folds[j]) for j in range(k)]
''',
        "train indices include the validation fold": '''
def kfold_splits(n, k, seed):
    order = np.random.default_rng(seed).permutation(n)
    folds = np.array_split(order, k)
    return [(order.copy(), folds[j]) for j in range(k)]
''',
    },
    "random_search": {
        "samples with numpy's global generator (np.random.seed)": '''
def sample_log_uniform(low, high, n, seed):
    np.random.seed(seed % 2 ** 32)
    return np.clip(np.exp(np.random.uniform(np.log(low), np.log(high), size=n)), low, high)
''',
        "uniform in linear space": '''
def sample_log_uniform(low, high, n, seed):
    return np.random.default_rng(seed).uniform(low, high, size=n)
''',
        "a fixed log-spaced grid (ignores the seed)": '''
def sample_log_uniform(low, high, n, seed):
    return np.geomspace(low, high, n)
''',
        "NaN losses do not abort": '''
def should_abort(loss_history, initial_loss, factor=3.0):
    return any(loss > factor * initial_loss for loss in loss_history)
''',
        "compares with the first loss of the history": '''
def should_abort(loss_history, initial_loss, factor=3.0):
    losses = np.asarray(loss_history, dtype=np.float64)
    if losses.size == 0:
        return False
    return bool(np.any(~np.isfinite(losses)) or np.any(losses > factor * losses[0]))
''',
        ">= instead of >": '''
def should_abort(loss_history, initial_loss, factor=3.0):
    losses = np.asarray(loss_history, dtype=np.float64)
    return bool(np.any(~np.isfinite(losses)) or np.any(losses >= factor * initial_loss))
''',
    },
}
MUTANTS["dropconnect"] = {
    "no 1 / q scale on the kept weights": '''
def dropconnect_forward(x, W, b, p_drop, mode, mask=None):
    scale = np.ones(W.shape) if mode == "eval" else np.asarray(mask, dtype=np.float64)
    return x @ (W * scale) + b, (x, W * scale, scale)
''',
    "dW without the mask and scale": '''
def dropconnect_backward(dout, cache):
    x, W_used, scale = cache
    return dout @ W_used.T, x.T @ dout, dout.sum(axis=0)
''',
    "dx through the full weights W": '''
def dropconnect_forward(x, W, b, p_drop, mode, mask=None):
    scale = np.ones(W.shape) if mode == "eval" else np.asarray(mask, dtype=np.float64) / (1.0 - p_drop)
    return x @ (W * scale) + b, (x, W, scale)


def dropconnect_backward(dout, cache):
    x, W, scale = cache
    return dout @ W.T, (x.T @ dout) * scale, dout.sum(axis=0)
''',
    "applies the mask in eval mode when one is given": '''
def dropconnect_forward(x, W, b, p_drop, mode, mask=None):
    scale = np.ones(W.shape) if mask is None else np.asarray(mask, dtype=np.float64) / (1.0 - p_drop)
    return x @ (W * scale) + b, (x, W * scale, scale)
''',
    "old-style: no scale in training, times q in eval": '''
def dropconnect_forward(x, W, b, p_drop, mode, mask=None):
    scale = np.full(W.shape, 1.0 - p_drop) if mode == "eval" else np.asarray(mask, dtype=np.float64)
    return x @ (W * scale) + b, (x, W * scale, scale)
''',
    "masks W in place": '''
def dropconnect_forward(x, W, b, p_drop, mode, mask=None):
    scale = np.ones(W.shape) if mode == "eval" else np.asarray(mask, dtype=np.float64) / (1.0 - p_drop)
    W *= scale
    return x @ W + b, (x, W.copy(), scale)
''',
    "db is the mean over the batch": '''
def dropconnect_backward(dout, cache):
    x, W_used, scale = cache
    return dout @ W_used.T, (x.T @ dout) * scale, dout.mean(axis=0)
''',
    "the bias is divided by q too": '''
def dropconnect_forward(x, W, b, p_drop, mode, mask=None):
    if mode == "eval":
        scale, bs = np.ones(W.shape), 1.0
    else:
        scale, bs = np.asarray(mask, dtype=np.float64) / (1.0 - p_drop), 1.0 / (1.0 - p_drop)
    return x @ (W * scale) + b * bs, (x, W * scale, scale)
''',
}

MUTANTS["stochastic_depth"] = {
    "inverted scaling (divides the kept branch by survival_prob, nothing at test)": '''
def stochastic_depth_forward(x, residual, survival_prob, mode, gate=None):
    scale = float(gate) / survival_prob if mode == "train" else 1.0
    return x + scale * residual, scale
''',
    "eval mode forgets the survival probability": '''
def stochastic_depth_forward(x, residual, survival_prob, mode, gate=None):
    scale = float(gate) if mode == "train" else 1.0
    return x + scale * residual, scale
''',
    "eval mode drops the block": '''
def stochastic_depth_forward(x, residual, survival_prob, mode, gate=None):
    scale = float(gate) if mode == "train" else 0.0
    return x + scale * residual, scale
''',
    "backward gates the identity path too": '''
def stochastic_depth_backward(dout, cache):
    return cache * np.array(dout, dtype=np.float64), cache * np.array(dout, dtype=np.float64)
''',
    "backward passes dout into the branch whatever the gate": '''
def stochastic_depth_backward(dout, cache):
    return np.array(dout, dtype=np.float64), np.array(dout, dtype=np.float64)
''',
    "returns dout itself as dx": '''
def stochastic_depth_backward(dout, cache):
    return dout, cache * dout
''',
    "returns x itself when the block is dropped": '''
def stochastic_depth_forward(x, residual, survival_prob, mode, gate=None):
    scale = float(gate) if mode == "train" else float(survival_prob)
    if scale == 0:
        return x, scale
    return x + scale * residual, scale
''',
    "a gate of True or False is taken as the survival probability": '''
def stochastic_depth_forward(x, residual, survival_prob, mode, gate=None):
    if mode == "eval" or isinstance(gate, bool):
        scale = float(survival_prob)
    else:
        scale = float(gate)
    return x + scale * residual, scale
''',
}

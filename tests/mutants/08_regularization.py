"""Plausible wrong implementations for notebook 08. Each is appended to the solution cell of its
part (so it redefines the function there); the hidden checks must take that part's points away and
leave every other part untouched."""

# sgd_l2_step calls l2_penalty inside the same part; no part calls another part's functions.
DEPENDS = {}

MUTANTS = {
    "l2_penalty": {
        "penalty without the 1/2 (gradient 2 reg w)": '''
def l2_penalty(w, reg):
    return reg * float(np.sum(w * w)), 2 * reg * w
''',
        "decay factor (1 - wd) instead of (1 - lr * wd)": '''
def sgd_l2_step(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("weight_decay", 0.0)
    return (1 - config["weight_decay"]) * w - config["learning_rate"] * dw, config
''',
        "updates w in place": '''
def sgd_l2_step(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("weight_decay", 0.0)
    w -= config["learning_rate"] * (dw + config["weight_decay"] * w)
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
    config = _adam_defaults(w, config)
    lr, b1, b2 = config["learning_rate"], config["beta1"], config["beta2"]
    config["t"] += 1
    t = config["t"]
    config["m"] = b1 * config["m"] + (1 - b1) * dw
    config["v"] = b2 * config["v"] + (1 - b2) * dw * dw
    m_hat = config["m"] / (1 - b1 ** t)
    v_hat = config["v"] / (1 - b2 ** t)
    return w * (1 - config["weight_decay"]) - lr * m_hat / (np.sqrt(v_hat) + config["epsilon"]), config
''',
        "Adam + L2 adds the decay after the moments (decoupled)": '''
def adam_l2_step(w, dw, config=None):
    return adamw_step(w, dw, config)
''',
        "no bias correction": '''
def adam_l2_step(w, dw, config=None):
    config = _adam_defaults(w, config)
    g = dw + config["weight_decay"] * w
    config["t"] += 1
    config["m"] = config["beta1"] * config["m"] + (1 - config["beta1"]) * g
    config["v"] = config["beta2"] * config["v"] + (1 - config["beta2"]) * g * g
    return w - config["learning_rate"] * config["m"] / (np.sqrt(config["v"]) + config["epsilon"]), config
''',
    },
    "dropout": {
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

"""Plausible wrong implementations for notebook 06. Each is appended to the solution cell of its
part (so it redefines the function there); the hidden checks must take that part's points away and
leave every other part untouched."""

# adamw may legitimately be written on top of adam (the notebook suggests it).
DEPENDS = {"adamw": ["adam"]}

MUTANTS = {
    "sgd": {
        "learning rate frozen at its first value (stored in config)": '''
def sgd(w, dw, config=None):
    config = {} if config is None else config
    config.setdefault("lr", 1e-2); config.setdefault("weight_decay", 0.0)
    config.setdefault("lr0", config["lr"])
    return w - config["lr0"] * (dw + config["weight_decay"] * w), config
''',
        "weight decay subtracted from the gradient": '''
def sgd(w, dw, config=None):
    config = {} if config is None else config
    config.setdefault("lr", 1e-2); config.setdefault("weight_decay", 0.0)
    return w - config["lr"] * (dw - config["weight_decay"] * w), config
''',
        "modifies w in place": '''
def sgd(w, dw, config=None):
    config = {} if config is None else config
    config.setdefault("lr", 1e-2); config.setdefault("weight_decay", 0.0)
    w -= config["lr"] * (dw + config["weight_decay"] * w)
    return w, config
''',
        "decay applied to the already-updated weights": '''
def sgd(w, dw, config=None):
    config = {} if config is None else config
    config.setdefault("lr", 1e-2); config.setdefault("weight_decay", 0.0)
    w1 = w - config["lr"] * dw
    return w1 - config["lr"] * config["weight_decay"] * w1, config
''',
    },
    "sgd_momentum": {
        "velocity with the learning rate folded in (v = mu v - lr g, w + v)": '''
def sgd_momentum(w, dw, config=None):
    config = {} if config is None else config
    for k, v in dict(lr=1e-2, momentum=0.9, dampening=0.0, weight_decay=0.0).items():
        config.setdefault(k, v)
    g = dw + config["weight_decay"] * w
    if "velocity" not in config:
        v = -config["lr"] * g
    else:
        v = config["momentum"] * config["velocity"] - config["lr"] * (1 - config["dampening"]) * g
    config["velocity"] = v
    return w + v, config
''',
        "first velocity is dw itself (shares memory with dw)": '''
def sgd_momentum(w, dw, config=None):
    config = {} if config is None else config
    for k, v in dict(lr=1e-2, momentum=0.9, dampening=0.0, weight_decay=0.0).items():
        config.setdefault(k, v)
    g = dw if config["weight_decay"] == 0 else dw + config["weight_decay"] * w
    if "velocity" not in config:
        b = g
    else:
        b = config["momentum"] * config["velocity"] + (1 - config["dampening"]) * g
    config["velocity"] = b
    return w - config["lr"] * b, config
''',
        "dampening default 0.1": '''
def sgd_momentum(w, dw, config=None):
    config = {} if config is None else config
    for k, v in dict(lr=1e-2, momentum=0.9, dampening=0.1, weight_decay=0.0).items():
        config.setdefault(k, v)
    g = dw + config["weight_decay"] * w
    if "velocity" not in config:
        b = g.copy()
    else:
        b = config["momentum"] * config["velocity"] + (1 - config["dampening"]) * g
    config["velocity"] = b
    return w - config["lr"] * b, config
''',
        "momentum as a moving average (1 - mu) instead of a velocity": '''
def sgd_momentum(w, dw, config=None):
    config = {} if config is None else config
    for k, v in dict(lr=1e-2, momentum=0.9, dampening=0.0, weight_decay=0.0).items():
        config.setdefault(k, v)
    g = dw + config["weight_decay"] * w
    mu = config["momentum"]
    b = mu * config.get("velocity", np.zeros_like(w)) + (1 - mu) * g
    config["velocity"] = b
    return w - config["lr"] * b, config
''',
        "first step dampened (velocity starts at zero)": '''
def sgd_momentum(w, dw, config=None):
    config = {} if config is None else config
    for k, v in dict(lr=1e-2, momentum=0.9, dampening=0.0, weight_decay=0.0).items():
        config.setdefault(k, v)
    g = dw + config["weight_decay"] * w
    b = config["momentum"] * config.get("velocity", np.zeros_like(w)) + (1 - config["dampening"]) * g
    config["velocity"] = b
    return w - config["lr"] * b, config
''',
        "velocity kept in a global variable, not in config": '''
_velocity = {}
def sgd_momentum(w, dw, config=None):
    config = {} if config is None else config
    for k, v in dict(lr=1e-2, momentum=0.9, dampening=0.0, weight_decay=0.0).items():
        config.setdefault(k, v)
    g = dw + config["weight_decay"] * w
    if "b" not in _velocity or _velocity["b"].shape != w.shape:
        _velocity["b"] = g.copy()
    else:
        _velocity["b"] = config["momentum"] * _velocity["b"] + (1 - config["dampening"]) * g
    return w - config["lr"] * _velocity["b"], config
''',
        "weight decay added after the momentum": '''
def sgd_momentum(w, dw, config=None):
    config = {} if config is None else config
    for k, v in dict(lr=1e-2, momentum=0.9, dampening=0.0, weight_decay=0.0).items():
        config.setdefault(k, v)
    if "velocity" not in config:
        b = dw.copy()
    else:
        b = config["momentum"] * config["velocity"] + (1 - config["dampening"]) * dw
    config["velocity"] = b
    return w - config["lr"] * (b + config["weight_decay"] * w), config
''',
    },
    "nesterov": {
        "velocity with the learning rate folded in": '''
def nesterov_momentum(w, dw, config=None):
    config = {} if config is None else config
    for k, v in dict(lr=1e-2, momentum=0.9, weight_decay=0.0).items():
        config.setdefault(k, v)
    g = dw + config["weight_decay"] * w
    mu, lr = config["momentum"], config["lr"]
    v = -lr * g if "velocity" not in config else mu * config["velocity"] - lr * g
    config["velocity"] = v
    return w - lr * g + mu * v, config
''',
        "look-ahead term uses the old velocity": '''
def nesterov_momentum(w, dw, config=None):
    config = {} if config is None else config
    for k, v in dict(lr=1e-2, momentum=0.9, weight_decay=0.0).items():
        config.setdefault(k, v)
    g = dw + config["weight_decay"] * w
    mu = config["momentum"]
    old = config.get("velocity", np.zeros_like(w))
    config["velocity"] = g.copy() if "velocity" not in config else mu * old + g
    return w - config["lr"] * (g + mu * old), config
''',
        "plain momentum step (no look-ahead)": '''
def nesterov_momentum(w, dw, config=None):
    config = {} if config is None else config
    for k, v in dict(lr=1e-2, momentum=0.9, weight_decay=0.0).items():
        config.setdefault(k, v)
    g = dw + config["weight_decay"] * w
    b = g.copy() if "velocity" not in config else config["momentum"] * config["velocity"] + g
    config["velocity"] = b
    return w - config["lr"] * b, config
''',
        "look-ahead without the factor mu": '''
def nesterov_momentum(w, dw, config=None):
    config = {} if config is None else config
    for k, v in dict(lr=1e-2, momentum=0.9, weight_decay=0.0).items():
        config.setdefault(k, v)
    g = dw + config["weight_decay"] * w
    b = g.copy() if "velocity" not in config else config["momentum"] * config["velocity"] + g
    config["velocity"] = b
    return w - config["lr"] * (g + b), config
''',
    },
    "adagrad": {
        "effective step lr / sqrt(s) cached in config at the first step": '''
def adagrad(w, dw, config=None):
    config = {} if config is None else config
    for k, v in dict(lr=1e-2, eps=1e-10, initial_accumulator_value=0.0, weight_decay=0.0).items():
        config.setdefault(k, v)
    config.setdefault("lr_used", config["lr"])
    g = dw + config["weight_decay"] * w
    s = config.get("sum_sq", np.full(w.shape, config["initial_accumulator_value"])) + g * g
    config["sum_sq"] = s
    return w - config["lr_used"] * g / (np.sqrt(s) + config["eps"]), config
''',
        "squared gradient not accumulated": '''
def adagrad(w, dw, config=None):
    config = {} if config is None else config
    for k, v in dict(lr=1e-2, eps=1e-10, initial_accumulator_value=0.0, weight_decay=0.0).items():
        config.setdefault(k, v)
    g = dw + config["weight_decay"] * w
    s = config["initial_accumulator_value"] + g * g
    config["sum_sq"] = s
    return w - config["lr"] * g / (np.sqrt(s) + config["eps"]), config
''',
        "eps inside the square root": '''
def adagrad(w, dw, config=None):
    config = {} if config is None else config
    for k, v in dict(lr=1e-2, eps=1e-10, initial_accumulator_value=0.0, weight_decay=0.0).items():
        config.setdefault(k, v)
    g = dw + config["weight_decay"] * w
    s = config.get("sum_sq", np.full(w.shape, config["initial_accumulator_value"])) + g * g
    config["sum_sq"] = s
    return w - config["lr"] * g / np.sqrt(s + config["eps"]), config
''',
        "initial accumulator value ignored": '''
def adagrad(w, dw, config=None):
    config = {} if config is None else config
    for k, v in dict(lr=1e-2, eps=1e-10, initial_accumulator_value=0.0, weight_decay=0.0).items():
        config.setdefault(k, v)
    g = dw + config["weight_decay"] * w
    s = config.get("sum_sq", np.zeros(w.shape)) + g * g
    config["sum_sq"] = s
    return w - config["lr"] * g / (np.sqrt(s) + config["eps"]), config
''',
        "eps default 1e-8 (Adam's) instead of torch's 1e-10": '''
def adagrad(w, dw, config=None):
    config = {} if config is None else config
    for k, v in dict(lr=1e-2, eps=1e-8, initial_accumulator_value=0.0, weight_decay=0.0).items():
        config.setdefault(k, v)
    g = dw + config["weight_decay"] * w
    s = config.get("sum_sq", np.full(w.shape, config["initial_accumulator_value"])) + g * g
    config["sum_sq"] = s
    return w - config["lr"] * g / (np.sqrt(s) + config["eps"]), config
''',
    },
    "rmsprop": {
        "eps default 1e-10 (AdaGrad's) instead of 1e-8": '''
def rmsprop(w, dw, config=None):
    config = {} if config is None else config
    for k, v in dict(lr=1e-2, alpha=0.99, eps=1e-10, weight_decay=0.0).items():
        config.setdefault(k, v)
    g = dw + config["weight_decay"] * w
    a = config["alpha"] * config.get("square_avg", np.zeros(w.shape)) + (1 - config["alpha"]) * g * g
    config["square_avg"] = a
    return w - config["lr"] * g / (np.sqrt(a) + config["eps"]), config
''',
        "alpha and 1 - alpha swapped": '''
def rmsprop(w, dw, config=None):
    config = {} if config is None else config
    for k, v in dict(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0).items():
        config.setdefault(k, v)
    g = dw + config["weight_decay"] * w
    a = (1 - config["alpha"]) * config.get("square_avg", np.zeros(w.shape)) + config["alpha"] * g * g
    config["square_avg"] = a
    return w - config["lr"] * g / (np.sqrt(a) + config["eps"]), config
''',
        "eps inside the square root": '''
def rmsprop(w, dw, config=None):
    config = {} if config is None else config
    for k, v in dict(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0).items():
        config.setdefault(k, v)
    g = dw + config["weight_decay"] * w
    a = config["alpha"] * config.get("square_avg", np.zeros(w.shape)) + (1 - config["alpha"]) * g * g
    config["square_avg"] = a
    return w - config["lr"] * g / np.sqrt(a + config["eps"]), config
''',
        "bias-corrected like Adam": '''
def rmsprop(w, dw, config=None):
    config = {} if config is None else config
    for k, v in dict(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0).items():
        config.setdefault(k, v)
    g = dw + config["weight_decay"] * w
    a = config["alpha"] * config.get("square_avg", np.zeros(w.shape)) + (1 - config["alpha"]) * g * g
    config["square_avg"] = a
    config["n"] = config.get("n", 0) + 1
    a_hat = a / (1 - config["alpha"] ** config["n"])
    return w - config["lr"] * g / (np.sqrt(a_hat) + config["eps"]), config
''',
        "average started at the first squared gradient": '''
def rmsprop(w, dw, config=None):
    config = {} if config is None else config
    for k, v in dict(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0).items():
        config.setdefault(k, v)
    g = dw + config["weight_decay"] * w
    a = g * g if "square_avg" not in config else config["alpha"] * config["square_avg"] + (1 - config["alpha"]) * g * g
    config["square_avg"] = a
    return w - config["lr"] * g / (np.sqrt(a) + config["eps"]), config
''',
    },
    "adam": {
        "bias-corrected step size computed with the first learning rate only": '''
def adam(w, dw, config=None):
    config = {} if config is None else config
    for k, v in dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0).items():
        config.setdefault(k, v)
    config.setdefault("base_lr", config["lr"])
    g = dw + config["weight_decay"] * w
    t = config.get("t", 0) + 1
    m = config["beta1"] * config.get("m", np.zeros(w.shape)) + (1 - config["beta1"]) * g
    v = config["beta2"] * config.get("v", np.zeros(w.shape)) + (1 - config["beta2"]) * g * g
    config["m"], config["v"], config["t"] = m, v, t
    m_hat, v_hat = m / (1 - config["beta1"] ** t), v / (1 - config["beta2"] ** t)
    return w - config["base_lr"] * m_hat / (np.sqrt(v_hat) + config["eps"]), config
''',
        "no bias correction": '''
def adam(w, dw, config=None):
    config = {} if config is None else config
    for k, v in dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0).items():
        config.setdefault(k, v)
    g = dw + config["weight_decay"] * w
    m = config["beta1"] * config.get("m", np.zeros(w.shape)) + (1 - config["beta1"]) * g
    v = config["beta2"] * config.get("v", np.zeros(w.shape)) + (1 - config["beta2"]) * g * g
    config["m"], config["v"], config["t"] = m, v, config.get("t", 0) + 1
    return w - config["lr"] * m / (np.sqrt(v) + config["eps"]), config
''',
        "step counter off by one (starts at 1, incremented before use)": '''
def adam(w, dw, config=None):
    config = {} if config is None else config
    for k, v in dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0).items():
        config.setdefault(k, v)
    config.setdefault("t", 1)
    g = dw + config["weight_decay"] * w
    m = config["beta1"] * config.get("m", np.zeros(w.shape)) + (1 - config["beta1"]) * g
    v = config["beta2"] * config.get("v", np.zeros(w.shape)) + (1 - config["beta2"]) * g * g
    t = config["t"] + 1
    config["m"], config["v"], config["t"] = m, v, t
    m_hat, v_hat = m / (1 - config["beta1"] ** t), v / (1 - config["beta2"] ** t)
    return w - config["lr"] * m_hat / (np.sqrt(v_hat) + config["eps"]), config
''',
        "eps added before the bias correction of the root": '''
def adam(w, dw, config=None):
    config = {} if config is None else config
    for k, v in dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0).items():
        config.setdefault(k, v)
    g = dw + config["weight_decay"] * w
    t = config.get("t", 0) + 1
    m = config["beta1"] * config.get("m", np.zeros(w.shape)) + (1 - config["beta1"]) * g
    v = config["beta2"] * config.get("v", np.zeros(w.shape)) + (1 - config["beta2"]) * g * g
    config["m"], config["v"], config["t"] = m, v, t
    lr_t = config["lr"] * np.sqrt(1 - config["beta2"] ** t) / (1 - config["beta1"] ** t)
    return w - lr_t * m / (np.sqrt(v) + config["eps"]), config
''',
        "eps inside the square root": '''
def adam(w, dw, config=None):
    config = {} if config is None else config
    for k, v in dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0).items():
        config.setdefault(k, v)
    g = dw + config["weight_decay"] * w
    t = config.get("t", 0) + 1
    m = config["beta1"] * config.get("m", np.zeros(w.shape)) + (1 - config["beta1"]) * g
    v = config["beta2"] * config.get("v", np.zeros(w.shape)) + (1 - config["beta2"]) * g * g
    config["m"], config["v"], config["t"] = m, v, t
    m_hat, v_hat = m / (1 - config["beta1"] ** t), v / (1 - config["beta2"] ** t)
    return w - config["lr"] * m_hat / np.sqrt(v_hat + config["eps"]), config
''',
        "weight decay ignored": '''
_adam_ok = adam
def adam(w, dw, config=None):
    config = {} if config is None else config
    config.setdefault("weight_decay", 0.0)
    wd = config["weight_decay"]
    config["weight_decay"] = 0.0
    next_w, config = _adam_ok(w, dw, config)
    config["weight_decay"] = wd
    return next_w, config
''',
    },
    "adamw": {
        "eps ignored (always 1e-8)": '''
def adamw(w, dw, config=None):
    config = {} if config is None else config
    for k, v in dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2).items():
        config.setdefault(k, v)
    t = config.get("t", 0) + 1
    m = config["beta1"] * config.get("m", np.zeros(w.shape)) + (1 - config["beta1"]) * dw
    v = config["beta2"] * config.get("v", np.zeros(w.shape)) + (1 - config["beta2"]) * dw * dw
    config["m"], config["v"], config["t"] = m, v, t
    m_hat, v_hat = m / (1 - config["beta1"] ** t), v / (1 - config["beta2"] ** t)
    return w * (1 - config["lr"] * config["weight_decay"]) - config["lr"] * m_hat / (np.sqrt(v_hat) + 1e-8), config
''',
        "decay factor computed once, with the first learning rate": '''
def adamw(w, dw, config=None):
    config = {} if config is None else config
    for k, v in dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2).items():
        config.setdefault(k, v)
    config.setdefault("decay_factor", 1 - config["lr"] * config["weight_decay"])
    t = config.get("t", 0) + 1
    m = config["beta1"] * config.get("m", np.zeros(w.shape)) + (1 - config["beta1"]) * dw
    v = config["beta2"] * config.get("v", np.zeros(w.shape)) + (1 - config["beta2"]) * dw * dw
    config["m"], config["v"], config["t"] = m, v, t
    m_hat, v_hat = m / (1 - config["beta1"] ** t), v / (1 - config["beta2"] ** t)
    return w * config["decay_factor"] - config["lr"] * m_hat / (np.sqrt(v_hat) + config["eps"]), config
''',
        "coupled L2 (decay added to the gradient, as in Adam)": '''
def adamw(w, dw, config=None):
    config = {} if config is None else config
    for k, v in dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2).items():
        config.setdefault(k, v)
    g = dw + config["weight_decay"] * w
    t = config.get("t", 0) + 1
    m = config["beta1"] * config.get("m", np.zeros(w.shape)) + (1 - config["beta1"]) * g
    v = config["beta2"] * config.get("v", np.zeros(w.shape)) + (1 - config["beta2"]) * g * g
    config["m"], config["v"], config["t"] = m, v, t
    m_hat, v_hat = m / (1 - config["beta1"] ** t), v / (1 - config["beta2"] ** t)
    return w - config["lr"] * m_hat / (np.sqrt(v_hat) + config["eps"]), config
''',
        "decay factor without the learning rate": '''
def adamw(w, dw, config=None):
    config = {} if config is None else config
    for k, v in dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2).items():
        config.setdefault(k, v)
    t = config.get("t", 0) + 1
    m = config["beta1"] * config.get("m", np.zeros(w.shape)) + (1 - config["beta1"]) * dw
    v = config["beta2"] * config.get("v", np.zeros(w.shape)) + (1 - config["beta2"]) * dw * dw
    config["m"], config["v"], config["t"] = m, v, t
    m_hat, v_hat = m / (1 - config["beta1"] ** t), v / (1 - config["beta2"] ** t)
    return w * (1 - config["weight_decay"]) - config["lr"] * m_hat / (np.sqrt(v_hat) + config["eps"]), config
''',
        "decay applied after the Adam step": '''
def adamw(w, dw, config=None):
    config = {} if config is None else config
    for k, v in dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2).items():
        config.setdefault(k, v)
    t = config.get("t", 0) + 1
    m = config["beta1"] * config.get("m", np.zeros(w.shape)) + (1 - config["beta1"]) * dw
    v = config["beta2"] * config.get("v", np.zeros(w.shape)) + (1 - config["beta2"]) * dw * dw
    config["m"], config["v"], config["t"] = m, v, t
    m_hat, v_hat = m / (1 - config["beta1"] ** t), v / (1 - config["beta2"] ** t)
    w1 = w - config["lr"] * m_hat / (np.sqrt(v_hat) + config["eps"])
    return w1 * (1 - config["lr"] * config["weight_decay"]), config
''',
        "lr stored back into config after decay (mutates a hyperparameter)": '''
_adamw_ok = adamw
def adamw(w, dw, config=None):
    next_w, config = _adamw_ok(w, dw, config)
    config["lr"] = config["lr"] * 0.999
    return next_w, config
''',
    },
}

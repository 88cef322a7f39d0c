"""Correct implementations of notebook 06's rules, written differently from the reference. Each is
appended to the solution cell of its part and must earn full marks under every seed."""

DEPENDS = {"adamw": ["adam"]}

ALTERNATIVES = {
    "sgd": {
        "in-place update of its own copy": '''
def sgd(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("lr", 1e-2)
    config.setdefault("weight_decay", 0.0)
    next_w = np.array(w, dtype=np.float64, copy=True)
    next_w -= config["lr"] * dw
    next_w -= config["lr"] * config["weight_decay"] * w
    return next_w, config
''',
        "decay as a shrink factor, new config dict": '''
def sgd(w, dw, config=None):
    cfg = {"lr": 1e-2, "weight_decay": 0.0}
    cfg.update(config or {})
    lr, wd = float(cfg["lr"]), float(cfg["weight_decay"])
    return (1.0 - lr * wd) * w - lr * dw, cfg
''',
        "elementwise loop over the flat entries": '''
def sgd(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("lr", 1e-2)
    config.setdefault("weight_decay", 0.0)
    flat_w, flat_g = np.ravel(w), np.ravel(dw)
    out = np.empty(flat_w.size, dtype=np.float64)
    for i in range(flat_w.size):
        out[i] = flat_w[i] - config["lr"] * (flat_g[i] + config["weight_decay"] * flat_w[i])
    return out.reshape(np.shape(w)), config
''',
    },
    "sgd_momentum": {
        "in-place velocity on a copy, returned as a list": '''
def sgd_momentum(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("lr", 1e-2)
    config.setdefault("momentum", 0.9)
    config.setdefault("dampening", 0.0)
    config.setdefault("weight_decay", 0.0)
    g = np.add(dw, config["weight_decay"] * w)
    if config.get("velocity") is None:
        b = g.copy()
    else:
        b = np.array(config["velocity"], copy=True)
        b *= config["momentum"]
        b += (1.0 - config["dampening"]) * g
    config["velocity"] = b
    return [w - config["lr"] * b, config]
''',
        "new config dict, numpy float64 scalars": '''
def sgd_momentum(w, dw, config=None):
    hyper = {"lr": 1e-2, "momentum": 0.9, "dampening": 0.0, "weight_decay": 0.0}
    hyper.update(config or {})
    lr, mu = np.float64(hyper["lr"]), np.float64(hyper["momentum"])
    tau, wd = np.float64(hyper["dampening"]), np.float64(hyper["weight_decay"])
    g = dw + wd * w
    first = "velocity" not in hyper
    b = np.copy(g) if first else mu * hyper["velocity"] + (1 - tau) * g
    new_config = dict(hyper)
    new_config["velocity"] = b
    return w - lr * b, new_config
''',
        "velocity as a weighted sum written with np.multiply": '''
def sgd_momentum(w, dw, config=None):
    if config is None:
        config = {}
    for key, default in (("lr", 1e-2), ("momentum", 0.9), ("dampening", 0.0), ("weight_decay", 0.0)):
        config.setdefault(key, default)
    g = dw + np.multiply(config["weight_decay"], w)
    old = config.get("velocity")
    b = g * 1.0 if old is None else np.multiply(config["momentum"], old) + np.multiply(1.0 - config["dampening"], g)
    config.update(velocity=b)
    return np.subtract(w, np.multiply(config["lr"], b)), config
''',
    },
    "nesterov": {
        "look-ahead written as two subtractions": '''
def nesterov_momentum(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("lr", 1e-2)
    config.setdefault("momentum", 0.9)
    config.setdefault("weight_decay", 0.0)
    lr, mu = config["lr"], config["momentum"]
    g = dw + config["weight_decay"] * w
    b = g.copy() if "velocity" not in config else mu * config["velocity"] + g
    config["velocity"] = b
    next_w = w - lr * g
    next_w = next_w - lr * mu * b
    return next_w, config
''',
        "expanded: (1 + mu) g + mu^2 b_old": '''
def nesterov_momentum(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("lr", 1e-2)
    config.setdefault("momentum", 0.9)
    config.setdefault("weight_decay", 0.0)
    lr, mu = config["lr"], config["momentum"]
    g = dw + config["weight_decay"] * w
    if "velocity" in config:
        old = config["velocity"]
        direction = (1 + mu) * g + mu * mu * old
        config["velocity"] = mu * old + g
    else:
        direction = (1 + mu) * g
        config["velocity"] = np.array(g)
    return w - lr * direction, config
''',
        "new config dict, float() hyperparameters": '''
def nesterov_momentum(w, dw, config=None):
    cfg = dict(config) if config else {}
    for key, default in {"lr": 1e-2, "momentum": 0.9, "weight_decay": 0.0}.items():
        cfg.setdefault(key, default)
    lr, mu, wd = float(cfg["lr"]), float(cfg["momentum"]), float(cfg["weight_decay"])
    g = np.asarray(dw, dtype=np.float64) + wd * np.asarray(w, dtype=np.float64)
    b = g + (mu * cfg["velocity"] if "velocity" in cfg else 0.0)
    cfg["velocity"] = b
    return w - lr * (g + mu * b), cfg
''',
    },
    "adagrad": {
        "in-place accumulation of its own state": '''
def adagrad(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("lr", 1e-2)
    config.setdefault("eps", 1e-10)
    config.setdefault("initial_accumulator_value", 0.0)
    config.setdefault("weight_decay", 0.0)
    g = dw + config["weight_decay"] * w
    if "sum_sq" not in config:
        config["sum_sq"] = np.full(w.shape, float(config["initial_accumulator_value"]))
    s = config["sum_sq"]
    s += np.square(g)
    config["sum_sq"] = s
    return w - config["lr"] * g / (np.sqrt(s) + config["eps"]), config
''',
        "step as g times the reciprocal, new dict": '''
def adagrad(w, dw, config=None):
    cfg = {"lr": 1e-2, "eps": 1e-10, "initial_accumulator_value": 0.0, "weight_decay": 0.0}
    cfg.update(config or {})
    g = dw + cfg["weight_decay"] * w
    start = cfg.get("sum_sq", cfg["initial_accumulator_value"] + np.zeros_like(w, dtype=np.float64))
    s = start + g ** 2
    inv = 1.0 / (s ** 0.5 + cfg["eps"])
    cfg["sum_sq"] = s
    return w - cfg["lr"] * (g * inv), cfg
''',
        "elementwise loop": '''
import math as _math
def adagrad(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("lr", 1e-2)
    config.setdefault("eps", 1e-10)
    config.setdefault("initial_accumulator_value", 0.0)
    config.setdefault("weight_decay", 0.0)
    fw, fg = np.ravel(w), np.ravel(dw)
    fs = np.ravel(config["sum_sq"]) if "sum_sq" in config else np.full(fw.size, config["initial_accumulator_value"], dtype=float)
    new_s, new_w = np.empty(fw.size), np.empty(fw.size)
    for i in range(fw.size):
        gi = fg[i] + config["weight_decay"] * fw[i]
        new_s[i] = fs[i] + gi * gi
        new_w[i] = fw[i] - config["lr"] * gi / (_math.sqrt(new_s[i]) + config["eps"])
    config["sum_sq"] = new_s.reshape(np.shape(w))
    return new_w.reshape(np.shape(w)), config
''',
    },
    "rmsprop": {
        "average as a + (1 - alpha)(g^2 - a)": '''
def rmsprop(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("lr", 1e-2)
    config.setdefault("alpha", 0.99)
    config.setdefault("eps", 1e-8)
    config.setdefault("weight_decay", 0.0)
    g = dw + config["weight_decay"] * w
    a = config.get("square_avg", np.zeros(np.shape(w)))
    a = a + (1.0 - config["alpha"]) * (g * g - a)
    config["square_avg"] = a
    return w - config["lr"] * g / (np.sqrt(a) + config["eps"]), config
''',
        "in-place state update on a copy, new config": '''
def rmsprop(w, dw, config=None):
    cfg = {"lr": 1e-2, "alpha": 0.99, "eps": 1e-8, "weight_decay": 0.0}
    cfg.update(config or {})
    g = dw + cfg["weight_decay"] * w
    a = np.array(cfg["square_avg"], copy=True) if "square_avg" in cfg else np.zeros_like(w, dtype=np.float64)
    a *= cfg["alpha"]
    a += (1 - cfg["alpha"]) * np.square(g)
    cfg["square_avg"] = a
    denom = np.sqrt(a)
    denom += cfg["eps"]
    return w - cfg["lr"] * g / denom, cfg
''',
        "power 0.5 and numpy scalars": '''
def rmsprop(w, dw, config=None):
    if config is None:
        config = {}
    for k, v in {"lr": 1e-2, "alpha": 0.99, "eps": 1e-8, "weight_decay": 0.0}.items():
        config.setdefault(k, v)
    alpha = np.float64(config["alpha"])
    g = np.asarray(dw) + np.float64(config["weight_decay"]) * np.asarray(w)
    prev = config["square_avg"] if "square_avg" in config else 0.0
    a = alpha * prev + (np.float64(1) - alpha) * g ** 2
    config["square_avg"] = np.asarray(a, dtype=np.float64)
    return w - np.float64(config["lr"]) * g / (a ** 0.5 + config["eps"]), config
''',
    },
    "adam": {
        "torch's arrangement: sqrt(v) / sqrt(bc2) + eps, step size lr / bc1": '''
import math as _math
def adam(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("lr", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("eps", 1e-8)
    config.setdefault("weight_decay", 0.0)
    b1, b2 = config["beta1"], config["beta2"]
    g = dw + config["weight_decay"] * w
    t = config.get("t", 0) + 1
    m = b1 * config.get("m", 0.0) + (1 - b1) * g
    v = b2 * config.get("v", 0.0) + (1 - b2) * g * g
    bc1, bc2 = 1 - b1 ** t, 1 - b2 ** t
    denom = np.sqrt(v) / _math.sqrt(bc2) + config["eps"]
    config["m"], config["v"], config["t"] = m, v, t
    return w - (config["lr"] / bc1) * m / denom, config
''',
        "moments by interpolation m + (1 - beta1)(g - m), new dict": '''
def adam(w, dw, config=None):
    cfg = {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0}
    cfg.update(config or {})
    g = dw + cfg["weight_decay"] * w
    m = cfg.get("m", np.zeros(np.shape(w)))
    v = cfg.get("v", np.zeros(np.shape(w)))
    t = int(cfg.get("t", 0)) + 1
    m = m + (1 - cfg["beta1"]) * (g - m)
    v = v + (1 - cfg["beta2"]) * (g * g - v)
    m_hat = m / (1 - cfg["beta1"] ** t)
    v_hat = v / (1 - cfg["beta2"] ** t)
    cfg.update(m=m, v=v, t=t)
    return w - cfg["lr"] * m_hat / (np.sqrt(v_hat) + cfg["eps"]), cfg
''',
        "in-place moments on copies, float64 scalars": '''
def adam(w, dw, config=None):
    if config is None:
        config = {}
    for k, val in (("lr", 1e-3), ("beta1", 0.9), ("beta2", 0.999), ("eps", 1e-8), ("weight_decay", 0.0)):
        config.setdefault(k, val)
    b1, b2 = np.float64(config["beta1"]), np.float64(config["beta2"])
    g = dw + np.float64(config["weight_decay"]) * w
    m = np.array(config["m"], copy=True) if "m" in config else np.zeros_like(g)
    v = np.array(config["v"], copy=True) if "v" in config else np.zeros_like(g)
    m *= b1
    m += (1 - b1) * g
    v *= b2
    v += (1 - b2) * np.square(g)
    config["t"] = config.get("t", 0) + 1
    t = config["t"]
    config["m"], config["v"] = m, v
    return w - config["lr"] * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + config["eps"]), config
''',
    },
    "adamw": {
        "decay, then the student's adam with weight_decay 0": '''
def adamw(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("lr", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("eps", 1e-8)
    config.setdefault("weight_decay", 1e-2)
    decayed = w * (1 - config["lr"] * config["weight_decay"])
    inner = dict(config, weight_decay=0.0)
    next_w, inner = adam(decayed, dw, inner)
    for key in ("m", "v", "t"):
        config[key] = inner[key]
    return next_w, config
''',
        "decay as w - lr * wd * w, torch's step arrangement": '''
import math as _math
def adamw(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("lr", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("eps", 1e-8)
    config.setdefault("weight_decay", 1e-2)
    lr, b1, b2 = config["lr"], config["beta1"], config["beta2"]
    t = config.get("t", 0) + 1
    m = b1 * config.get("m", np.zeros(w.shape)) + (1 - b1) * dw
    v = b2 * config.get("v", np.zeros(w.shape)) + (1 - b2) * dw ** 2
    p = w - lr * config["weight_decay"] * w
    denom = np.sqrt(v) / _math.sqrt(1 - b2 ** t) + config["eps"]
    config.update(m=m, v=v, t=t)
    return p - lr / (1 - b1 ** t) * m / denom, config
''',
        "new config dict, in-place moments": '''
def adamw(w, dw, config=None):
    cfg = {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 1e-2}
    cfg.update(config or {})
    m = np.array(cfg.get("m", np.zeros(np.shape(w))), dtype=np.float64)
    v = np.array(cfg.get("v", np.zeros(np.shape(w))), dtype=np.float64)
    m *= cfg["beta1"]
    m += (1 - cfg["beta1"]) * dw
    v *= cfg["beta2"]
    v += (1 - cfg["beta2"]) * dw * dw
    t = cfg.get("t", 0) + 1
    next_w = np.array(w, dtype=np.float64)
    next_w *= 1 - cfg["lr"] * cfg["weight_decay"]
    next_w -= cfg["lr"] * (m / (1 - cfg["beta1"] ** t)) / (np.sqrt(v / (1 - cfg["beta2"] ** t)) + cfg["eps"])
    cfg["m"], cfg["v"], cfg["t"] = m, v, t
    return next_w, cfg
''',
    },
}

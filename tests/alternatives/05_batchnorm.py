"""Correct implementations of notebook 05 written differently from the reference. Each is appended
to the solution cell of its part and must earn full marks under every seed (and cost no other part
its points)."""

ALTERNATIVES = {
    "batchnorm_forward": {
        "np.var and np.mean, {**bn_param}, eval mode keeps the given arrays": '''
def batchnorm_forward(x, gamma, beta, bn_param):
    N, D = x.shape
    mode = bn_param.get("mode", "train")
    if mode not in ("train", "eval"):
        raise ValueError("mode must be 'train' or 'eval', not " + repr(mode))
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.1)
    new = {**bn_param}
    new.setdefault("running_mean", np.zeros(D))
    new.setdefault("running_var", np.ones(D))
    if mode == "eval":
        x_hat = (x - new["running_mean"]) / np.sqrt(new["running_var"] + eps)
        return gamma * x_hat + beta, None, new
    if N < 2:
        raise ValueError("train mode needs N >= 2")
    mu = np.mean(x, axis=0)
    var = np.var(x, axis=0)
    std = np.sqrt(var + eps)
    x_hat = (x - mu) / std
    new["running_mean"] = (1 - momentum) * new["running_mean"] + momentum * mu
    new["running_var"] = (1 - momentum) * new["running_var"] + momentum * np.var(x, axis=0, ddof=1)
    cache = {"x_centered": x - mu, "var": var, "std": std, "inv_std": 1 / std, "x_hat": x_hat,
             "gamma": gamma.copy(), "eps": eps}
    return gamma * x_hat + beta, cache, new
''',
        "einsum sums, Python floats, in-place updates of its own copies": '''
def batchnorm_forward(x, gamma, beta, bn_param):
    N, D = x.shape
    mode = bn_param.get("mode", "train")
    eps, momentum = float(bn_param.get("eps", 1e-5)), float(bn_param.get("momentum", 0.1))
    rm = np.array(bn_param["running_mean"], dtype=float) if "running_mean" in bn_param else np.zeros(D)
    rv = np.array(bn_param["running_var"], dtype=float) if "running_var" in bn_param else np.ones(D)
    if mode == "train":
        if N == 1:
            raise ValueError("a training batch needs at least two examples")
        mu = np.einsum("nd->d", x) / N
        c = x - mu
        var = np.einsum("nd,nd->d", c, c) / N
        r = 1.0 / np.sqrt(var + eps)
        x_hat = c * r
        rm *= 1.0 - momentum
        rm += momentum * mu
        rv *= 1.0 - momentum
        rv += momentum * var * (N / (N - 1.0))
        cache = {"x_centered": c, "var": var, "std": 1.0 / r, "inv_std": r, "x_hat": x_hat,
                 "gamma": np.array(gamma, dtype=float), "eps": eps}
    elif mode == "eval":
        x_hat = (x - rm) / np.sqrt(rv + eps)
        cache = None
    else:
        raise ValueError(f"bad mode {mode}")
    new = {}
    for key, value in bn_param.items():
        new[key] = value
    new["running_mean"], new["running_var"] = rm, rv
    return x_hat * gamma + beta, cache, new
''',
        "variance of data shifted by its first row (stable one-pass)": '''
def batchnorm_forward(x, gamma, beta, bn_param):
    N, D = x.shape
    mode = bn_param.get("mode", "train")
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.1)
    running_mean = bn_param.get("running_mean", np.zeros(D)).copy()
    running_var = bn_param.get("running_var", np.ones(D)).copy()
    if mode == "eval":
        out = gamma * ((x - running_mean) / np.sqrt(running_var + eps)) + beta
        return out, None, dict(bn_param, running_mean=running_mean, running_var=running_var)
    if mode != "train":
        raise ValueError("unknown mode: " + str(mode))
    if N < 2:
        raise ValueError("need N >= 2 in train mode")
    shifted = x - x[0]                      # removes the offset; the rest is exact algebra
    m = shifted.mean(axis=0)
    var = np.mean((shifted - m) ** 2, axis=0)
    mu = x[0] + m
    std = np.sqrt(var + eps)
    x_hat = (shifted - m) / std
    new = dict(bn_param)
    new["running_mean"] = running_mean * (1 - momentum) + mu * momentum
    new["running_var"] = running_var * (1 - momentum) + var * (N / (N - 1)) * momentum
    cache = {"x_centered": shifted - m, "var": var, "std": std, "inv_std": 1 / std, "x_hat": x_hat,
             "gamma": gamma, "eps": eps}
    return gamma * x_hat + beta, cache, new
''',
    },
    "batchnorm_backward": {
        "the classic staged form through var and mu": '''
def batchnorm_backward(dout, cache):
    c, var, eps, x_hat, gamma = cache["x_centered"], cache["var"], cache["eps"], cache["x_hat"], cache["gamma"]
    N = dout.shape[0]
    dx_hat = dout * gamma
    dvar = np.sum(dx_hat * c, axis=0) * -0.5 * (var + eps) ** -1.5
    dmu = np.sum(-dx_hat / np.sqrt(var + eps), axis=0) + dvar * np.mean(-2.0 * c, axis=0)
    dx = dx_hat / np.sqrt(var + eps) + dvar * 2.0 * c / N + dmu / N
    return dx, np.sum(dout * x_hat, axis=0), np.sum(dout, axis=0)
''',
        "statistics recomputed from the centered values and eps": '''
def batchnorm_backward(dout, cache):
    c, gamma, eps = cache["x_centered"], cache["gamma"], cache["eps"]
    N = c.shape[0]
    var = (c * c).mean(axis=0)
    s = np.sqrt(var + eps)
    x_hat = c / s
    g = dout * gamma
    dc = g / s
    dvar = -0.5 * np.sum(g * c, axis=0) / s ** 3
    dc = dc + dvar * 2.0 * c / N
    dx = dc - dc.mean(axis=0)
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)
''',
        "explicit Jacobian of each column": '''
def batchnorm_backward(dout, cache):
    x_hat, r, gamma = cache["x_hat"], cache["inv_std"], cache["gamma"]
    N, D = dout.shape
    dx = np.empty((N, D))
    for j in range(D):
        h = x_hat[:, j]
        J = r[j] / N * (N * np.eye(N) - np.ones((N, N)) - np.outer(h, h))   # d x_hat / d x, symmetric
        dx[:, j] = J.T @ (gamma[j] * dout[:, j])
    return dx, np.einsum("nd,nd->d", dout, x_hat), np.einsum("nd->d", dout)
''',
    },
    "batchnorm_backward_alt": {
        "means instead of sums": '''
def batchnorm_backward_alt(dout, cache):
    x_hat, r, gamma = cache["x_hat"], cache["inv_std"], cache["gamma"]
    g = gamma * dout
    dx = r * (g - g.mean(axis=0) - x_hat * (g * x_hat).mean(axis=0))
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)
''',
        "einsum, r from the variance": '''
def batchnorm_backward_alt(dout, cache):
    x_hat, gamma = cache["x_hat"], cache["gamma"]
    r = 1.0 / np.sqrt(cache["var"] + cache["eps"])
    N = dout.shape[0]
    g = np.einsum("nd,d->nd", dout, gamma)
    dx = (r / N) * (N * g - np.einsum("nd->d", g) - x_hat * np.einsum("nd,nd->d", g, x_hat))
    return dx, np.einsum("nd,nd->d", dout, x_hat), np.einsum("nd->d", dout)
''',
        "a list of three arrays, float N": '''
def batchnorm_backward_alt(dout, cache):
    x_hat, r, gamma = cache["x_hat"], cache["inv_std"], cache["gamma"]
    N = float(len(dout))
    dgamma = np.sum(x_hat * dout, axis=0)
    dbeta = np.sum(dout, axis=0)
    dx = (gamma * r / N) * (N * dout - dbeta - x_hat * dgamma)
    return [dx, dgamma, dbeta]
''',
    },
    "layernorm": {
        "batch-norm code on the transpose": '''
def layernorm_forward(x, gamma, beta, ln_param):
    eps = ln_param.get("eps", 1e-5)
    xt = x.T                                  # (D, N): one example per column
    mu = xt.mean(axis=0)
    ct = xt - mu
    var = (ct ** 2).mean(axis=0)
    r = 1.0 / np.sqrt(var + eps)
    x_hat_t = ct * r
    return gamma * x_hat_t.T + beta, {"x_hat_t": x_hat_t, "r": r, "gamma": gamma * 1.0}


def layernorm_backward(dout, cache):
    x_hat_t, r, gamma = cache["x_hat_t"], cache["r"], cache["gamma"]
    gt = (dout * gamma).T                     # (D, N)
    D = gt.shape[0]
    dxt = (r / D) * (D * gt - gt.sum(axis=0) - x_hat_t * (gt * x_hat_t).sum(axis=0))
    return dxt.T, (dout * x_hat_t.T).sum(axis=0), dout.sum(axis=0)
''',
        "np.var per row, a tuple cache, means instead of sums": '''
def layernorm_forward(x, gamma, beta, ln_param):
    eps = ln_param["eps"] if "eps" in ln_param else 1e-5
    mu = np.mean(x, axis=1, keepdims=True)
    var = np.var(x, axis=1, keepdims=True)
    std = np.sqrt(var + eps)
    x_hat = (x - mu) / std
    return x_hat * gamma + beta, (x_hat, std, np.array(gamma))


def layernorm_backward(dout, cache):
    x_hat, std, gamma = cache
    g = dout * gamma
    dx = (g - g.mean(axis=1, keepdims=True) - x_hat * (g * x_hat).mean(axis=1, keepdims=True)) / std
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)
''',
        "rows shifted by their first entry, einsum backward": '''
def layernorm_forward(x, gamma, beta, ln_param):
    eps = float(ln_param.get("eps", 1e-5))
    s = x - x[:, :1]
    m = s.mean(axis=1, keepdims=True)
    c = s - m
    var = np.einsum("nd,nd->n", c, c)[:, None] / x.shape[1]
    r = (var + eps) ** -0.5
    x_hat = c * r
    return np.einsum("nd,d->nd", x_hat, gamma) + beta, {"x_hat": x_hat, "inv_std": r, "gamma": gamma.copy()}


def layernorm_backward(dout, cache):
    x_hat, r, gamma = cache["x_hat"], cache["inv_std"], cache["gamma"]
    D = dout.shape[1]
    g = np.einsum("nd,d->nd", dout, gamma)
    inner = D * g - np.einsum("nd->n", g)[:, None] - x_hat * np.einsum("nd,nd->n", g, x_hat)[:, None]
    return (r / D) * inner, np.einsum("nd,nd->d", dout, x_hat), np.einsum("nd->d", dout)
''',
    },
}

# -- spatial batch norm: the forward alternatives keep the reference's cache (the batchnorm_forward
# cache of the (N * H * W, C) matrix), since the reference backward reads it ---------------------------
ALTERNATIVES["spatial_batchnorm_forward"] = {
    "np.moveaxis, then batchnorm_forward": '''
def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    C = x.shape[1]
    moved = np.moveaxis(x, 1, -1)                       # (N, H, W, C)
    out2, cache, new = batchnorm_forward(moved.reshape(-1, C), gamma, beta, bn_param)
    return np.moveaxis(out2.reshape(moved.shape), -1, 1), cache, new
''',
    "explicit means over axes (0, 2, 3), einsum, own running statistics": '''
def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    N, C, H, W = x.shape
    M = N * H * W
    mode = bn_param.get("mode", "train")
    eps = float(bn_param.get("eps", 1e-5))
    momentum = float(bn_param.get("momentum", 0.1))
    rm = np.array(bn_param["running_mean"], dtype=float) if "running_mean" in bn_param else np.zeros(C)
    rv = np.array(bn_param["running_var"], dtype=float) if "running_var" in bn_param else np.ones(C)
    if mode == "train":
        if M < 2:
            raise ValueError("spatial batch norm in train mode needs N * H * W >= 2")
        mu = np.einsum("nchw->c", x) / M
        c = x - mu[None, :, None, None]
        var = np.einsum("nchw,nchw->c", c, c) / M
        std = np.sqrt(var + eps)
        x_hat = c / std[None, :, None, None]
        rm = (1 - momentum) * rm + momentum * mu
        rv = (1 - momentum) * rv + momentum * var * M / (M - 1)
        flat = lambda a: a.transpose(0, 2, 3, 1).reshape(M, C)
        cache = {"x_centered": flat(c), "var": var, "std": std, "inv_std": 1 / std, "x_hat": flat(x_hat),
                 "gamma": np.array(gamma, dtype=float), "eps": eps}
    elif mode == "eval":
        x_hat = (x - rm[None, :, None, None]) / np.sqrt(rv[None, :, None, None] + eps)
        cache = None
    else:
        raise ValueError(f"unknown mode {mode!r}")
    out = np.einsum("nchw,c->nchw", x_hat, gamma) + beta[None, :, None, None]
    return out, cache, dict(bn_param, running_mean=rm, running_var=rv)
''',
}

ALTERNATIVES["spatial_batchnorm_backward"] = {
    "through the staged batchnorm_backward, np.moveaxis": '''
def spatial_batchnorm_backward(dout, cache):
    C = dout.shape[1]
    moved = np.moveaxis(dout, 1, -1)
    dx2, dgamma, dbeta = batchnorm_backward(moved.reshape(-1, C), cache)
    return np.moveaxis(dx2.reshape(moved.shape), -1, 1), dgamma, dbeta
''',
    "the formula on 4-D arrays, sums over axes (0, 2, 3)": '''
def spatial_batchnorm_backward(dout, cache):
    N, C, H, W = dout.shape
    M = N * H * W
    x_hat = cache["x_hat"].reshape(N, H, W, C).transpose(0, 3, 1, 2)
    r = cache["inv_std"][None, :, None, None]
    g = dout * cache["gamma"][None, :, None, None]
    sum_g = g.sum(axis=(0, 2, 3), keepdims=True)
    sum_gx = (g * x_hat).sum(axis=(0, 2, 3), keepdims=True)
    dx = (r / M) * (M * g - sum_g - x_hat * sum_gx)
    return dx, (dout * x_hat).sum(axis=(0, 2, 3)), dout.sum(axis=(0, 2, 3))
''',
}

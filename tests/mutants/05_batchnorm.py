"""Plausible wrong implementations for notebook 05. Each is appended to the solution cell of its
part (so it redefines the function there); the hidden checks must take that part's points away and
leave every part that does not call the broken function untouched."""

# The backward passes are checked end to end, backward(dout, batchnorm_forward(...)[1]): a broken
# forward pass legitimately breaks them too.
DEPENDS = {"batchnorm_backward": ["batchnorm_forward"], "batchnorm_backward_alt": ["batchnorm_forward"]}

_FORWARD_TEMPLATE = '''
def batchnorm_forward(x, gamma, beta, bn_param):
    N, D = x.shape
    mode = bn_param.get("mode", "train")
    eps, momentum = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.1)
    rm = np.array(bn_param.get("running_mean", np.zeros(D)), dtype=float)
    rv = np.array(bn_param.get("running_var", np.ones(D)), dtype=float)
    new = dict(bn_param)
    if mode == "train":
        if N < 2:
            raise ValueError("need two examples")
        mu = x.mean(axis=0)
        c = x - mu
        var = (c ** 2).mean(axis=0)
        std = np.sqrt(var + eps)
        x_hat = c / std
        out = gamma * x_hat + beta
        cache = {"x_centered": c, "var": var, "std": std, "inv_std": 1 / std, "x_hat": x_hat,
                 "gamma": gamma, "eps": eps}
        NEW_STATS
    elif mode == "eval":
        EVAL_OUT
        cache = None
        new["running_mean"], new["running_var"] = rm, rv
    else:
        raise ValueError(f"unknown mode {mode}")
    return out, cache, new
'''

_GOOD_STATS = '''new["running_mean"] = (1 - momentum) * rm + momentum * mu
        new["running_var"] = (1 - momentum) * rv + momentum * var * N / (N - 1)'''
_GOOD_EVAL = 'out = gamma * (x - rm) / np.sqrt(rv + eps) + beta'


def _forward(stats=_GOOD_STATS, eval_out=_GOOD_EVAL):
    return _FORWARD_TEMPLATE.replace("NEW_STATS", stats).replace("EVAL_OUT", eval_out)


MUTANTS = {
    "batchnorm_forward": {
        "running variance from the biased batch variance": _forward(stats='''new["running_mean"] = (1 - momentum) * rm + momentum * mu
        new["running_var"] = (1 - momentum) * rv + momentum * var'''),
        "momentum as the weight of the old estimate": _forward(stats='''new["running_mean"] = momentum * rm + (1 - momentum) * mu
        new["running_var"] = momentum * rv + (1 - momentum) * var * N / (N - 1)'''),
        "eval mode normalizes with the batch statistics": _forward(
            eval_out='out = gamma * (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps) + beta'),
        "eps outside the square root": _forward().replace("std = np.sqrt(var + eps)", "std = np.sqrt(var) + eps"),
        "unbiased variance in the normalization": _forward().replace(
            "std = np.sqrt(var + eps)", "std = np.sqrt(var * N / (N - 1) + eps)"),
        "an unknown mode is treated as eval": _forward().replace('elif mode == "eval":', 'else:').replace(
            '''    else:
        raise ValueError(f"unknown mode {mode}")
''', ''),
        "running statistics updated in place in bn_param": _forward(stats='''rm0, rv0 = bn_param.get("running_mean"), bn_param.get("running_var")
        new["running_mean"] = (1 - momentum) * rm + momentum * mu
        new["running_var"] = (1 - momentum) * rv + momentum * var * N / (N - 1)
        if rm0 is not None:
            rm0[...] = new["running_mean"]
            rv0[...] = new["running_var"]'''),
    },
    "batchnorm_backward": {
        "dx ignores the paths through the batch statistics": '''
def batchnorm_backward(dout, cache):
    return dout * cache["gamma"] * cache["inv_std"], np.sum(dout * cache["x_hat"], axis=0), dout.sum(axis=0)
''',
        "dx misses the path through the variance": '''
def batchnorm_backward(dout, cache):
    N = dout.shape[0]
    dc = dout * cache["gamma"] * cache["inv_std"]
    dx = dc - dc.sum(axis=0) / N
    return dx, np.sum(dout * cache["x_hat"], axis=0), dout.sum(axis=0)
''',
        "variance path with 1/(N - 1)": '''
def batchnorm_backward(dout, cache):
    c, s, r, x_hat, gamma = cache["x_centered"], cache["std"], cache["inv_std"], cache["x_hat"], cache["gamma"]
    N = dout.shape[0]
    dx_hat = dout * gamma
    dvar = -np.sum(dx_hat * c, axis=0) / s ** 2 / (2 * s)
    dc = dx_hat * r + 2.0 / (N - 1) * c * dvar
    dx = dc - dc.sum(axis=0) / N
    return dx, np.sum(dout * x_hat, axis=0), dout.sum(axis=0)
''',
        "dgamma and dbeta averaged instead of summed over the batch": '''
_graph_backward = batchnorm_backward
def batchnorm_backward(dout, cache):
    dx, dgamma, dbeta = _graph_backward(dout, cache)
    return dx, dgamma / dout.shape[0], dbeta / dout.shape[0]
''',
    },
    "batchnorm_backward_alt": {
        "missing the factor 1/N": '''
def batchnorm_backward_alt(dout, cache):
    x_hat, r, gamma = cache["x_hat"], cache["inv_std"], cache["gamma"]
    N = dout.shape[0]
    g = dout * gamma
    dx = r * (N * g - g.sum(axis=0) - x_hat * np.sum(g * x_hat, axis=0))
    return dx, np.sum(dout * x_hat, axis=0), dout.sum(axis=0)
''',
        "wrong sign of the x_hat term": '''
def batchnorm_backward_alt(dout, cache):
    x_hat, r, gamma = cache["x_hat"], cache["inv_std"], cache["gamma"]
    N = dout.shape[0]
    g = dout * gamma
    dx = (r / N) * (N * g - g.sum(axis=0) + x_hat * np.sum(g * x_hat, axis=0))
    return dx, np.sum(dout * x_hat, axis=0), dout.sum(axis=0)
''',
        "dbeta with a broadcastable (1, D) shape": '''
def batchnorm_backward_alt(dout, cache):
    x_hat, r, gamma = cache["x_hat"], cache["inv_std"], cache["gamma"]
    N = dout.shape[0]
    g = dout * gamma
    dx = (r / N) * (N * g - g.sum(axis=0) - x_hat * np.sum(g * x_hat, axis=0))
    return dx, np.sum(dout * x_hat, axis=0), dout.sum(axis=0, keepdims=True)
''',
        "gamma left out of dx": '''
def batchnorm_backward_alt(dout, cache):
    x_hat, r = cache["x_hat"], cache["inv_std"]
    N = dout.shape[0]
    g = dout
    dx = (r / N) * (N * g - g.sum(axis=0) - x_hat * np.sum(g * x_hat, axis=0))
    return dx, np.sum(dout * x_hat, axis=0), dout.sum(axis=0)
''',
    },
    "layernorm": {
        "normalizes over the batch (columns) instead of each row": '''
def layernorm_forward(x, gamma, beta, ln_param):
    eps = ln_param.get("eps", 1e-5)
    mu = x.mean(axis=0)
    r = 1 / np.sqrt(x.var(axis=0) + eps)
    x_hat = (x - mu) * r
    return gamma * x_hat + beta, {"x_hat": x_hat, "inv_std": np.broadcast_to(r, x.shape)[:, :1], "gamma": gamma}
''',
        "unbiased variance of each row": '''
def layernorm_forward(x, gamma, beta, ln_param):
    eps = ln_param.get("eps", 1e-5)
    mu = x.mean(axis=1, keepdims=True)
    var = x.var(axis=1, keepdims=True, ddof=1) if x.shape[1] > 1 else np.zeros((x.shape[0], 1))
    r = 1 / np.sqrt(var + eps)
    x_hat = (x - mu) * r
    return gamma * x_hat + beta, {"x_hat": x_hat, "inv_std": r, "gamma": gamma}
''',
        "backward sums over the batch axis inside dx": '''
def layernorm_backward(dout, cache):
    x_hat, r, gamma = cache["x_hat"], cache["inv_std"], cache["gamma"]
    D = dout.shape[1]
    g = dout * gamma
    dx = (r / D) * (D * g - g.sum(axis=0) - x_hat * np.sum(g * x_hat, axis=0))
    return dx, np.sum(dout * x_hat, axis=0), dout.sum(axis=0)
''',
        "backward ignores the row statistics": '''
def layernorm_backward(dout, cache):
    return dout * cache["gamma"] * cache["inv_std"], np.sum(dout * cache["x_hat"], axis=0), dout.sum(axis=0)
''',
    },
}

# -- numerical stability, parameters with non-default values, state across calls, purity ---------------
MUTANTS["batchnorm_forward"].update({
    "one-pass variance E[x^2] - E[x]^2": _forward().replace(
        "var = (c ** 2).mean(axis=0)", "var = (x ** 2).mean(axis=0) - mu ** 2"),
    "eval mode ignores bn_param's eps (always 1e-5)": _forward(
        eval_out='out = gamma * (x - rm) / np.sqrt(rv + 1e-5) + beta'),
    "momentum ignored (always 0.1)": _forward().replace(
        'eps, momentum = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.1)',
        'eps, momentum = bn_param.get("eps", 1e-5), 0.1'),
    "momentum read at the first call and kept": "_MOMENTUM = []\n" + _forward().replace(
        'eps, momentum = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.1)',
        """eps = bn_param.get("eps", 1e-5)
    if not _MOMENTUM:
        _MOMENTUM.append(bn_param.get("momentum", 0.1))
    momentum = _MOMENTUM[0]"""),
    "eval mode updates the running statistics with the batch too": _forward(
        eval_out="""out = gamma * (x - rm) / np.sqrt(rv + eps) + beta
        rm = (1 - momentum) * rm + momentum * x.mean(axis=0)"""),
    "shallow copy of bn_param, running statistics updated in place": _forward(
        stats="""new["running_mean"] = bn_param.get("running_mean", np.zeros(D))
        new["running_var"] = bn_param.get("running_var", np.ones(D))
        new["running_mean"] *= 1 - momentum
        new["running_mean"] += momentum * mu
        new["running_var"] *= 1 - momentum
        new["running_var"] += momentum * var * N / (N - 1)"""),
})

MUTANTS["batchnorm_backward"].update({
    "backward uses the cache of the most recent forward (kept in a global)": '''
_fwd_for_global = batchnorm_forward
_LAST_CACHE = {}


def batchnorm_forward(x, gamma, beta, bn_param):
    out, cache, new = _fwd_for_global(x, gamma, beta, bn_param)
    if cache is not None:
        _LAST_CACHE.clear()
        _LAST_CACHE.update(cache)
    return out, cache, new


_bwd_for_global = batchnorm_backward


def batchnorm_backward(dout, cache):
    return _bwd_for_global(dout, dict(_LAST_CACHE))
''',
    "backward normalizes the cached centered values in place": '''
_bwd_in_place = batchnorm_backward


def batchnorm_backward(dout, cache):
    grads = _bwd_in_place(dout, cache)
    cache["x_centered"] *= cache["inv_std"]   # "reuse" the buffer
    return grads
''',
})

MUTANTS["batchnorm_backward_alt"].update({
    "eps of the most recent forward kept in a global": '''
_fwd_eps = batchnorm_forward
_EPS = [1e-5]


def batchnorm_forward(x, gamma, beta, bn_param):
    _EPS[0] = bn_param.get("eps", 1e-5)
    return _fwd_eps(x, gamma, beta, bn_param)


def batchnorm_backward_alt(dout, cache):
    x_hat, gamma = cache["x_hat"], cache["gamma"]
    r = 1.0 / np.sqrt(cache["var"] + _EPS[0])
    N = dout.shape[0]
    g = dout * gamma
    dx = (r / N) * (N * g - g.sum(axis=0) - x_hat * np.sum(g * x_hat, axis=0))
    return dx, np.sum(dout * x_hat, axis=0), dout.sum(axis=0)
''',
    "x_hat scaled by gamma in place in the cache": '''
def batchnorm_backward_alt(dout, cache):
    x_hat, r, gamma = cache["x_hat"], cache["inv_std"], cache["gamma"]
    N = dout.shape[0]
    dgamma = np.sum(dout * x_hat, axis=0)
    g = dout * gamma
    s = np.sum(g * x_hat, axis=0)
    dx = (r / N) * (N * g - g.sum(axis=0) - x_hat * s)
    x_hat *= gamma
    return dx, dgamma, dout.sum(axis=0)
''',
})

MUTANTS["layernorm"].update({
    "one-pass row variance E[x^2] - E[x]^2": '''
def layernorm_forward(x, gamma, beta, ln_param):
    eps = ln_param.get("eps", 1e-5)
    mu = x.mean(axis=1, keepdims=True)
    var = (x ** 2).mean(axis=1, keepdims=True) - mu ** 2
    r = 1 / np.sqrt(var + eps)
    x_hat = (x - mu) * r
    return gamma * x_hat + beta, {"x_hat": x_hat, "inv_std": r, "gamma": gamma}
''',
    "backward uses the cache of the most recent forward (kept in a global)": '''
_ln_fwd_global = layernorm_forward
_LN_LAST = {}


def layernorm_forward(x, gamma, beta, ln_param):
    out, cache = _ln_fwd_global(x, gamma, beta, ln_param)
    _LN_LAST.clear()
    _LN_LAST.update(cache)
    return out, cache


_ln_bwd_global = layernorm_backward


def layernorm_backward(dout, cache):
    return _ln_bwd_global(dout, dict(_LN_LAST))
''',
    "backward overwrites the cached x_hat in place": '''
_ln_bwd_in_place = layernorm_backward


def layernorm_backward(dout, cache):
    grads = _ln_bwd_in_place(dout, cache)
    cache["x_hat"] *= cache["gamma"]
    return grads
''',
    "eps ignored (always 1e-5)": '''
_ln_fwd_eps = layernorm_forward


def layernorm_forward(x, gamma, beta, ln_param):
    return _ln_fwd_eps(x, gamma, beta, {})
''',
})

# -- spatial batch norm ---------------------------------------------------------------------------------
# The reference reuses batchnorm_forward and batchnorm_backward_alt; a student may reuse either backward.
DEPENDS.update({
    "spatial_batchnorm_forward": ["batchnorm_forward"],
    "spatial_batchnorm_backward": ["batchnorm_forward", "batchnorm_backward", "batchnorm_backward_alt",
                                   "spatial_batchnorm_forward"],
})

_SPATIAL_EXPLICIT = '''
def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    N, C, H, W = x.shape
    M = N * H * W
    mode = bn_param.get("mode", "train")
    eps, momentum = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.1)
    rm = np.array(bn_param.get("running_mean", np.zeros(C)), dtype=float)
    rv = np.array(bn_param.get("running_var", np.ones(C)), dtype=float)
    new = dict(bn_param)
    if mode == "train":
        if M < 2:
            raise ValueError("need two values per channel")
        mu = x.mean(axis=(0, 2, 3))
        var = ((x - mu[:, None, None]) ** 2).mean(axis=(0, 2, 3))
        new["running_mean"] = (1 - momentum) * rm + momentum * mu
        new["running_var"] = (1 - momentum) * rv + momentum * var * UNBIASED
        x2 = x.transpose(0, 2, 3, 1).reshape(M, C)
        _, cache, _ = batchnorm_forward(x2, gamma, beta, {"mode": "train", "eps": eps})
        x_hat = (x - mu[:, None, None]) / np.sqrt(var[:, None, None] + eps)
    elif mode == "eval":
        x_hat = (x - rm[:, None, None]) / np.sqrt(rv[:, None, None] + eps)
        cache = None
    else:
        raise ValueError(f"unknown mode {mode}")
    return gamma[:, None, None] * x_hat + beta[:, None, None], cache, new
'''

MUTANTS["spatial_batchnorm_forward"] = {
    "statistics per (channel, position): the maps flattened to (N, C * H * W)": '''
def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    N, C, H, W = x.shape
    p = dict(bn_param)
    for key in ("running_mean", "running_var"):
        if key in p:
            p[key] = np.repeat(p[key], H * W)
    out, cache, new = batchnorm_forward(x.reshape(N, C * H * W), np.repeat(gamma, H * W), np.repeat(beta, H * W), p)
    new = dict(new, running_mean=new["running_mean"].reshape(C, H * W).mean(axis=1),
               running_var=new["running_var"].reshape(C, H * W).mean(axis=1))
    return out.reshape(N, C, H, W), cache, new
''',
    "reshaped to (N * C, H * W): statistics per example and channel (instance norm)": '''
def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    N, C, H, W = x.shape
    mode = bn_param.get("mode", "train")
    if mode == "eval":
        x2 = x.transpose(0, 2, 3, 1).reshape(N * H * W, C)
        out2, cache, new = batchnorm_forward(x2, gamma, beta, bn_param)
        return out2.reshape(N, H, W, C).transpose(0, 3, 1, 2), cache, new
    if mode != "train":
        raise ValueError(f"unknown mode {mode}")
    eps = bn_param.get("eps", 1e-5)
    xt = x.reshape(N * C, H * W).T                   # (H * W, N * C): one column per (example, channel)
    mu, var = xt.mean(axis=0), xt.var(axis=0)
    x_hat = ((xt - mu) / np.sqrt(var + eps)).T.reshape(N, C, H, W)
    x2 = x.transpose(0, 2, 3, 1).reshape(N * H * W, C)
    _, cache, new = batchnorm_forward(x2, gamma, beta, bn_param)
    return gamma[:, None, None] * x_hat + beta[:, None, None], cache, new
''',
    "reshape to (N * H * W, C) without the transpose": '''
def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    N, C, H, W = x.shape
    out2, cache, new = batchnorm_forward(x.reshape(N * H * W, C), gamma, beta, bn_param)
    return out2.reshape(N, C, H, W), cache, new
''',
    "transposed in, but reshaped back without undoing the transpose": '''
def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    N, C, H, W = x.shape
    out2, cache, new = batchnorm_forward(x.transpose(0, 2, 3, 1).reshape(N * H * W, C), gamma, beta, bn_param)
    return out2.reshape(N, C, H, W), cache, new
''',
    "running variance unbiased with N / (N - 1) instead of M / (M - 1)":
        _SPATIAL_EXPLICIT.replace("if M < 2:", "if M < 2 or N < 2:").replace("UNBIASED", "N / (N - 1)"),
    "running variance from the biased channel variance": _SPATIAL_EXPLICIT.replace("UNBIASED", "1.0"),
    "refuses one example in train mode although H * W >= 2": '''
_spatial_ok = spatial_batchnorm_forward


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    if bn_param.get("mode", "train") == "train" and x.shape[0] < 2:
        raise ValueError("train mode needs at least two examples")
    return _spatial_ok(x, gamma, beta, bn_param)
''',
}

MUTANTS["spatial_batchnorm_backward"] = {
    "dout reshaped to (N * H * W, C) without the transpose": '''
def spatial_batchnorm_backward(dout, cache):
    N, C, H, W = dout.shape
    dx2, dgamma, dbeta = batchnorm_backward_alt(dout.reshape(N * H * W, C), cache)
    return dx2.reshape(N, H, W, C).transpose(0, 3, 1, 2), dgamma, dbeta
''',
    "dx reshaped back without undoing the transpose": '''
def spatial_batchnorm_backward(dout, cache):
    N, C, H, W = dout.shape
    dx2, dgamma, dbeta = batchnorm_backward_alt(dout.transpose(0, 2, 3, 1).reshape(N * H * W, C), cache)
    return dx2.reshape(N, C, H, W), dgamma, dbeta
''',
    "sums inside dx over the batch only, per position": '''
def spatial_batchnorm_backward(dout, cache):
    N, C, H, W = dout.shape
    x_hat = cache["x_hat"].reshape(N, H, W, C).transpose(0, 3, 1, 2)
    r = cache["inv_std"][None, :, None, None]
    g = dout * cache["gamma"][None, :, None, None]
    dx = (r / N) * (N * g - g.sum(axis=0) - x_hat * np.sum(g * x_hat, axis=0))
    return dx, np.sum(dout * x_hat, axis=(0, 2, 3)), dout.sum(axis=(0, 2, 3))
''',
    "dgamma and dbeta averaged over the positions": '''
_spatial_bwd_ok = spatial_batchnorm_backward


def spatial_batchnorm_backward(dout, cache):
    dx, dgamma, dbeta = _spatial_bwd_ok(dout, cache)
    hw = dout.shape[2] * dout.shape[3]
    return dx, dgamma / hw, dbeta / hw
''',
    "dx ignores the paths through the channel statistics": '''
def spatial_batchnorm_backward(dout, cache):
    N, C, H, W = dout.shape
    x_hat = cache["x_hat"].reshape(N, H, W, C).transpose(0, 3, 1, 2)
    dx = dout * (cache["gamma"] * cache["inv_std"])[None, :, None, None]
    return dx, np.sum(dout * x_hat, axis=(0, 2, 3)), dout.sum(axis=(0, 2, 3))
''',
}

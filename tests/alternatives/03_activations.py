"""Correct implementations of notebook 03 written differently from the reference. Each is appended
to the solution cell of its part and must earn full marks under every seed."""

ALTERNATIVES = {
    "sigmoid": {
        "tanh identity sigma(x) = (1 + tanh(x / 2)) / 2, cache a copy of out": '''
def sigmoid_forward(x):
    out = 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=np.float64)))
    return out, out.copy()

def sigmoid_backward(dout, cache):
    return dout * (cache - cache * cache)
''',
        "masked assignment into a fresh array, x in the cache": '''
def sigmoid_forward(x):
    x = np.array(x, dtype=np.float64)
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    e = np.exp(x[~pos])
    out[~pos] = e / (1.0 + e)
    return out, x

def sigmoid_backward(dout, cache):
    s, _ = sigmoid_forward(cache)
    return dout * s * (1.0 - s)
''',
        "exp(-logaddexp(0, -x)), in-place updates of its own copy": '''
def sigmoid_forward(x):
    out = np.exp(-np.logaddexp(0.0, -np.asarray(x, dtype=np.float64)))
    return out, (out,)

def sigmoid_backward(dout, cache):
    (s,) = cache
    dx = np.array(dout, dtype=np.float64)
    dx *= s
    dx *= 1.0 - s
    return dx
''',
    },
    "tanh": {
        "stable exponential form from exp(-2|x|)": '''
def tanh_forward(x):
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(-2.0 * np.abs(x))
    out = np.sign(x) * (1.0 - e) / (1.0 + e)
    return out, out

def tanh_backward(dout, cache):
    return dout * (1.0 - np.square(cache))
''',
        "cache x, recompute tanh in the backward": '''
def tanh_forward(x):
    return np.tanh(x), np.array(x, dtype=np.float64)

def tanh_backward(dout, cache):
    th = np.tanh(cache)
    return dout - dout * th * th
''',
        "2 sigma(2x) - 1 with a stable sigmoid, factored derivative": '''
def tanh_forward(x):
    x2 = 2.0 * np.asarray(x, dtype=np.float64)
    e = np.exp(-np.abs(x2))
    s = np.where(x2 >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    out = 2.0 * s - 1.0
    return out, {"out": out}

def tanh_backward(dout, cache):
    out = cache["out"]
    return dout * (1.0 - out) * (1.0 + out)
''',
    },
    "relu": {
        "x * (x > 0) and a boolean mask in the cache": '''
def relu_forward(x):
    x = np.asarray(x, dtype=np.float64)
    mask = x > 0
    return np.where(mask, x, 0.0), mask

def relu_backward(dout, cache):
    return dout * cache
''',
        "clip and a copy of dout zeroed in place": '''
def relu_forward(x):
    return np.clip(x, 0.0, None), np.array(x, dtype=np.float64)

def relu_backward(dout, cache):
    dx = np.array(dout, dtype=np.float64, copy=True)
    dx[cache <= 0] = 0.0
    return dx
''',
        "np.heaviside with value 0 at 0, a list cache": '''
def relu_forward(x):
    x = np.asarray(x, dtype=np.float64)
    return np.maximum(0.0, x), [x.copy()]

def relu_backward(dout, cache):
    return dout * np.heaviside(cache[0], 0.0)
''',
    },
    "leaky_relu": {
        "maximum/minimum split, dict cache": '''
def leaky_relu_forward(x, alpha=0.01):
    x = np.asarray(x, dtype=np.float64)
    out = np.where(x > 0, x, 0.0) + alpha * np.minimum(x, 0.0)
    return out, {"x": x, "alpha": alpha}

def leaky_relu_backward(dout, cache):
    slope = np.full(cache["x"].shape, float(cache["alpha"]))
    slope[cache["x"] > 0] = 1.0
    return dout * slope
''',
        "mask and alpha as a numpy float in the cache": '''
def leaky_relu_forward(x, alpha=0.01):
    x = np.asarray(x, dtype=np.float64)
    pos = x > 0
    out = x.copy()
    out[~pos] *= alpha
    return out, (pos, np.float64(alpha))

def leaky_relu_backward(dout, cache):
    pos, alpha = cache
    dx = np.array(dout, dtype=np.float64)
    dx[~pos] *= alpha
    return dx
''',
        "slope array computed in the forward": '''
def leaky_relu_forward(x, alpha=0.01):
    x = np.asarray(x, dtype=np.float64)
    slope = np.where(x > 0, 1.0, alpha)
    return slope * x, slope

def leaky_relu_backward(dout, cache):
    return cache * dout
''',
    },
    "elu": {
        "masked assignment with np.exp - 1 away from 0 and expm1 near it": '''
def elu_forward(x, alpha=1.0):
    x = np.asarray(x, dtype=np.float64)
    out = x.copy()
    neg = x <= 0
    out[neg] = alpha * np.expm1(x[neg])
    return out, (x, out.copy(), alpha)

def elu_backward(dout, cache):
    x, out, alpha = cache
    return dout * np.where(x > 0, 1.0, out + alpha)
''',
        "local derivative computed in the forward": '''
def elu_forward(x, alpha=1.0):
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(np.minimum(x, 0.0))
    out = np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))
    return out, np.where(x > 0, 1.0, alpha * e)

def elu_backward(dout, cache):
    return dout * cache
''',
        "dict cache with a Python float alpha, loops over the flat array": '''
def elu_forward(x, alpha=1.0):
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    flat_x, flat_out = x.ravel(), out.reshape(-1)
    for i, v in enumerate(flat_x):
        flat_out[i] = v if v > 0 else alpha * np.expm1(v)
    return out, {"x": x.copy(), "alpha": float(alpha)}

def elu_backward(dout, cache):
    x, alpha = cache["x"], cache["alpha"]
    dx = np.empty_like(x)
    for idx in np.ndindex(x.shape):
        dx[idx] = dout[idx] if x[idx] > 0 else dout[idx] * alpha * np.exp(x[idx])
    return dx
''',
    },
    "maxout": {
        "einsum and a one-hot mask from argmax": '''
def maxout_forward(x, W, b):
    z = np.einsum("nd,dhk->nhk", x, W) + b
    winner = np.argmax(z, axis=2)
    return z.max(axis=2), (x, W, winner)

def maxout_backward(dout, cache):
    x, W, winner = cache
    k = W.shape[2]
    onehot = (np.arange(k) == winner[:, :, None])
    dz = onehot * dout[:, :, None]
    return np.einsum("nhk,dhk->nd", dz, W), np.einsum("nd,nhk->dhk", x, dz), dz.sum(axis=0)
''',
        "loops over units, first maximal piece found by comparison": '''
def maxout_forward(x, W, b):
    n, d = x.shape
    _, h, k = W.shape
    out = np.empty((n, h))
    winner = np.zeros((n, h), dtype=np.int64)
    for u in range(h):
        z = x @ W[:, u, :] + b[u]
        best = z.max(axis=1)
        out[:, u] = best
        winner[:, u] = np.array([np.flatnonzero(z[i] == best[i])[0] for i in range(n)])
    return out, (x.copy(), W.copy(), winner)

def maxout_backward(dout, cache):
    x, W, winner = cache
    n, d = x.shape
    _, h, k = W.shape
    dx, dW, db = np.zeros((n, d)), np.zeros((d, h, k)), np.zeros((h, k))
    for u in range(h):
        for j in range(k):
            g = np.where(winner[:, u] == j, dout[:, u], 0.0)
            dx += np.outer(g, W[:, u, j])
            dW[:, u, j] = x.T @ g
            db[u, j] = g.sum()
    return dx, dW, db
''',
        "pieces-first reshape with a transposed W, list cache": '''
def maxout_forward(x, W, b):
    n, d = x.shape
    _, h, k = W.shape
    Wt = np.ascontiguousarray(W.transpose(0, 2, 1)).reshape(d, k * h)
    z = (x @ Wt).reshape(n, k, h) + b.T
    winner = z.argmax(axis=1)
    return np.take_along_axis(z, winner[:, None, :], axis=1)[:, 0, :], [x, W, winner]

def maxout_backward(dout, cache):
    x, W, winner = cache
    n, d = x.shape
    _, h, k = W.shape
    dz = np.zeros((n, k, h))
    np.put_along_axis(dz, winner[:, None, :], dout[:, None, :], axis=1)
    dW = np.einsum("nd,nkh->dhk", x, dz)
    dx = np.einsum("nkh,dhk->nd", dz, W)
    return dx, dW, dz.sum(axis=0).T.copy()
''',
    },
}

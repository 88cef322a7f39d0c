"""Plausible wrong implementations for notebook 03. Each is appended to the solution cell of its
part (so it redefines the function there); the hidden checks must take that part's points away and
leave every other part untouched (no part calls another part's functions)."""

DEPENDS = {}

MUTANTS = {
    "sigmoid": {
        "exp(x) / (1 + exp(x)): NaN for large positive x": '''
def sigmoid_forward(x):
    e = np.exp(x)
    out = e / (1.0 + e)
    return out, out
''',
        "backward forgets the upstream gradient": '''
def sigmoid_backward(dout, cache):
    return cache * (1.0 - cache)
''',
        "backward applies sigma(1 - sigma) to the input instead of the output": '''
def sigmoid_forward(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)), x

def sigmoid_backward(dout, cache):
    return dout * cache * (1.0 - cache)
''',
        '1 / (1 + exp(-x)): right values, but exp overflows for x < -709': '''
def sigmoid_forward(x):
    out = 1.0 / (1.0 + np.exp(-x))
    return out, out
''',
        'np.where over both naive forms (overflow warning from the discarded branch)': '''
def sigmoid_forward(x):
    out = np.where(x >= 0, 1.0 / (1.0 + np.exp(-x)), np.exp(x) / (1.0 + np.exp(x)))
    return out, out
''',
        "backward computes in place in the cache (overwrites the forward's output)": '''
def sigmoid_backward(dout, cache):
    out = cache
    out *= 1.0 - out
    return dout * out
''',
    },
    "tanh": {
        "derivative 1 - tanh instead of 1 - tanh**2": '''
def tanh_backward(dout, cache):
    return dout * (1.0 - cache)
''',
        "derivative computed from the input: 1 - x**2": '''
def tanh_forward(x):
    return np.tanh(x), x

def tanh_backward(dout, cache):
    return dout * (1.0 - cache ** 2)
''',
        "tanh as 2 sigma(x) - 1 (should be 2 sigma(2x) - 1)": '''
def tanh_forward(x):
    out = 2.0 / (1.0 + np.exp(-x)) - 1.0
    return out, out
''',
        'tanh as 2 sigma(2x) - 1 with a naive sigmoid (overflow warning for x < -354)': '''
def tanh_forward(x):
    out = 2.0 / (1.0 + np.exp(-2.0 * x)) - 1.0
    return out, out
''',
        'backward writes into dout': '''
def tanh_backward(dout, cache):
    dout *= 1.0 - cache ** 2
    return dout
''',
    },
    "relu": {
        "slope 1 at x = 0": '''
def relu_backward(dout, cache):
    return dout * (cache >= 0)
''',
        "backward writes into dout": '''
def relu_backward(dout, cache):
    dout[cache <= 0] = 0.0
    return dout
''',
        "forward clips x in place": '''
def relu_forward(x):
    x[x < 0] = 0.0
    return x, x
''',
        'backward turns the cached x into a mask in place': '''
def relu_backward(dout, cache):
    mask = cache
    mask[mask <= 0] = 0.0
    mask[mask > 0] = 1.0
    return dout * mask
''',
    },
    "leaky_relu": {
        "backward ignores the forward's alpha (uses the default)": '''
def leaky_relu_forward(x, alpha=0.01):
    return np.where(x > 0, x, alpha * x), x

def leaky_relu_backward(dout, cache):
    return dout * np.where(cache > 0, 1.0, 0.01)
''',
        "backward copied from ReLU (slope 0 for x < 0)": '''
def leaky_relu_backward(dout, cache):
    x, alpha = cache
    return dout * (x > 0)
''',
        "slope 1 at x = 0": '''
def leaky_relu_backward(dout, cache):
    x, alpha = cache
    return dout * np.where(x >= 0, 1.0, alpha)
''',
        "default alpha 0.1": '''
def leaky_relu_forward(x, alpha=0.1):
    return np.where(x > 0, x, alpha * x), (x, alpha)
''',
        "alpha kept in a global (the last forward's), not in the cache": '''
_last_alpha = 0.01

def leaky_relu_forward(x, alpha=0.01):
    global _last_alpha
    _last_alpha = alpha
    return np.where(x > 0, x, alpha * x), x

def leaky_relu_backward(dout, cache):
    return dout * np.where(cache > 0, 1.0, _last_alpha)
''',
        'forward ignores alpha (always 0.01)': '''
def leaky_relu_forward(x, alpha=0.01):
    return np.where(x > 0, x, 0.01 * x), (x, alpha)
''',
        'backward scales dout in place': '''
def leaky_relu_backward(dout, cache):
    x, alpha = cache
    dout[x <= 0] *= alpha
    return dout
''',
    },
    "elu": {
        "backward forgets the factor alpha": '''
def elu_backward(dout, cache):
    x, alpha = cache
    return dout * np.where(x > 0, 1.0, np.exp(np.minimum(x, 0.0)))
''',
        "forward forgets the - 1": '''
def elu_forward(x, alpha=1.0):
    return np.where(x > 0, x, alpha * np.exp(np.minimum(x, 0.0))), (x, alpha)
''',
        "backward uses the output elu(x) instead of elu(x) + alpha": '''
def elu_forward(x, alpha=1.0):
    out = np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))
    return out, (x, out)

def elu_backward(dout, cache):
    x, out = cache
    return dout * np.where(x > 0, 1.0, out)
''',
        "slope 1 at x = 0": '''
def elu_backward(dout, cache):
    x, alpha = cache
    return dout * np.where(x >= 0, 1.0, alpha * np.exp(np.minimum(x, 0.0)))
''',
        "alpha kept in a global (the last forward's), not in the cache": '''
_last_alpha = 1.0

def elu_forward(x, alpha=1.0):
    global _last_alpha
    _last_alpha = alpha
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0))), x

def elu_backward(dout, cache):
    return dout * np.where(cache > 0, 1.0, _last_alpha * np.exp(np.minimum(cache, 0.0)))
''',
        'exp of the whole array inside np.where (overflow warning for huge x)': '''
def elu_forward(x, alpha=1.0):
    return np.where(x > 0, x, alpha * (np.exp(x) - 1.0)), (x, alpha)
''',
        'default alpha 0.5': '''
def elu_forward(x, alpha=0.5):
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0))), (x, alpha)
''',
    },
    "maxout": {
        "pieces and units swapped in the layout of W": '''
def maxout_forward(x, W, b):
    n, d = x.shape
    _, h, k = W.shape
    z = (x @ W.reshape(d, h * k)).reshape(n, k, h).transpose(0, 2, 1) + b
    winner = z.argmax(axis=2)
    return np.take_along_axis(z, winner[:, :, None], axis=2)[:, :, 0], (x, W, winner)
''',
        "gradient sent to every piece": '''
def maxout_backward(dout, cache):
    x, W, winner = cache
    n, d = x.shape
    _, h, k = W.shape
    dz = np.repeat(dout[:, :, None], k, axis=2).reshape(n, h * k)
    return dz @ W.reshape(d, h * k).T, (x.T @ dz).reshape(d, h, k), dz.reshape(n, h, k).sum(axis=0)
''',
        "db averaged over the batch instead of summed": '''
_maxout_backward_right = maxout_backward

def maxout_backward(dout, cache):
    dx, dW, db = _maxout_backward_right(dout, cache)
    return dx, dW, db / dout.shape[0]
''',
        "dx without the transpose of W (wrong contraction)": '''
def maxout_backward(dout, cache):
    x, W, winner = cache
    n, d = x.shape
    _, h, k = W.shape
    dz = np.zeros((n, h, k))
    np.put_along_axis(dz, winner[:, :, None], dout[:, :, None], axis=2)
    dx = np.einsum("nhk,dkh->nd", dz, W.reshape(d, k, h))
    return dx, (x.T @ dz.reshape(n, h * k)).reshape(d, h, k), dz.sum(axis=0)
''',
        'gradient to every maximal piece on a tie (mask z == max)': '''
def maxout_forward(x, W, b):
    n, d = x.shape
    _, h, k = W.shape
    z = (x @ W.reshape(d, h * k)).reshape(n, h, k) + b
    out = z.max(axis=2)
    return out, (x, W, z, out)

def maxout_backward(dout, cache):
    x, W, z, out = cache
    n, d = x.shape
    _, h, k = W.shape
    dz = (z == out[:, :, None]) * dout[:, :, None]
    dz2 = dz.reshape(n, h * k)
    return dz2 @ W.reshape(d, h * k).T, (x.T @ dz2).reshape(d, h, k), dz.sum(axis=0)
''',
        'ties go to the last maximal piece': '''
def maxout_forward(x, W, b):
    n, d = x.shape
    _, h, k = W.shape
    z = (x @ W.reshape(d, h * k)).reshape(n, h, k) + b
    winner = k - 1 - z[:, :, ::-1].argmax(axis=2)
    return np.take_along_axis(z, winner[:, :, None], axis=2)[:, :, 0], (x, W, winner)
''',
        'ties split equally between the maximal pieces': '''
def maxout_forward(x, W, b):
    n, d = x.shape
    _, h, k = W.shape
    z = (x @ W.reshape(d, h * k)).reshape(n, h, k) + b
    out = z.max(axis=2)
    return out, (x, W, z, out)

def maxout_backward(dout, cache):
    x, W, z, out = cache
    n, d = x.shape
    _, h, k = W.shape
    mask = (z == out[:, :, None]).astype(float)
    dz = mask / mask.sum(axis=2, keepdims=True) * dout[:, :, None]
    dz2 = dz.reshape(n, h * k)
    return dz2 @ W.reshape(d, h * k).T, (x.T @ dz2).reshape(d, h, k), dz.sum(axis=0)
''',
        "layer kept in a global by the forward (the backward uses the last forward's x and W)": '''
_maxout_last = {}
_maxout_forward_right = maxout_forward

def maxout_forward(x, W, b):
    out, (x_, W_, winner) = _maxout_forward_right(x, W, b)
    _maxout_last["x"], _maxout_last["W"] = x_, W_
    return out, winner

def maxout_backward(dout, cache):
    x, W, winner = _maxout_last["x"], _maxout_last["W"], cache
    n, d = x.shape
    _, h, k = W.shape
    dz = np.zeros((n, h, k))
    np.put_along_axis(dz, winner[:, :, None], dout[:, :, None], axis=2)
    dz2 = dz.reshape(n, h * k)
    return dz2 @ W.reshape(d, h * k).T, (x.T @ dz2).reshape(d, h, k), dz.sum(axis=0)
''',
        "backward writes the routed gradient into dout's memory": '''
_maxout_backward_right = maxout_backward

def maxout_backward(dout, cache):
    dx, dW, db = _maxout_backward_right(dout, cache)
    dout *= 1.0
    dout[...] = 0.0
    return dx, dW, db
''',
    },
}

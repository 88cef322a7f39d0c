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
    },
}

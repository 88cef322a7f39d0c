"""Plausible wrong implementations for notebook 01. Each is appended to the solution cell of its
part (so it redefines the function there); the hidden checks must take that part's points away and
leave every part that does not call the broken function untouched."""

# softmax_regression_loss calls cross_entropy, as its docstring asks: a broken cross_entropy
# legitimately breaks it too.
DEPENDS = {"softmax_regression": ["cross_entropy"]}

MUTANTS = {
    "softmax": {
        "no max subtraction (overflows for huge logits)": '''
def softmax(logits):
    e = np.exp(logits)
    return e / e.sum(axis=1, keepdims=True)
''',
        "normalized over the batch axis": '''
def softmax(logits):
    e = np.exp(logits - logits.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)
''',
        "modifies its input in place": '''
def softmax(logits):
    logits -= logits.max(axis=1, keepdims=True)
    np.exp(logits, out=logits)
    logits /= logits.sum(axis=1, keepdims=True)
    return logits
''',
        "returns float32": '''
def softmax(logits):
    z = (logits - logits.max(axis=1, keepdims=True)).astype(np.float32)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)
''',
    },
    "cross_entropy": {
        "gradient not averaged over the batch": '''
def cross_entropy(logits, y):
    n = logits.shape[0]
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    d = np.exp(logp)
    d[np.arange(n), y] -= 1
    return float(-logp[np.arange(n), y].mean()), d
''',
        "loss as log of an unshifted softmax": '''
def cross_entropy(logits, y):
    n = logits.shape[0]
    e = np.exp(logits)
    p = e / e.sum(axis=1, keepdims=True)
    d = p.copy()
    d[np.arange(n), y] -= 1
    return float(-np.log(p[np.arange(n), y]).mean()), d / n
''',
        "loss summed instead of averaged": '''
def cross_entropy(logits, y):
    n = logits.shape[0]
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    d = np.exp(logp)
    d[np.arange(n), y] -= 1
    return float(-logp[np.arange(n), y].sum()), d / n
''',
    },
    "softmax_regression": {
        "penalty missing from the gradient": '''
def softmax_regression_loss(W, b, X, y, reg=0.0):
    loss, d = cross_entropy(X @ W + b, y)
    return loss + 0.5 * reg * np.sum(W * W), X.T @ d, d.sum(axis=0)
''',
        "bias gradient with a broadcastable (1, C) shape": '''
def softmax_regression_loss(W, b, X, y, reg=0.0):
    loss, d = cross_entropy(X @ W + b, y)
    return loss + 0.5 * reg * np.sum(W * W), X.T @ d + reg * W, d.sum(axis=0, keepdims=True)
''',
        "penalty without the 1/2": '''
def softmax_regression_loss(W, b, X, y, reg=0.0):
    loss, d = cross_entropy(X @ W + b, y)
    return loss + reg * np.sum(W * W), X.T @ d + reg * W, d.sum(axis=0)
''',
    },
    "binary_logistic": {
        "log of the sigmoid (infinite for huge scores)": '''
def binary_logistic_loss(w, b, X, y):
    s = X @ w + b
    p = 1 / (1 + np.exp(-s))
    loss = float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    ds = (p - y) / X.shape[0]
    return loss, X.T @ ds, float(ds.sum())
''',
        "gradient not averaged over the batch": '''
def binary_logistic_loss(w, b, X, y):
    s = X @ w + b
    loss = float(np.mean(np.logaddexp(0.0, s) - y * s))
    ds = sigmoid(s) - y
    return loss, X.T @ ds, float(ds.sum())
''',
        "labels flipped in the gradient": '''
def binary_logistic_loss(w, b, X, y):
    s = X @ w + b
    loss = float(np.mean(np.logaddexp(0.0, s) - y * s))
    ds = (y - sigmoid(s)) / X.shape[0]
    return loss, X.T @ ds, float(ds.sum())
''',
    },
    "standardize": {
        "standardize refits on the data it is given": '''
def standardize(X, mean, std):
    s = X.std(axis=0)
    return (X - X.mean(axis=0)) / np.where(s == 0, 1.0, s)
''',
        "sample std (ddof = 1)": '''
def fit_standardizer(X):
    s = X.std(axis=0, ddof=1) if len(X) > 1 else np.zeros(X.shape[1])
    return X.mean(axis=0), np.where(s == 0, 1.0, s)
''',
        "constant features divide by zero": '''
def fit_standardizer(X):
    return X.mean(axis=0), X.std(axis=0)
''',
    },
}

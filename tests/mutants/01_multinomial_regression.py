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
        "subtracts the batch's largest logit instead of each row's": '''
def softmax(logits):
    e = np.exp(logits - logits.max())
    return e / e.sum(axis=1, keepdims=True)
''',
        'tries the naive form first and falls back when it overflows (warning at grade time)': '''
def softmax(logits):
    e = np.exp(logits)
    if np.all(np.isfinite(e)) and np.all(e.sum(axis=1) > 0):
        return e / e.sum(axis=1, keepdims=True)
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
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
        "log-sum-exp shifted by the batch's largest logit": '''
def cross_entropy(logits, y):
    n = logits.shape[0]
    z = logits - logits.max()
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    d = np.exp(logp)
    d[np.arange(n), y] -= 1
    return float(-logp[np.arange(n), y].mean()), d / n
''',
        'log of a clipped probability (log(max(p, 1e-300)))': '''
def cross_entropy(logits, y):
    n = logits.shape[0]
    p = softmax(logits)
    loss = float(-np.log(np.maximum(p[np.arange(n), y], 1e-300)).mean())
    d = p.copy()
    d[np.arange(n), y] -= 1
    return loss, d / n
''',
        "shifts the caller's logits in place": '''
def cross_entropy(logits, y):
    n = logits.shape[0]
    logits -= logits.max(axis=1, keepdims=True)
    logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    d = np.exp(logp)
    d[np.arange(n), y] -= 1
    return float(-logp[np.arange(n), y].mean()), d / n
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
        'default reg = 1e-3': '''
def softmax_regression_loss(W, b, X, y, reg=1e-3):
    loss, d = cross_entropy(X @ W + b, y)
    return loss + 0.5 * reg * np.sum(W * W), X.T @ d + reg * W, d.sum(axis=0)
''',
        'penalty applied to b as well': '''
def softmax_regression_loss(W, b, X, y, reg=0.0):
    loss, d = cross_entropy(X @ W + b, y)
    return loss + 0.5 * reg * (np.sum(W * W) + np.sum(b * b)), X.T @ d + reg * W, d.sum(axis=0) + reg * b
''',
        'reg * W formed by scaling W in place (an alias, not a copy)': '''
def softmax_regression_loss(W, b, X, y, reg=0.0):
    loss, d = cross_entropy(X @ W + b, y)
    loss = loss + 0.5 * reg * float(np.sum(W * W))
    penalty_grad = W
    penalty_grad *= reg
    return loss, X.T @ d + penalty_grad, d.sum(axis=0)
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
        'sigmoid as 1 / (1 + exp(-z)) (right values, overflow warning for z < -709)': '''
def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=np.float64)))
''',
        'loss via log(1 + exp(s)) (overflows for s > 709)': '''
def binary_logistic_loss(w, b, X, y):
    s = X @ w + b
    loss = float(np.mean(np.log1p(np.exp(s)) - y * s))
    ds = (sigmoid(s) - y) / X.shape[0]
    return loss, X.T @ ds, float(ds.sum())
''',
        'labels mapped to -1/+1 in place for the margin form': '''
def binary_logistic_loss(w, b, X, y):
    s = X @ w + b
    t = y
    t *= 2
    t -= 1
    loss = float(np.mean(np.logaddexp(0.0, -t * s)))
    ds = -t * sigmoid(-t * s) / X.shape[0]
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
        'one-pass variance E[x^2] - E[x]^2 (cancels for large offsets)': '''
def fit_standardizer(X):
    mean = X.mean(axis=0)
    var = np.maximum((X * X).mean(axis=0) - mean * mean, 0.0)
    std = np.sqrt(var)
    return mean, np.where(std == 0.0, 1.0, std)
''',
        'a single row returns a view of X as its mean': '''
_fit_standardizer_right = fit_standardizer

def fit_standardizer(X):
    if X.shape[0] == 1:
        return X[0], np.ones(X.shape[1])
    return _fit_standardizer_right(X)
''',
        'standardize works in place on X': '''
def standardize(X, mean, std):
    X -= mean
    X /= std
    return X
''',
        'std 0 replaced by 1 only when exactly one row': '''
def fit_standardizer(X):
    if len(X) == 1:
        return X.mean(axis=0), np.ones(X.shape[1])
    return X.mean(axis=0), X.std(axis=0)
''',
    },
    "whitening": {
        "covariance divided by N - 1": '''
def fit_whitening(X, eps):
    if not eps > 0:
        raise ValueError("eps must be > 0")
    mean = X.mean(axis=0)
    Xc = X - mean
    lam, U = np.linalg.eigh(Xc.T @ Xc / max(len(X) - 1, 1))
    return mean, (U / np.sqrt(lam + eps)) @ U.T
''',
        "eps outside the square root": '''
def fit_whitening(X, eps):
    if not eps > 0:
        raise ValueError("eps must be > 0")
    mean = X.mean(axis=0)
    Xc = X - mean
    lam, U = np.linalg.eigh(Xc.T @ Xc / len(X))
    return mean, (U / (np.sqrt(np.clip(lam, 0.0, None)) + eps)) @ U.T
''',
        "no centring (second moment instead of covariance)": '''
def fit_whitening(X, eps):
    if not eps > 0:
        raise ValueError("eps must be > 0")
    lam, U = np.linalg.eigh(X.T @ X / len(X))
    return X.mean(axis=0), (U / np.sqrt(lam + eps)) @ U.T
''',
        "PCA whitening U diag(...) instead of ZCA": '''
def fit_whitening(X, eps):
    if not eps > 0:
        raise ValueError("eps must be > 0")
    mean = X.mean(axis=0)
    Xc = X - mean
    lam, U = np.linalg.eigh(Xc.T @ Xc / len(X))
    return mean, U / np.sqrt(lam + eps)
''',
        "no square root (inverse instead of inverse square root)": '''
def fit_whitening(X, eps):
    if not eps > 0:
        raise ValueError("eps must be > 0")
    mean = X.mean(axis=0)
    Xc = X - mean
    lam, U = np.linalg.eigh(Xc.T @ Xc / len(X))
    return mean, (U / (lam + eps)) @ U.T
''',
        "eps added only to zero eigenvalues": '''
def fit_whitening(X, eps):
    if not eps > 0:
        raise ValueError("eps must be > 0")
    mean = X.mean(axis=0)
    Xc = X - mean
    lam, U = np.linalg.eigh(Xc.T @ Xc / len(X))
    lam = np.where(lam > 1e-12 * max(lam.max(), 1e-300), lam, lam + eps)
    return mean, (U / np.sqrt(lam)) @ U.T
''',
        "no check of eps": '''
def fit_whitening(X, eps):
    mean = X.mean(axis=0)
    Xc = X - mean
    lam, U = np.linalg.eigh(Xc.T @ Xc / len(X))
    return mean, (U / np.sqrt(np.abs(lam + eps) + 1e-300)) @ U.T
''',
        "whiten refits on the data it is given": '''
def whiten(X, mean, W):
    return (X - X.mean(axis=0)) @ W
''',
        "whiten works in place on X": '''
def whiten(X, mean, W):
    X -= mean
    return X @ W
''',
        "a single row returns a view of X as its mean": '''
_fit_whitening_right = fit_whitening

def fit_whitening(X, eps):
    if X.shape[0] == 1:
        return X[0], _fit_whitening_right(X, eps)[1]
    return _fit_whitening_right(X, eps)
''',
    },
}

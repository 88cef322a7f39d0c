"""Plausible wrong implementations for notebook 04. Each is appended to the solution cell of its
part (so it redefines the function there); the hidden checks must take that part's points away and
leave every other part untouched. symmetry_broken calls duplicate_units inside the same part."""

DEPENDS = {}

MUTANTS = {
    "xavier": {
        "variance passed where numpy wants the standard deviation": '''
def xavier_normal(fan_in, fan_out, seed, gain=1.0):
    return np.random.default_rng(seed).normal(0.0, gain * 2.0 / (fan_in + fan_out), size=(fan_in, fan_out))
''',
        "uniform limit sqrt(3 / (fan_in + fan_out))": '''
def xavier_uniform(fan_in, fan_out, seed, gain=1.0):
    a = gain * np.sqrt(3.0 / (fan_in + fan_out))
    return np.random.default_rng(seed).uniform(-a, a, size=(fan_in, fan_out))
''',
        "LeCun variance 1 / fan_in instead of 2 / (fan_in + fan_out)": '''
def xavier_normal(fan_in, fan_out, seed, gain=1.0):
    return np.random.default_rng(seed).normal(0.0, gain * np.sqrt(1.0 / fan_in), size=(fan_in, fan_out))
''',
        "gain ignored": '''
def xavier_uniform(fan_in, fan_out, seed, gain=1.0):
    a = np.sqrt(6.0 / (fan_in + fan_out))
    return np.random.default_rng(seed).uniform(-a, a, size=(fan_in, fan_out))
''',
        "global np.random instead of the seed": '''
def xavier_normal(fan_in, fan_out, seed, gain=1.0):
    return np.random.normal(0.0, gain * np.sqrt(2.0 / (fan_in + fan_out)), size=(fan_in, fan_out))
''',
        "np.random.seed(seed), then the global generator (reproducible, but resets the global state)": '''
def xavier_uniform(fan_in, fan_out, seed, gain=1.0):
    np.random.seed(seed)
    a = gain * np.sqrt(6.0 / (fan_in + fan_out))
    return np.random.uniform(-a, a, size=(fan_in, fan_out))
''',
        "torch.manual_seed(seed) and torch's initializer (changes torch's global state)": '''
def xavier_normal(fan_in, fan_out, seed, gain=1.0):
    torch.manual_seed(seed)
    w = torch.empty(fan_out, fan_in, dtype=torch.float64)
    torch.nn.init.xavier_normal_(w, gain=gain)
    return w.T.numpy().copy()
''',
        "gain multiplies the variance instead of the standard deviation": '''
def xavier_normal(fan_in, fan_out, seed, gain=1.0):
    return np.random.default_rng(seed).normal(0.0, np.sqrt(gain * 2.0 / (fan_in + fan_out)), size=(fan_in, fan_out))
''',
    },
    "he": {
        "gain 1 instead of 2 (variance 1 / n)": '''
def he_normal(fan_in, fan_out, seed, mode="fan_in"):
    n = fan_in if mode == "fan_in" else fan_out
    return np.random.default_rng(seed).normal(0.0, np.sqrt(1.0 / n), size=(fan_in, fan_out))
''',
        "fan_out used by default (modes swapped)": '''
def he_normal(fan_in, fan_out, seed, mode="fan_in"):
    n = fan_out if mode == "fan_in" else fan_in
    return np.random.default_rng(seed).normal(0.0, np.sqrt(2.0 / n), size=(fan_in, fan_out))
''',
        "mode ignored (always fan_in)": '''
def he_uniform(fan_in, fan_out, seed, mode="fan_in"):
    a = np.sqrt(6.0 / fan_in)
    return np.random.default_rng(seed).uniform(-a, a, size=(fan_in, fan_out))
''',
        "uniform limit sqrt(3 / n)": '''
def he_uniform(fan_in, fan_out, seed, mode="fan_in"):
    n = fan_in if mode == "fan_in" else fan_out
    a = np.sqrt(3.0 / n)
    return np.random.default_rng(seed).uniform(-a, a, size=(fan_in, fan_out))
''',
        "variance 2 / n passed as the standard deviation": '''
def he_normal(fan_in, fan_out, seed, mode="fan_in"):
    n = fan_in if mode == "fan_in" else fan_out
    return np.random.default_rng(seed).normal(0.0, 2.0 / n, size=(fan_in, fan_out))
''',
        "uniform with the normal's standard deviation as its limit": '''
def he_uniform(fan_in, fan_out, seed, mode="fan_in"):
    n = fan_in if mode == "fan_in" else fan_out
    a = np.sqrt(2.0 / n)
    return np.random.default_rng(seed).uniform(-a, a, size=(fan_in, fan_out))
''',
        "np.random.seed(seed), then the global generator (reproducible, but resets the global state)": '''
def he_normal(fan_in, fan_out, seed, mode="fan_in"):
    n = fan_in if mode == "fan_in" else fan_out
    np.random.seed(seed)
    return np.random.randn(fan_in, fan_out) * np.sqrt(2.0 / n)
''',
        "torch.manual_seed(seed) and kaiming_uniform_ (changes torch's global state)": '''
def he_uniform(fan_in, fan_out, seed, mode="fan_in"):
    torch.manual_seed(seed)
    w = torch.empty(fan_out, fan_in, dtype=torch.float64)
    torch.nn.init.kaiming_uniform_(w, mode=mode, nonlinearity="relu")
    return w.T.numpy().copy()
''',
    },
    "symmetry": {
        "outgoing weights ignored": '''
def duplicate_units(W1, b1, W2, atol=0.0):
    units = np.concatenate([W1.T, b1[:, None]], axis=1)
    same = np.abs(units[:, None, :] - units[None, :, :]).max(axis=2) <= atol
    return np.argmax(same, axis=0)
''',
        "bias ignored": '''
def duplicate_units(W1, b1, W2, atol=0.0):
    units = np.concatenate([W1.T, W2], axis=1)
    same = np.abs(units[:, None, :] - units[None, :, :]).max(axis=2) <= atol
    return np.argmax(same, axis=0)
''',
        "strict comparison (< atol): exact copies are missed with atol = 0": '''
def duplicate_units(W1, b1, W2, atol=0.0):
    units = np.concatenate([W1.T, b1[:, None], W2], axis=1)
    same = np.abs(units[:, None, :] - units[None, :, :]).max(axis=2) < atol
    np.fill_diagonal(same, True)
    return np.argmax(same, axis=0)
''',
        "group numbers in order of appearance instead of the first unit's index": '''
def duplicate_units(W1, b1, W2, atol=0.0):
    units = np.concatenate([W1.T, b1[:, None], W2], axis=1)
    same = np.abs(units[:, None, :] - units[None, :, :]).max(axis=2) <= atol
    first = np.argmax(same, axis=0)
    return np.unique(first, return_inverse=True)[1]
''',
        "transitive groups: a chain of near-copies merged into one group": '''
def duplicate_units(W1, b1, W2, atol=0.0):
    units = np.concatenate([W1.T, b1[:, None], W2], axis=1)
    labels = np.arange(len(units))
    for j in range(len(units)):
        for i in range(j):
            if np.max(np.abs(units[i] - units[j])) <= atol:
                labels[j] = labels[i]
                break
    return labels
''',
        "compares only with the first unit of each group found so far": '''
def duplicate_units(W1, b1, W2, atol=0.0):
    units = np.concatenate([W1.T, b1[:, None], W2], axis=1)
    labels = np.arange(len(units))
    for j in range(len(units)):
        for i in range(j):
            if labels[i] == i and np.max(np.abs(units[i] - units[j])) <= atol:
                labels[j] = i
                break
    return labels
''',
        "np.allclose with its default relative tolerance": '''
def duplicate_units(W1, b1, W2, atol=0.0):
    units = np.concatenate([W1.T, b1[:, None], W2], axis=1)
    labels = np.arange(len(units))
    for j in range(len(units)):
        for i in range(j):
            if np.allclose(units[i], units[j], atol=atol):
                labels[j] = i
                break
    return labels
''',
        "tolerance on the Euclidean norm of the difference": '''
def duplicate_units(W1, b1, W2, atol=0.0):
    units = np.concatenate([W1.T, b1[:, None], W2], axis=1)
    dist = np.linalg.norm(units[:, None, :] - units[None, :, :], axis=2)
    return np.argmax(dist <= atol, axis=0)
''',
        "relative tolerance atol * |weight|": '''
def duplicate_units(W1, b1, W2, atol=0.0):
    units = np.concatenate([W1.T, b1[:, None], W2], axis=1)
    diff = np.abs(units[:, None, :] - units[None, :, :])
    same = np.all(diff <= atol * np.abs(units[None, :, :]), axis=2)
    return np.argmax(same, axis=0)
''',
        "symmetry_broken true when some units differ": '''
def symmetry_broken(W1, b1, W2, atol=0.0):
    labels = duplicate_units(W1, b1, W2, atol)
    return bool(len(np.unique(labels)) > 1)
''',
    },
}

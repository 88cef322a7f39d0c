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
        "symmetry_broken true when some units differ": '''
def symmetry_broken(W1, b1, W2, atol=0.0):
    labels = duplicate_units(W1, b1, W2, atol)
    return bool(len(np.unique(labels)) > 1)
''',
    },
}

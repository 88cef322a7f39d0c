"""Plausible wrong implementations for notebook 09. Each is appended to the solution cell of its
part (so it redefines the function there); the hidden checks must take that part's points away and
leave every part that does not call the broken function untouched."""

# The poolings are built on pool_windows, and the backward passes are checked end to end,
# backward(dout, forward(...)[1]): a broken helper or forward pass legitimately breaks them too.
DEPENDS = {
    "max_pool_forward": ["pool_windows"],
    "max_pool_backward": ["max_pool_forward", "pool_windows"],
    "avg_pool_forward": ["pool_windows"],
    "avg_pool_backward": ["avg_pool_forward", "pool_windows"],
}

MUTANTS = {
    "pool_windows": {
        "output size rounded up (a last partial window is kept)": '''
def pool_output_size(size, kernel, stride, pad):
    return -(-(size + 2 * pad - kernel) // stride) + 1
''',
        "output size ignores the padding": '''
def pool_output_size(size, kernel, stride, pad):
    return (size - kernel) // stride + 1
''',
        "always pads with zeros": '''
_good_pool_windows = pool_windows
def pool_windows(x, kernel, stride, pad, pad_value):
    return _good_pool_windows(x, kernel, stride, pad, 0.0)
''',
        "stride pair read as (width, height)": '''
_good_pool_windows = pool_windows
def pool_windows(x, kernel, stride, pad, pad_value):
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, pad
    N, C, H, W = x.shape
    h_out, w_out = pool_output_size(H, kh, sw, ph), pool_output_size(W, kw, sh, pw)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=pad_value)
    view = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))
    return np.ascontiguousarray(view[:, :, ::sw, ::sh][:, :, :h_out, :w_out])
''',
    },
    "max_pool_forward": {
        "pads with zeros instead of -inf": '''
def max_pool_forward(x, pool_param):
    kernel, stride, pad = pool_sizes(pool_param)
    windows = pool_windows(x, kernel, stride, pad, 0.0)
    N, C, h_out, w_out, kh, kw = windows.shape
    flat = windows.reshape(N, C, h_out, w_out, kh * kw)
    argmax = np.argmax(flat, axis=-1)
    return flat.max(axis=-1), (x.shape, kernel, stride, pad, argmax)
''',
        "stride ignored (always the kernel)": '''
def max_pool_forward(x, pool_param):
    kernel, stride, pad = pool_sizes(pool_param)
    windows = pool_windows(x, kernel, kernel, pad, -np.inf)
    N, C, h_out, w_out, kh, kw = windows.shape
    flat = windows.reshape(N, C, h_out, w_out, kh * kw)
    argmax = np.argmax(flat, axis=-1)
    return flat.max(axis=-1), (x.shape, kernel, kernel, pad, argmax)
''',
        "kernel read as (width, height)": '''
def max_pool_forward(x, pool_param):
    (kh, kw), stride, pad = pool_sizes(pool_param)
    kernel = (kw, kh)
    windows = pool_windows(x, kernel, stride, pad, -np.inf)
    N, C, h_out, w_out, a, b = windows.shape
    flat = windows.reshape(N, C, h_out, w_out, a * b)
    argmax = np.argmax(flat, axis=-1)
    return flat.max(axis=-1), (x.shape, kernel, stride, pad, argmax)
''',
    },
    "max_pool_backward": {
        "assignment instead of accumulation (overlapping windows lose gradient)": '''
def max_pool_backward(dout, cache):
    x_shape, (kh, kw), (sh, sw), (ph, pw), argmax = cache
    N, C, H, W = x_shape
    h_out, w_out = argmax.shape[2:]
    i_star, j_star = np.divmod(argmax, kw)
    rows = np.arange(h_out)[None, None, :, None] * sh + i_star - ph
    cols = np.arange(w_out)[None, None, None, :] * sw + j_star - pw
    dx = np.zeros(x_shape)
    dx[np.arange(N)[:, None, None, None], np.arange(C)[None, :, None, None], rows, cols] = dout
    return dx
''',
        "winner position decoded with the kernel height": '''
def max_pool_backward(dout, cache):
    x_shape, (kh, kw), (sh, sw), (ph, pw), argmax = cache
    N, C, H, W = x_shape
    h_out, w_out = argmax.shape[2:]
    i_star, j_star = np.divmod(argmax, kh)
    rows = np.clip(np.arange(h_out)[None, None, :, None] * sh + i_star - ph, 0, H - 1)
    cols = np.clip(np.arange(w_out)[None, None, None, :] * sw + j_star - pw, 0, W - 1)
    dx = np.zeros(x_shape)
    np.add.at(dx, (np.arange(N)[:, None, None, None], np.arange(C)[None, :, None, None], rows, cols), dout)
    return dx
''',
        "gradient spread over the window like average pooling": '''
def max_pool_backward(dout, cache):
    x_shape, (kh, kw), (sh, sw), (ph, pw), argmax = cache
    N, C, H, W = x_shape
    h_out, w_out = dout.shape[2:]
    dxp = np.zeros((N, C, H + 2 * ph, W + 2 * pw))
    for i in range(kh):
        for j in range(kw):
            dxp[:, :, i:i + sh * h_out:sh, j:j + sw * w_out:sw] += dout / (kh * kw)
    return dxp[:, :, ph:ph + H, pw:pw + W].copy()
''',
    },
    "avg_pool_forward": {
        "divides by the number of real entries (count_include_pad=False)": '''
def avg_pool_forward(x, pool_param):
    kernel, stride, pad = pool_sizes(pool_param)
    sums = pool_windows(x, kernel, stride, pad, 0.0).sum(axis=(-2, -1))
    counts = pool_windows(np.ones((1, 1) + x.shape[2:]), kernel, stride, pad, 0.0).sum(axis=(-2, -1))
    return sums / counts, (x.shape, kernel, stride, pad)
''',
        "pads by repeating the border values": '''
def avg_pool_forward(x, pool_param):
    (kh, kw), (sh, sw), (ph, pw) = pool_sizes(pool_param)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), mode="edge")
    out = pool_windows(xp, (kh, kw), (sh, sw), (0, 0), 0.0).mean(axis=(-2, -1))
    return out, (x.shape, (kh, kw), (sh, sw), (ph, pw))
''',
        "sum instead of mean": '''
def avg_pool_forward(x, pool_param):
    kernel, stride, pad = pool_sizes(pool_param)
    return pool_windows(x, kernel, stride, pad, 0.0).sum(axis=(-2, -1)), (x.shape, kernel, stride, pad)
''',
    },
    "avg_pool_backward": {
        "gradient not divided by the window size": '''
def avg_pool_backward(dout, cache):
    x_shape, (kh, kw), (sh, sw), (ph, pw) = cache
    N, C, H, W = x_shape
    h_out, w_out = dout.shape[2:]
    dxp = np.zeros((N, C, H + 2 * ph, W + 2 * pw))
    for i in range(kh):
        for j in range(kw):
            dxp[:, :, i:i + sh * h_out:sh, j:j + sw * w_out:sw] += dout
    return dxp[:, :, ph:ph + H, pw:pw + W].copy()
''',
        "overwrites instead of adding where windows overlap": '''
def avg_pool_backward(dout, cache):
    x_shape, (kh, kw), (sh, sw), (ph, pw) = cache
    N, C, H, W = x_shape
    h_out, w_out = dout.shape[2:]
    dxp = np.zeros((N, C, H + 2 * ph, W + 2 * pw))
    for i in range(kh):
        for j in range(kw):
            dxp[:, :, i:i + sh * h_out:sh, j:j + sw * w_out:sw] = dout / (kh * kw)
    return dxp[:, :, ph:ph + H, pw:pw + W].copy()
''',
        "padding cropped from the wrong side": '''
def avg_pool_backward(dout, cache):
    x_shape, (kh, kw), (sh, sw), (ph, pw) = cache
    N, C, H, W = x_shape
    h_out, w_out = dout.shape[2:]
    dxp = np.zeros((N, C, H + 2 * ph, W + 2 * pw))
    for i in range(kh):
        for j in range(kw):
            dxp[:, :, i:i + sh * h_out:sh, j:j + sw * w_out:sw] += dout / (kh * kw)
    return dxp[:, :, :H, :W].copy()
''',
    },
    "global_avg_pool": {
        "output of shape (N, C) instead of (N, C, 1, 1)": '''
def global_avg_pool_forward(x):
    return x.mean(axis=(2, 3)), x.shape
''',
        "backward not divided by the number of positions": '''
def global_avg_pool_backward(dout, cache):
    return np.broadcast_to(dout, cache).copy()
''',
        "averages over the channels too": '''
def global_avg_pool_forward(x):
    m = x.mean(axis=(1, 2, 3), keepdims=True)
    return np.broadcast_to(m, (x.shape[0], x.shape[1], 1, 1)).copy(), x.shape
''',
    },
}

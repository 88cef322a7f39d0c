"""Correct implementations of notebook 10's parts, written differently from the reference: true
division then floor, explicit im2col matrices, einsum, loops over kernel offsets, np.add.at, the
zero-insertion-and-flip recipe (with cropping where the padding exceeds k - 1), a scatter-add
transposed convolution that crops its full output, and caches of other shapes. Each is appended to its
part's solution cell and must earn full marks under every seed."""

ALTERNATIVES = {
    "output_size": {
        "math.floor of a true division": '''
import math


def conv_output_size(n, k, stride, pad):
    return math.floor((n + 2 * pad - k) / stride) + 1


def conv_transpose_output_size(n, k, stride, pad, output_pad):
    return stride * (n - 1) + k - 2 * pad + output_pad
''',
        "counting the window positions with range": '''
def conv_output_size(n, k, stride, pad):
    return len(range(0, n + 2 * pad - k + 1, stride))


def conv_transpose_output_size(n, k, stride, pad, output_pad):
    span = (n - 1) * stride + 1          # the zero-stuffed input
    return span + 2 * (k - 1 - pad) - k + 1 + output_pad
''',
        "divmod, the remainder discarded": '''
def conv_output_size(n, k, stride, pad):
    q, _ = divmod(n + 2 * pad - k, stride)
    return int(q + 1)


def conv_transpose_output_size(n, k, stride, pad, output_pad):
    return int((n - 1) * stride + (k - 1) - 2 * pad + output_pad + 1)
''',
    },
    "conv_forward": {
        "an explicit im2col matrix times the flattened kernels": '''
def conv2d_forward(x, w, b, conv_param):
    s, p = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F_, _, KH, KW = w.shape
    Ho, Wo = conv_output_size(H, KH, s, p), conv_output_size(W, KW, s, p)
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    cols = np.empty((N, Ho, Wo, C, KH, KW))
    for u in range(KH):
        for v in range(KW):
            cols[:, :, :, :, u, v] = xp[:, :, u:u + s * (Ho - 1) + 1:s, v:v + s * (Wo - 1) + 1:s].transpose(0, 2, 3, 1)
    out = cols.reshape(N * Ho * Wo, -1) @ w.reshape(F_, -1).T + b
    return out.reshape(N, Ho, Wo, F_).transpose(0, 3, 1, 2).copy(), (x, w, conv_param)
''',
        "einsum on the sliding-window view": '''
def conv2d_forward(x, w, b, conv_param):
    s, p = conv_param["stride"], conv_param["pad"]
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    win = sliding_window_view(xp, w.shape[2:], axis=(2, 3))[:, :, ::s, ::s]
    out = np.einsum("ncijuv,fcuv->nfij", win, w, optimize=True) + b.reshape(1, -1, 1, 1)
    return out, (x, w, conv_param)
''',
        "a sum over the kernel offsets of channel-mixing products": '''
def conv2d_forward(x, w, b, conv_param):
    s, p = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F_, _, KH, KW = w.shape
    Ho, Wo = (H + 2 * p - KH) // s + 1, (W + 2 * p - KW) // s + 1
    xp = np.zeros((N, C, H + 2 * p, W + 2 * p))
    xp[:, :, p:p + H, p:p + W] = x
    out = np.zeros((N, F_, Ho, Wo))
    for u in range(KH):
        for v in range(KW):
            patch = xp[:, :, u:u + s * Ho:s, v:v + s * Wo:s][:, :, :Ho, :Wo]
            out += np.einsum("nchw,fc->nfhw", patch, w[:, :, u, v])
    out += b[:, None, None]
    return out, (x, w, conv_param)
''',
    },
    "conv_backward": {
        "np.add.at for dx, einsum for dw, the cache a dict": '''
def conv2d_forward(x, w, b, conv_param):
    s, p = conv_param["stride"], conv_param["pad"]
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    win = sliding_window_view(xp, w.shape[2:], axis=(2, 3))[:, :, ::s, ::s]
    out = np.einsum("ncijuv,fcuv->nfij", win, w, optimize=True) + b[None, :, None, None]
    return out, {"x": x, "w": w, "stride": s, "pad": p}


def conv2d_input_grad(dout, w, input_hw, conv_param):
    s, p = conv_param["stride"], conv_param["pad"]
    H, W = input_hw
    N, F_, Ho, Wo = dout.shape
    _, C, KH, KW = w.shape
    contrib = np.einsum("nfij,fcuv->ncijuv", dout, w, optimize=True)
    rows = (s * np.arange(Ho))[:, None, None, None] + np.arange(KH)[None, None, :, None]
    cols = (s * np.arange(Wo))[None, :, None, None] + np.arange(KW)[None, None, None, :]
    dxp = np.zeros((N, C, H + 2 * p, W + 2 * p))
    np.add.at(dxp, (slice(None), slice(None), rows, cols), contrib)
    return dxp[:, :, p:p + H, p:p + W].copy()


def conv2d_weight_grad(x, dout, w_shape, conv_param):
    s, p = conv_param["stride"], conv_param["pad"]
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    win = sliding_window_view(xp, tuple(w_shape[2:]), axis=(2, 3))[:, :, ::s, ::s]
    return np.einsum("nfij,ncijuv->fcuv", dout, win, optimize=True)


def conv2d_backward(dout, cache):
    x, w = cache["x"], cache["w"]
    param = {"stride": cache["stride"], "pad": cache["pad"]}
    return (conv2d_input_grad(dout, w, x.shape[2:], param), conv2d_weight_grad(x, dout, w.shape, param),
            np.einsum("nfij->f", dout))
''',
        "dx by zero insertion and a flipped-kernel convolution, dw by a loop over offsets": '''
def conv2d_input_grad(dout, w, input_hw, conv_param):
    s, p = conv_param["stride"], conv_param["pad"]
    H, W = input_hw
    N, F_, Ho, Wo = dout.shape
    _, C, KH, KW = w.shape
    z = np.zeros((N, F_, (Ho - 1) * s + 1, (Wo - 1) * s + 1))
    z[:, :, ::s, ::s] = dout
    # full correlation with the flipped kernel gives the gradient of the padded input, rows
    # 0 .. (Ho - 1) s + KH - 1; rows the windows never reached (up to H + 2p) get zeros
    z = np.pad(z, ((0, 0), (0, 0), (KH - 1, KH - 1), (KW - 1, KW - 1)))
    flipped = np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
    full, _ = conv2d_forward(z, flipped, np.zeros(C), {"stride": 1, "pad": 0})
    dxp = np.zeros((N, C, H + 2 * p, W + 2 * p))
    hh, ww = min(full.shape[2], H + 2 * p), min(full.shape[3], W + 2 * p)
    dxp[:, :, :hh, :ww] = full[:, :, :hh, :ww]
    return dxp[:, :, p:p + H, p:p + W].copy()


def conv2d_weight_grad(x, dout, w_shape, conv_param):
    s, p = conv_param["stride"], conv_param["pad"]
    F_, C, KH, KW = w_shape
    Ho, Wo = dout.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dw = np.zeros(tuple(w_shape))
    for u in range(KH):
        for v in range(KW):
            patch = xp[:, :, u:u + s * (Ho - 1) + 1:s, v:v + s * (Wo - 1) + 1:s]
            dw[:, :, u, v] = np.tensordot(dout, patch, axes=([0, 2, 3], [0, 2, 3]))
    return dw


def conv2d_backward(dout, cache):
    x, w, conv_param = cache
    return (conv2d_input_grad(dout, w, x.shape[2:], conv_param), conv2d_weight_grad(x, dout, w.shape, conv_param),
            dout.sum(axis=0).sum(axis=-1).sum(axis=-1))
''',
        "im2col: column gradients by one matrix product, folded back by offset": '''
def conv2d_input_grad(dout, w, input_hw, conv_param):
    s, p = conv_param["stride"], conv_param["pad"]
    H, W = input_hw
    N, F_, Ho, Wo = dout.shape
    _, C, KH, KW = w.shape
    g = dout.transpose(0, 2, 3, 1).reshape(-1, F_)                      # (N Ho Wo, F)
    dcols = (g @ w.reshape(F_, -1)).reshape(N, Ho, Wo, C, KH, KW)      # gradient of each window
    dxp = np.zeros((N, C, H + 2 * p, W + 2 * p))
    for u in range(KH):
        for v in range(KW):
            dxp[:, :, u:u + s * (Ho - 1) + 1:s, v:v + s * (Wo - 1) + 1:s] += dcols[..., u, v].transpose(0, 3, 1, 2)
    return dxp[:, :, p:p + H, p:p + W].copy()


def conv2d_weight_grad(x, dout, w_shape, conv_param):
    s, p = conv_param["stride"], conv_param["pad"]
    F_, C, KH, KW = w_shape
    N, _, Ho, Wo = dout.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    win = sliding_window_view(xp, (KH, KW), axis=(2, 3))[:, :, ::s, ::s][:, :, :Ho, :Wo]
    cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(N * Ho * Wo, C * KH * KW)
    g = dout.transpose(0, 2, 3, 1).reshape(-1, F_)
    return (g.T @ cols).reshape(F_, C, KH, KW)


def conv2d_backward(dout, cache):
    x, w, conv_param = cache
    dx = conv2d_input_grad(dout, w, x.shape[2:], conv_param)
    dw = conv2d_weight_grad(x, dout, w.shape, conv_param)
    db = np.array([dout[:, f].sum() for f in range(dout.shape[1])])
    return [dx, dw, db]
''',
    },
    "conv_transpose_forward": {
        "scatter-add of kernel stamps into the full output, then cropped by the padding": '''
def conv_transpose2d_forward(x, w, b, param):
    s, p, q = param["stride"], param["pad"], param["output_pad"]
    N, Ci, H, W = x.shape
    _, Co, KH, KW = w.shape
    Ho, Wo = conv_transpose_output_size(H, KH, s, p, q), conv_transpose_output_size(W, KW, s, p, q)
    full = np.zeros((N, Co, (H - 1) * s + KH + q, (W - 1) * s + KW + q))
    for u in range(KH):
        for v in range(KW):
            full[:, :, u:u + s * (H - 1) + 1:s, v:v + s * (W - 1) + 1:s] += np.einsum("nihw,io->nohw", x, w[:, :, u, v])
    out = full[:, :, p:p + Ho, p:p + Wo] + b[None, :, None, None]
    return out, (x, w, param)
''',
        "zero insertion, padding k - 1 - p (cropping when negative), flipped kernel": '''
def conv_transpose2d_forward(x, w, b, param):
    s, p, q = param["stride"], param["pad"], param["output_pad"]
    N, Ci, H, W = x.shape
    _, Co, KH, KW = w.shape
    z = np.zeros((N, Ci, (H - 1) * s + 1, (W - 1) * s + 1))
    z[:, :, ::s, ::s] = x
    eh, ew = KH - 1 - p, KW - 1 - p
    # pad by max(e, 0) and then crop by max(-e, 0): a negative padding is a cropping
    z = np.pad(z, ((0, 0), (0, 0), (max(eh, 0), max(eh, 0) + q), (max(ew, 0), max(ew, 0) + q)))
    ch, cw = max(-eh, 0), max(-ew, 0)
    z = z[:, :, ch:z.shape[2] - ch, cw:z.shape[3] - cw]
    kernel = np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
    out, _ = conv2d_forward(z, kernel, b, {"stride": 1, "pad": 0})
    return out, (x, w, param)
''',
        "im2col of the zero-stuffed input with index arrays, one einsum": '''
def conv_transpose2d_forward(x, w, b, param):
    s, p, q = param["stride"], param["pad"], param["output_pad"]
    N, Ci, H, W = x.shape
    _, Co, KH, KW = w.shape
    Ho, Wo = conv_transpose_output_size(H, KH, s, p, q), conv_transpose_output_size(W, KW, s, p, q)
    # the stuffed input with a margin of k - 1 zeros on every side (and q more), large enough for any p
    z = np.zeros((N, Ci, (H - 1) * s + 1 + 2 * (KH - 1) + q, (W - 1) * s + 1 + 2 * (KW - 1) + q))
    z[:, :, KH - 1:KH - 1 + (H - 1) * s + 1:s, KW - 1:KW - 1 + (W - 1) * s + 1:s] = x
    # output row y reads stuffed rows y + p .. y + p + KH - 1 (kernel flipped)
    rows = (np.arange(Ho) + p)[:, None] + np.arange(KH)[None, :]
    cols = (np.arange(Wo) + p)[:, None] + np.arange(KW)[None, :]
    patches = z[:, :, rows[:, None, :, None], cols[None, :, None, :]]   # (N, Ci, Ho, Wo, KH, KW)
    out = np.einsum("niyxuv,iouv->noyx", patches, w[:, :, ::-1, ::-1], optimize=True)
    return out + b[:, None, None], (x, w, param)
''',
    },
    "conv_transpose_backward": {
        "dx by gathering windows of the padded dout, dw by a loop over offsets": '''
def conv_transpose2d_backward(dout, cache):
    x, w, param = cache
    s, p = param["stride"], param["pad"]
    N, Ci, H, W = x.shape
    _, Co, KH, KW = w.shape
    gp = np.pad(dout, ((0, 0), (0, 0), (p, p), (p, p)))
    win = sliding_window_view(gp, (KH, KW), axis=(2, 3))[:, :, ::s, ::s][:, :, :H, :W]
    dx = np.einsum("noyxuv,iouv->niyx", win, w, optimize=True)
    dw = np.empty_like(w)
    for u in range(KH):
        for v in range(KW):
            dw[:, :, u, v] = np.einsum("nihw,nohw->io", x, win[..., u, v])
    return dx, dw, dout.sum(axis=(0, 2, 3))
''',
        "the convolution's pieces, the roles of input and gradient swapped": '''
def conv_transpose2d_backward(dout, cache):
    x, w, param = cache
    cp = dict(stride=param["stride"], pad=param["pad"])
    dx = conv2d_forward(dout, w, np.zeros(w.shape[0]), cp)[0]
    dw = conv2d_weight_grad(dout, x, w.shape, cp)
    db = np.einsum("nohw->o", dout)
    return (dx, dw, db)
''',
        "scatter-add forward with its adjoint gather backward, a list cache": '''
def conv_transpose2d_forward(x, w, b, param):
    s, p, q = param["stride"], param["pad"], param["output_pad"]
    N, Ci, H, W = x.shape
    _, Co, KH, KW = w.shape
    Ho, Wo = conv_transpose_output_size(H, KH, s, p, q), conv_transpose_output_size(W, KW, s, p, q)
    full = np.zeros((N, Co, (H - 1) * s + KH + q, (W - 1) * s + KW + q))
    for u in range(KH):
        for v in range(KW):
            full[:, :, u:u + s * (H - 1) + 1:s, v:v + s * (W - 1) + 1:s] += np.tensordot(x, w[:, :, u, v], axes=([1], [0])).transpose(0, 3, 1, 2)
    return full[:, :, p:p + Ho, p:p + Wo] + b[None, :, None, None], [x, w, [s, p, q]]


def conv_transpose2d_backward(dout, cache):
    x, w, (s, p, q) = cache
    N, Ci, H, W = x.shape
    _, Co, KH, KW = w.shape
    full = np.zeros((N, Co, (H - 1) * s + KH + q, (W - 1) * s + KW + q))
    full[:, :, p:p + dout.shape[2], p:p + dout.shape[3]] = dout     # undo the crop: zeros outside
    dx = np.zeros_like(x)
    dw = np.zeros_like(w)
    for u in range(KH):
        for v in range(KW):
            g = full[:, :, u:u + s * (H - 1) + 1:s, v:v + s * (W - 1) + 1:s]   # (N, Co, H, W)
            dx += np.einsum("nohw,io->nihw", g, w[:, :, u, v])
            dw[:, :, u, v] = np.einsum("nihw,nohw->io", x, g)
    return dx, dw, dout.sum(axis=(0, 2, 3))
''',
        "pad-and-flip forward with a dict cache, its backward from the convolution's pieces": '''
def conv_transpose2d_forward(x, w, b, param):
    s, p, q = param["stride"], param["pad"], param["output_pad"]
    N, Ci, H, W = x.shape
    _, Co, KH, KW = w.shape
    z = np.zeros((N, Ci, (H - 1) * s + 1, (W - 1) * s + 1))
    z[:, :, ::s, ::s] = x
    eh, ew = KH - 1 - p, KW - 1 - p
    z = np.pad(z, ((0, 0), (0, 0), (max(eh, 0), max(eh, 0) + q), (max(ew, 0), max(ew, 0) + q)))
    z = z[:, :, max(-eh, 0):z.shape[2] - max(-eh, 0), max(-ew, 0):z.shape[3] - max(-ew, 0)]
    out, _ = conv2d_forward(z, np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)), b,
                            {"stride": 1, "pad": 0})
    return out, {"x": x, "w": w, "s": s, "p": p, "q": q}


def conv_transpose2d_backward(dout, cache):
    x, w = cache["x"], cache["w"]
    cp = {"stride": cache["s"], "pad": cache["p"]}
    dx, _ = conv2d_forward(dout, w, np.zeros(w.shape[0]), cp)
    return dx, conv2d_weight_grad(dout, x, w.shape, cp), dout.sum(axis=(0, 2, 3))
''',
    },
}

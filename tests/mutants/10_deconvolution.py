"""Plausible wrong implementations for notebook 10. Each is appended to the solution cell of its
part (so it redefines the function there); the hidden checks must take that part's points away and
leave every part that does not call the broken function untouched."""

# conv2d_backward is checked through conv2d_forward's cache; the transposed convolution is built from
# the convolution's pieces (conv2d_input_grad, conv2d_forward, conv2d_weight_grad) and uses the output
# size formula, as the notebook asks; its backward pass is checked through its own forward's cache.
DEPENDS = {
    "conv_backward": ["conv_forward"],
    "conv_transpose_forward": ["output_size", "conv_forward", "conv_backward"],
    "conv_transpose_backward": ["output_size", "conv_forward", "conv_backward", "conv_transpose_forward"],
}

MUTANTS = {
    "output_size": {
        "true division (a float, and no floor)": '''
def conv_output_size(n, k, stride, pad):
    return (n + 2 * pad - k) / stride + 1
''',
        "padding counted on one side only": '''
def conv_output_size(n, k, stride, pad):
    return (n + pad - k) // stride + 1
''',
        "transposed size ignores the output padding": '''
def conv_transpose_output_size(n, k, stride, pad, output_pad):
    return (n - 1) * stride - 2 * pad + k
''',
        "transposed size adds the padding": '''
def conv_transpose_output_size(n, k, stride, pad, output_pad):
    return (n - 1) * stride + 2 * pad + k + output_pad
''',
    },
    "conv_forward": {
        "kernel flipped (a true convolution)": '''
_conv2d_forward_ok = conv2d_forward
def conv2d_forward(x, w, b, conv_param):
    return _conv2d_forward_ok(x, w[:, :, ::-1, ::-1].copy(), b, conv_param)
''',
        "bias forgotten": '''
_conv2d_forward_ok = conv2d_forward
def conv2d_forward(x, w, b, conv_param):
    return _conv2d_forward_ok(x, w, np.zeros_like(b), conv_param)
''',
        "padding only at the top and on the left": '''
def conv2d_forward(x, w, b, conv_param):
    s, p = conv_param["stride"], conv_param["pad"]
    xpad = np.pad(x, ((0, 0), (0, 0), (2 * p, 0), (2 * p, 0)))
    win = sliding_window_view(xpad, w.shape[2:], axis=(2, 3))[:, :, ::s, ::s]
    out = np.tensordot(win, w, axes=([1, 4, 5], [1, 2, 3])).transpose(0, 3, 1, 2) + b[None, :, None, None]
    return out, (x, w, conv_param)
''',
        "windows start at s - 1 instead of 0": '''
def conv2d_forward(x, w, b, conv_param):
    s, p = conv_param["stride"], conv_param["pad"]
    xpad = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    win = sliding_window_view(xpad, w.shape[2:], axis=(2, 3))[:, :, s - 1::s, s - 1::s]
    out = np.tensordot(win, w, axes=([1, 4, 5], [1, 2, 3])).transpose(0, 3, 1, 2) + b[None, :, None, None]
    return out, (x, w, conv_param)
''',
    },
    "conv_backward": {
        "db averaged over the batch": '''
def conv2d_backward(dout, cache):
    x, w, conv_param = cache
    return (conv2d_input_grad(dout, w, x.shape[2:], conv_param), conv2d_weight_grad(x, dout, w.shape, conv_param),
            dout.sum(axis=(2, 3)).mean(axis=0))
''',
        "overlapping contributions overwritten instead of added": '''
def conv2d_input_grad(dout, w, input_hw, conv_param):
    s, p = conv_param["stride"], conv_param["pad"]
    H, W = input_hw
    N, _, Ho, Wo = dout.shape
    _, C, KH, KW = w.shape
    contrib = np.tensordot(w, dout, axes=([0], [1]))
    dxpad = np.zeros((N, C, H + 2 * p, W + 2 * p))
    dv = dxpad.transpose(1, 0, 2, 3)
    for u in range(KH):
        for v in range(KW):
            dv[:, :, u:u + s * (Ho - 1) + 1:s, v:v + s * (Wo - 1) + 1:s] = contrib[:, u, v]
    return dxpad[:, :, p:p + H, p:p + W].copy()
''',
        "padding cropped from the wrong side": '''
_input_grad_ok = conv2d_input_grad
def conv2d_input_grad(dout, w, input_hw, conv_param):
    p = conv_param["pad"]
    H, W = input_hw
    full = _input_grad_ok(dout, w, (H + 2 * p, W + 2 * p), {"stride": conv_param["stride"], "pad": 0})
    return full[:, :, :H, :W].copy()
''',
        "dw averaged over the batch": '''
_weight_grad_ok = conv2d_weight_grad
def conv2d_weight_grad(x, dout, w_shape, conv_param):
    return _weight_grad_ok(x, dout, w_shape, conv_param) / x.shape[0]
''',
        "stride and padding read from a global set by the last forward pass": '''
_LAST_CONV = {}
_conv2d_forward_ok = conv2d_forward
def conv2d_forward(x, w, b, conv_param):
    _LAST_CONV.update(conv_param)
    out, _ = _conv2d_forward_ok(x, w, b, conv_param)
    return out, (x, w)

def conv2d_backward(dout, cache):
    x, w = cache
    param = {"stride": _LAST_CONV["stride"], "pad": _LAST_CONV["pad"]}
    return (conv2d_input_grad(dout, w, x.shape[2:], param), conv2d_weight_grad(x, dout, w.shape, param),
            dout.sum(axis=(0, 2, 3)))
''',
    },
    "conv_transpose_forward": {
        "weight read as (C_out, C_in, KH, KW), like a convolution's": '''
def conv_transpose2d_forward(x, w, b, param):
    s, p, q = param["stride"], param["pad"], param["output_pad"]
    hw = (conv_transpose_output_size(x.shape[2], w.shape[2], s, p, q), conv_transpose_output_size(x.shape[3], w.shape[3], s, p, q))
    out = conv2d_input_grad(x, np.ascontiguousarray(w.transpose(1, 0, 2, 3)), hw, {"stride": s, "pad": p})
    return out + b[None, :, None, None], (x, w, param)
''',
        "zero insertion and padding without flipping the kernel": '''
def conv_transpose2d_forward(x, w, b, param):
    s, p, q = param["stride"], param["pad"], param["output_pad"]
    N, C, H, W = x.shape
    KH, KW = w.shape[2:]
    z = np.zeros((N, C, (H - 1) * s + 1, (W - 1) * s + 1))
    z[:, :, ::s, ::s] = x
    z = np.pad(z, ((0, 0), (0, 0), (KH - 1 - p, KH - 1 - p + q), (KW - 1 - p, KW - 1 - p + q)))
    out, _ = conv2d_forward(z, np.ascontiguousarray(w.transpose(1, 0, 2, 3)), b, {"stride": 1, "pad": 0})
    return out, (x, w, param)
''',
        "output padding ignored": '''
def conv_transpose2d_forward(x, w, b, param):
    s, p = param["stride"], param["pad"]
    hw = (conv_transpose_output_size(x.shape[2], w.shape[2], s, p, 0), conv_transpose_output_size(x.shape[3], w.shape[3], s, p, 0))
    out = conv2d_input_grad(x, w, hw, {"stride": s, "pad": p}) + b[None, :, None, None]
    return out, (x, w, param)
''',
        "bias forgotten": '''
_convT_forward_ok = conv_transpose2d_forward
def conv_transpose2d_forward(x, w, b, param):
    return _convT_forward_ok(x, w, np.zeros_like(b), param)
''',
        "zero insertion and flipped kernel, a negative padding clipped to 0 instead of cropping": '''
def conv_transpose2d_forward(x, w, b, param):
    s, p, q = param["stride"], param["pad"], param["output_pad"]
    N, C, H, W = x.shape
    KH, KW = w.shape[2:]
    z = np.zeros((N, C, (H - 1) * s + 1, (W - 1) * s + 1))
    z[:, :, ::s, ::s] = x
    eh, ew = max(KH - 1 - p, 0), max(KW - 1 - p, 0)
    z = np.pad(z, ((0, 0), (0, 0), (eh, eh + q), (ew, ew + q)))
    kernel = np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
    out, _ = conv2d_forward(z, kernel, b, {"stride": 1, "pad": 0})
    return out, (x, w, param)
''',
        "scatter-add into the full output, cropped only when p <= k - 1": '''
def conv_transpose2d_forward(x, w, b, param):
    s, p, q = param["stride"], param["pad"], param["output_pad"]
    N, Ci, H, W = x.shape
    _, Co, KH, KW = w.shape
    full = np.zeros((N, Co, (H - 1) * s + KH + q, (W - 1) * s + KW + q))
    for u in range(KH):
        for v in range(KW):
            full[:, :, u:u + s * (H - 1) + 1:s, v:v + s * (W - 1) + 1:s] += np.einsum("nihw,io->nohw", x, w[:, :, u, v])
    ph, pw = min(p, KH - 1), min(p, KW - 1)
    Ho, Wo = (H - 1) * s - 2 * ph + KH + q, (W - 1) * s - 2 * pw + KW + q
    return full[:, :, ph:ph + Ho, pw:pw + Wo] + b[None, :, None, None], (x, w, param)
''',
    },
    "conv_transpose_backward": {
        "dx with the flipped kernel": '''
def conv_transpose2d_backward(dout, cache):
    x, w, param = cache
    cp = {"stride": param["stride"], "pad": param["pad"]}
    dx, _ = conv2d_forward(dout, w[:, :, ::-1, ::-1].copy(), np.zeros(w.shape[0]), cp)
    return dx, conv2d_weight_grad(dout, x, w.shape, cp), dout.sum(axis=(0, 2, 3))
''',
        "db averaged over the batch": '''
def conv_transpose2d_backward(dout, cache):
    x, w, param = cache
    cp = {"stride": param["stride"], "pad": param["pad"]}
    dx, _ = conv2d_forward(dout, w, np.zeros(w.shape[0]), cp)
    return dx, conv2d_weight_grad(dout, x, w.shape, cp), dout.sum(axis=(2, 3)).mean(axis=0)
''',
        "dw with its two channel axes swapped": '''
def conv_transpose2d_backward(dout, cache):
    x, w, param = cache
    cp = {"stride": param["stride"], "pad": param["pad"]}
    dx, _ = conv2d_forward(dout, w, np.zeros(w.shape[0]), cp)
    dw = conv2d_weight_grad(dout, x, w.shape, cp).transpose(1, 0, 2, 3)
    return dx, dw, dout.sum(axis=(0, 2, 3))
''',
        "stride and padding read from a global set by the last forward pass": '''
_LAST_CONVT = {}
def conv_transpose2d_forward(x, w, b, param):
    s, p, q = param["stride"], param["pad"], param["output_pad"]
    _LAST_CONVT.update(stride=s, pad=p)
    hw = (conv_transpose_output_size(x.shape[2], w.shape[2], s, p, q), conv_transpose_output_size(x.shape[3], w.shape[3], s, p, q))
    return conv2d_input_grad(x, w, hw, {"stride": s, "pad": p}) + b[None, :, None, None], (x, w)

def conv_transpose2d_backward(dout, cache):
    x, w = cache
    cp = dict(_LAST_CONVT)
    dx, _ = conv2d_forward(dout, w, np.zeros(w.shape[0]), cp)
    return dx, conv2d_weight_grad(dout, x, w.shape, cp), dout.sum(axis=(0, 2, 3))
''',
    },
}

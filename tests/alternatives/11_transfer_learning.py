"""Correct implementations of notebook 11, written differently from the reference. Each is appended
to the solution cell of its part (so it redefines the function there) and must earn full marks for
every seed: tests/test_alternatives.py and `tests/sweep_mutants.py --alternatives`."""

ALTERNATIVES = {
    "replace_head": {
        "fork_rng of the CPU only, the last layer set by index": '''
def replace_head(model, n_classes, seed):
    in_features = model[-1].weight.shape[1]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        new_head = nn.Linear(in_features, n_classes)
    model[-1] = new_head
    return model
''',
        "global state saved and restored by hand": '''
def replace_head(model, n_classes, seed):
    saved = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        head = nn.Linear(model.head.in_features, n_classes)
    finally:
        torch.random.set_rng_state(saved)
    model.head = head
    return model
''',
        "add_module with the old head's dtype and device": '''
def replace_head(model, n_classes, seed):
    old = model.head
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        head = nn.Linear(old.in_features, n_classes, bias=True,
                         dtype=old.weight.dtype, device=old.weight.device)
    model.add_module("head", head)
    return model
''',
    },
    "freeze": {
        "one pass over named_parameters": '''
def freeze_layers(model, k):
    keep = LAYERS[len(LAYERS) - k:]
    for name, p in model.named_parameters():
        p.requires_grad = name.split(".")[0] in keep
    return model
''',
        "freeze everything, then unfreeze the last k": '''
def freeze_layers(model, k):
    model.requires_grad_(False)
    if k > 0:
        for name in LAYERS[-k:]:
            getattr(model, name).requires_grad_(True)
    return model
''',
        "by position in LAYERS": '''
def freeze_layers(model, k):
    first_trainable = len(LAYERS) - k
    for i, name in enumerate(LAYERS):
        layer = getattr(model, name)
        for p in layer.parameters():
            p.requires_grad_(i >= first_trainable)
    return model
''',
        "over named_children, layers without parameters skipped": '''
def freeze_layers(model, k):
    trainable = LAYERS[len(LAYERS) - k:]
    for child_name, child in model.named_children():
        for p in child.parameters(recurse=True):
            p.requires_grad_(child_name in trainable)
    return model
''',
    },
    "param_groups": {
        "head learning rate as the optimizer's default": '''
def make_fine_tuning_optimizer(model, head_lr, backbone_lr):
    backbone = [p for name in LAYERS[:-1] for p in getattr(model, name).parameters() if p.requires_grad]
    groups = [{"params": [model.head.weight, model.head.bias]}]
    if len(backbone) > 0:
        groups.append({"params": backbone, "lr": backbone_lr})
    return model, torch.optim.Adam(groups, lr=head_lr)
''',
        "names from named_parameters": '''
def make_fine_tuning_optimizer(model, head_lr, backbone_lr):
    named = list(model.named_parameters())
    head = [p for n, p in named if n.startswith("head.")]
    backbone = [p for n, p in named if not n.startswith("head.") and p.requires_grad]
    optimizer = torch.optim.Adam([dict(params=head, lr=float(head_lr))])
    if backbone:
        optimizer.add_param_group(dict(params=backbone, lr=float(backbone_lr)))
    return model, optimizer
''',
        "defaults written out": '''
def make_fine_tuning_optimizer(model, head_lr, backbone_lr):
    head_ids = set(map(id, model.head.parameters()))
    groups = [{"params": list(model.head.parameters()), "lr": head_lr}]
    trainable_backbone = []
    for p in model.parameters():
        if id(p) not in head_ids and p.requires_grad:
            trainable_backbone.append(p)
    if trainable_backbone:
        groups.append({"params": trainable_backbone, "lr": backbone_lr})
    optimizer = torch.optim.Adam(groups, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False)
    return model, optimizer
''',
    },
    "extract_features": {
        "a slice of the Sequential under inference_mode": '''
def extract_features(model, X, stage):
    upto = {"conv1": 3, "conv2": 6}[stage]
    with torch.inference_mode():
        h = model[:upto](as_images(X))
        out = h.reshape(h.shape[0], -1).numpy()
    return out.astype(np.float64)
''',
        "the layers called one by one, detached": '''
def extract_features(model, X, stage):
    x = torch.from_numpy(np.asarray(X, dtype=np.float32).reshape(-1, 1, 8, 8))
    h = F.max_pool2d(F.relu(model.conv1(x)), 2)
    if stage == "conv2":
        h = F.max_pool2d(F.relu(model.conv2(h)), 2)
    return h.detach().flatten(1).double().numpy()
''',
        "a float64 copy of the model": '''
import copy as _copy
def extract_features(model, X, stage):
    twin = _copy.deepcopy(model).double()
    h = torch.from_numpy(np.array(X, dtype=np.float64).reshape(-1, 1, 8, 8))
    with torch.no_grad():
        for name in ("conv1", "relu1", "pool1", "conv2", "relu2", "pool2")[:3 if stage == "conv1" else 6]:
            h = getattr(twin, name)(h)
    return h.reshape(len(h), -1).numpy()
''',
        "eval mode, then the previous mode restored": '''
def extract_features(model, X, stage):
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            h = as_images(X)
            for name, layer in model.named_children():
                h = layer(h)
                if name == ("pool1" if stage == "conv1" else "pool2"):
                    break
    finally:
        model.train(was_training)
    return np.array(h.flatten(1), dtype=np.float64)
''',
    },
}

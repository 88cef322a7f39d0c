"""Plausible wrong implementations for notebook 11. Each is appended to the solution cell of its
part (so it redefines the function there); the hidden checks must take that part's points away and
leave every part that does not call the broken function untouched."""

# The optimizer is checked on models frozen by the student's own freeze_layers.
DEPENDS = {"param_groups": ["freeze"]}

MUTANTS = {
    "replace_head": {
        "head initialized to zeros": '''
def replace_head(model, n_classes, seed):
    model.head = nn.Linear(model.head.in_features, n_classes)
    nn.init.zeros_(model.head.weight)
    nn.init.zeros_(model.head.bias)
    return model
''',
        "ignores the seed (global random state)": '''
def replace_head(model, n_classes, seed):
    model.head = nn.Linear(model.head.in_features, n_classes)
    return model
''',
        "new head without a bias": '''
def replace_head(model, n_classes, seed):
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model.head = nn.Linear(model.head.in_features, n_classes, bias=False)
    return model
''',
        "old head kept when the number of classes is unchanged": '''
def replace_head(model, n_classes, seed):
    if model.head.out_features != n_classes:
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            model.head = nn.Linear(model.head.in_features, n_classes)
    return model
''',
        "manual_seed without fork_rng (global random state changed)": '''
def replace_head(model, n_classes, seed):
    torch.manual_seed(seed)
    model.head = nn.Linear(model.head.in_features, n_classes)
    return model
''',
        "Xavier initialization on top of the seeded layer": '''
def replace_head(model, n_classes, seed):
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model.head = nn.Linear(model.head.in_features, n_classes)
        nn.init.xavier_uniform_(model.head.weight)
    return model
''',
        "unfreezes the whole model": '''
def replace_head(model, n_classes, seed):
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model.head = nn.Linear(model.head.in_features, n_classes)
    model.requires_grad_(True)
    return model
''',
        "returns a modified copy, the argument keeps its old head": '''
import copy as _copy
def replace_head(model, n_classes, seed):
    model = _copy.deepcopy(model)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model.head = nn.Linear(model.head.in_features, n_classes)
    return model
''',
        "head seeded from seed + n_classes": '''
def replace_head(model, n_classes, seed):
    with torch.random.fork_rng():
        torch.manual_seed(seed + n_classes)
        model.head = nn.Linear(model.head.in_features, n_classes)
    return model
''',
    },
    "freeze": {
        "LAYERS[-k:] (k = 0 unfreezes everything)": '''
def freeze_layers(model, k):
    trainable = set(LAYERS[-k:])
    for name in LAYERS:
        for p in getattr(model, name).parameters():
            p.requires_grad_(name in trainable)
    return model
''',
        "never unfreezes (only freezes the first layers)": '''
def freeze_layers(model, k):
    for name in LAYERS[:len(LAYERS) - k]:
        for p in getattr(model, name).parameters():
            p.requires_grad_(False)
    return model
''',
        "off by one: the last k + 1 layers trainable": '''
def freeze_layers(model, k):
    trainable = set(LAYERS[max(len(LAYERS) - k - 1, 0):]) if k > 0 else set()
    for name in LAYERS:
        for p in getattr(model, name).parameters():
            p.requires_grad_(name in trainable)
    return model
''',
        "freezes the weights only, biases stay trainable": '''
def freeze_layers(model, k):
    trainable = set(LAYERS[len(LAYERS) - k:])
    for name in LAYERS:
        layer = getattr(model, name)
        layer.weight.requires_grad_(name in trainable)
        layer.bias.requires_grad_(True)
    return model
''',
        "also switches the model to eval mode": '''
def freeze_layers(model, k):
    trainable = set(LAYERS[len(LAYERS) - k:])
    for name in LAYERS:
        for p in getattr(model, name).parameters():
            p.requires_grad_(name in trainable)
    model.eval()
    return model
''',
        "returns a frozen copy, the argument is unchanged": '''
import copy as _copy
def freeze_layers(model, k):
    model = _copy.deepcopy(model)
    trainable = set(LAYERS[len(LAYERS) - k:])
    for name in LAYERS:
        for p in getattr(model, name).parameters():
            p.requires_grad_(name in trainable)
    return model
''',
        "re-initializes the trainable layers": '''
def freeze_layers(model, k):
    trainable = set(LAYERS[len(LAYERS) - k:])
    for name in LAYERS:
        layer = getattr(model, name)
        if name in trainable:
            layer.reset_parameters()
        for p in layer.parameters():
            p.requires_grad_(name in trainable)
    return model
''',
    },
    "param_groups": {
        "learning rates swapped": '''
def make_fine_tuning_optimizer(model, head_lr, backbone_lr):
    head_ids = {id(p) for p in model.head.parameters()}
    backbone = [p for p in model.parameters() if p.requires_grad and id(p) not in head_ids]
    groups = [{"params": list(model.head.parameters()), "lr": backbone_lr}]
    if backbone:
        groups.append({"params": backbone, "lr": head_lr})
    return model, torch.optim.Adam(groups)
''',
        "one group with the head's learning rate": '''
def make_fine_tuning_optimizer(model, head_lr, backbone_lr):
    return model, torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=head_lr)
''',
        "frozen parameters included in the backbone group": '''
def make_fine_tuning_optimizer(model, head_lr, backbone_lr):
    head_ids = {id(p) for p in model.head.parameters()}
    backbone = [p for p in model.parameters() if id(p) not in head_ids]
    return model, torch.optim.Adam([{"params": list(model.head.parameters()), "lr": head_lr},
                                    {"params": backbone, "lr": backbone_lr}])
''',
        "SGD instead of Adam": '''
def make_fine_tuning_optimizer(model, head_lr, backbone_lr):
    head_ids = {id(p) for p in model.head.parameters()}
    backbone = [p for p in model.parameters() if p.requires_grad and id(p) not in head_ids]
    groups = [{"params": list(model.head.parameters()), "lr": head_lr}]
    if backbone:
        groups.append({"params": backbone, "lr": backbone_lr})
    return model, torch.optim.SGD(groups)
''',
        "head group filtered by requires_grad (empty group 0 when k = 0)": '''
def make_fine_tuning_optimizer(model, head_lr, backbone_lr):
    head = [p for p in model.head.parameters() if p.requires_grad]
    head_ids = {id(p) for p in model.head.parameters()}
    backbone = [p for p in model.parameters() if p.requires_grad and id(p) not in head_ids]
    groups = [{"params": head, "lr": head_lr}]
    if backbone:
        groups.append({"params": backbone, "lr": backbone_lr})
    return model, torch.optim.Adam(groups)
''',
        "unfreezes the head so that it can be trained": '''
def make_fine_tuning_optimizer(model, head_lr, backbone_lr):
    model.head.requires_grad_(True)
    head_ids = {id(p) for p in model.head.parameters()}
    backbone = [p for p in model.parameters() if p.requires_grad and id(p) not in head_ids]
    groups = [{"params": list(model.head.parameters()), "lr": head_lr}]
    if backbone:
        groups.append({"params": backbone, "lr": backbone_lr})
    return model, torch.optim.Adam(groups)
''',
        "weight decay added": '''
def make_fine_tuning_optimizer(model, head_lr, backbone_lr):
    head_ids = {id(p) for p in model.head.parameters()}
    backbone = [p for p in model.parameters() if p.requires_grad and id(p) not in head_ids]
    groups = [{"params": list(model.head.parameters()), "lr": head_lr}]
    if backbone:
        groups.append({"params": backbone, "lr": backbone_lr})
    return model, torch.optim.Adam(groups, weight_decay=1e-4)
''',
        "backbone group first": '''
def make_fine_tuning_optimizer(model, head_lr, backbone_lr):
    head_ids = {id(p) for p in model.head.parameters()}
    backbone = [p for p in model.parameters() if p.requires_grad and id(p) not in head_ids]
    groups = [{"params": backbone, "lr": backbone_lr}] if backbone else []
    groups.append({"params": list(model.head.parameters()), "lr": head_lr})
    return model, torch.optim.Adam(groups)
''',
        "empty backbone group kept when the backbone is frozen": '''
def make_fine_tuning_optimizer(model, head_lr, backbone_lr):
    head_ids = {id(p) for p in model.head.parameters()}
    backbone = [p for p in model.parameters() if p.requires_grad and id(p) not in head_ids]
    return model, torch.optim.Adam([{"params": list(model.head.parameters()), "lr": head_lr},
                                    {"params": backbone, "lr": backbone_lr}])
''',
        "switches the model to eval mode": '''
_groups_ok = make_fine_tuning_optimizer
def make_fine_tuning_optimizer(model, head_lr, backbone_lr):
    model.eval()
    return _groups_ok(model, head_lr, backbone_lr)
''',
    },
    "extract_features": {
        "returns float32": '''
_extract_ok = extract_features
def extract_features(model, X, stage):
    return _extract_ok(model, X, stage).astype(np.float32)
''',
        "features before the ReLU": '''
def extract_features(model, X, stage):
    h = as_images(X)
    with torch.no_grad():
        h = model.pool1(model.conv1(h))
        if stage == "conv2":
            h = model.pool2(model.conv2(model.relu1(h)))
    return h.flatten(1).numpy().astype(np.float64)
''',
        "not flattened": '''
def extract_features(model, X, stage):
    last = {"conv1": "pool1", "conv2": "pool2"}[stage]
    h = as_images(X)
    with torch.no_grad():
        for name, layer in model.named_children():
            h = layer(h)
            if name == last:
                break
    return h.numpy().astype(np.float64)
''',
        "stops before the pooling": '''
def extract_features(model, X, stage):
    last = {"conv1": "relu1", "conv2": "relu2"}[stage]
    h = as_images(X)
    with torch.no_grad():
        for name, layer in model.named_children():
            h = layer(h)
            if name == last:
                break
    return h.flatten(1).numpy().astype(np.float64)
''',
        "converts the model to float64 in place": '''
def extract_features(model, X, stage):
    last = {"conv1": "pool1", "conv2": "pool2"}[stage]
    h = torch.as_tensor(np.asarray(X, dtype=np.float64).reshape(-1, 1, 8, 8))
    model.double()
    with torch.no_grad():
        for name, layer in model.named_children():
            h = layer(h)
            if name == last:
                break
    return h.flatten(1).numpy()
''',
        "leaves the model in eval mode": '''
_extract_ok = extract_features
def extract_features(model, X, stage):
    model.eval()
    return _extract_ok(model, X, stage)
''',
        "freezes the model": '''
_extract_ok = extract_features
def extract_features(model, X, stage):
    model.requires_grad_(False)
    return _extract_ok(model, X, stage)
''',
        "scales X in place to [0, 1] by its maximum": '''
_extract_ok = extract_features
def extract_features(model, X, stage):
    X /= max(X.max(), 1e-12)
    return _extract_ok(model, X, stage)
''',
        "squeezes a single image to one dimension": '''
_extract_ok = extract_features
def extract_features(model, X, stage):
    return _extract_ok(model, X, stage).squeeze()
''',
    },
}

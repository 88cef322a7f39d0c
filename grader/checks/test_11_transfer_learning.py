"""Hidden checks of notebook 11, transfer learning.

The student's functions receive torch models built in their kernel by the notebook's given
`make_model` (through `Build`), and return models (and optimizers) that come back as plain data:
parameter names, requires_grad flags and values (`ModuleState`), parameter groups with their names and
learning rates (`OptimizerState`). Behaviour is verified here, in the grader's process: the returned
description is loaded into the reference architecture, a training step is run here, and what moved
and what received a gradient is compared with what should. Exact accuracies are never checked.
"""
import numpy as np
import torch
import torch.nn.functional as F

from grader.harness import CheckFailure, expect_array, expect_close, expect_tuple, part
from grader.wire import Build, ModuleState, OptimizerState

NAMES = ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "head.weight", "head.bias"]
LAYER_OF = {name: name.split(".")[0] for name in NAMES}
LAYERS = ("conv1", "conv2", "head")
FEATURE_RTOL, FEATURE_ATOL = 1e-5, 1e-6  # float32 computations in a possibly different order


def model_arg(seed, n_classes=5, pretrained=False):
    return Build("make_model", (n_classes,), {"seed": int(seed), "pretrained": pretrained})


def expect_module(got, name) -> ModuleState:
    if not isinstance(got, ModuleState):
        raise CheckFailure(f"{name} returned {type(got).__name__}; expected the model (an nn.Module)")
    if list(got.params) != NAMES:
        raise CheckFailure(f"{name} returned a model with parameters {list(got.params)}; expected {NAMES}")
    return got


def values(state: ModuleState, pname):
    return np.asarray(state.params[pname][1], dtype=np.float64)


def flags(state: ModuleState):
    return {pname: state.params[pname][0] for pname in NAMES}


def torch_model(ref, state: ModuleState):
    """The reference architecture holding the returned values and requires_grad flags."""
    n_classes = state.params["head.bias"][1].shape[0]
    model = ref.make_model(n_classes, seed=0)
    with torch.no_grad():
        for pname, p in model.named_parameters():
            p.copy_(torch.from_numpy(np.array(state.params[pname][1], dtype=np.float32)))
            p.requires_grad_(state.params[pname][0])
    return model


def expected_trainable(k):
    keep = set(LAYERS[len(LAYERS) - k:])
    return {pname: LAYER_OF[pname] in keep for pname in NAMES}


def backbone_equal(state, ref, seed, case):
    want = dict(ref.make_model(5, seed=seed).named_parameters())
    for pname in NAMES[:4]:
        expect_close(values(state, pname), want[pname].detach().numpy(), f"{pname}", case, rtol=0, atol=0)


# -- replace_head -----------------------------------------------------------------------------------
@part("replace_head")
def test_replace_head_shapes_and_rest_unchanged(student, ref, rng):
    """replace_head gives a trainable head of shape (n_classes, 128) and leaves the backbone alone"""
    for _ in range(3):
        seed, n_classes = int(rng.integers(0, 10_000)), int(rng.integers(1, 12))
        state = expect_module(student.replace_head(model_arg(seed), n_classes, int(rng.integers(0, 10_000))),
                              "replace_head")
        expect_array(state.params["head.weight"][1], (n_classes, 128), "head.weight")
        expect_array(state.params["head.bias"][1], (n_classes,), "head.bias")
        if not (state.params["head.weight"][0] and state.params["head.bias"][0]):
            raise CheckFailure("replace_head: the new head must be trainable (requires_grad True)")
        backbone_equal(state, ref, seed, "the backbone after replace_head")
        if not all(flags(state)[p] for p in NAMES[:4]):
            raise CheckFailure("replace_head changed the freezing of the backbone")


@part("replace_head")
def test_replace_head_is_seeded_and_freshly_initialized(student, ref, rng):
    """replace_head initializes the head like nn.Linear, reproducibly from its seed"""
    model_seed, s1 = int(rng.integers(0, 10_000)), int(rng.integers(0, 10_000))
    s2 = s1 + 1 + int(rng.integers(0, 100))
    a = expect_module(student.replace_head(model_arg(model_seed), 5, s1), "replace_head")
    b = expect_module(student.replace_head(model_arg(model_seed), 5, s1), "replace_head")
    c = expect_module(student.replace_head(model_arg(model_seed), 5, s2), "replace_head")
    for pname in ("head.weight", "head.bias"):
        expect_close(values(a, pname), values(b, pname), pname, "two calls with the same seed", rtol=0, atol=0)
        if np.array_equal(values(a, pname), values(c, pname)):
            raise CheckFailure(f"replace_head: {pname} is the same for two different seeds")
    old = ref.make_model(5, seed=model_seed)
    if np.allclose(values(a, "head.weight"), old.head.weight.detach().numpy()):
        raise CheckFailure("replace_head kept the old head's weights: initialize a new layer")
    # nn.Linear's default: weight and bias uniform in +-1/sqrt(128). The sample std of 640 (128 for the
    # bias) uniform draws is bound/sqrt(3) = 0.577 bound within a few percent; below 0.3 bound has a
    # probability far under 1e-6, and a zero or constant init has std 0.
    bound = 1 / np.sqrt(128)
    for pname, size in (("head.weight", 640), ("head.bias", 5)):
        v = values(a, pname)
        if np.abs(v).max() > bound * (1 + 1e-6):
            raise CheckFailure(f"replace_head: {pname} is outside nn.Linear's initialization range +-1/sqrt(128)")
    if values(a, "head.weight").std() < 0.3 * bound:
        raise CheckFailure("replace_head: head.weight is not spread like nn.Linear's default initialization")


# -- freeze_layers ----------------------------------------------------------------------------------
def one_training_step(ref, state, rng):
    """Load the returned model here, run one SGD step on random data, report grads and moves."""
    model = torch_model(ref, state)
    trainable = [p for p in model.parameters() if p.requires_grad]
    before = {pname: p.detach().clone() for pname, p in model.named_parameters()}
    x = torch.from_numpy(rng.uniform(0, 1, size=(8, 1, 8, 8)).astype(np.float32))
    y = torch.from_numpy(rng.integers(0, 5, size=8))
    if trainable:
        opt = torch.optim.SGD(trainable, lr=0.5)
        F.cross_entropy(model(x), y).backward()
        opt.step()
    got_grad = {pname: p.grad is not None for pname, p in model.named_parameters()}
    moved = {pname: not torch.equal(p.detach(), before[pname]) for pname, p in model.named_parameters()}
    return got_grad, moved


@part("freeze")
def test_freeze_layers_flags(student, ref, rng):
    """freeze_layers(model, k) leaves exactly the last k layers trainable, for every k"""
    for k in range(len(LAYERS) + 1):
        seed = int(rng.integers(0, 10_000))
        state = expect_module(student.freeze_layers(model_arg(seed), k), "freeze_layers")
        got, want = flags(state), expected_trainable(k)
        if got != want:
            wrong = [p for p in NAMES if got[p] != want[p]]
            raise CheckFailure(f"freeze_layers(model, k={k}): wrong requires_grad for {wrong}")
        backbone_equal(state, ref, seed, f"values after freeze_layers (k={k})")


@part("freeze")
def test_freeze_layers_unfreezes(student, rng):
    """freeze_layers also unfreezes: the result depends only on k, not on the previous state"""
    for k_first, k in ((1, 3), (3, 0), (2, 1), (0, 2)):
        inner = Build("freeze_layers", (model_arg(int(rng.integers(0, 10_000))), k_first))
        state = expect_module(student.freeze_layers(inner, k), "freeze_layers")
        if flags(state) != expected_trainable(k):
            raise CheckFailure(f"freeze_layers(model, k={k}) on a model frozen with k={k_first} "
                               "gives the wrong requires_grad flags")


@part("freeze")
def test_frozen_parameters_do_not_change(student, ref, rng):
    """after a training step, frozen parameters are unchanged and only the intended ones got gradients"""
    for k in (1, 2):
        state = expect_module(student.freeze_layers(model_arg(int(rng.integers(0, 10_000))), k), "freeze_layers")
        got_grad, moved = one_training_step(ref, state, rng)
        want = expected_trainable(k)
        for pname in NAMES:
            if got_grad[pname] != want[pname]:
                raise CheckFailure(f"after freeze_layers(model, k={k}) and a training step, {pname} "
                                   f"{'received' if got_grad[pname] else 'did not receive'} a gradient")
            if not want[pname] and moved[pname]:
                raise CheckFailure(f"after freeze_layers(model, k={k}), the frozen {pname} changed in a training step")


# -- parameter groups -------------------------------------------------------------------------------
def optimizer_for(student, rng, k, head_lr, backbone_lr):
    model = Build("freeze_layers", (model_arg(int(rng.integers(0, 10_000))), k))
    got = expect_tuple(student.make_fine_tuning_optimizer(model, head_lr, backbone_lr), 2,
                       "make_fine_tuning_optimizer")
    state = expect_module(got[0], "make_fine_tuning_optimizer (first value)")
    opt = got[1]
    if not isinstance(opt, OptimizerState):
        raise CheckFailure(f"make_fine_tuning_optimizer returned {type(opt).__name__} as its second value; "
                           "expected a torch optimizer")
    if opt.cls != "Adam":
        raise CheckFailure(f"make_fine_tuning_optimizer built a {opt.cls} optimizer; expected torch.optim.Adam")
    return state, opt


def group_names(opt, i):
    return [name.split(".", 1)[1] if name.startswith("0.") else name for name in opt.groups[i]["params"]]


@part("param_groups")
def test_parameter_groups_and_learning_rates(student, rng):
    """the head and the trainable backbone are in their own groups, with their own learning rates"""
    for k in (3, 2, 1):
        head_lr = float(10 ** rng.uniform(-3, -1))
        backbone_lr = head_lr * float(10 ** rng.uniform(-2, -0.5))
        state, opt = optimizer_for(student, rng, k, head_lr, backbone_lr)
        want_backbone = [p for p in NAMES[:4] if expected_trainable(k)[p]]
        n_groups = 2 if want_backbone else 1
        case = f"k = {k}"
        if len(opt.groups) != n_groups:
            raise CheckFailure(f"make_fine_tuning_optimizer ({case}): {len(opt.groups)} parameter groups, "
                               f"expected {n_groups}")
        if group_names(opt, 0) != ["head.weight", "head.bias"]:
            raise CheckFailure(f"make_fine_tuning_optimizer ({case}): group 0 must hold head.weight and head.bias")
        expect_close(opt.groups[0]["hyper"].get("lr"), head_lr, "learning rate of group 0 (head)", case,
                     rtol=1e-12, atol=0)
        if want_backbone:
            if group_names(opt, 1) != want_backbone:
                raise CheckFailure(f"make_fine_tuning_optimizer ({case}): group 1 must hold exactly the trainable "
                                   "backbone parameters, in model order")
            expect_close(opt.groups[1]["hyper"].get("lr"), backbone_lr, "learning rate of group 1 (backbone)", case,
                         rtol=1e-12, atol=0)
        if flags(state) != expected_trainable(k):
            raise CheckFailure(f"make_fine_tuning_optimizer ({case}) changed the freezing of the model")


@part("param_groups")
def test_one_adam_step_with_the_groups(student, ref, rng):
    """one Adam step with the returned groups moves each parameter by its group's rate, frozen ones not at all"""
    head_lr, backbone_lr = 1e-2, 1e-4
    state, opt = optimizer_for(student, rng, 2, head_lr, backbone_lr)
    model = torch_model(ref, state)
    by_name = dict(model.named_parameters())
    groups = [{"params": [by_name[n] for n in group_names(opt, i)], "lr": float(opt.groups[i]["hyper"]["lr"])}
              for i in range(len(opt.groups))]
    adam = torch.optim.Adam(groups)
    before = {n: p.detach().clone() for n, p in by_name.items()}
    x = torch.from_numpy(rng.uniform(0, 1, size=(16, 1, 8, 8)).astype(np.float32))
    F.cross_entropy(model(x), torch.from_numpy(rng.integers(0, 5, size=16))).backward()
    adam.step()
    for pname, p in by_name.items():
        step = float((p.detach() - before[pname]).abs().max())
        if pname.startswith("conv1"):
            if step != 0:
                raise CheckFailure(f"the frozen {pname} changed in a training step")
        else:
            lr = head_lr if pname.startswith("head") else backbone_lr
            if not 0.3 * lr < step <= lr * 1.001:  # Adam's first step is lr * g / (|g| + eps), about lr
                raise CheckFailure(f"{pname} moved by {step:.3g} in one Adam step; its group's learning rate "
                                   "should make it move by about that rate")


# -- feature extraction -----------------------------------------------------------------------------
def reference_features(ref, seed, pretrained, X, stage):
    model = ref.make_model(5, seed=seed, pretrained=pretrained)
    upto = {"conv1": 3, "conv2": 6}[stage]
    with torch.no_grad():
        h = model[:upto](torch.from_numpy(np.asarray(X, dtype=np.float32).reshape(-1, 1, 8, 8)))
    return h.flatten(1).double().numpy()


@part("extract_features")
def test_extract_features_matches_the_network(student, ref, rng):
    """extract_features returns the flattened activations after each stage's ReLU and pooling, in float64"""
    for pretrained in (True, False):
        seed = int(rng.integers(0, 10_000))
        n = int(rng.integers(1, 20))
        X = rng.uniform(0, 1, size=(n, 64))
        for stage, width in (("conv1", 256), ("conv2", 128)):
            got = student.extract_features(model_arg(seed, pretrained=pretrained), X, stage)
            got = expect_array(got, (n, width), f"extract_features(stage={stage!r})")
            if got.dtype != np.float64:
                raise CheckFailure(f"extract_features returned dtype {got.dtype}; expected float64")
            expect_close(got, reference_features(ref, seed, pretrained, X, stage), "extract_features",
                         f"stage {stage}, {'pretrained' if pretrained else 'random'} network",
                         rtol=FEATURE_RTOL, atol=FEATURE_ATOL)


@part("extract_features")
def test_extract_features_single_image_and_leaves_input(student, ref, rng):
    """extract_features works on one image and does not modify X"""
    X = rng.uniform(0, 1, size=(1, 64))
    got, after = student.call_keeping_args("extract_features", model_arg(0, pretrained=True), X, "conv2")
    expect_close(got, reference_features(ref, 0, True, X, "conv2"), "extract_features", "a single image",
                 rtol=FEATURE_RTOL, atol=FEATURE_ATOL)
    if not (type(after[1]) is np.ndarray and np.array_equal(after[1], X)):
        raise CheckFailure("extract_features modified its argument X in place")

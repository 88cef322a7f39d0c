"""Hidden checks of notebook 11, transfer learning.

The student's functions receive torch models built in their kernel by the notebook's given
`make_model` (through `Build`), and return models (and optimizers) that come back as plain data:
parameter names, requires_grad flags and values with their dtype, buffers and the training flag
(`ModuleState`), parameter groups with their names and hyperparameters (`OptimizerState`). The
argument as the kernel holds it after the call comes back the same way, so "in place", "the same
object" and "the model is unchanged" are checked on what the kernel really holds. Behaviour is
verified here, in the grader's process: the returned description is loaded into the reference
architecture, a training step is run here, and what moved and what received a gradient is compared
with what should. Exact accuracies are never checked.
"""
import numpy as np
import torch
import torch.nn.functional as F

from grader.harness import (CheckFailure, expect_array, expect_close, expect_no_alias, expect_rng_untouched,
                            expect_tuple, expect_unchanged, part)
from grader.kernel import StudentMissing, StudentRaised
from grader.wire import Build, ModuleState, OptimizerState

NAMES = ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "head.weight", "head.bias"]
LAYER_OF = {name: name.split(".")[0] for name in NAMES}
LAYERS = ("conv1", "conv2", "head")
# Features are compared entrywise within FEATURE_TOL * max(1, largest |feature| of the batch): float32
# arithmetic in another order, or float64 arithmetic on a copy of the model, stays below 1e-6 of the
# largest feature (measured: 6.4e-7 at worst); every wrong stage or missing ReLU is off by far more.
FEATURE_TOL = 1e-5
ADAM_DEFAULTS = {"betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False, "maximize": False}


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


def state_of(model) -> ModuleState:
    """A torch model of this process described like the kernel describes one."""
    return ModuleState(type(model).__qualname__, bool(model.training),
                       {n: (bool(p.requires_grad), p.detach().numpy().copy()) for n, p in model.named_parameters()},
                       {n: b.detach().numpy().copy() for n, b in model.named_buffers()})


def same_state(got: ModuleState, want: ModuleState, pnames=NAMES, *, grads=True, mode=True):
    """What differs between two model descriptions (parameter values bit for bit, dtypes,
    requires_grad flags, buffers, training mode), as a short phrase, or None."""
    for pname in pnames:
        (g_flag, g), (w_flag, w) = got.params[pname], want.params[pname]
        if g.dtype != w.dtype:
            return f"the dtype of {pname} ({w.dtype} became {g.dtype})"
        if g.shape != w.shape or not np.array_equal(g, w):
            return f"the values of {pname}"
        if grads and g_flag != w_flag:
            return f"the requires_grad flag of {pname}"
    if mode and got.training != want.training:
        return f"the training mode (model.training was {want.training}, became {got.training})"
    if set(got.buffers) != set(want.buffers) or any(not np.array_equal(got.buffers[b], want.buffers[b])
                                                    for b in want.buffers):
        return "the model's buffers"
    return None


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


def same_object(result: ModuleState, after, name):
    """The argument, as the kernel holds it after the call, is the returned model (changed in place)."""
    if not isinstance(after, ModuleState) or same_state(after, result) is not None:
        raise CheckFailure(f"{name}: the model it received is not the model it returned; modify the model "
                           "in place and return that same object (not a copy)")


# -- replace_head -----------------------------------------------------------------------------------
@part("replace_head",
      states=["nn.Linear(model.head.in_features, n_classes)", "the new head is trainable"],
      shown=["check_shape(model.head.weight, (3, 128)", "the new head must be trainable"])
def test_replace_head_shapes_and_trainable(student, ref, rng):
    """replace_head gives a trainable head of shape (n_classes, 128)"""
    for n_classes in (1, int(rng.integers(2, 12)), 5):
        seed = int(rng.integers(0, 10_000))
        state = expect_module(student.replace_head(model_arg(seed, pretrained=bool(rng.integers(0, 2))), n_classes,
                                                   int(rng.integers(0, 10_000))), "replace_head")
        expect_array(state.params["head.weight"][1], (n_classes, 128), "head.weight")
        expect_array(state.params["head.bias"][1], (n_classes,), "head.bias")
        if not (state.params["head.weight"][0] and state.params["head.bias"][0]):
            raise CheckFailure("replace_head: the new head must be trainable (requires_grad True)")


@part("replace_head",
      states=["the new head is exactly the nn.Linear(in_features, n_classes) that torch creates right after "
              "torch.manual_seed(seed)", "the same seed gives the same head"],
      shown=["the head is exactly the nn.Linear made right after torch.manual_seed(seed)"])
def test_replace_head_is_the_seeded_linear(student, ref, rng):
    """replace_head's new head is nn.Linear's default initialization right after torch.manual_seed(seed)"""
    for n_classes in (5, int(rng.integers(1, 12))):
        model_seed, seed = int(rng.integers(0, 10_000)), int(rng.integers(0, 10_000))
        for call in ("a first call", "a second call with the same seed"):
            state = expect_module(student.replace_head(model_arg(model_seed), n_classes, seed), "replace_head")
            want = state_of(ref.replace_head(ref.make_model(5, seed=model_seed), n_classes, seed))
            for pname in ("head.weight", "head.bias"):
                got = values(state, pname)
                if got.shape != want.params[pname][1].shape or not np.array_equal(got, want.params[pname][1]):
                    old = state_of(ref.make_model(5, seed=model_seed)).params[pname][1]
                    hint = ("it is the old head: create a new layer" if got.shape == old.shape
                            and np.array_equal(got, old) else
                            "create the layer right after torch.manual_seed(seed), drawing nothing in between, "
                            "and keep nn.Linear's own initialization")
                    raise CheckFailure(f"replace_head ({call}): {pname} is not the one nn.Linear(128, n_classes) "
                                       f"gets right after torch.manual_seed(seed); {hint}")


@part("replace_head",
      states=["replace_head leaves the global random state as it was"],
      shown=["replace_head leaves the global random state (torch, numpy, random) as it was"])
def test_replace_head_leaves_the_global_random_state(student, rng):
    """replace_head leaves the global random generators of torch, numpy and Python alone"""
    _, _, seen = student.observe("replace_head", model_arg(int(rng.integers(0, 10_000))),
                                 int(rng.integers(1, 12)), int(rng.integers(0, 10_000)))
    expect_rng_untouched(seen, "replace_head")


def student_frozen(student, seed, k):
    """The model the student's freeze_layers(make_model(5, seed), k) gives, or None when it is missing
    or raises (then replace_head is checked on unfrozen models only: its points do not depend on
    another part being done)."""
    try:
        got = student.freeze_layers(model_arg(seed), k)
    except (StudentRaised, StudentMissing):
        return None
    return got if isinstance(got, ModuleState) and list(got.params) == NAMES else None


@part("replace_head",
      states=["nothing else changes", "keep their values, dtype and requires_grad flags",
              "a partly frozen model stays partly frozen", "modifies the model it receives and returns that same "
              "object"],
      shown=["nothing else changes: a partly frozen model in eval mode", "replace_head must return the model "
             "it received"])
def test_replace_head_changes_nothing_else(student, ref, rng):
    """replace_head leaves the backbone (values, dtype, flags) and the mode alone, and works in place"""
    seed = int(rng.integers(0, 10_000))
    for pretrained in (True, False):
        got, after = student.call_keeping_args("replace_head", model_arg(seed, pretrained=pretrained),
                                               int(rng.integers(1, 12)), int(rng.integers(0, 10_000)))
        state = expect_module(got, "replace_head")
        what = same_state(state, state_of(ref.make_model(5, seed=seed, pretrained=pretrained)), NAMES[:4])
        if what:
            raise CheckFailure(f"replace_head changed {what}: nothing but the head may change")
        same_object(state, after[0], "replace_head")
    for k in (1, 2):  # a partly frozen backbone stays as it was
        frozen = student_frozen(student, seed, k)
        if frozen is None:
            continue
        state = expect_module(student.replace_head(Build("freeze_layers", (model_arg(seed), k)), 5, 0),
                              "replace_head")
        changed = [p for p in NAMES[:4] if flags(state)[p] != flags(frozen)[p]]
        if changed:
            raise CheckFailure(f"replace_head on a partly frozen model changed the requires_grad flags of {changed}: "
                               "a partly frozen model must stay partly frozen")


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


@part("freeze",
      states=["makes the last k layers of LAYERS trainable and freezes all the others", "k = 0 nothing",
              "k = len(LAYERS) trains everything"],
      shown=["for k, want in expected.items()"])
def test_freeze_layers_flags(student, ref, rng):
    """freeze_layers(model, k) leaves exactly the last k layers trainable, for every k"""
    for k in range(len(LAYERS) + 1):
        seed = int(rng.integers(0, 10_000))
        state = expect_module(student.freeze_layers(model_arg(seed, pretrained=bool(k % 2)), k), "freeze_layers")
        got, want = flags(state), expected_trainable(k)
        if got != want:
            wrong = [p for p in NAMES if got[p] != want[p]]
            raise CheckFailure(f"freeze_layers(model, k={k}): wrong requires_grad for {wrong}")


@part("freeze",
      states=["It must also unfreeze", "the result must depend only on k"],
      shown=["Unfreezing: the result depends only on k"])
def test_freeze_layers_unfreezes(student, rng):
    """freeze_layers also unfreezes: the result depends only on k, not on the previous state"""
    for k_first, k in ((1, 3), (3, 0), (2, 1), (0, 2), (1, 2), (2, 3)):
        inner = Build("freeze_layers", (model_arg(int(rng.integers(0, 10_000))), k_first))
        state = expect_module(student.freeze_layers(inner, k), "freeze_layers")
        if flags(state) != expected_trainable(k):
            raise CheckFailure(f"freeze_layers(model, k={k}) on a model frozen with k={k_first} "
                               "gives the wrong requires_grad flags")


@part("freeze",
      states=["makes the last k layers of LAYERS trainable and freezes all the others"],
      shown=["A training step: frozen parameters get no gradient"])
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


@part("freeze",
      states=["freeze_layers changes nothing but the requires_grad flags", "training mode",
              "modifies the model in place and returns that same object"],
      shown=["freeze_layers changes nothing but the flags", "freeze_layers must return the model it received"])
def test_freeze_layers_changes_nothing_else(student, ref, rng):
    """freeze_layers changes only requires_grad (not values, dtypes or the mode) and works in place"""
    for k in range(len(LAYERS) + 1):
        seed, pretrained = int(rng.integers(0, 10_000)), bool(rng.integers(0, 2))
        got, after = student.call_keeping_args("freeze_layers", model_arg(seed, pretrained=pretrained), k)
        state = expect_module(got, "freeze_layers")
        what = same_state(state, state_of(ref.make_model(5, seed=seed, pretrained=pretrained)), grads=False)
        if what:
            raise CheckFailure(f"freeze_layers(model, k={k}) changed {what}: only the requires_grad flags may change")
        same_object(state, after[0], "freeze_layers")


# -- parameter groups -------------------------------------------------------------------------------
def optimizer_for(student, rng, k, head_lr, backbone_lr, seed=None, keep_args=False):
    seed = int(rng.integers(0, 10_000)) if seed is None else seed
    model = Build("freeze_layers", (model_arg(seed), k))
    if keep_args:
        got, after = student.call_keeping_args("make_fine_tuning_optimizer", model, head_lr, backbone_lr)
    else:
        got, after = student.make_fine_tuning_optimizer(model, head_lr, backbone_lr), None
    got = expect_tuple(got, 2, "make_fine_tuning_optimizer")
    state = expect_module(got[0], "make_fine_tuning_optimizer (first value)")
    opt = got[1]
    if not isinstance(opt, OptimizerState):
        raise CheckFailure(f"make_fine_tuning_optimizer returned {type(opt).__name__} as its second value; "
                           "expected a torch optimizer")
    if opt.cls != "Adam":
        raise CheckFailure(f"make_fine_tuning_optimizer built a {opt.cls} optimizer; expected torch.optim.Adam")
    return (state, opt, after) if keep_args else (state, opt)


def group_names(opt, i):
    return [name.split(".", 1)[1] if name.startswith("0.") else name for name in opt.groups[i]["params"]]


@part("param_groups",
      states=["group 0: the parameters of model.head (weight then bias), with lr = head_lr",
              "the head group is always there, even when the head is frozen (k = 0)",
              "frozen backbone parameters belong to no group", "in the order of model.parameters()",
              "omit this group when no backbone parameter is trainable"],
      shown=["Frozen backbone parameters are in no group", "k = 0"])
def test_parameter_groups_and_learning_rates(student, rng):
    """the head and the trainable backbone are in their own groups, with their own learning rates"""
    for k in (3, 2, 1, 0):
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
            raise CheckFailure(f"make_fine_tuning_optimizer ({case}): group 0 must hold head.weight and head.bias, "
                               "in this order" + (", even when the head is frozen" if k == 0 else ""))
        expect_close(opt.groups[0]["hyper"].get("lr"), head_lr, "learning rate of group 0 (head)", case,
                     rtol=1e-12, atol=0)
        if want_backbone:
            if group_names(opt, 1) != want_backbone:
                raise CheckFailure(f"make_fine_tuning_optimizer ({case}): group 1 must hold exactly the trainable "
                                   "backbone parameters, in model order")
            expect_close(opt.groups[1]["hyper"].get("lr"), backbone_lr, "learning rate of group 1 (backbone)", case,
                         rtol=1e-12, atol=0)


@part("param_groups",
      states=["keep torch's defaults"],
      shown=["Adam's other settings keep torch's defaults"])
def test_adam_defaults(student, rng):
    """the optimizer keeps Adam's default betas, eps, weight decay, amsgrad and maximize in every group"""
    for k in (3, 1):
        _, opt = optimizer_for(student, rng, k, 1e-2, 1e-3)
        for i, group in enumerate(opt.groups):
            for key, want in ADAM_DEFAULTS.items():
                got = group["hyper"].get(key)
                if got is None or np.any(np.asarray(got, dtype=float) != np.asarray(want, dtype=float)):
                    raise CheckFailure(f"make_fine_tuning_optimizer: group {i} has {key} = {got}; "
                                       f"Adam's default is {want}")


@part("param_groups",
      states=["make_fine_tuning_optimizer does not change the model", "the model it received (the same object)"],
      shown=["the model is unchanged"])
def test_optimizer_leaves_the_model_alone(student, rng):
    """make_fine_tuning_optimizer changes nothing in the model (flags, values, dtypes, mode) and returns it"""
    for k in (0, 1, 2, 3):
        seed = int(rng.integers(0, 10_000))
        want = student_frozen(student, seed, k)  # the model it receives, as the student's freeze_layers makes it
        state, _, after = optimizer_for(student, rng, k, 1e-2, 1e-3, seed=seed, keep_args=True)
        what = same_state(state, want) if want is not None else None
        if what:
            raise CheckFailure(f"make_fine_tuning_optimizer (k = {k}) changed {what} of the model: it must not "
                               "change the model")
        same_object(state, after[0], "make_fine_tuning_optimizer")


@part("param_groups",
      states=["every trainable parameter moves by almost exactly its group's learning rate"],
      shown=["3. One step"])
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
def expect_features(got, want, case):
    atol = FEATURE_TOL * max(1.0, float(np.abs(want).max()))
    return expect_close(got, want, "extract_features", case + " (tolerance: 1e-5 times the largest feature, "
                        "at least 1e-5)", rtol=0, atol=atol)


def reference_features(ref, seed, pretrained, X, stage):
    model = ref.make_model(5, seed=seed, pretrained=pretrained)
    upto = {"conv1": 3, "conv2": 6}[stage]
    with torch.no_grad():
        h = model[:upto](torch.from_numpy(np.asarray(X, dtype=np.float32).reshape(-1, 1, 8, 8)))
    return h.flatten(1).double().numpy()


def images(rng, n):
    """n images with pixels in [0, 1], always including a blank one and a saturated one."""
    X = rng.uniform(0, 1, size=(n, 64))
    X[0] = 0.0
    if n > 1:
        X[1] = 1.0
    return rng.permutation(X)


@part("extract_features",
      states=["the activations after its ReLU and its pooling, flattened", "float64", "(N, D)",
              "within 1e-5 times the largest feature of the batch (at least 1e-5)"],
      shown=["check_close(feats, want.double()"])
def test_extract_features_matches_the_network(student, ref, rng):
    """extract_features returns the flattened activations after each stage's ReLU and pooling, in float64"""
    for pretrained in (True, False):
        seed = int(rng.integers(0, 10_000))
        n = int(rng.integers(2, 20))
        X = images(rng, n)
        for stage, width in (("conv1", 256), ("conv2", 128)):
            got = student.extract_features(model_arg(seed, pretrained=pretrained), X, stage)
            got = expect_array(got, (n, width), f"extract_features(stage={stage!r})")
            if got.dtype != np.float64:
                raise CheckFailure(f"extract_features returned dtype {got.dtype}; expected float64")
            expect_features(got, reference_features(ref, seed, pretrained, X, stage),
                            f"stage {stage}, {'pretrained' if pretrained else 'random'} network")


@part("extract_features",
      states=["It does not modify X", "a single image included", "Returns a new float64 numpy array"],
      shown=["a single image"])
def test_extract_features_single_image_and_leaves_input(student, ref, rng):
    """extract_features works on one image, does not modify X and returns a new array"""
    X = rng.uniform(0, 1, size=(1, 64))
    stage = ("conv1", "conv2")[int(rng.integers(0, 2))]
    got, after, seen = student.observe("extract_features", model_arg(0, pretrained=True), X, stage)
    expect_features(got, reference_features(ref, 0, True, X, stage), "a single image")
    expect_unchanged([X, stage], after[1:], "extract_features")
    expect_no_alias(seen, "extract_features")


@part("extract_features",
      states=["Do not change the model", "leave the model in the training mode it came in"],
      shown=["the model is unchanged"])
def test_extract_features_leaves_the_model_alone(student, ref, rng):
    """extract_features leaves the model as it was: values, dtypes, requires_grad flags, training mode"""
    for pretrained in (True, False):
        seed = int(rng.integers(0, 10_000))
        X = images(rng, 3)
        for stage in ("conv1", "conv2"):
            _, after = student.call_keeping_args("extract_features", model_arg(seed, pretrained=pretrained), X, stage)
            if not isinstance(after[0], ModuleState) or list(after[0].params) != NAMES:
                raise CheckFailure("extract_features replaced or restructured the model it received: do not "
                                   "change the model")
            what = same_state(after[0], state_of(ref.make_model(5, seed=seed, pretrained=pretrained)))
            if what:
                raise CheckFailure(f"extract_features (stage {stage!r}) changed {what} of the model: do not change "
                                   "the model (compute on it as it is, or on a copy)")

"""Wrong answers to exercise 10 that real students hand in; each must be diagnosed and cost its tests."""
from gptlab.grading.catalogue import Mistake

_REFERENCE_GROUPS = '''def param_groups(model, weight_decay):
    from gptlab.train import TrainConfig, make_optimizer
    return make_optimizer(model, TrainConfig(weight_decay=weight_decay), torch.device("cpu")).param_groups
'''

_ONE_GROUP = '''def param_groups(model, weight_decay):
    return [{"params": list(model.parameters()), "weight_decay": weight_decay}]
'''

_ONLY_LAYERNORMS_EXEMPT = '''def param_groups(model, weight_decay):
    named = list(model.named_parameters())
    return [
        {"params": [p for n, p in named if "ln_" not in n], "weight_decay": weight_decay},
        {"params": [p for n, p in named if "ln_" in n], "weight_decay": 0.0},
    ]
'''

_CLIP_FIRST = '''def train_step(model, optimizer, micro_batches, grad_clip):
    optimizer.zero_grad(set_to_none=True)
    torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    total = 0.0
    for x, y in micro_batches:
        _, loss = model(x, y)
        (loss / len(micro_batches)).backward()
        total += loss.item()
    optimizer.step()
    return total / len(micro_batches)
'''

MISTAKES = [
    Mistake("decay_everything", "groups_impl", source=_ONE_GROUP,
            check=r"ln_1.weight is decayed: LayerNorm", loses=("groups_test",),
            why="one group: weight decay on every parameter, LayerNorm gains and biases included"),
    Mistake("decay_biases", "groups_impl", source=_ONLY_LAYERNORMS_EXEMPT,
            check=r"bias is decayed: biases get no weight decay", loses=("groups_test",),
            why="LayerNorms exempted from decay by name, the biases forgotten"),
    Mistake("warmup_off_by_one", "schedule_impl", edit=("(step + 1) / warmup_steps", "step / warmup_steps"),
            check=r"lr_at\(0\) is 0: the first update is wasted", loses=("schedule_test",),
            why="warm-up starts at 0, so step 0 does nothing"),
    Mistake("cosine_to_zero", "schedule_impl", edit=("return min_lr + 0.5", "return 0.5"),
            check=r"must end at min_lr, not at 0", loses=("schedule_test",),
            why="the cosine decays to 0 instead of the floor"),
    Mistake("cosine_not_clamped", "schedule_impl", edit=("min(1.0, (step - warmup_steps)", "((step - warmup_steps)"),
            check=r"rises again", loses=("schedule_test",),
            why="no clamp after max_steps: the cosine climbs back up"),
    Mistake("no_zero_grad", "step_impl", edit=("    optimizer.zero_grad(set_to_none=True)\n", ""),
            check=r"also applied the first step's gradient: call\s+optimizer.zero_grad\(\)", loses=("step_test",),
            why="gradients never cleared between steps"),
    Mistake("accumulation_not_divided", "step_impl",
            edit=("(loss / len(micro_batches)).backward()", "loss.backward()"),
            check=r"3x too big with 3 micro-batches", loses=("step_test",),
            why="accumulated micro-batch losses not divided by their number"),
    Mistake("clip_before_backward", "step_impl", source=_CLIP_FIRST,
            check=r"the update was not clipped: call clip_grad_norm_", loses=("step_test",),
            why="gradients clipped before backward (when there are none yet), so never clipped"),
    Mistake("dropout_on_at_eval", "evaluate_impl", edit=("    model.eval()\n", ""),
            check=r"dropout was on during evaluation: call model.eval\(\)", loses=("evaluate_test",),
            why="held-out loss measured with dropout on"),
    Mistake("left_in_eval_mode", "evaluate_impl", edit=("    model.train()\n", ""),
            check=r"left in eval mode", loses=("evaluate_test",),
            why="the model not put back in training mode after evaluating"),
    Mistake("reference_groups", "groups_impl", source=_REFERENCE_GROUPS, check=None,
            loses=("groups_test",), feedback=r"write make_optimizer yourself",
            why="the course's optimizer's groups returned instead of written"),
]

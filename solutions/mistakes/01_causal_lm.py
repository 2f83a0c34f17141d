"""Wrong answers to exercise 01 (log-softmax and the causal-LM loss by hand, the two baselines) that real
students hand in; each must be diagnosed and cost its tests."""
from gptlab.grading.catalogue import Mistake

_SHIFT = "logits, targets = logits[:, :-1], idx[:, 1:]"
_GATHER = "picked = log_p.gather(-1, targets.unsqueeze(-1)).squeeze(-1)"
_SMOOTHED = "probs = (counts + 1).double() / (counts.sum(1, keepdim=True) + V)"
_BOTH_LM = ("log_softmax_test", "lm_loss_test")  # the loss uses the student's log_softmax

MISTAKES = [
    Mistake("uniform_in_bits", "uniform_impl", edit=("math.log(vocab_size)", "math.log2(vocab_size)"),
            check=r"that is in bits \(log2\)", loses=("uniform_test",), why="log2 instead of the natural log"),
    # log-softmax
    Mistake("log_softmax_wrong_axis", "log_softmax_impl",
            source="def log_softmax(logits):\n    shifted = logits - logits.max(dim=1, keepdim=True).values\n"
                   "    return shifted - shifted.exp().sum(dim=1, keepdim=True).log()\n",
            check=r"wrong axis \(dim=1\)", loses=_BOTH_LM,
            why="normalises over dim=1 (the positions) instead of the last axis (the vocabulary)"),
    Mistake("softmax_without_log", "log_softmax_impl",
            edit=("return shifted - shifted.exp().sum(dim=-1, keepdim=True).log()",
                  "return shifted.exp() / shifted.exp().sum(dim=-1, keepdim=True)"),
            check=r"these are probabilities \(a softmax\), not their logarithm", loses=_BOTH_LM,
            why="returns the softmax itself, without the log"),
    Mistake("log_softmax_without_max", "log_softmax_impl",
            edit=("shifted = logits - logits.max(dim=-1, keepdim=True).values", "shifted = logits"),
            check=r"exp\(1000\) overflows", loses=_BOTH_LM, why="no maximum subtracted: exp overflows on large logits"),
    Mistake("log_softmax_global_max", "log_softmax_impl",
            edit=("logits.max(dim=-1, keepdim=True).values", "logits.max()"),
            check=r"subtract each row's own maximum", loses=_BOTH_LM,
            why="subtracts the maximum of the whole tensor, not of each row"),
    Mistake("log_softmax_max_without_keepdim", "log_softmax_impl",
            edit=("logits.max(dim=-1, keepdim=True).values", "logits.max(dim=-1).values"),
            check=r"reduce with keepdim=True", loses=_BOTH_LM,
            why="the row maximum loses its axis and no longer broadcasts"),
    Mistake("log_of_softmax", "log_softmax_impl",
            source="def log_softmax(logits):\n    return torch.log(torch.softmax(logits, dim=-1))\n",
            check=r"not log\(softmax\(l\)\)", loses=_BOTH_LM,
            why="log(softmax(x)): the log of a probability that underflowed to 0 is -inf"),
    Mistake("log_softmax_calls_torch", "log_softmax_impl",
            source="def log_softmax(logits):\n    return torch.log_softmax(logits, dim=-1)\n",
            check=None, loses=_BOTH_LM, feedback=r"write log_softmax yourself",
            why="returns torch.log_softmax(...)"),
    # the causal-LM loss
    Mistake("targets_not_shifted", "lm_loss_impl", edit=(_SHIFT, "targets = idx"),
            check=r"the targets are not shifted", loses=("lm_loss_test",),
            why="each position scored against its own token"),
    Mistake("shifted_the_wrong_way", "lm_loss_impl", edit=(_SHIFT, "logits, targets = logits[:, 1:], idx[:, :-1]"),
            check=r"shifted the wrong way", loses=("lm_loss_test",), why="logits[:, 1:] against idx[:, :-1]"),
    Mistake("sum_not_mean", "lm_loss_impl", edit=("-picked.mean()", "-picked.sum()"),
            check=r"that is the sum over the predictions", loses=("lm_loss_test",), why="sums instead of averaging"),
    Mistake("minus_sign_forgotten", "lm_loss_impl", edit=("return -picked.mean()", "return picked.mean()"),
            check=r"the minus sign is missing", loses=("lm_loss_test",), why="the mean of log p, not of -log p"),
    Mistake("drops_the_last_prediction", "lm_loss_impl",
            edit=(_SHIFT, "logits, targets = logits[:, :-2], idx[:, 1:-1]"),
            check=r"one prediction short per sequence", loses=("lm_loss_test",),
            why="off by one: the last real prediction is dropped too"),
    Mistake("targets_rolled", "lm_loss_impl", edit=(_SHIFT, "targets = idx.roll(-1, dims=1)"),
            check=r"roll wraps around", loses=("lm_loss_test",),
            why="off by one: keeps the last position, scored against the first token"),
    Mistake("shifted_after_flattening", "lm_loss_impl",
            source="def causal_lm_loss(logits, idx):\n    B, T, V = logits.shape\n"
                   "    log_p = log_softmax(logits.reshape(B * T, V)[:-1])\n"
                   "    targets = idx.reshape(B * T)[1:]\n"
                   "    return -log_p.gather(-1, targets.unsqueeze(-1)).mean()\n",
            check=r"shifted after flattening the batch", loses=("lm_loss_test",),
            why="flattens (B, T) first, so a sequence's last position predicts the next sequence's first token"),
    Mistake("every_target_at_every_position", "lm_loss_impl", edit=(_GATHER, "picked = log_p[:, :, targets]"),
            check=r"picks every target at every position", loses=("lm_loss_test",),
            why="log_p[:, :, targets] instead of gather"),
    Mistake("log_of_softmax_in_the_loss", "lm_loss_impl",
            edit=("log_p = log_softmax(logits)", "log_p = torch.log(torch.softmax(logits, dim=-1))"),
            check=r"with logits ~1e3 the loss is not finite", loses=("lm_loss_test",),
            why="the loss takes log(softmax(...)) instead of the stable log_softmax"),
    Mistake("lm_loss_calls_torch", "lm_loss_impl",
            source="def causal_lm_loss(logits, idx):\n    return torch.nn.functional.cross_entropy(\n"
                   "        logits[:, :-1].reshape(-1, logits.shape[-1]), idx[:, 1:].reshape(-1))\n",
            check=None, loses=("lm_loss_test",), feedback=r"write cross_entropy yourself",
            why="returns torch.nn.functional.cross_entropy(...)"),
    # the bigram baseline
    Mistake("bigram_counts_transposed", "bigram_impl",
            edit=("ids[:-1] * vocab_size + ids[1:]", "ids[1:] * vocab_size + ids[:-1]"),
            check=r"rows and columns are swapped", loses=("bigram_test",), why="counts[b, a] instead of counts[a, b]"),
    Mistake("bigram_without_smoothing", "bigram_impl",
            edit=(_SMOOTHED, "probs = counts.double() / counts.sum(1, keepdim=True)"),
            check=r"with no counts the loss is not finite", loses=("bigram_test",),
            why="no add-one smoothing: an unseen pair has probability 0"),
    Mistake("smoothing_denominator_plus_one", "bigram_impl",
            edit=(_SMOOTHED, "probs = (counts + 1).double() / (counts.sum(1, keepdim=True) + 1)"),
            check=r"do not sum to 1", loses=("bigram_test",),
            why="adds one to each count but only one to the row's total"),
    Mistake("bigram_pairs_backwards", "bigram_impl", edit=("probs[ids[:-1], ids[1:]]", "probs[ids[1:], ids[:-1]]"),
            check=r"the pairs are read backwards", loses=("bigram_test",), why="p(previous | next) instead"),
]

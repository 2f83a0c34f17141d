"""Wrong answers to exercise 04 (mask, attention, multi-head attention) that real students hand in; each
must be diagnosed and cost its tests."""
from gptlab.grading.catalogue import Mistake

EVERYTHING = ("mask_test", "attention_test", "mha_test")  # the attention and the module use the mask
ATTENTION_AND_MODULE = ("attention_test", "mha_test")     # the module uses the attention

MISTAKES = [
    Mistake("mask_upper", "mask_impl", edit=(".tril()", ".triu()"),
            check=r"in its future: the mask leaks", loses=EVERYTHING,
            why="upper instead of lower triangle"),
    Mistake("mask_without_diagonal", "mask_impl", edit=(".tril()", ".tril(-1)"),
            check=r"a position cannot attend to itself", loses=EVERYTHING,
            why="strictly lower triangle: a token cannot see itself"),
    Mistake("unscaled", "attention_impl", edit=(" / math.sqrt(hs)", ""),
            check=r"not scaled: divide q @ k\^T by sqrt\(head_dim\)", loses=ATTENTION_AND_MODULE,
            why="scores not divided by sqrt(head_dim)"),
    Mistake("divided_by_head_dim", "attention_impl", edit=(" / math.sqrt(hs)", " / hs"),
            check=r"divided by head_dim: divide q @ k\^T by sqrt\(head_dim\)", loses=ATTENTION_AND_MODULE,
            why="scores divided by head_dim instead of its square root"),
    Mistake("softmax_over_queries", "attention_impl", edit=("softmax(scores, dim=-1)", "softmax(scores, dim=-2)"),
            check=r"do not sum to 1 over the keys", loses=ATTENTION_AND_MODULE,
            why="softmax over the query axis"),
    Mistake("mask_after_softmax", "attention_impl",
            edit=('scores = scores.masked_fill(~causal_mask(T), float("-inf"))\n'
                  '    weights = torch.softmax(scores, dim=-1)',
                  'weights = torch.softmax(scores, dim=-1)\n'
                  '    weights = weights.masked_fill(~causal_mask(T), 0.0)'),
            check=r"the mask is applied after the softmax", loses=ATTENTION_AND_MODULE,
            why="softmax first, future weights zeroed afterwards"),
    Mistake("masked_with_zero", "attention_impl", edit=('float("-inf")', "0.0"),
            check=r"weight on a future position is not zero: fill masked scores with -inf", loses=ATTENTION_AND_MODULE,
            why="masked scores set to 0 instead of -inf"),
    Mistake("q_k_swapped", "mha_impl", edit=("q, k, v = self.c_attn(x)", "k, q, v = self.c_attn(x)"),
            check=r"q and k are swapped: c_attn's output is q, k, v in that order", loses=("mha_test",),
            why="reads c_attn's output as k, q, v"),
    Mistake("heads_split_without_transpose", "mha_impl",
            edit=("t.view(B, T, self.n_head, hs).transpose(1, 2)", "t.reshape(B, self.n_head, T, hs)"),
            check=r"split with a plain view\(B, n_head, T, head_dim\), which mixes tokens", loses=("mha_test",),
            why="view(B, nh, T, hs) straight from (B, T, C)"),
    Mistake("heads_merged_without_transpose", "mha_impl",
            edit=("y = y.transpose(1, 2).reshape(B, T, C)", "y = y.reshape(B, T, C)"),
            check=r"merged without transposing back", loses=("mha_test",),
            why="reshape (B, nh, T, hs) to (B, T, C) without transposing"),
    Mistake("no_output_projection", "mha_impl", edit=("return self.c_proj(y)", "return y"),
            check=r"c_proj is not applied", loses=("mha_test",),
            why="forgets the output projection"),
    Mistake("mha_is_the_course", "mha_impl",
            source="import gptlab.model\n\n\nclass CausalSelfAttention(gptlab.model.CausalSelfAttention):\n"
                   "    def __init__(self, config):\n        super().__init__(config)\n",
            check=None, loses=("mha_test",), feedback=r"write CausalSelfAttention yourself",
            why="subclasses the course's gptlab.model.CausalSelfAttention"),
]

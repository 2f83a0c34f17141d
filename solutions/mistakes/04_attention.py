"""Wrong answers to exercise 04 that real students hand in; each must be diagnosed and cost its test."""
from gptlab.grading.catalogue import Mistake

MISTAKES = [
    Mistake("mask_upper", "mask_impl", edit=(".tril()", ".triu()"),
            check=r"in its future: the mask leaks", loses=("mask_test", "attention_test"),
            why="upper instead of lower triangle"),
    Mistake("unscaled", "attention_impl", edit=(" / math.sqrt(hs)", ""),
            check=r"not scaled: divide q @ k\^T by sqrt\(head_dim\)", loses=("attention_test",),
            why="scores not divided by sqrt(head_dim)"),
    Mistake("softmax_over_queries", "attention_impl", edit=("softmax(scores, dim=-1)", "softmax(scores, dim=-2)"),
            check=r"do not sum to 1 over the keys", loses=("attention_test",),
            why="softmax over the query axis"),
]

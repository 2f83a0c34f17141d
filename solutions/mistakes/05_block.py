"""Wrong answers to exercise 05 (the transformer block) that real students hand in; each must be diagnosed
and cost its tests."""
from gptlab.grading.catalogue import Mistake

MISTAKES = [
    Mistake("post_ln_in_a_pre_ln_block", "block_impl",
            edit=("x = x + self.attn(self.ln_1(x), **attn_kwargs)\n        x = x + self.mlp(self.ln_2(x))",
                  "x = self.ln_1(x + self.attn(x, **attn_kwargs))\n        x = self.ln_2(x + self.mlp(x))"),
            check=r"this is a Post-LN block", loses=("block_test", "swap_test"),
            why="LayerNorm after the residual addition (the 2017 Transformer's order)"),
    Mistake("no_residual", "block_impl",
            edit=("x = x + self.attn(self.ln_1(x), **attn_kwargs)\n        x = x + self.mlp(self.ln_2(x))",
                  "x = self.attn(self.ln_1(x), **attn_kwargs)\n        x = self.mlp(self.ln_2(x))"),
            check=r"the residual connections are missing", loses=("block_test", "swap_test"),
            why="no skip connections"),
    Mistake("weights_not_copied", "swap_impl", edit=("        new.load_state_dict(old.state_dict())\n", ""),
            check=r"the logits changed", loses=("swap_test",),
            why="new blocks put in with their fresh random weights"),
]

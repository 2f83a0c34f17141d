"""Wrong answers to exercise 05 (the transformer block, Pre-LN and Post-LN) that real students hand in; each must
be diagnosed and cost its tests."""
from gptlab.grading.catalogue import Mistake

_PRE = "x = x + self.attn(self.ln_1(x), **attn_kwargs)\n        x = x + self.mlp(self.ln_2(x))"
_POST = "x = self.ln_1(x + self.attn(x, **attn_kwargs))\n        x = self.ln_2(x + self.mlp(x))"
_PRE_LOSES = ("block_test", "swap_test")  # the swap puts PreLNBlocks into the model

MISTAKES = [
    # Pre-LN
    Mistake("post_ln_in_a_pre_ln_block", "block_impl", edit=(_PRE, _POST),
            check=r"this is a Post-LN block", loses=_PRE_LOSES,
            why="LayerNorm after the residual addition (the 2017 Transformer's order)"),
    Mistake("no_residual", "block_impl",
            edit=(_PRE, "x = self.attn(self.ln_1(x), **attn_kwargs)\n        x = self.mlp(self.ln_2(x))"),
            check=r"the residual connections are missing", loses=_PRE_LOSES,
            why="no skip connections"),
    Mistake("attention_residual_missing", "block_impl",
            edit=("x = x + self.attn(self.ln_1(x), **attn_kwargs)", "x = self.attn(self.ln_1(x), **attn_kwargs)"),
            check=r"the attention sublayer's residual is missing", loses=_PRE_LOSES,
            why="the attention sublayer's output replaces the stream instead of being added to it"),
    Mistake("residual_stream_normalised", "block_impl",
            edit=(_PRE, "x = self.ln_1(x)\n        x = x + self.attn(x, **attn_kwargs)\n"
                        "        x = self.ln_2(x)\n        x = x + self.mlp(x)"),
            check=r"the residual stream itself is normalised", loses=_PRE_LOSES,
            why="LayerNorm applied to the residual stream, not only to the sublayer's input"),
    Mistake("pre_ln_norms_swapped", "block_impl",
            edit=(_PRE, "x = x + self.attn(self.ln_2(x), **attn_kwargs)\n        x = x + self.mlp(self.ln_1(x))"),
            check=r"ln_1 and ln_2 are swapped", loses=_PRE_LOSES, why="ln_2 before attention, ln_1 before the MLP"),
    Mistake("block_is_gptlab_block", "block_impl",
            source="from gptlab.model import Block\n\n\nclass PreLNBlock(Block):\n    pass\n",
            check=None, loses=("block_test", "post_ln_test", "swap_test"), feedback=r"write Block yourself",
            why="subclasses gptlab.model.Block instead of writing forward"),
    # Post-LN
    Mistake("pre_ln_in_a_post_ln_block", "post_ln_impl", edit=(_POST, _PRE),
            check=r"this is the Pre-LN order", loses=("post_ln_test",),
            why="Post-LN written in Pre-LN's order"),
    Mistake("post_ln_norm_on_the_branch", "post_ln_impl",
            edit=(_POST, "x = self.ln_1(x + self.attn(self.ln_1(x), **attn_kwargs))\n"
                         "        x = self.ln_2(x + self.mlp(self.ln_2(x)))"),
            check=r"the sublayer reads a normalised input as well", loses=("post_ln_test",),
            why="normalises the sublayer's input as well as the sum"),
    Mistake("post_ln_no_residual", "post_ln_impl",
            edit=(_POST, "x = self.ln_1(self.attn(x, **attn_kwargs))\n        x = self.ln_2(self.mlp(x))"),
            check=r"the residual connections are missing", loses=("post_ln_test",),
            why="normalises f(x) alone, no skip connections"),
    Mistake("post_ln_mlp_residual_missing", "post_ln_impl",
            edit=("x = self.ln_2(x + self.mlp(x))", "x = self.ln_2(self.mlp(x))"),
            check=r"the MLP sublayer's residual is missing", loses=("post_ln_test",),
            why="the MLP's output is normalised without the stream added"),
    Mistake("post_ln_norms_swapped", "post_ln_impl",
            edit=(_POST, "x = self.ln_2(x + self.attn(x, **attn_kwargs))\n        x = self.ln_1(x + self.mlp(x))"),
            check=r"ln_1 and ln_2 are swapped", loses=("post_ln_test",), why="ln_2 after attention, ln_1 after the MLP"),
    # the swap
    Mistake("weights_not_copied", "swap_impl", edit=("        new.load_state_dict(old.state_dict())\n", ""),
            check=r"the logits changed", loses=("swap_test",),
            why="new blocks put in with their fresh random weights"),
]

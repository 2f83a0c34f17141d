"""Wrong answers to exercise 07 that real students hand in; each must be diagnosed and cost its tests."""
from gptlab.grading.catalogue import Mistake

_TRANSPOSE_TEST = 'if name.endswith(CONV1D) and isinstance(model.get_submodule(name.rsplit(".", 1)[0]), nn.Linear):'

_REFERENCE_LOADER = '''CONV1D = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")


def load_gpt2(model, hf_state_dict):
    from gptlab.hf import load_hf_state_dict
    return load_hf_state_dict(model, hf_state_dict)
'''

MISTAKES = [
    Mistake("no_transpose", "load_impl", edit=("tensor = tensor.t()  #", "pass  #"),
            check=r"nn.Linear stores its weight \(out, in\)", loses=("load_test",),
            why="Conv1D weights copied into nn.Linear layers without the transpose"),
    Mistake("transpose_by_shape", "load_impl",
            edit=(_TRANSPOSE_TEST, "if name.endswith(CONV1D) and tensor.shape != ours[name].shape:"),
            check=r"attn.c_proj.weight holds the transpose.*square", loses=("load_test",),
            why="transposes only where the shapes disagree, which misses the square attn.c_proj"),
    Mistake("transpose_always", "load_impl", edit=(_TRANSPOSE_TEST, "if name.endswith(CONV1D):"),
            check=r"projections store \(in, out\), like HF's Conv1D: copy those weights as they are",
            loses=("load_test",),
            why="the four Conv1D weights transposed whatever the layer (nanoGPT's recipe on a Conv1D-layout model)"),
    Mistake("mask_buffers_loaded", "load_impl",
            edit=("            if name.endswith(MASK_BUFFERS):\n                continue  # a precomputed causal mask, not a parameter\n", ""),
            check=r"causal-mask buffers, not parameters", loses=("load_test",),
            why="the checkpoint's .attn.bias / .attn.masked_bias mask buffers taken for parameters"),
    Mistake("no_prefix", "load_impl",
            edit=("            if not name.startswith((\"transformer.\", \"lm_head.\")):\n"
                  "                name = \"transformer.\" + name  # GPT2Model's bare names\n", ""),
            check=r"prefix such names with 'transformer.'", loses=("load_test",),
            why="GPT2Model's bare names (h.0..., wte.weight, as in the gpt2 upload) not mapped"),
    Mistake("tie_by_copy", "load_impl",
            edit=("model.lm_head.weight = model.transformer.wte.weight",
                  "model.lm_head.weight = nn.Parameter(model.transformer.wte.weight.detach().clone())"),
            check=r"lm_head.weight is a copy, not the same Parameter", loses=("load_test",),
            why="the head re-tied with a copy of the embedding"),
    Mistake("eps_not_carried", "hf_config_impl", edit=("        layer_norm_eps=hf[\"layer_norm_epsilon\"],\n", ""),
            check=r"config.layer_norm_eps is 1e-05, expected 0.001", loses=("hf_config_test",),
            why="layer_norm_epsilon left at the default"),
    Mistake("reference_loader", "load_impl", source=_REFERENCE_LOADER,
            check=r"nn.Linear stores its weight \(out, in\)", loses=("load_test",),
            why="the course's loader called (it fits only the Conv1D layout, so the visible check already fails)"),
    Mistake("reference_config", "hf_config_impl", source="from gptlab.hf import config_from_hf\n", check=None,
            loses=("hf_config_test",), feedback=r"write config_from_hf yourself",
            why="the course's config_from_hf imported instead of written"),
]

"""Wrong answers to exercise 02 (LayerNorm, GELU, MLP) that real students hand in; each must be diagnosed
and cost its tests."""
from gptlab.grading.catalogue import Mistake

LN_REFERENCE = '''class LayerNorm(nn.Module):
    def __init__(self, n_embd, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(n_embd))
        self.bias = nn.Parameter(torch.zeros(n_embd))

    def forward(self, x):
        return torch.nn.functional.layer_norm(x, (x.shape[-1],), self.weight, self.bias, self.eps)
'''

MISTAKES = [
    Mistake("ln_unbiased_variance", "layer_norm_impl", edit=("unbiased=False", "unbiased=True"),
            check=r"the variance is unbiased \(divides by C - 1\)", loses=("layer_norm_test",),
            why="torch.var's default, unbiased variance (divides by C - 1)"),
    Mistake("ln_eps_outside_sqrt", "layer_norm_impl",
            edit=("torch.sqrt(var + self.eps)", "(torch.sqrt(var) + self.eps)"),
            check=r"eps is added outside the square root", loses=("layer_norm_test",),
            why="divides by sqrt(var) + eps"),
    Mistake("ln_no_affine", "layer_norm_impl", edit=(" * self.weight + self.bias", ""),
            check=r"weight and bias are not used", loses=("layer_norm_test",),
            why="forgets the learned scale and shift"),
    Mistake("ln_over_positions", "layer_norm_impl",
            edit=("mean = x.mean(dim=-1, keepdim=True)  # (B, T, 1)\n        var = x.var(dim=-1,",
                  "mean = x.mean(dim=1, keepdim=True)\n        var = x.var(dim=1,"),
            check=r"you normalise over the positions \(dim 1\)", loses=("layer_norm_test",),
            why="normalises over the sequence (dim 1) instead of the features"),
    Mistake("ln_fixed_eps", "layer_norm_impl", edit=("torch.sqrt(var + self.eps)", "torch.sqrt(var + 1e-5)"),
            check=r"use self\.eps, not a fixed number", loses=("layer_norm_test",),
            why="hard-codes eps = 1e-5 and ignores the argument"),
    Mistake("ln_calls_torch", "layer_norm_impl", source=LN_REFERENCE,
            check=None, loses=("layer_norm_test",), feedback=r"write layer_norm yourself",
            why="returns torch.nn.functional.layer_norm(...)"),
    Mistake("gelu_erf", "gelu_impl",
            source="def gelu(x):\n    return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))\n",
            check=r"this is the exact GELU, x \* Phi\(x\) with erf", loses=("gelu_test", "mlp_test"),
            why="the exact (erf) GELU instead of GPT-2's tanh approximation"),
    Mistake("gelu_no_cubic", "gelu_impl", edit=(" + 0.044715 * x**3", ""),
            check=r"the cubic term is missing", loses=("gelu_test", "mlp_test"),
            why="drops the 0.044715 x^3 term"),
    Mistake("gelu_calls_torch", "gelu_impl",
            source='def gelu(x):\n    return torch.nn.functional.gelu(x, approximate="tanh")\n',
            check=None, loses=("gelu_test", "mlp_test"), feedback=r"write gelu yourself",
            why="returns torch.nn.functional.gelu(x, approximate='tanh')"),
    Mistake("mlp_not_4x", "mlp_impl", edit=("hidden = 4 * config.n_embd", "hidden = config.n_embd"),
            check=r"GPT-2's hidden layer is 4 \* n_embd", loses=("mlp_test",),
            why="hidden layer as wide as the model instead of 4x"),
    Mistake("mlp_linear_layout", "mlp_impl",
            edit=("self.c_fc = Projection(config.n_embd, hidden)", "self.c_fc = nn.Linear(config.n_embd, hidden)"),
            check=r"stored \(out, in\) like nn\.Linear's weight", loses=("mlp_test",),
            why="nn.Linear, whose weight is the transpose of GPT-2's"),
    Mistake("mlp_no_activation", "mlp_impl", edit=("self.c_proj(gelu(self.c_fc(x)))", "self.c_proj(self.c_fc(x))"),
            check=r"there is no GELU between c_fc and c_proj", loses=("mlp_test",),
            why="no non-linearity between the projections"),
    Mistake("mlp_gelu_after_proj", "mlp_impl",
            edit=("self.c_proj(gelu(self.c_fc(x)))", "gelu(self.c_proj(self.c_fc(x)))"),
            check=r"GELU is applied after c_proj", loses=("mlp_test",),
            why="the activation after the output projection"),
    Mistake("mlp_relu", "mlp_impl", edit=("self.c_proj(gelu(self.c_fc(x)))", "self.c_proj(torch.relu(self.c_fc(x)))"),
            check=r"that is ReLU between the projections", loses=("mlp_test",),
            why="ReLU instead of GELU"),
    Mistake("mlp_calls_course", "mlp_impl",
            source="import gptlab.model\n\n\nclass MLP(gptlab.model.MLP):\n    pass\n",
            check=None, loses=("mlp_test",), feedback=r"write MLP yourself",
            why="subclasses the course's gptlab.model.MLP"),
]

"""Wrong answers to exercise 08 that real students hand in; each must be diagnosed and cost its tests."""
from gptlab.grading.catalogue import Mistake

GENERATE_PROMPT_NOT_PENALISED = '''@torch.no_grad()
def generate(model, idx, max_new_tokens, block_size, temperature=1.0, top_k=0, top_p=1.0, min_p=0.0,
             repetition_penalty=1.0, generator=None):
    prompt_len = idx.shape[1]
    for _ in range(max_new_tokens):
        logits = model(idx[:, -block_size:])[:, -1, :]
        if repetition_penalty != 1.0:
            logits = apply_repetition_penalty(logits, idx[:, prompt_len:], repetition_penalty)
        if temperature == 0:
            nxt = greedy(logits)
        else:
            nxt = sample(logits, temperature, top_k, top_p, min_p, generator)
        idx = torch.cat([idx, nxt[:, None]], dim=1)
    return idx
'''

PENALTY_PER_OCCURRENCE = '''def apply_repetition_penalty(logits, input_ids, penalty):
    logits = logits.clone()
    for b in range(logits.shape[0]):
        for t in input_ids[b].tolist():
            x = logits[b, t]
            logits[b, t] = x / penalty if x > 0 else x * penalty
    return logits
'''

PENALTY_FROM_THE_COURSE = '''import gptlab.sampling

def apply_repetition_penalty(logits, input_ids, penalty):
    return gptlab.sampling.apply_repetition_penalty(logits, input_ids, penalty)
'''

TOP_K_FROM_THE_COURSE = '''from gptlab.sampling import top_k_filter as course_top_k

def top_k_filter(logits, k):
    return course_top_k(logits, k)
'''

TEMPERATURE_FROM_THE_COURSE = '''import gptlab.sampling

def apply_temperature(logits, temperature):
    return gptlab.sampling.apply_temperature(logits, temperature)
'''

MISTAKES = [
    # the generation loop
    Mistake("generate_first_position", "generate_impl", edit=("[:, -1, :]", "[:, 0, :]"),
            check=r"logits of the FIRST position: take the last one", loses=("generate_test",),
            why="generate reads the first position's logits"),
    Mistake("generate_ignores_temperature", "generate_impl",
            edit=("sample(logits, temperature,", "sample(logits, 1.0,"),
            check=r"generate ignores its temperature", loses=("generate_test",),
            why="generate samples at temperature 1 whatever it is given"),
    Mistake("generate_samples_at_zero", "generate_impl",
            edit=("if temperature == 0:\n            nxt = greedy(logits)\n        else:\n"
                  "            nxt = sample(", "if True:\n            nxt = sample("),
            check=r"temperature 0 means greedy decoding", loses=("generate_test",),
            why="generate samples at temperature 0 instead of decoding greedily"),
    Mistake("generate_no_crop", "generate_impl", edit=("model(idx[:, -block_size:])", "model(idx)"),
            check=r"crop the sequence to its last block_size tokens", loses=("generate_test",),
            why="the sequence is never cropped to the context window"),
    Mistake("generate_crop_start", "generate_impl", edit=("idx[:, -block_size:]", "idx[:, :block_size]"),
            check=r"kept the FIRST block_size tokens", loses=("generate_test",),
            why="the window keeps the first block_size tokens instead of the last"),
    Mistake("generate_prompt_not_penalised", "generate_impl", source=GENERATE_PROMPT_NOT_PENALISED,
            check=r"prompt's tokens were not penalised", loses=("generate_test",),
            why="the repetition penalty covers only the generated tokens, not the prompt"),
    # the samplers
    Mistake("temperature_multiplies", "temperature_impl", edit=("logits / temperature", "logits * temperature"),
            check=r"multiply by 1/temperature, not by temperature",
            loses=("temperature_test", "sample_test", "generate_test"),
            why="logits multiplied by the temperature"),
    Mistake("top_k_off_by_one", "top_k_impl", edit=("logits < kth", "logits <= kth"),
            check=r"kept 0 tokens per row instead of 1: off by one", loses=("top_k_test", "sample_test"),
            why="top-k drops the k-th largest logit (keeps k - 1)"),
    Mistake("top_p_drops_crossing_token", "top_p_impl",
            edit=("(probs.cumsum(-1) - probs) >= p", "probs.cumsum(-1) > p"),
            check=r"dropped the token whose probability crosses p",
            loses=("top_p_test", "sample_test", "generate_test"),
            why="top-p drops the token whose probability crosses p"),
    Mistake("top_p_ascending", "top_p_impl", edit=("descending=True", "descending=False"),
            check=r"kept the \*least\* likely tokens", loses=("top_p_test", "sample_test", "generate_test"),
            why="top-p sorts the probabilities in increasing order"),
    Mistake("min_p_absolute", "min_p_impl", edit=("min_p * probs.amax(dim=-1, keepdim=True)", "min_p"),
            check=r"min-p is \*relative\* to the most likely token", loses=("min_p_test", "sample_test"),
            why="min-p threshold taken as an absolute probability"),
    Mistake("penalty_divides_negative", "repetition_impl",
            edit=("torch.where(seen > 0, seen / penalty, seen * penalty)", "seen / penalty"),
            check=r"negative logits were divided too", loses=("repetition_test",),
            why="the repetition penalty divides negative logits too (making them more likely)"),
    Mistake("penalty_per_occurrence", "repetition_impl", source=PENALTY_PER_OCCURRENCE,
            check=r"applied once per occurrence", loses=("repetition_test", "generate_test"),
            why="the repetition penalty compounds for each occurrence of a token"),
    Mistake("top_k_from_the_course", "top_k_impl", source=TOP_K_FROM_THE_COURSE,
            check=None, loses=("top_k_test", "sample_test"), feedback=r"write \w+ yourself",
            why="top_k_filter calls gptlab.sampling's"),
    Mistake("temperature_from_the_course", "temperature_impl", source=TEMPERATURE_FROM_THE_COURSE,
            check=None, loses=("temperature_test", "sample_test"), feedback=r"write \w+ yourself",
            why="apply_temperature calls gptlab.sampling's"),
    Mistake("penalty_from_the_course", "repetition_impl", source=PENALTY_FROM_THE_COURSE,
            check=None, loses=("repetition_test", "generate_test"), feedback=r"write \w+ yourself",
            why="apply_repetition_penalty calls gptlab.sampling's"),
]

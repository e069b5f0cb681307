"""M1 interview answers on the engine: greedy parity with transformers, n / best_of,
validation before work, and what the engine reads back from the device each step.

Loads the 135M default model on the CPU (a few seconds) and generates a handful of tokens.
Run from the repository root: ``python docs/snippets/m1/interview_engine.py``.
"""

import traceback
from pathlib import Path

import torch

import folovllm
from folovllm import SamplingParams
from folovllm.entrypoints.llm import LLM

llm = LLM(device="cpu", model_impl="transformers")  # the M1 runner (M2 made our own code the default)
engine, runner, tok = llm.llm_engine, llm.llm_engine.runner, llm.get_tokenizer()

# --8<-- [start:parity]
prompts = ["Hello world", "大语言模型", "An inference engine schedules requests"]
params = SamplingParams(temperature=0, max_tokens=8, ignore_eos=True)
ours = [o.outputs[0].token_ids for o in llm.generate(prompts, params, use_tqdm=False)]

# The reference: HF generate on the same weights, same left padding, EOS disabled.
enc = tok(prompts, return_tensors="pt", padding=True, padding_side="left")
with torch.inference_mode():
    ref = runner.model.generate(**enc, max_new_tokens=8, do_sample=False, eos_token_id=None,
                                pad_token_id=runner.pad_token_id)
assert ours == ref[:, enc.input_ids.shape[1]:].tolist()
# --8<-- [end:parity]

# --8<-- [start:best_of]
common = dict(temperature=1.0, seed=5, max_tokens=4, ignore_eos=True, logprobs=0)
best = llm.generate("Tell me a story", SamplingParams(n=2, best_of=4, **common),
                    use_tqdm=False)[0].outputs
every = llm.generate("Tell me a story", SamplingParams(n=4, **common), use_tqdm=False)[0].outputs

assert [c.index for c in every] == [0, 1, 2, 3]           # n: all of them, in order
ranked = sorted(every, key=lambda c: c.cumulative_logprob, reverse=True)
# best_of=4, n=2: the same 4 seeded samples are drawn, and the 2 most likely are returned.
assert [c.token_ids for c in best] == [c.token_ids for c in ranked[:2]]
assert [c.index for c in best] == [c.index for c in ranked[:2]]
# The score is the sum of the sampled tokens' raw log-probabilities.
for c in best:
    total = sum(step[t].logprob for t, step in zip(c.token_ids, c.logprobs))
    assert abs(c.cumulative_logprob - total) < 1e-4
# --8<-- [end:best_of]

# --8<-- [start:validation]
bad_batch = ["a fine prompt", {"prompt_token_ids": [1, 10**7]}]
try:
    llm.generate(bad_batch, SamplingParams(max_tokens=2), use_tqdm=False)
    raise AssertionError("an out-of-vocabulary token id was accepted")
except ValueError as exc:
    assert "contains [10000000]" in str(exc)
assert not engine.has_unfinished_requests()       # LLM.generate checked everything first

# Submitting one by one is what goes wrong: the good request is queued before the bad fails,
# and the next generate() would silently run it (its output returned to nobody).
first = engine.add_request("a fine prompt", SamplingParams(max_tokens=2))
try:
    engine.add_request({"prompt_token_ids": [1, 10**7]}, SamplingParams(max_tokens=2))
except ValueError:
    pass
assert engine.get_num_unfinished_requests() == 1
engine.abort_request(first)
assert not engine.has_unfinished_requests()

# Engine limits are checked up front as well: all best_of sequences of a request run in one
# static batch, so best_of above max_num_seqs could never be scheduled.
try:
    llm.generate("a fine prompt", SamplingParams(best_of=300, temperature=1.0), use_tqdm=False)
    raise AssertionError("best_of > max_num_seqs was accepted")
except ValueError as exc:
    assert "best_of=300 is invalid" in str(exc) and "max_num_seqs=256" in str(exc)
assert not engine.has_unfinished_requests()

# A failure *during* the run (here a forward pass that raises) is contained in its step: the
# step's requests finish as aborted, the error recorded, and nothing stays queued. (Our own
# runner retries the step request by request, so only the request that causes it fails.)
def broken_decode(ids):
    raise RuntimeError("the device went away")


runner.decode = broken_decode
try:
    outs = llm.generate(["one", "two"], SamplingParams(max_tokens=4, ignore_eos=True),
                        use_tqdm=False)
finally:
    del runner.decode                             # back to the class's method
assert all(o.outputs[0].finish_reason == "abort" for o in outs)
assert all("device went away" in o.error for o in outs)
assert not engine.has_unfinished_requests()
# --8<-- [end:validation]

# --8<-- [start:sync]
reads: list[tuple[str, str]] = []            # (what, which file asked), during engine steps
originals = {name: getattr(torch.Tensor, name) for name in ("tolist", "item", "__bool__")}


def spy(name):
    def read(self, *args, **kwargs):
        caller = traceback.extract_stack(limit=2)[0].filename
        reads.append((name, caller))
        return originals[name](self, *args, **kwargs)
    return read


mixed = [SamplingParams(temperature=0, max_tokens=3, ignore_eos=True, logprobs=2),
         SamplingParams(temperature=0.8, top_p=0.9, top_k=20, seed=1, max_tokens=3,
                        ignore_eos=True, repetition_penalty=1.2, min_tokens=2),
         SamplingParams(temperature=1.0, min_p=0.1, frequency_penalty=0.5, max_tokens=3)]
for text, p in zip(["Hello", "The quick brown fox", "Once"], mixed):
    engine.add_request(text, p)
steps = 0
for name in originals:
    setattr(torch.Tensor, name, spy(name))
try:
    while engine.has_unfinished_requests():
        engine.step()
        steps += 1
finally:
    for name, method in originals.items():
        setattr(torch.Tensor, name, method)

package = Path(folovllm.__file__).parent


def in_engine(path: str) -> bool:
    return Path(path).is_relative_to(package)


ours = [r for r in reads if in_engine(r[1])]
assert steps == 3 and len(ours) == steps                          # one read per step ...
assert all(what == "tolist" and path.endswith("llm_engine.py") for what, path in ours)
assert not any(what == "item" for what, _ in reads)               # ... and no .item() anywhere
# Any other read happens inside transformers (its attention-mask code), not in the engine.
assert all("transformers" in Path(path).parts for _, path in reads if not in_engine(path))
# --8<-- [end:sync]

"""M2 interview answers at the engine level: continuous batching end to end
against M1's static batch, batch invariance, and how close our logits are to
transformers'.

Uses a tiny random-weight Llama (built in a temporary directory) for the engine
and M1's runner, and the 135M default model on the CPU for invariance and
parity. Takes well under a minute.
Run from the repository root: ``python docs/snippets/m2/interview_engine.py``.
"""

import tempfile
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM

from folovllm import SamplingParams
from folovllm.config import ModelConfig
from folovllm.entrypoints.llm import LLM
from folovllm.worker.hf_runner import HFModelRunner
from tests.tiny_models import build_tiny_model

tmp = tempfile.TemporaryDirectory()
tiny = str(build_tiny_model("llama", Path(tmp.name) / "llama"))


def greedy(n: int) -> SamplingParams:
    return SamplingParams(temperature=0, max_tokens=n, ignore_eos=True)


# --8<-- [start:static_runner]
ours = LLM(tiny, device="cpu", kv_cache_memory_bytes=2**22)
tok = ours.get_tokenizer()
pad = tok.eos_token_id  # the tiny tokenizer has no pad token
m1 = HFModelRunner(ModelConfig(model=tiny, device="cpu"), pad_token_id=pad)
runner = ours.llm_engine.runner  # a ModelRunner: our model code

# Greedy on the same weights: the same tokens.
prompts = ["Hello world", "The quick brown fox", "Paged attention"]
a = ours.generate(prompts, greedy(12), use_tqdm=False)
b = m1.generate([tok(p).input_ids for p in prompts], [12] * len(prompts))
same_tokens = [o.outputs[0].token_ids for o in a] == b


def finish_order(llm: LLM) -> list[str]:
    """A long request starts, a short one comes a step later: who ends first?"""
    engine = llm.llm_engine
    engine.add_request("Hello", greedy(30), request_id="long")
    engine.step()
    engine.add_request("World", greedy(2), request_id="short")
    order = []
    while engine.has_unfinished_requests():
        order += [o.request_id for o in engine.step() if o.finished]
    return order


order = finish_order(ours)  # short, long: joins at once, done in 2 steps

# M1's static batch: even a short request prefilled *with* the long one comes
# back only when the longest row is done, after 30 forwards. One that arrives a
# step later cannot join (a prefill starts a new batch and drops the running
# one's cache), so it waits for all 30.
forwards = []
m1.model.register_forward_hook(lambda *_: forwards.append(1))
tokens = m1.generate([tok("Hello").input_ids, tok("World").input_ids], [30, 2])
# 30 and 2 tokens, 30 forwards; the batch's cache went with the batch
# (m1._cache is None).
# --8<-- [end:static_runner]

# block_size=max_model_len: one block per sequence, i.e. M2's slots
# (since M3 the cache is paged)
llm = LLM(device="cpu", max_model_len=256, block_size=256,
          kv_cache_memory_bytes=64 * 2**20)
engine, tok = llm.llm_engine, llm.get_tokenizer()
kv = engine.kv_cache_manager

# --8<-- [start:invariance]
prompts = ["The capital of France is", "def fibonacci(n):",
           "Once upon a time", "An inference engine", "Hi"]
lengths = [greedy(4 + 2 * i) for i in range(len(prompts))]
target, params = prompts[1], lengths[1]

alone = llm.generate(target, params, use_tqdm=False)[0].outputs[0].token_ids
batch = llm.generate(prompts, lengths, use_tqdm=False)
# inside a batch of mixed lengths: the same tokens as alone
in_batch = batch[1].outputs[0].token_ids

for p, sp in zip(prompts[2:], lengths[2:]):  # others start first...
    engine.add_request(p, sp)
for _ in range(3):
    engine.step()
late = engine.add_request(target, params)  # ...and the target joins late
done = {}
while engine.has_unfinished_requests():
    done.update({o.request_id: o for o in engine.step() if o.finished})
joined_late = done[late].outputs[0].token_ids  # the same tokens
free_after = kv.num_free_blocks()  # every slot (block) returned
# --8<-- [end:invariance]

# --8<-- [start:hf_tolerance]
ids = [tok(p).input_ids for p in prompts[:3]]
model, seen = engine.runner.model, []
compute_logits = model.compute_logits


def keep(hidden: torch.Tensor) -> torch.Tensor:
    seen.append(compute_logits(hidden))
    return seen[-1]


model.compute_logits = keep  # record the logits the sampler gets
token_prompts = [{"prompt_token_ids": p} for p in ids]
llm.generate(token_prompts, greedy(1), use_tqdm=False)  # one prefill step
del model.compute_logits  # the model's own method again
logits = seen[0]  # one row per prompt
hf = AutoModelForCausalLM.from_pretrained(engine.config.model_config.model,
                                          dtype=torch.float32).eval()
with torch.no_grad():
    ref = torch.stack([hf(torch.tensor([p])).logits[0, -1] for p in ids])

# Not bit for bit, but within fp32 rounding (logits of this model reach
# the 20s), with the same argmax: the top two are 100x the error apart.
error = (logits - ref).abs().max()
top2 = ref.topk(2).values
# --8<-- [end:hf_tolerance]

tmp.cleanup()
print("engine answers: done")

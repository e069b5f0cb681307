"""Preemption and abort drop a sequence's references, never contents that
others hold: a shared block stays with its other holders, and a preempted
sequence often resumes from its own blocks, still in the cache.

Builds the tiny random-weight Llama of the tests in a temporary directory
and runs it on the CPU, block size 4."""

import logging
import tempfile
from pathlib import Path

from folovllm import LLM, SamplingParams
from folovllm.engine.llm_engine import LLMEngine
from tests.kv_checks import check_block_accounting
from tests.tiny_models import build_tiny_model

logging.getLogger("folovllm").setLevel(logging.ERROR)  # a small cache
tmp = tempfile.TemporaryDirectory()
tiny = str(build_tiny_model("llama", Path(tmp.name) / "llama"))
greedy = SamplingParams(temperature=0, max_tokens=8, ignore_eos=True)
prefix = list(range(10, 18))  # two full blocks
a, b = prefix + [30, 31], prefix + [40, 41, 42]

# Abort: a and b share two blocks; a goes away mid-stream.
engine = LLMEngine.from_engine_args(model=tiny, device="cpu", block_size=4)
kv = engine.kv_cache_manager
engine.add_request({"prompt_token_ids": a}, greedy, request_id="a")
engine.step()
engine.add_request({"prompt_token_ids": b}, greedy, request_id="b")
engine.step()  # b finds a's two prefix blocks
shared = kv.seq_to_blocks[1][:2]
print("shared blocks' ref counts:", [x.ref_cnt for x in shared])
engine.abort_request("a")
after_abort = [x.ref_cnt for x in shared]
print("after aborting a:", after_abort)
outs = {}
while engine.has_unfinished_requests():
    outs.update((o.request_id, o) for o in engine.step() if o.finished)
    check_block_accounting(engine)
alone = LLM(tiny, device="cpu", block_size=4, enable_prefix_caching=False)
ref = alone.generate({"prompt_token_ids": b}, greedy, use_tqdm=False)[0]
print("b's tokens as if alone:",
      outs["b"].outputs[0].token_ids == ref.outputs[0].token_ids)

# Preemption: 14 blocks for three 10-token prompts that grow to 18 tokens.
engine = LLMEngine.from_engine_args(model=tiny, device="cpu", block_size=4,
                                    num_gpu_blocks=14)
schedule = engine.scheduler.schedule
resumed = []  # (tokens, of which from the cache) of each resumption


def recording_schedule():
    out = schedule()
    c = out.scheduled_cached_seqs
    for seq_id, again, done in zip(c.seq_ids, c.resumed_from_preemption,
                                   c.num_computed_tokens):
        if again:
            resumed.append((done + out.num_scheduled_tokens[seq_id], done))
    return out


engine.scheduler.schedule = recording_schedule
prompts = [{"prompt_token_ids": prefix + [50 + i] * 2} for i in range(3)]
for i, p in enumerate(prompts):
    engine.add_request(p, greedy, request_id=str(i))
outs = {}
while engine.has_unfinished_requests():
    outs.update((o.request_id, o) for o in engine.step() if o.finished)
    check_block_accounting(engine)
print("preemptions:", engine.scheduler.num_preemptions)
print("resumed (tokens, from the cache):", resumed)
refs = alone.generate(prompts, greedy, use_tqdm=False)
print("same tokens as without the cache:",
      [outs[str(i)].outputs[0].token_ids for i in range(3)]
      == [r.outputs[0].token_ids for r in refs])

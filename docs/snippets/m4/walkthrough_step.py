"""What the scheduler hands the runner when a prompt hits the prefix cache.

A tiny random-weight model, blocks of 4 tokens. Request a (10 tokens) runs
to the end; then b, which shares a's first 9 tokens; then c and d, two
identical prompts that arrive together.
"""

import tempfile
from pathlib import Path

from folovllm import LLM, SamplingParams
from tests.tiny_models import build_tiny_model

tmp = tempfile.TemporaryDirectory()
llm = LLM(str(build_tiny_model("llama", Path(tmp.name))), device="cpu",
          block_size=4)
engine, kv = llm.llm_engine, llm.llm_engine.kv_cache_manager
pool = kv.block_pool
params = SamplingParams(temperature=0, max_tokens=2, ignore_eos=True)
steps = []                            # every SchedulerOutput the runner gets
execute = engine.runner.execute_model
engine.runner.execute_model = lambda so: steps.append(so) or execute(so)


def seq_id(request_id: str) -> int:
    return engine.requests[request_id].seqs[0].seq_id


def hashed(block_ids: list[int]) -> list[bool]:
    return [pool.blocks[b].block_hash is not None for b in block_ids]


def run_to_end() -> None:
    while engine.has_unfinished_requests():
        engine.step()


a = list(range(10, 20))
engine.add_request({"prompt_token_ids": a}, params, request_id="a")
engine.step()
a_table = kv.get_block_ids(seq_id("a"))
print(f"a: block table {a_table}, cached {hashed(a_table)}")
run_to_end()

engine.add_request({"prompt_token_ids": a[:9] + [99]}, params, request_id="b")
engine.step()
b_step = steps[-1]
(new,) = b_step.scheduled_new_seqs
print(f"b: {len(new.prompt_token_ids)} prompt tokens, "
      f"num_computed_tokens {new.num_computed_tokens}, "
      f"scheduled {b_step.num_scheduled_tokens[new.seq_id]}, "
      f"block table {new.block_ids}")
run_to_end()

for rid in ("c", "d"):
    engine.add_request({"prompt_token_ids": list(range(40, 49))}, params,
                       request_id=rid)
engine.step()
both = {}
for rid in ("c", "d"):
    req, ids = engine.requests[rid], kv.get_block_ids(seq_id(rid))
    both[rid] = (req.num_cached_tokens, hashed(ids))
    print(f"{rid}: cached tokens {req.num_cached_tokens}, block table {ids}, "
          f"cached {hashed(ids)}")
run_to_end()

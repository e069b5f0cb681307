"""Async scheduling on a tiny random-weight model (CPU): each call of
step() queues one step and applies the one queued by the call before, so
outputs come one call later; the tokens are those of synchronous steps,
even through preemptions. (On the CPU nothing runs beside the host: the
steps do not overlap here, but every part of the logic runs.)"""

import tempfile
from pathlib import Path

from folovllm import LLM, SamplingParams
from tests.tiny_models import build_tiny_model

tmp = tempfile.TemporaryDirectory()
model_dir = str(build_tiny_model("llama", Path(tmp.name)))
params = SamplingParams(temperature=0, max_tokens=3, ignore_eos=True)
for async_scheduling in (False, True):
    engine = LLM(model_dir, device="cpu",
                 async_scheduling=async_scheduling).llm_engine
    engine.add_request("Hello", params)
    calls = []
    while engine.has_unfinished_requests():
        calls.append([len(o.outputs[0].token_ids) for o in engine.step()])
    print(f"async={async_scheduling!s:5}  tokens after each call: {calls}")

prompts = [{"prompt_token_ids": [5 + i, 40 + i, 7] * (1 + i % 4)}
           for i in range(12)]
params = SamplingParams(temperature=0.8, seed=1, max_tokens=16)
small = dict(device="cpu", block_size=4, num_gpu_blocks=24, max_num_seqs=6)
outs = {}
for async_scheduling in (False, True):
    llm = LLM(model_dir, async_scheduling=async_scheduling, **small)
    outs[async_scheduling] = [o.outputs[0].token_ids for o in
                              llm.generate(prompts, params, use_tqdm=False)]
    print(f"async={async_scheduling!s:5}  preemptions: "
          f"{llm.llm_engine.scheduler.num_preemptions}")
print("same tokens:", outs[False] == outs[True])

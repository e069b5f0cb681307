"""What the runner computes in a step that mixes a decode with a chunk.

A tiny random-weight model, blocks of 4 tokens, a budget of 16 tokens.
Request a (5 tokens) starts decoding; then b, a 40-token prompt, arrives.
Every step prints what the scheduler handed the runner, how many rows of
logits the model computed, and the step's split (last_step_stats).
"""

import tempfile
from pathlib import Path

from folovllm import LLM, SamplingParams
from tests.tiny_models import build_tiny_model

tmp = tempfile.TemporaryDirectory()
model_dir = str(build_tiny_model("llama", Path(tmp.name)))
llm = LLM(model_dir, device="cpu", block_size=4, max_num_seqs=4,
          max_num_batched_tokens=16)
engine = llm.llm_engine
params = SamplingParams(temperature=0, max_tokens=6, ignore_eos=True)
rows: list[int] = []                   # logits rows the model computes
model = engine.runner.model
logits = model.compute_logits
model.compute_logits = lambda h: rows.append(h.shape[0]) or logits(h)

a = list(range(10, 15))
b = list(range(20, 60))
done, seqs = {}, {}
for step in range(1, 12):
    for rid, prompt, arrives in (("a", a, 1), ("b", b, 2)):
        if step == arrives:
            engine.add_request({"prompt_token_ids": prompt}, params,
                               request_id=rid)
            seqs[rid] = engine.requests[rid].seqs[0]
    before = len(rows)
    done.update((o.request_id, o) for o in engine.step() if o.finished)
    s = engine.last_step_stats
    print(f"step {step:2d}: decode {s.num_decode_tokens} + prefill "
          f"{s.num_prefill_tokens:2d} tokens, logits rows "
          f"{sum(rows[before:])}; computed "
          + ", ".join(f"{r} {q.data.num_computed_tokens}"
                      for r, q in seqs.items()))
    if not engine.has_unfinished_requests():
        break

whole = LLM(model_dir, device="cpu", block_size=4,
            enable_chunked_prefill=False)
ref = whole.generate([{"prompt_token_ids": p} for p in (a, b)], params,
                     use_tqdm=False)
same = [done[r].outputs[0].token_ids for r in "ab"] == \
    [o.outputs[0].token_ids for o in ref]
print(f"same tokens as whole-prompt prefills: {same}")

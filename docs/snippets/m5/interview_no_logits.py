"""A chunk that ends inside the prompt samples nothing: the scheduler gets
no token for it, and the runner computes no logits for it.

Part 1 drives the scheduler alone; part 2 runs the tiny random-weight
Llama of the tests (built in a temporary directory, CPU) with a budget of
16 and counts the rows the LM head computes in each step."""

import tempfile
from pathlib import Path

from docs.snippets.m5.sched_loop import add, scheduler, step
from folovllm import LLM, SamplingParams
from tests.tiny_models import build_tiny_model

s = scheduler(budget=16)
seq = add(s, "p", 40).seqs[0]
for _ in range(3):
    st = step(s)
    print(f"computes {st.tokens['p']:2d} -> computed "
          f"{seq.data.num_computed_tokens:2d} of 40 | outputs "
          f"{seq.data.get_output_len()}")

tmp = tempfile.TemporaryDirectory()
llm = LLM(str(build_tiny_model("llama", Path(tmp.name) / "llama")),
          device="cpu", max_num_batched_tokens=16, max_num_seqs=4)
model = llm.llm_engine.runner.model
rows = []
lm_head = model.compute_logits
model.compute_logits = lambda h: rows.append(h.shape[0]) or lm_head(h)
llm.generate({"prompt_token_ids": list(range(3, 43))},
             SamplingParams(max_tokens=2, ignore_eos=True), use_tqdm=False)
print("rows of logits per step:", rows, "(4 steps: 16, 16, 8, 1 tokens)")

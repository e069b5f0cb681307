"""M1 interview answers on the static batch: prefill and decode, the KV cache, left padding,
finished rows and head-of-line blocking.

Loads the 135M default model on the CPU (a few seconds) and generates a handful of tokens.
Run from the repository root: ``python docs/snippets/m1/interview_batch.py``.
"""

import torch

from folovllm import SamplingParams
from folovllm.entrypoints.llm import LLM

llm = LLM(device="cpu", model_impl="transformers")  # the M1 runner (M2 made our own code the default)
engine, runner, tok = llm.llm_engine, llm.llm_engine.runner, llm.get_tokenizer()
greedy = dict(temperature=0, ignore_eos=True)

# --8<-- [start:phases]
cfg = runner.model.config
n_params = sum(p.numel() for p in runner.model.parameters())
head_dim = cfg.hidden_size // cfg.num_attention_heads
kv_bytes_per_token = 2 * cfg.num_hidden_layers * cfg.num_key_value_heads * head_dim * 2  # bf16
weight_bytes = 2 * n_params                                                               # bf16


def flops_per_byte(new_tokens: int, cached_tokens: int) -> float:
    """Arithmetic intensity of one forward: ~2 FLOPs per parameter per new token, over the
    bytes that must be read (every weight once, plus the KV cache of every cached token)."""
    return 2 * n_params * new_tokens / (weight_bytes + kv_bytes_per_token * cached_tokens)


prefill = flops_per_byte(new_tokens=2048, cached_tokens=2048)     # one 2048-token prompt
decode_1 = flops_per_byte(new_tokens=1, cached_tokens=2048)       # one sequence, one token
decode_64 = flops_per_byte(new_tokens=64, cached_tokens=64 * 1024)  # 64 sequences of 1024
assert prefill > 1000          # far above what a GPU needs to be compute bound
assert decode_1 < 1            # under one FLOP per byte: pure memory traffic
assert decode_64 < 20          # batching helps, but every sequence brings its own KV to read

# The runner's two calls: prefill takes whole prompts, decode one token per row.
prompts = [tok("The capital of France is").input_ids, tok("Hi").input_ids]
logits = runner.prefill(prompts)                  # one forward over every prompt token
assert logits.shape == (2, cfg.vocab_size)        # only the last position is projected
# Projecting every position instead: a 2048-token prompt would make 384 MiB of fp32 logits.
assert 2048 * cfg.vocab_size * 4 == 384 * 2**20
logits = runner.decode(logits.argmax(-1).tolist())  # one forward, one new token per row
assert logits.shape == (2, cfg.vocab_size)
# --8<-- [end:phases]

# --8<-- [start:kv_cache]
layer = runner._cache.layers[0]
width = max(len(p) for p in prompts)                          # 5: the padded prompt width
assert layer.keys.shape == (2, cfg.num_key_value_heads, width + 1, head_dim)  # [B, H_kv, T, d]
cache_bytes = sum(t.numel() * t.element_size()
                  for lay in runner._cache.layers for t in (lay.keys, lay.values))
assert cache_bytes == 2 * (width + 1) * 46_080   # rows x columns x fp32 bytes per token
# "Hi" is one token, yet its row holds width + 1 columns: padding costs KV memory too.

# The cache changes the cost, not the result: decoding one token from the cache gives the
# logits of a full forward over prompt + token.
a = prompts[0]
nxt = runner.prefill([a]).argmax(-1).tolist()
cached = runner.decode(nxt)[0]
recomputed = runner.prefill([a + nxt])[0]
assert torch.allclose(cached, recomputed, atol=1e-3) and cached.argmax() == recomputed.argmax()
# Growing the cache: transformers' DynamicCache concatenates, so every decode step allocates
# a new, one-column-longer tensor per layer and copies the old contents into it.
before = runner._cache.layers[0].keys
runner.decode(nxt)
after = runner._cache.layers[0].keys
assert after.data_ptr() != before.data_ptr() and torch.equal(after[:, :, :-1], before)
# Without a cache, step i re-processes all P + i tokens: quadratic in the output length.
P, n = 512, 256
assert P + n == 768 and sum(P + i for i in range(n)) == 163_712
# --8<-- [end:kv_cache]

# --8<-- [start:padding]
long_p, short_p = tok("The capital of France is").input_ids, tok("Hi").input_ids
together = runner.prefill([long_p, short_p])
alone = runner.prefill([short_p])
# Left padding puts every row's last real token in the last column: one logits[:, -1] serves
# the batch. With the mask hiding pads and positions counting real tokens, the padded row
# computes what the row computes alone (up to float rounding: the matmul shapes differ).
assert torch.allclose(together[1], alone[0], atol=1e-3)
assert together[1].argmax() == alone[0].argmax()

# The positions: the cumulative sum of the mask, so each row counts from 0 at its first real token.
mask = torch.tensor([[1, 1, 1, 1, 1], [0, 0, 0, 0, 1]])
positions = (mask.cumsum(-1) - 1).clamp(min=0)
assert positions.tolist() == [[0, 1, 2, 3, 4], [0, 0, 0, 0, 0]]
runner.prefill([long_p, short_p])
assert runner._next_position.tolist() == [5, 1]      # the next token's position, per row

# Right padding breaks the "last column" rule: the short row's last column is a pad.
pad = runner.pad_token_id
ids = torch.tensor([short_p + [pad] * 4])
with torch.inference_mode():
    right = runner.model(input_ids=ids, attention_mask=torch.tensor([[1, 0, 0, 0, 0]])).logits
assert not torch.allclose(right[0, -1], alone[0], atol=1e-3)
# --8<-- [end:padding]

# --8<-- [start:finished_rows]
fed, columns = [], []      # per decode step: what each row is fed, and the cache's width
real_decode = runner.decode


def watched_decode(ids):
    fed.append(list(ids))
    logits = real_decode(ids)
    columns.append(runner._cache.get_seq_length())
    return logits


runner.decode = watched_decode
try:
    outs = llm.generate(["Hi", "The capital of France is"],
                        [SamplingParams(max_tokens=1, **greedy),
                         SamplingParams(max_tokens=5, **greedy)], use_tqdm=False)
finally:
    del runner.decode                        # back to the class's method
assert [len(o.outputs[0].token_ids) for o in outs] == [1, 5]
# Row 0 finished at the prefill, yet rides along for all 4 decode steps, fed a pad token.
assert len(fed) == 4 and all(step[0] == pad for step in fed)
assert columns == [6, 7, 8, 9]                       # its KV keeps growing as well
wasted = sum(step[0] == pad for step in fed) / sum(len(step) for step in fed)
assert wasted == 0.5                                 # half the decode rows computed nothing
assert runner._cache is None         # the step that finished the last row freed the cache
# --8<-- [end:finished_rows]

# --8<-- [start:head_of_line]
long_id = engine.add_request("Once upon a time", SamplingParams(max_tokens=8, **greedy))
engine.step()                                        # step 1: the batch [long] is prefilled
short_id = engine.add_request("Hi", SamplingParams(max_tokens=1, **greedy))
done, step = {}, 1
while engine.has_unfinished_requests():
    step += 1
    for out in engine.step():
        if out.finished:
            done[out.request_id] = (step, out.metrics)
# The short request needs one forward but waits for the whole batch to drain.
assert done[long_id][0] == 8 and done[short_id][0] == 9
assert done[short_id][1].first_scheduled_time >= done[long_id][1].finished_time
# --8<-- [end:head_of_line]

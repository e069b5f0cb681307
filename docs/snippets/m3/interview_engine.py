"""M3 interview answers that need a model: the slot mapping the runner builds, how many blocks
fit, the profiling run, preemption that changes no output, prompts and sequences bigger than the
cache, leak checks, and a prefill that starts after cached tokens (M4/M5's case).

Builds the tiny random-weight Llama of the tests (2 layers, hidden 64, 2 KV heads of 16
dimensions, float32) in a temporary directory and runs it on the CPU. Takes a few seconds.
Run from the repository root: ``python docs/snippets/m3/interview_engine.py``.
"""

import logging
import tempfile
from pathlib import Path

import pytest
import torch

from folovllm import LLM, SamplingParams
from benchmarks.memory import QWEN3_CONFIG
from folovllm.config import EngineArgs, ModelConfig
from folovllm.core.scheduler import ScheduledSeq, SchedulerOutput
from folovllm.engine.llm_engine import LLMEngine
from folovllm.sequence import Sequence, SequenceData, SequenceStatus
from folovllm.worker.model_runner import ModelRunner
from tests.kv_checks import check_block_accounting
from tests.tiny_models import build_tiny_model

logging.getLogger("folovllm").setLevel(logging.ERROR)   # small caches on purpose: no warnings
tmp = tempfile.TemporaryDirectory()
tiny = str(build_tiny_model("llama", Path(tmp.name) / "llama"))


def runner_for(**kwargs) -> ModelRunner:
    return ModelRunner(EngineArgs.from_kwargs(model=tiny, device="cpu", **kwargs)
                       .create_engine_config())


def run(runner: ModelRunner, seqs: list[Sequence], prefill: bool) -> torch.Tensor:
    """One step as the engine runs it: logits for each sequence's last token."""
    out = SchedulerOutput([ScheduledSeq(None, s) for s in seqs], prefill, 0)
    return runner.execute_model(out)


def greedy(n: int) -> SamplingParams:
    return SamplingParams(temperature=0, max_tokens=n, ignore_eos=True)


# --8<-- [start:slot_mapping]
runner = runner_for(block_size=4, num_gpu_blocks=10)
for layer in runner.attn_layers:  # allocated uninitialised: zero it so written rows stand out
    layer.k_cache.zero_()
a = Sequence(0, SequenceData((11, 12, 13, 14, 15, 16)))       # 6 tokens
b = Sequence(1, SequenceData((21, 22, 23)))                   # 3 tokens
a.block_ids, b.block_ids = [5, 2], [7]                        # what the manager handed out


def slot(table: list[int], p: int, bs: int = 4) -> int:
    return table[p // bs] * bs + p % bs                        # block id x size + offset


ids, md = runner.prepare_inputs([a, b], is_prefill=True)
assert md.slot_mapping.tolist() == [20, 21, 22, 23, 8, 9, 28, 29, 30]
assert md.slot_mapping.tolist() == ([slot(a.block_ids, p) for p in range(6)]
                                    + [slot(b.block_ids, p) for p in range(3)])
assert md.block_tables.tolist() == [[5, 2], [7, 0]]          # padded with 0, never read
assert md.query_start_loc_host == [0, 6, 9] and md.seq_lens_host == [6, 3]

k_cache = runner.model.model.layers[0].self_attn.attn.k_cache  # [10 blocks, 4, 2 heads, 16]
logits = run(runner, [a, b], prefill=True)
written = k_cache.flatten(0, 1).abs().sum((1, 2)).nonzero().flatten()
assert written.tolist() == sorted(md.slot_mapping.tolist())   # exactly those 9 of 40 rows

for s, row in zip((a, b), logits):                             # the engine appends the samples
    s.data.append_token_id(int(row.argmax()), 0.0)
    s.data.num_computed_tokens = s.data.get_len() - 1
ids, md = runner.prepare_inputs([a, b], is_prefill=False)
assert md.positions.tolist() == [6, 3]                         # one new token each
assert md.slot_mapping.tolist() == [slot([5, 2], 6), slot([7], 3)] == [10, 31]
assert md.seq_lens_host == [7, 4] and md.max_query_len == 1
# --8<-- [end:slot_mapping]

# --8<-- [start:sizing]
per_token = runner.config.model_config.kv_cache_bytes_per_token()
assert per_token == 2 * 2 * 2 * 16 * 4 == 512         # K,V x layers x KV heads x dims x fp32

r = runner_for(kv_cache_memory_bytes=2**20)             # a 1 MiB budget, 16-token blocks
assert r.bytes_per_block == 16 * per_token == 8192
assert r.num_blocks == 2**20 // 8192 == 128
assert r.model.model.layers[1].self_attn.attn.v_cache.shape == (128, 16, 2, 16)
# A bf16 cache for the fp32 model: half the bytes per block, twice the blocks.
assert runner_for(kv_cache_memory_bytes=2**20, cache_dtype="bfloat16").num_blocks == 256
# Never more than max_num_seqs sequences of max_model_len can use (4 GiB CPU default here).
assert runner_for(max_num_seqs=2).num_blocks == 2 * 256 // 16
# An explicit count wins over any budget; a budget below one block is a start-up error.
assert runner_for(num_gpu_blocks=7, kv_cache_memory_bytes=1).num_blocks == 7
with pytest.raises(ValueError, match="cannot hold one block of 16 tokens"):
    runner_for(kv_cache_memory_bytes=8000)

# Qwen3-0.6B in bf16: 112 KiB per token, so 16 GiB is 9362 blocks of 16 (149,792 tokens),
# the M3 row of the committed m3-memory.json.
qwen3 = ModelConfig(model=str(QWEN3_CONFIG), device="cpu", dtype="bfloat16", load_format="dummy")
assert qwen3.kv_cache_bytes_per_token() == 114688
assert 16 * 2**30 // (16 * 114688) == 9362 and 9362 * 16 == 149_792
# --8<-- [end:sizing]

# --8<-- [start:profile]
r = runner_for(max_num_batched_tokens=1024, max_num_seqs=8)
lengths, rows = [], []
prepare, compute_logits = r.prepare_inputs, r.model.compute_logits


def spy_prepare(seqs, is_prefill):                 # record the step the profile run builds
    lengths.append([s.data.get_len() for s in seqs])
    return prepare(seqs, is_prefill)


def spy_logits(hidden):                            # and how many rows it samples
    rows.append(hidden.shape[0])
    return compute_logits(hidden)


r.prepare_inputs, r.model.compute_logits = spy_prepare, spy_logits
profile_kv_bytes = r._profile_run()       # on a GPU, kv_budget_bytes() wraps this in peak stats
# The largest step: max_num_batched_tokens prompt tokens, in prompts max_model_len allows...
assert lengths == [[255, 255, 255, 255, 4]] and sum(lengths[0]) == 1024
# ...then logits and a top-p sampling pass for max_num_seqs rows.
assert rows == [8]
# Its throw-away cache (16 blocks per 255-token prompt, 1 for the last) is reported, so the
# budget can subtract it from the peak, and dropped.
assert profile_kv_bytes == (4 * 16 + 1) * r.bytes_per_block
assert r.model.model.layers[0].self_attn.attn.k_cache is None
# --8<-- [end:profile]

# --8<-- [start:block_size]
# The block size changes where K/V live, never what the model computes.
prompts = ["The quick brown fox jumps over the lazy dog.", "Paged attention stores keys",
           "Hello world! How are you today?", "Once upon a time there was a small language model",
           "def main():", "An inference engine schedules requests"]
runs = [LLM(tiny, device="cpu", block_size=bs).generate(prompts, greedy(8), use_tqdm=False)
        for bs in (1, 16, 256)]
assert len({tuple(tuple(o.outputs[0].token_ids) for o in outs) for outs in runs}) == 1
# --8<-- [end:block_size]

# --8<-- [start:preemption]
seeded = SamplingParams(temperature=1.0, seed=7, max_tokens=16, ignore_eos=True)
big = LLM(tiny, device="cpu", block_size=4)                     # room for everything
small = LLM(tiny, device="cpu", block_size=4, num_gpu_blocks=12)  # 48 tokens: the longest fits
for params in (greedy(16), seeded):
    want = big.generate(prompts, params, use_tqdm=False)
    got = small.generate(prompts, params, use_tqdm=False)
    assert [o.outputs[0].token_ids for o in got] == [o.outputs[0].token_ids for o in want]
    assert [o.outputs[0].text for o in got] == [o.outputs[0].text for o in want]
assert small.llm_engine.scheduler.num_preemptions > 0
assert big.llm_engine.scheduler.num_preemptions == 0

# What a preempted sequence keeps while it waits: its tokens, its detokenizer state (text so
# far, offsets) and its own random generator, so it resumes exactly where it stopped.
engine = small.llm_engine
for p in prompts:
    engine.add_request(p, seeded)
kept = 0
while engine.has_unfinished_requests():
    engine.step()
    for w in engine.scheduler.waiting:
        if w.seq.status == SequenceStatus.PREEMPTED:
            assert w.seq.block_ids == [] and w.seq.data.get_output_len() > 0
            assert w.seq.seq_id in engine._detok and w.seq.seq_id in engine._generators
            kept += 1
assert kept > 0
# --8<-- [end:preemption]

# --8<-- [start:too_big]
engine = LLMEngine.from_engine_args(model=tiny, device="cpu", block_size=4, num_gpu_blocks=6)
# 25 tokens need 7 blocks and the whole cache has 6: refused at once, nothing queued.
with pytest.raises(ValueError, match=r"25 tokens, but the whole KV cache holds 24 \(6 blocks"):
    engine.add_request({"prompt_token_ids": list(range(1, 26))}, greedy(4))
assert not engine.has_unfinished_requests()

# 20 tokens (5 blocks) fit the empty cache, but not next to a running request: it waits.
engine.add_request({"prompt_token_ids": [5, 6, 7, 8, 9, 10]}, greedy(6), request_id="small")
engine.step()
engine.add_request({"prompt_token_ids": list(range(1, 21))}, greedy(2), request_id="large")
engine.step()                                        # a decode of "small"; "large" waits
assert [w.request.request_id for w in engine.scheduler.waiting] == ["large"]
order = []
while engine.has_unfinished_requests():
    order += [o.request_id for o in engine.step() if o.finished]
assert order == ["small", "large"]                   # it ran once the cache was free
# --8<-- [end:too_big]

# --8<-- [start:outgrow]
llm = LLM(tiny, device="cpu", block_size=4, num_gpu_blocks=4)   # 16 tokens of cache in all
out = llm.generate([{"prompt_token_ids": [3, 4, 5, 6, 7]}], greedy(100), use_tqdm=False)[0]
# Positions 0..15 have room; the token sampled at position 15 is the 12th and last output.
assert len(out.outputs[0].token_ids) == 12 and out.outputs[0].finish_reason == "length"
assert llm.llm_engine.kv_cache_manager.num_free_blocks() == 4    # and its blocks came back
# --8<-- [end:outgrow]

# --8<-- [start:leaks]
engine = LLMEngine.from_engine_args(model=tiny, device="cpu", block_size=4, num_gpu_blocks=12)
for i, p in enumerate(prompts):
    engine.add_request(p, greedy(12), request_id=str(i))
steps = 0
while engine.has_unfinished_requests():
    engine.step()
    steps += 1
    if steps == 5:
        engine.abort_request("1")                    # a client goes away mid-stream
    check_block_accounting(engine)                   # after every step: nothing lost or shared
assert engine.scheduler.num_preemptions > 0
pool = engine.kv_cache_manager.block_pool
assert pool.get_num_free_blocks() == pool.num_blocks  # idle engine: every block is back

# A leak: a block taken from the pool that no sequence owns. The check names it at once.
orphan = pool.get_new_blocks(1)
with pytest.raises(AssertionError, match="owned by no running sequence"):
    check_block_accounting(engine)
pool.free_blocks(orphan)
check_block_accounting(engine)
# --8<-- [end:leaks]

# --8<-- [start:cached_prefix]
runner = runner_for(block_size=4, num_gpu_blocks=10)
tokens = tuple(range(30, 42))                           # 12 tokens
whole = Sequence(0, SequenceData(tokens))
whole.block_ids = [0, 1, 2]
expected = run(runner, [whole], prefill=True)           # one prefill of all 12

first = Sequence(1, SequenceData(tokens[:8]))           # the first 8 tokens, in blocks 3 and 4
first.block_ids = [3, 4]
run(runner, [first], prefill=True)
rest = Sequence(2, SequenceData(tokens))                # the same 12 tokens, 8 already cached
rest.block_ids, rest.data.num_computed_tokens = [3, 4, 5], 8
ids, md = runner.prepare_inputs([rest], is_prefill=True)
assert ids.tolist() == list(tokens[8:])                 # only the 4 new tokens are computed
assert md.max_query_len == 4 and md.seq_lens_host == [12]    # q_len < seq_len
assert md.positions.tolist() == [8, 9, 10, 11] and md.slot_mapping.tolist() == [20, 21, 22, 23]
torch.testing.assert_close(run(runner, [rest], prefill=True), expected)
# --8<-- [end:cached_prefix]

tmp.cleanup()
print("engine answers: all asserts passed")

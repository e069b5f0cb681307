"""M3 interview answers that need a model: the slot mapping the runner
builds, how many blocks fit, the profiling run, preemption that changes no
output, prompts and sequences bigger than the cache, leak checks, and a
prefill that starts after cached tokens (M4/M5's case).

Builds the tiny random-weight Llama of the tests (2 layers, hidden 64, 2 KV
heads of 16 dimensions, float32) in a temporary directory and runs it on
the CPU. Takes a few seconds:
`python docs/snippets/m3/interview_engine.py`.
"""

import copy
import logging
import tempfile
from pathlib import Path

from benchmarks.memory import QWEN3_CONFIG
from folovllm import LLM, SamplingParams
from folovllm.config import EngineArgs, ModelConfig
from folovllm.core.scheduler_output import (CachedSeqData, NewSeqData,
                                            SchedulerOutput)
from folovllm.engine.llm_engine import LLMEngine
from folovllm.sequence import SequenceStatus
from folovllm.worker.model_runner import ModelRunner
from tests.kv_checks import check_block_accounting
from tests.tiny_models import build_tiny_model

# small caches on purpose: no warnings
logging.getLogger("folovllm").setLevel(logging.ERROR)
tmp = tempfile.TemporaryDirectory()
tiny = str(build_tiny_model("llama", Path(tmp.name) / "llama"))
GREEDY = SamplingParams(temperature=0)


def runner_for(**kwargs) -> ModelRunner:
    """A runner that keeps what its `_prepare_inputs` and the model's
    `compute_logits` return, in `runner.inputs` and `runner.logits`."""
    config = EngineArgs.from_kwargs(model=tiny, device="cpu", **kwargs)
    runner = ModelRunner(config.create_engine_config())
    runner.inputs, runner.logits = [], []
    prepare, logits = runner._prepare_inputs, runner.model.compute_logits
    runner._prepare_inputs = lambda *a: keep(runner.inputs, prepare(*a))
    runner.model.compute_logits = lambda h: keep(runner.logits, logits(h))
    return runner


def keep(into: list, value):
    into.append(copy.deepcopy(value))  # later steps reuse the buffers
    return value


def step(runner: ModelRunner, new=(), cached=None, counts=None):
    """Run one SchedulerOutput: `new` sequences run whole (less what is
    computed) unless `counts` says; returns that step's logits."""
    counts = counts or {s.seq_id: len(s.prompt_token_ids)
                        - s.num_computed_tokens for s in new}
    runner.execute_model(SchedulerOutput(
        list(new), cached or CachedSeqData(), counts,
        sum(counts.values()), set()))
    return runner.logits[-1]


def greedy(n: int) -> SamplingParams:
    return SamplingParams(temperature=0, max_tokens=n, ignore_eos=True)


# --8<-- [start:slot_mapping]
runner = runner_for(block_size=4, num_gpu_blocks=10)
for layer in runner.attn_layers:  # zero it: written rows stand out
    layer.k_cache.zero_()
# Two new sequences and the blocks the manager handed out, as the
# scheduler sends them: a (6 tokens) in blocks 5, 2; b (3) in block 7.
a = NewSeqData(0, "a", 0, (11, 12, 13, 14, 15, 16), GREEDY, [5, 2], 0)
b = NewSeqData(1, "b", 0, (21, 22, 23), GREEDY, [7], 0)


def slot(table: list[int], p: int, bs: int = 4) -> int:
    return table[p // bs] * bs + p % bs  # block id x size + offset


step(runner, [a, b])
_, prefill_md, _ = runner.inputs[-1]
# slot_mapping: [20, 21, 22, 23, 8, 9, 28, 29, 30], slot(table, p) for
# each position; block_tables: [[5, 2], [7, 0]] (0: padding, unread).
# [10 blocks, 4, 2 heads, 16]: exactly those 9 of 40 rows were written
k_cache = runner.model.model.layers[0].self_attn.attn.k_cache
written = k_cache.flatten(0, 1).abs().sum((1, 2)).nonzero().flatten()

# The runner appended each sampled token; the next step runs one token
# each, and the scheduler sends only the counts (no new block needed).
step(runner, cached=CachedSeqData([0, 1], [False] * 2, [[], []], [6, 3]),
     counts={0: 1, 1: 1})
_, decode_md, _ = runner.inputs[-1]
# positions [6, 3], one new token each, at slots
# [slot([5, 2], 6), slot([7], 3)] == [10, 31]
# --8<-- [end:slot_mapping]

# --8<-- [start:sizing]
per_token = runner.config.model_config.kv_cache_bytes_per_token()
# K, V x layers x KV heads x dims x fp32: 2 x 2 x 2 x 16 x 4 = 512

one_mib = runner_for(kv_cache_memory_bytes=2**20)  # 16-token blocks
# bytes_per_block: 16 x 512 = 8192, so 2**20 // 8192 = 128 blocks
v_cache = one_mib.model.model.layers[1].self_attn.attn.v_cache
# A bf16 cache for the fp32 model: half the bytes, twice the blocks.
bf16_blocks = runner_for(kv_cache_memory_bytes=2**20,
                         cache_dtype="bfloat16").num_blocks  # 256
# Never more than max_num_seqs sequences of max_model_len can use (the
# 4 GiB CPU default here): 2 x 256 // 16.
capped = runner_for(max_num_seqs=2).num_blocks
# An explicit count wins over any budget; a budget below one block is a
# start-up error.
explicit = runner_for(num_gpu_blocks=7, kv_cache_memory_bytes=1).num_blocks
try:
    runner_for(kv_cache_memory_bytes=8000)
except ValueError as e:
    too_small = str(e)  # "... cannot hold one block of 16 tokens ..."

# Qwen3-0.6B in bf16: 112 KiB per token, so 16 GiB is 9362 blocks of 16
# (149,792 tokens), the M3 row of the committed m3-memory.json.
qwen3 = ModelConfig(model=str(QWEN3_CONFIG), device="cpu",
                    dtype="bfloat16", load_format="dummy")
qwen3_blocks = 16 * 2**30 // (16 * qwen3.kv_cache_bytes_per_token())
# --8<-- [end:sizing]

# --8<-- [start:profile]
r = runner_for(max_num_batched_tokens=1024, max_num_seqs=8)
profile_kv_bytes = r._profile_run()  # a GPU wraps it in peak statistics
# The largest step: max_num_batched_tokens prompt tokens, in prompts
# max_model_len allows (4 of 256)...
[(_, profile_md, _)] = r.inputs
# ...then logits of the last row, and logits and a top-p sampling pass
# for max_num_seqs rows: r.logits has 1 row, then 8.
# Its throw-away cache (16 blocks per 256-token prompt) is reported, so
# the budget can subtract it from the peak, and dropped (k_cache is None).
# --8<-- [end:profile]

# --8<-- [start:block_size]
# The block size changes where K/V live, never what the model computes.
prompts = ["The quick brown fox jumps over the lazy dog.",
           "Paged attention stores keys", "Hello world! How are you today?",
           "Once upon a time there was a small language model",
           "def main():", "An inference engine schedules requests"]
runs = [LLM(tiny, device="cpu", block_size=bs).generate(
            prompts, greedy(8), use_tqdm=False) for bs in (1, 16, 256)]
by_block_size = [[o.outputs[0].token_ids for o in outs] for outs in runs]
# --8<-- [end:block_size]

# --8<-- [start:preemption]
seeded = SamplingParams(temperature=1.0, seed=7, max_tokens=16,
                        ignore_eos=True)
big = LLM(tiny, device="cpu", block_size=4)  # room for everything
# 12 blocks, 48 tokens: the longest sequence fits
small = LLM(tiny, device="cpu", block_size=4, num_gpu_blocks=12)
pairs = {}  # sampling: (outputs with room, outputs with preemptions)
for name, params in (("greedy", greedy(16)), ("seeded", seeded)):
    want = big.generate(prompts, params, use_tqdm=False)
    got = small.generate(prompts, params, use_tqdm=False)
    pairs[name] = want, got  # the same tokens and text

# What a preempted sequence keeps while it waits: its tokens (in the
# scheduler), its text and detokenizer state (in output processing), and
# its row in the runner with its own random generator.
engine = small.llm_engine
batch = engine.runner.input_batch
for p in prompts:
    engine.add_request(p, seeded)
kept = []  # (blocks, tokens, has text state, has generator), each time
while engine.has_unfinished_requests():
    engine.step()
    for w in engine.scheduler.waiting:
        if w.seq.status == SequenceStatus.PREEMPTED:
            seq_id = w.seq.seq_id
            kept.append((engine.kv_cache_manager.get_block_ids(seq_id),
                         w.seq.data.get_output_len(),
                         seq_id in engine.output_processor.seq_states,
                         batch.generators[batch.row_of[seq_id]] is not None))
# --8<-- [end:preemption]

# --8<-- [start:too_big]
engine = LLMEngine.from_engine_args(model=tiny, device="cpu", block_size=4,
                                    num_gpu_blocks=6)
# 25 tokens need 7 blocks, the whole cache has 6: refused, nothing queued.
try:
    engine.add_request({"prompt_token_ids": list(range(1, 26))}, greedy(4))
except ValueError as e:
    refused = str(e)  # "25 tokens, but the whole KV cache holds 24 ..."
queued = engine.has_unfinished_requests()  # False

# 20 tokens (5 blocks) fit the empty cache, but not next to a running
# request: it waits.
engine.add_request({"prompt_token_ids": [5, 6, 7, 8, 9, 10]}, greedy(6),
                   request_id="small")
engine.step()
engine.add_request({"prompt_token_ids": list(range(1, 21))}, greedy(2),
                   request_id="large")
engine.step()  # a decode of "small"; "large" waits
waiting = [w.request.request_id for w in engine.scheduler.waiting]
order = []
while engine.has_unfinished_requests():
    order += [o.request_id for o in engine.step() if o.finished]
# order: small, large: it ran once the cache was free
# --8<-- [end:too_big]

# --8<-- [start:outgrow]
# 4 blocks of 4: 16 tokens of cache in all
llm = LLM(tiny, device="cpu", block_size=4, num_gpu_blocks=4)
prompt = {"prompt_token_ids": [3, 4, 5, 6, 7]}
out = llm.generate([prompt], greedy(100), use_tqdm=False)[0].outputs[0]
# Positions 0..15 have room; the token sampled at position 15 is the
# 12th and last output: finish_reason "length".
kv = llm.llm_engine.kv_cache_manager  # and its 4 blocks came back
# --8<-- [end:outgrow]

# --8<-- [start:leaks]
engine = LLMEngine.from_engine_args(model=tiny, device="cpu", block_size=4,
                                    num_gpu_blocks=12)
for i, p in enumerate(prompts):
    engine.add_request(p, greedy(12), request_id=str(i))
steps = 0
while engine.has_unfinished_requests():
    engine.step()
    steps += 1
    if steps == 5:
        engine.abort_request("1")  # a client goes away mid-stream
    check_block_accounting(engine)  # every step: nothing lost or shared
pool = engine.kv_cache_manager.block_pool
free_idle = pool.get_num_free_blocks()  # idle: all back

# A leak: a block taken from the pool that no sequence owns. The check
# names it at once.
orphan = pool.get_new_blocks(1)
try:
    check_block_accounting(engine)
except AssertionError as e:
    leak = str(e)  # "... ref_cnt 1, held by 0 ..."
pool.free_blocks(orphan)
check_block_accounting(engine)
# --8<-- [end:leaks]

# --8<-- [start:cached_prefix]
runner = runner_for(block_size=4, num_gpu_blocks=10)
tokens = tuple(range(30, 42))  # 12 tokens
expected = step(runner, [NewSeqData(0, "w", 0, tokens, GREEDY,
                                    [0, 1, 2], 0)])  # all 12 at once
# The first 8 tokens, in blocks 3 and 4 ...
step(runner, [NewSeqData(1, "f", 0, tokens[:8], GREEDY, [3, 4], 0)])
# ... then the same 12 tokens with those 8 already computed.
rest = NewSeqData(2, "r", 0, tokens, GREEDY, [3, 4, 5], 8)
logits = step(runner, [rest])  # the same logits as `expected`
ids, md, _ = runner.inputs[-1]
# Only the 4 new tokens run (ids), at positions 8..11, into slots 20..23;
# max_query_len 4 < seq_lens [12].
# --8<-- [end:cached_prefix]

tmp.cleanup()
print("engine answers: done")

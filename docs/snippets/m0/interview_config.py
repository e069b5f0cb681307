"""M0 interview answers on configuration: layers, validation, EngineArgs, dtype, lengths, KV bytes.

Run from the repository root: ``python docs/snippets/m0/interview_config.py``. Only the default
model's ``config.json`` is read; no weights are loaded.
"""

import copy
import subprocess
import sys

import torch

from folovllm import SamplingParams
from folovllm.config import CacheConfig, EngineArgs, ModelConfig, ParallelConfig, SchedulerConfig


# --8<-- [start:validation]
def error_of(fn, *args, **kwargs) -> str:
    """Call ``fn`` and return the message of the ValueError it must raise."""
    try:
        fn(*args, **kwargs)
    except ValueError as exc:
        return str(exc)
    raise AssertionError(f"{fn.__name__} accepted {args} {kwargs}")


# Every message names the field, the value it got and what would have been accepted.
assert error_of(CacheConfig, block_size=0) == "block_size=0 is invalid: must be in [1, 1024]"
assert error_of(CacheConfig, gpu_memory_utilization=1.5) == (
    "gpu_memory_utilization=1.5 is invalid: must be a number in (0, 1]")
assert error_of(SchedulerConfig, max_num_seqs=True) == (
    "max_num_seqs=True is invalid: must be an integer")          # bool is not a count
assert error_of(SchedulerConfig, policy="lifo") == (
    "policy='lifo' is invalid: must be one of ['fcfs']")

# Why not `assert`? Under `python -O` assertions are compiled away and the bad value goes through.
check = "x = -1\nassert x > 0, 'x must be positive'\nprint('still running with x =', x)"
run = subprocess.run([sys.executable, "-O", "-c", check], capture_output=True, text=True)
assert run.returncode == 0 and run.stdout.strip() == "still running with x = -1"

# NaN fails every comparison, so a check written as "reject if too small or too large" lets it
# through; the positive form "accept only if inside" rejects it.
nan = float("nan")
assert not (nan < 0.0 or nan > 1.0)
assert error_of(CacheConfig, gpu_memory_utilization=nan).startswith("gpu_memory_utilization=nan")
# SamplingParams tests math.isfinite first, which also rules out infinities.
assert error_of(SamplingParams, temperature=nan) == (
    "temperature=nan is invalid: must be a finite number")
assert "must be a finite number" in error_of(SamplingParams, top_p=float("inf"))
# --8<-- [end:validation]

# --8<-- [start:engine_args]
# A typo is an error with a suggestion, never a keyword that is silently dropped.
msg = error_of(EngineArgs.from_kwargs, max_model_length=4096)
assert msg.startswith("unknown engine argument 'max_model_length'; did you mean 'max_model_len'?")

# The known keys are the union of the four groups' fields: a new knob is declared once.
known = EngineArgs.known_keys()
assert {"dtype", "block_size", "max_num_seqs", "tensor_parallel_size"} <= set(known)
assert len(known) == len(set(known))  # no name belongs to two groups

# The cheap groups are built first, so a bad block size is reported before the (missing!)
# model directory is even looked at.
args = EngineArgs.from_kwargs(model="/no/such/model", block_size=0)
assert error_of(args.create_engine_config) == "block_size=0 is invalid: must be in [1, 1024]"
# Inside ModelConfig too, the cheap checks run before the model directory is touched.
assert error_of(ModelConfig, model="/no/such/model", dtype="fp8").startswith("dtype='fp8'")
# --8<-- [end:engine_args]

# --8<-- [start:layers]
engine = EngineArgs.from_kwargs(device="cpu").create_engine_config()  # the default model
m, s = engine.model_config, engine.scheduler_config
assert isinstance(engine.cache_config, CacheConfig)
assert isinstance(engine.parallel_config, ParallelConfig)

# A rule that needs two groups lives in EngineConfig. The token budget is derived from the
# model's length ...
assert s.max_num_batched_tokens == max(m.max_model_len, 8192) == 8192
# ... and without chunked prefill one step must be able to hold a whole prompt.
small = EngineArgs.from_kwargs(device="cpu", max_num_batched_tokens=4096)
assert "must be >= max_model_len=8192" in error_of(small.create_engine_config)
chunked = EngineArgs.from_kwargs(device="cpu", max_num_batched_tokens=4096,
                                 enable_chunked_prefill=True)
assert chunked.create_engine_config().scheduler_config.max_num_batched_tokens == 4096
# --8<-- [end:layers]

# --8<-- [start:dtype]
cpu = ModelConfig(model=None, device="cpu")     # default model, config only
assert cpu.checkpoint_dtype == torch.bfloat16   # the weights are stored in bf16 ...
assert cpu.torch_dtype == torch.float32         # ... and `auto` runs them in fp32 on CPU

# The same rule as a GPU machine sees it: `auto` keeps the checkpoint's bf16 there.
gpu_view = copy.copy(cpu)
gpu_view.device = "cuda"
assert gpu_view._resolve_dtype() == torch.bfloat16

# An explicit dtype is always obeyed.
assert ModelConfig(model=None, device="cpu", dtype="bfloat16").torch_dtype == torch.bfloat16
assert "dtype='fp8' is invalid" in error_of(ModelConfig, model=None, device="cpu", dtype="fp8")
# --8<-- [end:dtype]

# --8<-- [start:max_len]
assert cpu.hf_config.max_position_embeddings == 8192
assert cpu.derived_max_model_len() == cpu.max_model_len == 8192   # inferred from config.json
assert ModelConfig(model=None, device="cpu", max_model_len=2048).max_model_len == 2048
too_long = error_of(ModelConfig, model=None, device="cpu", max_model_len=16384)
assert too_long == "max_model_len=16384 is invalid: must be in [1, 8192]"
# --8<-- [end:max_len]


# --8<-- [start:kv_bytes]
def kv_bytes_per_token(layers: int, kv_heads: int, head_dim: int, elem_bytes: int) -> int:
    return 2 * layers * kv_heads * head_dim * elem_bytes   # 2: one K and one V vector


shape = (cpu.num_layers, cpu.num_kv_heads, cpu.head_dim)
assert shape == (30, 3, 64)
assert cpu.kv_cache_bytes_per_token() == kv_bytes_per_token(*shape, 4) == 46_080        # fp32
assert cpu.kv_cache_bytes_per_token(torch.bfloat16) == kv_bytes_per_token(*shape, 2) == 23_040

# One full 8192-token context in bf16 is exactly 180 MiB ...
assert 23_040 * cpu.max_model_len == 188_743_680 == 180 * 2**20
# ... and 10 GiB of KV memory holds 466,033 tokens (about 56 full contexts).
assert (10 * 2**30) // 23_040 == 466_033
assert (10 * 2**30) // (23_040 * 8192) == 56
# One 16-token block (CacheConfig's default block_size) is 360 KiB.
assert CacheConfig().block_size * 23_040 == 368_640 == 360 * 1024
# --8<-- [end:kv_bytes]

# --8<-- [start:gqa]
group = cpu.num_attention_heads // cpu.num_kv_heads
assert (cpu.num_attention_heads, cpu.num_kv_heads, group) == (9, 3, 3)

# With one KV head per query head (plain multi-head attention) the cache would be 3x larger.
mha = kv_bytes_per_token(cpu.num_layers, cpu.num_attention_heads, cpu.head_dim, 2)
assert mha == 69_120 == group * cpu.kv_cache_bytes_per_token(torch.bfloat16)

# The cache stores 3 heads; attention expands them on the fly: query head h reads KV head h // 3.
q = torch.randn(1, 9, 5, 64)   # (batch, query heads, tokens, head_dim)
k = torch.randn(1, 3, 5, 64)   # only 3 KV heads are ever stored
v = torch.randn(1, 3, 5, 64)
k_rep, v_rep = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)
assert all(torch.equal(k_rep[:, h], k[:, h // group]) for h in range(9))
out = torch.nn.functional.scaled_dot_product_attention(q, k_rep, v_rep, is_causal=True)
assert out.shape == q.shape    # every query head still gets its own output

# Tensor parallelism (M7) will split the heads evenly: 9 heads over 3 KV heads go on 3 GPUs,
# not 2. Until M7 lands, any size above 1 is refused rather than silently ignored.
tp3 = EngineArgs.from_kwargs(device="cpu", tensor_parallel_size=3)
assert error_of(tp3.create_engine_config).startswith("tensor_parallel_size=3 is invalid")
# --8<-- [end:gqa]

print("interview_config: all claims hold")

"""M2 interview answers on the model runner and the model code: the flat
batch and its metadata, logits at the last position only, weight loading,
Llama / Qwen2 / Qwen3, tied embeddings, the per-slot KV cache and its
sizing, and agreement with transformers.

Since M3 the KV cache is made of blocks. An M2 slot is one block of
`max_model_len` tokens, so `runner_for` sets `block_size=max_model_len` and
`prefill` gives each sequence its slot as a one-entry block table, in a
`SchedulerOutput` as the scheduler sends it.

Builds the three tiny random-weight test models (2 layers, hidden 64) in a
temporary directory and runs them on the CPU; the Qwen3-0.6B shape is built
on the meta device (no memory, no weights). Takes a few seconds:
`python docs/snippets/m2/interview_runner.py`.
"""

import copy
import itertools
import json
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

from folovllm import SamplingParams
from folovllm.config import EngineArgs, ModelConfig
from folovllm.core.scheduler_output import (CachedSeqData, NewSeqData,
                                            SchedulerOutput)
from folovllm.model_executor.models.registry import get_model_class
from folovllm.worker.model_runner import DEFAULT_CPU_KV_BYTES, ModelRunner
from tests.tiny_models import build_tiny_model

tmp = tempfile.TemporaryDirectory()
dirs = {name: build_tiny_model(name, Path(tmp.name) / name)
        for name in ("llama", "qwen2", "qwen3")}
_seq_ids = itertools.count()


def runner_for(name: str, **kwargs) -> ModelRunner:
    """A runner whose `logits` list keeps the logits of every step."""
    kwargs.setdefault("kv_cache_memory_bytes", 2**22)
    # a block is a slot
    kwargs.setdefault("block_size", kwargs.get("max_model_len", 256))
    cfg = EngineArgs.from_kwargs(model=str(dirs[name]), device="cpu",
                                 **kwargs)
    runner = ModelRunner(cfg.create_engine_config())
    runner.logits, compute_logits = [], runner.model.compute_logits

    def keep(hidden: torch.Tensor) -> torch.Tensor:
        runner.logits.append(compute_logits(hidden))
        return runner.logits[-1]

    runner.model.compute_logits = keep
    return runner


def prefill(runner: ModelRunner, prompts, slots=None):
    """One step that prefills `prompts`, slot i each unless `slots` says;
    returns the sequence ids and one row of logits per sequence."""
    slots = range(len(prompts)) if slots is None else slots
    greedy = SamplingParams(temperature=0)
    new = [NewSeqData(next(_seq_ids), "r", 0, tuple(p), greedy, [slot], 0)
           for p, slot in zip(prompts, slots)]
    counts = {s.seq_id: len(s.prompt_token_ids) for s in new}
    runner.execute_model(SchedulerOutput(
        new, CachedSeqData(), counts, sum(counts.values()), set()))
    return list(counts), runner.logits[-1]


def decode(runner: ModelRunner, seq_ids: list[int], computed: list[int]):
    """One decode step: the runner holds each sequence's sampled token;
    the scheduler sends only the computed counts."""
    n = len(seq_ids)
    cached = CachedSeqData(seq_ids, [False] * n, [[]] * n, computed)
    runner.execute_model(SchedulerOutput(
        [], cached, dict.fromkeys(seq_ids, 1), n, set()))
    return runner.logits[-1]


runner = runner_for("llama")
V, hidden_size = runner.model.config.vocab_size, runner.model.config.hidden_size
PROMPTS = [[5, 6, 7, 8, 9, 10, 11, 12], [13, 14, 15], [20, 21, 22, 23, 24]]

# --8<-- [start:flat_batch]
seen = []  # copies of what the runner hands the model: (ids, positions, md)
runner.model.register_forward_pre_hook(
    lambda module, args: seen.append(copy.deepcopy(args)))

seq_ids, logits = prefill(runner, PROMPTS)
ids, positions, md = seen[-1]
# ids: 8 + 3 + 5 = 16 tokens, no padding, no batch dim (padded [3, 8]: 24).
# Positions restart at 0 per sequence; query_start_loc says where each
# sequence starts, [0, 8, 11, 16]; block_tables gives each its slot, and
# slot_mapping says where each token's K/V go: slot x max_model_len +
# position, one index.
padded = len(PROMPTS) * max(map(len, PROMPTS))

# The next step decodes one token per sequence, at its next position.
decode(runner, seq_ids, computed=[8, 3, 5])
ids, positions, md = seen[-1]  # seq_lens 9, 4, 6; one query each

# All but attention works token by token: a token's MLP output does not
# depend on which other tokens share the batch.
mlp, x = runner.model.model.layers[0].mlp, torch.randn(16, hidden_size)
with torch.no_grad():
    mlp_batch, mlp_alone = mlp(x)[8:11], mlp(x[8:11])
# --8<-- [end:flat_batch]

# --8<-- [start:last_logits]
hidden = []
runner.model.model.register_forward_hook(
    lambda module, args, out: hidden.append(out))
_, logits = prefill(runner, PROMPTS)
# hidden[-1]: a state for every token; logits: each sequence's last only.
last = torch.tensor([8, 11, 16]) - 1  # query_start_loc[1:] - 1
with torch.inference_mode():
    full = runner.model.compute_logits(hidden[-1])

# At Qwen3-0.6B's shape (on the meta device: no memory, no weights) the
# LM head is big.
QWEN3_0_6B = {
    "architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3",
    "hidden_size": 1024, "intermediate_size": 3072,
    "num_hidden_layers": 28, "num_attention_heads": 16,
    "num_key_value_heads": 8, "head_dim": 128, "vocab_size": 151936,
    "max_position_embeddings": 40960, "rope_theta": 1000000,
    "tie_word_embeddings": True, "torch_dtype": "bfloat16",
    "rms_norm_eps": 1e-6,
}
with tempfile.TemporaryDirectory() as d:
    (Path(d) / "config.json").write_text(json.dumps(QWEN3_0_6B))
    qwen3_cfg = ModelConfig(model=d, dtype="bfloat16", device="cpu")
with torch.device("meta"):
    qwen3 = get_model_class(["Qwen3ForCausalLM"])(qwen3_cfg.hf_config)
total = sum(p.numel() for p in qwen3.parameters())  # tied head: once
head = qwen3.lm_head.weight.numel()
# Per token the head is about a quarter (0.26) of all multiply-adds.
head_share = head / total
# Every position of a 2048-token prompt: 1187 MiB of fp32 logits.
all_logits_bytes = 2048 * 151936 * 4
# --8<-- [end:last_logits]

# --8<-- [start:weights]
# Each checkpoint name maps to one of our parameters; q/k/v land in rows of
# qkv_proj, gate/up in rows of gate_up_proj.
qwen2 = runner_for("qwen2").model
ckpt = load_file(dirs["qwen2"] / "model.safetensors")
attn, mlp = qwen2.model.layers[0].self_attn, qwen2.model.layers[0].mlp


def layer0(part: str, kind: str = "weight") -> torch.Tensor:
    return ckpt[f"model.layers.0.{part}.{kind}"]


qkv = [f"self_attn.{p}_proj" for p in "qkv"]
qkv_weight = torch.cat([layer0(p) for p in qkv])  # == attn.qkv_proj.weight
qkv_bias = torch.cat([layer0(p, "bias") for p in qkv])
gate_up = torch.cat([layer0("mlp.gate_proj"), layer0("mlp.up_proj")])
# Per layer, the checkpoint's 7 projection matrices became 4 matmuls.
ckpt_proj = {n for n in ckpt
             if n.startswith("model.layers.0.") and n.endswith("proj.weight")}
our_proj = {n for n, _ in qwen2.model.layers[0].named_modules()
            if n.endswith("proj")}
# --8<-- [end:weights]

# --8<-- [start:models]
models = {name: runner_for(name).model for name in dirs}
attns = {name: m.model.layers[0].self_attn for name, m in models.items()}
# Llama: no biases, no q/k norm. Qwen2: q, k, v biases. Qwen3: q/k norm.
# Qwen3 sets head_dim (32 here): heads need not add up to the hidden size
# (64): its q is 4 x 32 = 128 wide, and o_proj maps 128 back to 64.
# The three share one decoder: the subclasses only flip two switches.
from folovllm.model_executor.models.llama import LlamaForCausalLM  # noqa

one_decoder = all(isinstance(m, LlamaForCausalLM) for m in models.values())
biases = type(models["qwen2"]).biases(models["qwen2"].config)
# RoPE: the tiny Llama uses llama3 scaling, the Qwens theta = 1e6.
rope = {name: m.config.rope_parameters for name, m in models.items()}
# --8<-- [end:models]

# --8<-- [start:tied]
# Tied: the LM head *is* the embedding matrix (one Parameter, one copy).
qwen2, llama = models["qwen2"], models["llama"]
n_tied = sum(p.numel() for p in qwen2.parameters())
n_untied = sum(p.numel() for p in llama.parameters())
# The tiny Qwen2 differs from the tiny Llama by the tie and its biases.
bias_numel = 2 * attns["qwen2"].qkv_proj.bias.numel()  # 2 layers
saved = n_untied - (n_tied - bias_numel)  # the head: V x hidden_size
qwen2_names = set(load_file(dirs["qwen2"] / "model.safetensors"))
# --8<-- [end:tied]

# --8<-- [start:slot_cache]
runner = runner_for("llama", kv_cache_memory_bytes=2**20, max_num_seqs=64)
# 2 (K, V) x 2 layers x 2 KV heads x 16 dims x 4 bytes = 512
per_token = runner.config.model_config.kv_cache_bytes_per_token()
# A block of max_model_len (256): a slot of 256 x 512 bytes; 8 fit in 1 MiB.
k_cache = runner.model.model.layers[0].self_attn.attn.k_cache
# k_cache: [slots, max_model_len, Hk, D] = [8, 256, 2, 16]

# Twenty-token conversations: each uses 20 of its slot's 256 rows (7.8%).
used = 20 / 256
# Paged (M3), 16-token blocks: the same 1 MiB holds 2048 tokens; a
# 20-token sequence takes two blocks, so 64 of them fit instead of 8.
paged = runner_for("llama", kv_cache_memory_bytes=2**20, max_num_seqs=64,
                   block_size=16)
tokens = paged.num_blocks * paged.block_size

# At Qwen3-0.6B's shape and full context, a slot is 4.375 GiB of bf16 K, V:
slot_bytes = 40960 * qwen3_cfg.kv_cache_bytes_per_token()
slots_in_64_gib = 64 * 2**30 // slot_bytes  # 14
# --8<-- [end:slot_cache]

# --8<-- [start:kv_budget]
# The slot count is min(max_num_seqs, budget // bytes_per_slot). Main
# counts blocks, min(budget // bytes_per_block,
# max_num_seqs * cdiv(max_model_len, block_size)): the same number when a
# block is a slot.
by_seqs = runner_for("llama", kv_cache_memory_bytes=2**20,
                     max_num_seqs=3).num_blocks  # 3
# No explicit budget on the CPU: 4 GiB (vLLM's CPU backend default too).
cpu_budget = DEFAULT_CPU_KV_BYTES
cpu_default = runner_for("llama", kv_cache_memory_bytes=None,
                         max_num_seqs=16).num_blocks  # 16
# A budget that cannot hold one max_model_len sequence fails at start-up.
try:
    runner_for("llama", kv_cache_memory_bytes=100_000)
except ValueError as e:
    too_small = str(e)  # "... cannot hold one block of 256 tokens ..."
# A lower max_model_len makes slots smaller: more fit in the same budget.
shorter = runner_for("llama", kv_cache_memory_bytes=2**20,
                     max_model_len=64).num_blocks  # 32
# Why the GPU profile run also samples max_num_seqs rows: the sampler's
# [max_num_seqs, V] float32 tensors are 148 MiB each for 256 sequences at
# Qwen3's 151,936-token vocabulary.
sampler_mib = 256 * 151936 * 4 // 2**20
# --8<-- [end:kv_budget]

# --8<-- [start:budget_rule]
# Without chunked prefill a whole prompt must fit in one step's budget.
try:
    EngineArgs.from_kwargs(model=str(dirs["llama"]), device="cpu",
                           max_num_batched_tokens=100, max_num_seqs=64,
                           enable_chunked_prefill=False  # M2's policy
                           ).create_engine_config()
except ValueError as e:
    budget_error = str(e)  # "... must be >= max_model_len=256 ..."
# --8<-- [end:budget_rule]

# --8<-- [start:parity]
# Float addition is not associative: the order of a sum changes last bits.
a, b, c = (torch.tensor(v, dtype=torch.float32) for v in (1e8, -1e8, 1.0))
left, right = (a + b) + c, a + (b + c)  # 1.0 and 0.0

parity = {}  # model name: (our logits, transformers' logits)
for name in dirs:
    _, ours = prefill(runner_for(name), PROMPTS)
    hf = AutoModelForCausalLM.from_pretrained(dirs[name],
                                              dtype=torch.float32).eval()
    with torch.no_grad():
        ref = torch.stack([hf(torch.tensor([p])).logits[0, -1]
                           for p in PROMPTS])
    # Fused matmuls and another attention call sum in another order:
    # close, not equal; the same argmax.
    parity[name] = ours, ref
# --8<-- [end:parity]

# --8<-- [start:invariance]
runner3 = runner_for("qwen3")
_, together = prefill(runner3, PROMPTS, slots=[0, 1, 2])
alone = [prefill(runner3, [p], slots=[3])[1][0] for p in PROMPTS]
# Same sequence, other neighbours, another slot: the same logits up to
# rounding, alone[i] against together[i].
# --8<-- [end:invariance]

tmp.cleanup()
print("runner answers: done")

"""The summary table at the top of the benchmarks page, rendered from the results files.

Every cell is read from ``docs/benchmarks/results/*.json`` or computed from them (the memory
bandwidth bound of a decode step), so ``tests/docs/test_benchmarks.py`` can render the table again
and compare it with the committed ``docs/snippets/benchmarks/summary.md``.

Run ``python -m benchmarks.summary`` from the repository root after adding a results file.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.memory import QWEN3_CONFIG

if TYPE_CHECKING:
    from folovllm.config import ModelConfig

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "docs" / "benchmarks" / "results"
SUMMARY = REPO / "docs" / "snippets" / "benchmarks" / "summary.md"


@functools.cache
def bf16_config(model_dir: Path) -> ModelConfig:
    """The model's config in bfloat16, from its ``config.json`` alone (dummy weights)."""
    from folovllm.config import ModelConfig

    return ModelConfig(model=str(model_dir), dtype="bfloat16", device="cpu", load_format="dummy")


def weight_bytes(model_dir: Path) -> int:
    """The bf16 weights' bytes, from the shapes alone (a model on the meta device holds no
    memory). ``parameters()`` yields a tied embedding and LM head once: read once per step."""
    import torch
    from transformers import AutoModelForCausalLM

    config = bf16_config(model_dir)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config.hf_config, dtype=config.torch_dtype)
    return sum(p.numel() * p.element_size() for p in model.parameters())


# --8<-- [start:bound]
@dataclass
class DecodeBound:
    """The memory-bandwidth bound of one decode step against the measured time per token."""

    weight_bytes: int      # every weight is read once per step
    kv_bytes: int          # the K and V of every cached token of every sequence, all layers
    copy_gbps: float       # a device-to-device copy on the same GPU: what a kernel can reach
    tpot_ms: float         # measured median time per output token of the whole engine

    @property
    def bound_ms(self) -> float:
        return (self.weight_bytes + self.kv_bytes) / (self.copy_gbps * 1e9) * 1e3

    @property
    def fraction(self) -> float:
        """Of the bound reached: 1.0 would be a step that only moves its bytes."""
        return self.bound_ms / self.tpot_ms


def decode_bound(kernel: dict, e2e: dict, model_dir: Path = QWEN3_CONFIG) -> DecodeBound:
    """At the decode-kernel benchmark's shape (``batch`` sequences of ``context`` tokens), with
    the model's bf16 weights and the bandwidth that benchmark measured."""
    config = bf16_config(model_dir)
    shape = kernel["shapes"]
    kv_bytes = shape["batch"] * shape["context"] * config.kv_cache_bytes_per_token()
    tpot = next(r for r in e2e["results"] if r["engine"] == "folovllm")["tpot_p50"]
    return DecodeBound(weight_bytes(model_dir), kv_bytes, kernel["copy_gbps"], tpot * 1e3)
# --8<-- [end:bound]


# --8<-- [start:workload_bound]
def workload_bound(result: dict, copy_gbps: float, model_dir: Path = QWEN3_CONFIG) -> float:
    """Output tokens/s of a throughput run if every decode step only moved its bytes at
    ``copy_gbps``: all requests start together (the nano-vllm workload admits them in the first
    steps), each step reads every weight once and the K/V of every running sequence's context,
    and request ``i`` (prompt ``a``, output ``b``) runs ``b`` steps over contexts ``a .. a+b-1``.
    Prefill is left out (it is bound by arithmetic, not bytes): the bound is optimistic."""
    from folovllm.benchmarks.workload import Workload

    config = bf16_config(model_dir)
    w = result["workload"]
    prompts, outs = Workload(w["name"], num_prompts=w["num_prompts"], seed=w["seed"]).requests(
        config.vocab_size)
    kv_per_token = config.kv_cache_bytes_per_token()
    kv_tokens = sum(b * len(p) + b * (b - 1) // 2 for p, b in zip(prompts, outs))
    seconds = (max(outs) * weight_bytes(model_dir) + kv_tokens * kv_per_token) / (copy_gbps * 1e9)
    return sum(outs) / seconds
# --8<-- [end:workload_bound]


def _load(results_dir: Path, name: str) -> dict:
    return json.loads((results_dir / f"{name}.json").read_text())


def _device(name: str) -> str:
    return "CPU (2 cores)" if name == "cpu" else name


def _speed_row(what: str, workload: str, result: dict) -> str:
    by = {r["engine"]: r["output_tokens_per_s"] for r in result["results"]}
    ours, base = by["folovllm"], by["transformers"]
    return (f"| {what} | **{ours / base:.2f}x** | {ours:.1f} tok/s | {base:.1f} tok/s | "
            f"{workload}; {_device(result['device'])}, commit `{result['commit'][:7]}` |")


def _prefix_cache_row(result: dict) -> str:
    """M4: the same engine with the prefix cache on against off, on the shared-prefix workload."""
    by = {r["engine"]: r for r in result["results"]}
    on, off = by["folovllm"], by["folovllm-no-prefix-cache"]
    w = result["workload"]
    return (f"| prefix caching, end to end | **{off['seconds'] / on['seconds']:.2f}x** "
            f"| {on['seconds']:.2f} s | {off['seconds']:.2f} s (cache off) | {w['num_prompts']} "
            f"prompts sharing {w['prefix_len']} tokens; TTFT p50 {on['ttft_p50'] * 1e3:.1f} vs "
            f"{off['ttft_p50'] * 1e3:.1f} ms, hit rate {on['prefix_cache_hit_rate']:.1%}; "
            f"{_device(result['device'])}, commit `{result['commit'][:7]}` |")


def _chunked_prefill_row(what: str, result: dict) -> str:
    """M5: the same engine with chunked prefill against whole prefills, on the long-prompt
    workload: the longest waits between tokens, and what the run cost."""
    by = {r["engine"]: r for r in result["results"]}
    on, off = by["folovllm"], by["folovllm-no-chunked-prefill"]
    w = result["workload"]
    return (f"| {what} | **{off['itl_p99'] / on['itl_p99']:.1f}x lower** "
            f"| {on['itl_p99'] * 1e3:.1f} ms | {off['itl_p99'] * 1e3:.1f} ms (whole prefills) "
            f"| {w['num_prompts']} requests, one in {w['long_every']} of {w['long_len']} prompt "
            f"tokens, budget {on['max_num_batched_tokens']}; TPOT p99 {on['tpot_p99'] * 1e3:.1f} "
            f"vs {off['tpot_p99'] * 1e3:.1f} ms, {on['seconds']:.2f} vs {off['seconds']:.2f} s; "
            f"{_device(result['device'])}, commit `{result['commit'][:7]}` |")


def _same_engine_row(what: str, result: dict, off_engine: str, off_label: str, setup: str,
                     bound: float) -> str:
    """M6: the engine against itself with one feature off (``off_engine``), on the nano-vllm
    workload, and the share of the bandwidth bound it reaches."""
    by = {r["engine"]: r["output_tokens_per_s"] for r in result["results"]}
    on, off = by["folovllm"], by[off_engine]
    return (f"| {what} | **{on / off:.2f}x** | {on:.1f} tok/s | {off:.1f} tok/s ({off_label}) "
            f"| 256 requests, Qwen3-0.6B in bf16{setup}; {on / bound:.0%} of the bandwidth bound "
            f"({bound:,.0f} tok/s); {_device(result['device'])}, commit `{result['commit'][:7]}` |")


def _ladder_row(what: str, ladder: dict) -> str:
    w = ladder["workload"]
    ratios = "<br>".join(f"{r['tag']} {r['folovllm'] / r['transformers']:.2f}x"
                        for r in ladder["rungs"] if not r["skipped"])
    return (f"| {what} | **{ratios}** | | | {w['num_prompts']} requests of {w['input_len']} -> "
            f"{w['output_len']} tokens; {_device(ladder['device'])}, each tag's own code |")


def render_summary(results_dir: Path = RESULTS) -> str:
    """Speeds against ``transformers``, then the hardware and memory rows, then the ladder."""
    cpu, cpu_nano = _load(results_dir, "m3-cpu-onednn"), _load(results_dir, "cpu-nanovllm-32")
    gpu, kernel = _load(results_dir, "m3-gpu-nanovllm"), _load(results_dir, "m3-gpu-decode-kernel")
    memory = _load(results_dir, "m3-memory")
    graphs = _load(results_dir, "m6-gpu-nanovllm")
    overlapped = _load(results_dir, "m6-gpu-nanovllm-async")
    bound = decode_bound(kernel, gpu)
    m2, m3 = memory["cases"][0]["rows"]
    shape = f"{kernel['shapes']['batch']} sequences x {kernel['shapes']['context']} tokens"
    lines = [
        "| measurement | result | FoloVLLM | reference | setup |",
        "|---|---:|---:|---:|---|",
        _speed_row("CPU throughput", "32 requests of mixed length, SmolLM2-135M in fp32", cpu),
        _speed_row("CPU throughput, nano-vllm", "32 requests, SmolLM2-135M in fp32", cpu_nano),
        _speed_row("GPU throughput, nano-vllm",
                   "256 requests, Qwen3-0.6B in bf16, CUDA graphs and async scheduling",
                   _load(results_dir, "m6-gpu-nanovllm-transformers")),
        f"| decode kernel bandwidth | **{kernel['fraction']:.0%}** of a copy "
        f"| {kernel['decode_gbps']:.0f} GB/s | {kernel['copy_gbps']:.0f} GB/s "
        f"| {shape}; {kernel['device']} |",
        f"| decode step time | **{bound.fraction:.0%}** of the bound | {bound.tpot_ms:.1f} ms "
        f"| {bound.bound_ms:.1f} ms | {shape}; {gpu['device']}, commit `{gpu['commit'][:7]}` |",
        f"| sequences at once | **{m3['busy_running'] / m2['busy_running']:.2f}x** "
        f"| {m3['busy_running']:.1f} | {m2['busy_running']:.1f} | M3 blocks against M2 slots, "
        f"nano-vllm, {memory['kv_cache_bytes'] / 2**30:.0f} GiB of KV cache, max_model_len "
        f"{memory['cases'][0]['max_model_len']}; simulated |",
        _prefix_cache_row(_load(results_dir, "m4-gpu-shared-prefix")),
        _chunked_prefill_row("chunked prefill, ITL p99 (run 1)",
                             _load(results_dir, "m5-gpu-long-prompt")),
        _chunked_prefill_row("chunked prefill, ITL p99 (run 2)",
                             _load(results_dir, "m5-gpu-long-prompt-2")),
        _chunked_prefill_row("chunked prefill, ITL p99, CPU",
                             _load(results_dir, "m5-cpu-long-prompt")),
        _same_engine_row("CUDA graphs, nano-vllm", graphs, "folovllm-eager", "eager", "",
                         workload_bound(graphs, kernel["copy_gbps"])),
        _same_engine_row("async scheduling, nano-vllm", overlapped, "folovllm-sync",
                         "synchronous", ", CUDA graphs",
                         workload_bound(overlapped, kernel["copy_gbps"])),
        _ladder_row("milestone ladder, CPU", _load(results_dir, "ladder-cpu")),
        _ladder_row("milestone ladder, GPU", _load(results_dir, "ladder-gpu")),
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    SUMMARY.write_text(render_summary())
    print(SUMMARY.relative_to(REPO))

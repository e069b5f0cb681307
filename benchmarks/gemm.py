"""CPU matmul: PyTorch's default ``F.linear`` against oneDNN, on a model's own linear layers.

On a CPU a decode step is mostly matmuls (``python -m benchmarks.profile --device
cpu``), so the library that runs them sets the engine's speed. This times one forward pass worth
of them, every layer's Q/K/V, output, gate/up and down projection plus the LM head, each layer
with its own random float32 weights so that they stream from memory as a real model's do. Both
sides get the same inputs and weights: ``F.linear`` (MKL's sgemm, in PyTorch's x86 CPU builds)
and ``onednn_linear``, which ``folovllm.model_executor.layers.linear.linear`` calls for float32
on x86-64 CPUs. Rows are tokens in the batch: a decode step has one per running sequence, a
prefill one per prompt token.

    python -m benchmarks.gemm --rows 1,16,32,512 --output-json cpu-gemm.json
"""

from __future__ import annotations

import argparse
import datetime
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

from folovllm.benchmarks import host_cpu_name, output_json_arg, report
from folovllm.config import ModelConfig
from folovllm.model_executor.layers.linear import HAS_ONEDNN, onednn_linear


def layer_shapes(config: ModelConfig) -> list[tuple[int, int]]:
    """``(out_features, in_features)`` of one decoder layer's four projections."""
    hidden = config.hf_config.hidden_size
    q, kv = config.num_attention_heads * config.head_dim, config.num_kv_heads * config.head_dim
    inter = config.hf_config.intermediate_size
    return [(q + 2 * kv, hidden), (hidden, q), (2 * inter, hidden), (hidden, inter)]


def _forward_ms(fn: Callable, weights: list[torch.Tensor], inputs: dict[int, torch.Tensor],
                repeats: int) -> float:
    """Best wall time of ``repeats`` passes over all ``weights``, after one warm-up pass."""
    best = float("inf")
    for i in range(repeats + 1):
        start = time.perf_counter()
        for w in weights:
            fn(inputs[w.shape[1]], w)
        if i:
            best = min(best, time.perf_counter() - start)
    return best * 1e3


def run(config: ModelConfig, rows: list[int], repeats: int, command: str) -> dict:
    if not HAS_ONEDNN:
        raise ValueError("this PyTorch build has no oneDNN (torch.backends.mkldnn): nothing to "
                         "compare")
    gen = torch.Generator().manual_seed(0)
    hidden = config.hf_config.hidden_size
    weights = [torch.randn(shape, generator=gen) for _ in range(config.num_layers)
               for shape in layer_shapes(config)]
    weights.append(torch.randn(config.vocab_size, hidden, generator=gen))      # LM head
    out = []
    with torch.inference_mode():
        for m in rows:
            inputs = {k: torch.randn(m, k, generator=gen) for k in {w.shape[1] for w in weights}}
            f_ms = _forward_ms(torch.nn.functional.linear, weights, inputs, repeats)
            d_ms = _forward_ms(onednn_linear, weights, inputs, repeats)
            out.append({"rows": m, "f_linear_ms": round(f_ms, 2), "onednn_ms": round(d_ms, 2),
                        "speedup": round(f_ms / d_ms, 2)})
    return {
        "benchmark": "cpu-gemm",
        "model": Path(config.model).name,
        "cpu": host_cpu_name(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "date": datetime.date.today().isoformat(),
        "command": command,
        "weight_bytes": sum(w.numel() * w.element_size() for w in weights),
        "repeats": repeats,
        "rows": out,
    }


def format_table(result: dict) -> str:
    """The Markdown table the docs include."""
    lines = [f"`{result['cpu']}`, {result['threads']} threads, torch {result['torch']}, "
             f"{result['weight_bytes'] / 2**20:.0f} MiB of float32 weights per pass, best of "
             f"{result['repeats']}, {result['date']}.", "",
             "| rows | F.linear (ms) | oneDNN (ms) | speed-up |",
             "|---:|---:|---:|---:|"]
    lines += [f"| {r['rows']} | {r['f_linear_ms']:.1f} | {r['onednn_ms']:.1f} | "
              f"{r['speedup']:.2f}x |" for r in result["rows"]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None,
                        help="HF model directory (default: the embedded SmolLM2-135M-Instruct)")
    parser.add_argument("--rows", default="1,16,32,512",
                        help="comma-separated token counts per matmul")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--output-json", type=output_json_arg)
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    try:
        rows = [int(r) for r in args.rows.split(",")]
    except ValueError:
        parser.error(f"--rows={args.rows!r} is invalid: must be comma-separated integers")
    if not rows or min(rows) < 1 or args.repeats < 1:
        parser.error("--rows and --repeats must be positive")
    command = " ".join(["python -m benchmarks.gemm", *argv])
    config = ModelConfig(model=args.model, device="cpu", dtype="float32", load_format="dummy")
    try:
        result = run(config, rows, args.repeats, command)
    except ValueError as e:
        parser.error(str(e))
    report(format_table(result), result, args.output_json)


if __name__ == "__main__":
    main()

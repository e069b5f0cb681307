"""The paged decode kernel against the GPU's own copy bandwidth.

Decode attention reads every cached K/V byte of every sequence once and does about one FLOP per
byte, so its speed limit is memory bandwidth, not arithmetic. The fair yardstick is what the same
GPU reaches on the simplest memory-bound job there is, a device-to-device copy: the kernel's
achieved bytes per second over the copy's is the fraction of the achievable bandwidth it uses.

    python -m benchmarks.kernels --output-json kernels.json [--batch 256 --context 1024]

Shapes are Qwen3-0.6B's attention (16 query heads, 8 KV heads, head_dim 128) in bf16, with each
sequence's blocks drawn at random from the whole cache, as a long-running engine leaves them.
``--sweep`` also times every tile/warp/stage configuration in a small grid (to tune the defaults).
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import statistics
import sys
from dataclasses import asdict

import torch

from folovllm.benchmarks import output_json_arg, report

NUM_HEADS, NUM_KV_HEADS, HEAD_DIM = 16, 8, 128  # Qwen3-0.6B
COPY_BYTES = 1 << 30


def decode_bytes(batch: int, context: int, num_heads: int, num_kv_heads: int, head_dim: int,
                 block_size: int, dtype_bytes: int) -> int:
    """Bytes one decode step must move: K and V of every context, the queries read and the
    outputs written, the block tables and the sequence lengths (int32)."""
    kv = 2 * batch * context * num_kv_heads * head_dim * dtype_bytes
    q_and_out = 2 * batch * num_heads * head_dim * dtype_bytes
    tables = batch * -(-context // block_size) * 4
    return kv + q_and_out + tables + batch * 4


def _time_us(fn, warmup: int, iters: int) -> list[float]:
    """Each call timed alone with CUDA events (microseconds)."""
    for _ in range(warmup):
        fn()
    events = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))
              for _ in range(iters)]
    for start, end in events:
        start.record()
        fn()
        end.record()
    torch.cuda.synchronize()
    return [start.elapsed_time(end) * 1000 for start, end in events]


def copy_gbps(nbytes: int = COPY_BYTES, repeats: int = 10) -> float:
    """Device-to-device ``copy_`` bandwidth, bytes read plus written, best of ``repeats``."""
    src = torch.empty(nbytes, dtype=torch.uint8, device="cuda").random_(0, 255)
    dst = torch.empty_like(src)
    best_us = min(_time_us(lambda: dst.copy_(src), warmup=2, iters=repeats))
    return 2 * nbytes / best_us / 1e3


def _decode_inputs(batch: int, context: int, block_size: int, seed: int = 0) -> dict:
    """Random bf16 caches just big enough for the batch, blocks shuffled across sequences."""
    gen = torch.Generator(device="cuda").manual_seed(seed)
    per_seq = -(-context // block_size)
    num_blocks = batch * per_seq
    shape = (num_blocks, block_size, NUM_KV_HEADS, HEAD_DIM)
    return dict(
        q=torch.randn(batch, NUM_HEADS, HEAD_DIM, device="cuda", dtype=torch.bfloat16, generator=gen),
        k_cache=torch.randn(shape, device="cuda", dtype=torch.bfloat16, generator=gen),
        v_cache=torch.randn(shape, device="cuda", dtype=torch.bfloat16, generator=gen),
        block_tables=torch.randperm(num_blocks, device="cuda", generator=gen)
        .to(torch.int32).view(batch, per_seq),
        seq_lens=torch.full((batch,), context, dtype=torch.int32, device="cuda"),
        max_seq_len=context,
        scale=HEAD_DIM ** -0.5,
    )


def time_decode(inputs: dict, config=None, warmup: int = 10, iters: int = 100) -> float:
    """Median microseconds of one ``paged_decode`` call."""
    from folovllm.attention.backends import triton_attn

    config = config or triton_attn.DECODE_CONFIG
    return statistics.median(_time_us(lambda: triton_attn.paged_decode(**inputs, config=config),
                                      warmup, iters))


def sweep(inputs: dict) -> list[dict]:
    """Every (block_n, num_warps, num_stages) in a small grid, fastest first."""
    from folovllm.attention.backends.triton_attn import KernelConfig

    rows = []
    for block_n, warps, stages in itertools.product((32, 64, 128), (2, 4, 8), (1, 2, 3, 4)):
        config = KernelConfig(block_n=block_n, num_warps=warps, num_stages=stages)
        row = {"block_n": block_n, "num_warps": warps, "num_stages": stages}
        try:
            rows.append({**row, "decode_us": round(time_decode(inputs, config, iters=30), 2)})
        except Exception as exc:  # e.g. out of shared memory or registers: not a candidate
            rows.append({**row, "error": type(exc).__name__})
    return sorted(rows, key=lambda r: r.get("decode_us", float("inf")))


def run(batch: int, context: int, block_size: int, do_sweep: bool, command: str) -> dict:
    import triton

    from folovllm.attention.backends import triton_attn

    inputs = _decode_inputs(batch, context, block_size)
    nbytes = decode_bytes(batch, context, NUM_HEADS, NUM_KV_HEADS, HEAD_DIM, block_size, 2)
    copy = copy_gbps()
    decode_us = time_decode(inputs)
    decode = nbytes / decode_us / 1e3
    num_sms = torch.cuda.get_device_properties(0).multi_processor_count
    result = {
        "device": torch.cuda.get_device_name(),
        "torch": torch.__version__,
        "triton": triton.__version__,
        "date": datetime.date.today().isoformat(),
        "command": command,
        "shapes": {"batch": batch, "context": context, "block_size": block_size,
                   "num_heads": NUM_HEADS, "num_kv_heads": NUM_KV_HEADS, "head_dim": HEAD_DIM,
                   "dtype": "bfloat16"},
        "config": {k: v for k, v in asdict(triton_attn.DECODE_CONFIG).items() if k != "block_m"},
        "num_splits": triton_attn.choose_num_splits(batch, NUM_KV_HEADS, context, num_sms),
        "decode_bytes": nbytes,
        "copy_gbps": round(copy, 1),
        "decode_us": round(decode_us, 2),
        "decode_gbps": round(decode, 1),
        "fraction": round(decode / copy, 3),
    }
    if do_sweep:
        result["sweep"] = sweep(inputs)
    return result


def format_table(result: dict) -> str:
    """The Markdown table the docs include."""
    s = result["shapes"]
    shape = f"{s['batch']} x {s['context']}, block {s['block_size']}"
    lines = [
        "| device | shape | copy GB/s | decode us | decode GB/s | of copy |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
        f"| {result['device']} | {shape} | {result['copy_gbps']:.0f} | {result['decode_us']:.1f} "
        f"| {result['decode_gbps']:.0f} | {result['fraction']:.0%} |",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--context", type=int, default=1024)
    parser.add_argument("--block-size", type=int, default=16)
    parser.add_argument("--sweep", action="store_true", help="also time a grid of kernel configs")
    parser.add_argument("--output-json", type=output_json_arg)
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        parser.error("needs a CUDA GPU")
    command = " ".join(["python -m benchmarks.kernels", *argv])
    result = run(args.batch, args.context, args.block_size, args.sweep, command)
    report(format_table(result), result, args.output_json)


if __name__ == "__main__":
    main()

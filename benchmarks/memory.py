"""How many sequences run at once in the same KV memory: M2's slots against M3's blocks.

The engine's real ``Scheduler`` and ``KVCacheManager`` serve the nano-vllm workload with a
stand-in for the model (each scheduled sequence gains one token per step), so the count is
exactly what the engine would run, without the hours a CPU would need for the forward passes.

An M2 slot is a block of ``max_model_len`` tokens taken whole at admission, so the same manager
with ``block_size = max_model_len`` *is* M2's allocator; M3 uses 16-token blocks. Both get the
same bytes: ``kv_bytes // (block tokens x KV bytes per token)`` blocks, at most what
``max_num_seqs`` sequences of ``max_model_len`` tokens can use (as the model runner sizes it).

Run: ``python -m benchmarks.memory --output-json docs/benchmarks/results/m3-memory.json``
"""

from __future__ import annotations

import argparse
import datetime
import shlex
import statistics
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import folovllm.benchmarks
from folovllm.benchmarks import output_json_arg, report
from folovllm.config import ModelConfig, SchedulerConfig
from folovllm.core.kv_cache_manager import KVCacheManager, cdiv
from folovllm.core.scheduler import Scheduler
from folovllm.core.scheduler_output import ModelRunnerOutput
from folovllm.sampling_params import SamplingParams
from folovllm.sequence import Request

# the Qwen3-0.6B config.json that ships with the package (for `folovllm bench --model`)
QWEN3_CONFIG = Path(folovllm.benchmarks.__file__).parent / "configs" / "qwen3-0.6b"


@dataclass
class Concurrency:
    """One allocator serving one workload."""

    allocator: str            # "m2-slots" or "m3-paged"
    block_size: int
    num_blocks: int
    peak_running: int         # most sequences decoding at once
    busy_running: float       # average over decode steps while requests wait: memory-bound
    mean_running: float       # average over all decode steps, the draining tail included
    steps: int
    preemptions: int


# --8<-- [start:simulate]
def simulate(prompt_lens: list[int], output_lens: list[int], num_blocks: int, block_size: int,
             max_num_seqs: int, max_num_batched_tokens: int
             ) -> tuple[int, float, float, int, int]:
    """Serve every request to its output length; (peak running, mean running over decode
    steps while requests still wait, mean over all decode steps, steps, preemptions)."""
    longest = max(p + n for p, n in zip(prompt_lens, output_lens))
    # M3's policy (whole prompts; a step prefills or decodes): every step here samples
    config = SchedulerConfig(max_num_seqs=max_num_seqs, enable_chunked_prefill=False,
                             max_num_batched_tokens=max_num_batched_tokens)
    sched = Scheduler(config,
                      KVCacheManager(num_blocks, block_size), max_model_len=longest)
    for i, (p, n) in enumerate(zip(prompt_lens, output_lens)):
        params = SamplingParams(temperature=0, max_tokens=n, ignore_eos=True)
        sched.add_request(Request.create(str(i), None, [1] * p, params, first_seq_id=i))
    running, busy, steps = [], [], 0
    while (out := sched.schedule()).num_scheduled_tokens:
        steps += 1
        if max(out.num_scheduled_tokens.values()) == 1:  # a decode step
            running.append(len(out.num_scheduled_tokens))
            if sched.waiting:
                busy.append(len(out.num_scheduled_tokens))
        # the model's part: every sequence samples token 1; the scheduler appends it, stops
        # a request at its max_tokens and frees its blocks
        ids = list(out.num_scheduled_tokens)
        sched.update_from_output(out, ModelRunnerOutput(ids, [[1]] * len(ids), [0.0] * len(ids)))
    return (max(running), statistics.fmean(busy or running), statistics.fmean(running), steps,
            sched.num_preemptions)
# --8<-- [end:simulate]


def num_blocks_for(kv_bytes: int, block_size: int, bytes_per_token: int, max_num_seqs: int,
                   max_model_len: int) -> int:
    """What ``ModelRunner`` gives: the budget in blocks, at most what the sequences can use."""
    return min(kv_bytes // (block_size * bytes_per_token),
               max_num_seqs * cdiv(max_model_len, block_size))


def nanovllm_lengths(num_prompts: int, seed: int = 0) -> tuple[list[int], list[int]]:
    """Prompt and output lengths of the nano-vllm workload (``Workload("nanovllm")``)."""
    from folovllm.benchmarks.workload import Workload

    prompts, out_lens = Workload("nanovllm", num_prompts=num_prompts, seed=seed).requests(10000)
    return [len(p) for p in prompts], out_lens


def compare(kv_bytes: int, max_model_len: int, num_prompts: int = 256, max_num_seqs: int = 256,
            block_size: int = 16, model: Path = QWEN3_CONFIG) -> list[Concurrency]:
    """M2 slots and M3 blocks in ``kv_bytes`` of KV cache for the model at ``model``."""
    bpt = ModelConfig(model=str(model), max_model_len=max_model_len, device="cpu",
                      dtype="bfloat16", load_format="dummy").kv_cache_bytes_per_token()
    prompt_lens, output_lens = nanovllm_lengths(num_prompts)
    if max(p + n for p, n in zip(prompt_lens, output_lens)) > max_model_len:
        raise ValueError(f"max_model_len={max_model_len} is invalid: the workload has sequences "
                         "longer than that")
    rows = []
    for name, bs in (("m2-slots", max_model_len), ("m3-paged", block_size)):
        blocks = num_blocks_for(kv_bytes, bs, bpt, max_num_seqs, max_model_len)
        if blocks < 1:
            raise ValueError(f"kv_bytes={kv_bytes} is invalid: it holds no {name} block of "
                             f"{bs} tokens ({bs * bpt} bytes)")
        peak, busy, mean, steps, preempted = simulate(prompt_lens, output_lens, blocks, bs,
                                                      max_num_seqs, max(max_model_len, 8192))
        rows.append(Concurrency(name, bs, blocks, peak, round(busy, 2), round(mean, 2), steps,
                                preempted))
    return rows


def format_memory_table(result: dict) -> str:
    """The Markdown table the docs include."""
    lines = ["| max_model_len | M2 slots | M3 blocks of 16 | M2 running at once | M3 running at "
             "once | M3 / M2 | M3 preemptions |", "|---:|---:|---:|---:|---:|---:|---:|"]
    for case in result["cases"]:
        m2, m3 = case["rows"]
        lines.append(f"| {case['max_model_len']} | {m2['num_blocks']} | {m3['num_blocks']} "
                     f"| {m2['busy_running']:.1f} | {m3['busy_running']:.1f} "
                     f"| {m3['busy_running'] / m2['busy_running']:.2f}x | {m3['preemptions']} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kv-gib", type=float, default=16.0, help="KV cache size, GiB")
    ap.add_argument("--max-model-lens", default="2048,4096,8192,40960")
    ap.add_argument("--num-prompts", type=int, default=256)
    ap.add_argument("--output-json", type=output_json_arg)
    args = ap.parse_args(argv)
    kv_bytes = int(args.kv_gib * 2**30)
    cases = []
    for max_len in (int(x) for x in args.max_model_lens.split(",")):
        rows = compare(kv_bytes, max_len, num_prompts=args.num_prompts)
        cases.append({"max_model_len": max_len, "rows": [asdict(r) for r in rows]})
    result = {
        "benchmark": "kv-concurrency", "workload": "nanovllm", "num_prompts": args.num_prompts,
        "model": "qwen3-0.6b (config only)", "kv_cache_bytes": kv_bytes,
        "date": datetime.date.today().isoformat(),
        "command": shlex.join(["python", "-m", "benchmarks.memory", *(argv or sys.argv[1:])]),
        "cases": cases,
    }
    report(format_memory_table(result), result, args.output_json)
    return result


if __name__ == "__main__":
    main()

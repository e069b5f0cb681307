"""Profile engine steps: where one decode step's time goes, host and device.

Fills the engine with ``--num-seqs`` requests, lets them reach the decode phase, then records
``--steps`` decode steps with ``torch.profiler`` and prints the top operators by device time and
by host time, plus the mean wall time per step.

Run: ``python -m benchmarks.profile --model folovllm/benchmarks/configs/qwen3-0.6b
--load-format dummy --num-seqs 256``
"""

from __future__ import annotations

import argparse
import random
import time

import torch
from torch.profiler import ProfilerActivity, profile

from folovllm import SamplingParams
from folovllm.engine.llm_engine import LLMEngine


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=None)
    ap.add_argument("--load-format", default="auto")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--num-seqs", type=int, default=256)
    ap.add_argument("--prompt-len", type=int, default=512)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--max-model-len", type=int, default=2048)
    ap.add_argument("--rows", type=int, default=25)
    args = ap.parse_args(argv)
    engine = LLMEngine.from_engine_args(
        model=args.model, load_format=args.load_format, device=args.device,
        max_model_len=args.max_model_len, max_num_seqs=args.num_seqs, skip_tokenizer_init=True)
    rng = random.Random(0)
    params = SamplingParams(temperature=0.6, max_tokens=args.steps + 20, ignore_eos=True)
    for _ in range(args.num_seqs):
        engine.add_request({"prompt_token_ids": [rng.randrange(10000)
                                                 for _ in range(args.prompt_len)]}, params)
    while engine.scheduler.waiting:          # all prefills done
        engine.step()
    for _ in range(3):                       # warm decode steps
        engine.step()
    sync = torch.cuda.synchronize if engine.device.type == "cuda" else (lambda: None)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA]
                                           if engine.device.type == "cuda" else [])
    sync()
    start = time.perf_counter()
    for _ in range(args.steps):
        engine.step()
    sync()
    wall = (time.perf_counter() - start) / args.steps
    with profile(activities=activities) as prof:
        for _ in range(args.steps):
            engine.step()
        sync()
    print(f"{args.num_seqs} sequences, mean decode step {wall * 1e3:.2f} ms (unprofiled)")
    sort = "cuda_time_total" if engine.device.type == "cuda" else "cpu_time_total"
    print(prof.key_averages().table(sort_by=sort, row_limit=args.rows))
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.rows))
    while engine.has_unfinished_requests():
        engine.step()


if __name__ == "__main__":
    main()

"""Offline throughput: one workload through our engine and through HF ``generate``.

Both run in the same process on the same weights (the HF model object inside our runner), on the
same prompts, with greedy decoding and a fixed number of output tokens (EOS ignored), so the ratio
isolates what the engine adds or saves. Each side gets one small warm-up run first; then the two
engines run alternately ``repeats`` times and each keeps its fastest run, which filters out
interference from whatever else the machine is doing.
"""

from __future__ import annotations

import datetime
import platform
import random
import time
from dataclasses import asdict, dataclass, field

import torch

from folovllm.config import check_int
from folovllm.entrypoints.llm import LLM
from folovllm.sampling_params import SamplingParams


@dataclass
class Workload:
    """``num_prompts`` prompts of ``input_len`` random token ids, ``output_len`` tokens each."""

    num_prompts: int = 8
    input_len: int = 128
    output_len: int = 128
    seed: int = 0
    max_token_id: int = 10000
    repeats: int = 3

    def __post_init__(self) -> None:
        for name in ("num_prompts", "input_len", "output_len", "repeats", "max_token_id"):
            check_int(name, getattr(self, name), 1)

    def prompts(self, vocab_size: int) -> list[list[int]]:
        rng = random.Random(self.seed)
        hi = min(self.max_token_id, vocab_size) - 1
        return [[rng.randint(0, hi) for _ in range(self.input_len)] for _ in range(self.num_prompts)]


@dataclass
class EngineResult:
    engine: str
    seconds: float
    output_tokens: int

    @property
    def output_tokens_per_s(self) -> float:
        return self.output_tokens / self.seconds


@dataclass
class BenchResult:
    workload: Workload
    results: list[EngineResult]
    model: str
    device: str
    torch_version: str = torch.__version__
    date: str = field(default_factory=lambda: datetime.date.today().isoformat())
    command: str = ""
    host: str = field(default_factory=platform.machine)

    @property
    def ratio(self) -> float:
        """ours / transformers, in output tokens per second."""
        by = {r.engine: r.output_tokens_per_s for r in self.results}
        return by["folovllm"] / by["transformers"]

    def to_dict(self) -> dict:
        d = asdict(self)
        for r, raw in zip(self.results, d["results"]):
            raw["output_tokens_per_s"] = round(r.output_tokens_per_s, 2)
        d["ratio"] = round(self.ratio, 3)
        return d


# --8<-- [start:time_both]
def _time_ours(llm: LLM, prompts: list[list[int]], output_len: int) -> EngineResult:
    params = SamplingParams(temperature=0, max_tokens=output_len, ignore_eos=True)
    inputs = [{"prompt_token_ids": p} for p in prompts]
    start = time.perf_counter()
    outs = llm.generate(inputs, params, use_tqdm=False)
    seconds = time.perf_counter() - start
    return EngineResult("folovllm", seconds, sum(len(o.outputs[0].token_ids) for o in outs))


@torch.inference_mode()
def _time_hf(llm: LLM, prompts: list[list[int]], output_len: int) -> EngineResult:
    model = llm.llm_engine.runner.model
    ids = torch.tensor(prompts, device=llm.llm_engine.device)  # equal lengths: no padding
    start = time.perf_counter()
    out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=output_len,
                         do_sample=False, eos_token_id=None,
                         pad_token_id=llm.llm_engine.runner.pad_token_id)
    if ids.is_cuda:
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    return EngineResult("transformers", seconds, (out.shape[1] - ids.shape[1]) * ids.shape[0])
# --8<-- [end:time_both]


def run_throughput(llm: LLM, workload: Workload, command: str = "") -> BenchResult:
    """Warm up both engines, then time them alternately `repeats` times; keep each one's best."""
    engine = llm.llm_engine
    prompts = workload.prompts(engine.config.model_config.vocab_size)
    warm = prompts[:2]
    _time_ours(llm, [p[:16] for p in warm], 4)
    _time_hf(llm, [p[:16] for p in warm], 4)
    runs: dict[str, list[EngineResult]] = {"folovllm": [], "transformers": []}
    for _ in range(workload.repeats):
        runs["folovllm"].append(_time_ours(llm, prompts, workload.output_len))
        runs["transformers"].append(_time_hf(llm, prompts, workload.output_len))
    results = [min(rs, key=lambda r: r.seconds) for rs in runs.values()]
    device = str(engine.device)
    if engine.device.type == "cuda":
        device = torch.cuda.get_device_name(engine.device)
    return BenchResult(workload, results, engine.config.model_config.model, device,
                       command=command)


def format_table(result: dict) -> str:
    """A Markdown table of a result dict (``BenchResult.to_dict()`` or its JSON file); the docs
    include exactly this text, and a test re-renders it from the committed JSON."""
    w = result["workload"]
    lines = [
        f"Workload: {w['num_prompts']} prompts x {w['input_len']} input tokens -> "
        f"{w['output_len']} output tokens (greedy, EOS ignored), best of {w['repeats']} runs, "
        f"device `{result['device']}`, torch {result['torch_version']}, {result['date']}.",
        "",
        "| engine | seconds | output tokens | output tokens/s |",
        "|---|---:|---:|---:|",
    ]
    for r in result["results"]:
        lines.append(f"| {r['engine']} | {r['seconds']:.2f} | {r['output_tokens']} | "
                     f"{r['output_tokens_per_s']:.1f} |")
    lines += ["", f"Ratio folovllm / transformers: **{result['ratio']:.2f}x**", ""]
    return "\n".join(lines)

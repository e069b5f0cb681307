"""Offline throughput: one workload through several engines, measured in one process.

Engines:
- ``folovllm``: our engine as it stands (own model code, continuous batching, paged KV cache,
  prefix caching);
- ``folovllm-no-prefix-cache``: the same with ``enable_prefix_caching=False`` (M4's baseline);
- ``folovllm-no-chunked-prefill``: the same with ``enable_chunked_prefill=False`` (M5's
  baseline: whole prompts, and a step prefills or decodes); its token budget is raised to
  ``max_model_len`` when it is smaller, since a step must hold a whole prompt, and it takes no
  ``long_prefill_token_threshold``;
- ``folovllm-eager``: the same with ``enforce_eager=True`` (M6's baseline: no CUDA graphs);
- ``folovllm-sync``: the same with ``async_scheduling=False`` (each step waits for the one
  before it to be applied);
- ``transformers``: HF ``generate`` on static batches of ``hf_batch_size`` prompts.

(An earlier milestone's engine is measured from its tag: ``python -m benchmarks.ladder``.)

All engines get the same prompts and the same checkpoint (with ``load_format="dummy"``: random
weights of the same shapes, so the same FLOPs and bytes) and ignore EOS, so each produces exactly
the requested output lengths. ``generate`` has one ``max_new_tokens`` per batch, so in a batch of
mixed output lengths it computes up to the longest; only the requested tokens count as output
(that waste is static batching's cost).

Each engine is built, warmed up on a small request, timed ``repeats`` times (the fastest run is
kept: it is the one least disturbed by anything else on the machine), and freed before the next.
"""

from __future__ import annotations

import datetime
import gc
import statistics
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from folovllm.benchmarks import host_cpu_name
from folovllm.benchmarks.workload import ENGINES, Workload, check_engines
from folovllm.core.kv_cache_manager import cdiv
from folovllm.outputs import RequestOutput
from folovllm.sampling_params import RequestOutputKind, SamplingParams
from folovllm.worker.hf_runner import left_pad

# what decides the model's length limit, and what is checked when it is read
_MODEL_KEYS = ("model", "dtype", "device", "load_format", "max_model_len")


@dataclass
class EngineResult:
    engine: str
    seconds: float
    output_tokens: int
    ttft_p50: float | None = None
    ttft_p99: float | None = None
    tpot_p50: float | None = None
    tpot_p99: float | None = None
    peak_memory_bytes: int | None = None
    kv_cache_bytes: int | None = None
    max_concurrent_seqs: int | None = None   # most sequences running at once (measured)
    kv_blocks: int | None = None             # blocks in the cache
    kv_blocks_peak: int | None = None        # most blocks in use at once
    num_preemptions: int | None = None
    # the first timed pass: slower than the best when kernels still compiled during the run
    first_pass_seconds: float | None = None
    # prompt tokens found in the prefix cache / looked up (each run starts with an empty cache),
    # and what the shared-prefix workload should give by the caching rule
    prefix_cache_hit_rate: float | None = None
    expected_prefix_cache_hit_rate: float | None = None
    # the longest waits between two tokens of a request (a prefill that stalls the decodes)
    itl_p50: float | None = None
    itl_p99: float | None = None
    max_num_batched_tokens: int | None = None   # the step's token budget
    # per step of the best run, when asked: [seconds since start, prefill tokens, decode tokens]
    timeline: list[list[float]] | None = None

    @property
    def output_tokens_per_s(self) -> float:
        return self.output_tokens / self.seconds


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 \
        else values[0]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class _OurEngine:
    def __init__(self, model_kwargs: dict[str, Any], max_num_seqs: int,
                 name: str = "folovllm", timeline: bool = False) -> None:
        from folovllm.config import EngineArgs
        from folovllm.entrypoints.llm import LLM

        self.name, self.timeline = name, timeline
        kwargs = {"max_num_seqs": max_num_seqs, **model_kwargs,
                  "enable_prefix_caching": name != "folovllm-no-prefix-cache"}
        if name == "folovllm-eager":
            kwargs["enforce_eager"] = True
        if name == "folovllm-sync":
            kwargs["async_scheduling"] = False
        if name == "folovllm-no-chunked-prefill":   # no chunks: no cap on them either
            kwargs["enable_chunked_prefill"] = False
            kwargs.pop("long_prefill_token_threshold", None)
            if kwargs.get("max_num_batched_tokens"):    # a step must hold a whole prompt
                config = EngineArgs.from_kwargs(**{**kwargs, "max_num_batched_tokens": None}
                                                ).create_engine_config()
                kwargs["max_num_batched_tokens"] = max(kwargs["max_num_batched_tokens"],
                                                       config.model_config.max_model_len)
        # token ids in and out: no tokenizer needed, so a bare config.json (dummy weights) works
        self.llm = LLM(**kwargs, skip_tokenizer_init=True)
        self.device = self.llm.llm_engine.device

    def run(self, prompts: list[list[int]], out_lens: list[int], temperature: float) -> EngineResult:
        params = [SamplingParams(temperature=temperature, max_tokens=n, ignore_eos=True,
                                 output_kind=RequestOutputKind.FINAL_ONLY) for n in out_lens]
        engine = self.llm.llm_engine
        engine.reset_prefix_cache()   # every run starts cold: runs are comparable
        stats = engine.prefix_cache_stats
        queries, hits = stats.queries, stats.hits
        start = time.perf_counter()
        outs, timeline = self._generate(prompts, params, start)
        _sync(self.device)
        seconds = time.perf_counter() - start
        ttfts = [o.metrics.ttft for o in outs]
        tpots = [t for o in outs if (t := o.metrics.tpot(len(o.outputs[0].token_ids))) is not None]
        itls = [t for o in outs for t in o.metrics.inter_token_latencies]
        runner = engine.runner
        looked_up = stats.queries - queries
        return EngineResult(
            self.name, seconds, sum(len(o.outputs[0].token_ids) for o in outs),
            ttft_p50=_percentile(ttfts, 50), ttft_p99=_percentile(ttfts, 99),
            tpot_p50=_percentile(tpots, 50), tpot_p99=_percentile(tpots, 99),
            itl_p50=_percentile(itls, 50), itl_p99=_percentile(itls, 99),
            max_num_batched_tokens=engine.config.scheduler_config.max_num_batched_tokens,
            timeline=timeline if self.timeline else None,
            kv_cache_bytes=runner.kv_cache_bytes,
            max_concurrent_seqs=engine.peak_num_running,
            kv_blocks=engine.kv_cache_manager.num_blocks,
            kv_blocks_peak=engine.peak_blocks_used,
            num_preemptions=engine.scheduler.num_preemptions,
            prefix_cache_hit_rate=(stats.hits - hits) / looked_up if looked_up else None)

    def _generate(self, prompts: list[list[int]], params: list[SamplingParams], start: float
                  ) -> tuple[list[RequestOutput], list[list[float]]]:
        """``LLM.generate``'s loop, also noting how each step split its tokens."""
        engine, finished, timeline = self.llm.llm_engine, {}, []
        ids = [engine.add_request({"prompt_token_ids": p}, sp) for p, sp in zip(prompts, params)]
        while engine.has_unfinished_requests():
            finished.update((o.request_id, o) for o in engine.step() if o.finished)
            stats = engine.last_step_stats
            timeline.append([round(time.perf_counter() - start, 5), stats.num_prefill_tokens,
                             stats.num_decode_tokens])
        return [finished[i] for i in ids], timeline

    def expected_hit_rate(self, workload: Workload, prompts: list[list[int]]) -> float | None:
        """The hit rate the caching rule predicts for the shared-prefix workload (equal prompt
        lengths, a cache that holds the prefix): the prompts admitted in the first step all
        miss (a block is cached only after the step that computes it), every later one finds
        ``min(P // B, (L - 1) // B) * B`` tokens. The first step admits the prompts that fit
        its token budget, and with chunked prefill a first chunk of one more. The rule is
        stated for synchronous steps: with async scheduling the second step is scheduled
        before the first is applied, so its prompts miss too, and no prediction is made."""
        config = self.llm.llm_engine.config
        if (self.name != "folovllm" or workload.name != "shared-prefix" or workload.range_ratio
                or config.scheduler_config.async_scheduling):
            return None
        sc, b = config.scheduler_config, config.cache_config.block_size
        n, length = len(prompts), len(prompts[0])
        fit = (cdiv(sc.max_num_batched_tokens, length) if sc.enable_chunked_prefill
               else sc.max_num_batched_tokens // length)
        first = min(sc.max_num_seqs, fit, n)
        per_prompt = min(workload.prefix_len // b, (length - 1) // b) * b
        return (n - first) * per_prompt / (n * length)


class _HFEngine:
    name = "transformers"

    def __init__(self, model_kwargs: dict[str, Any], batch_size: int | None) -> None:
        from folovllm.config import ModelConfig
        from folovllm.model_executor.loader import load_hf_model

        config = ModelConfig(**{k: v for k, v in model_kwargs.items()
                                if k in ("model", "dtype", "device", "load_format", "seed")})
        self.model = load_hf_model(config)
        self.device = torch.device(config.device)
        hf = config.hf_config
        eos = hf.eos_token_id[0] if isinstance(hf.eos_token_id, list) else hf.eos_token_id
        self.pad = next((t for t in (getattr(hf, "pad_token_id", None), eos) if t is not None), 0)
        self.batch_size = batch_size

    @torch.inference_mode()
    def run(self, prompts: list[list[int]], out_lens: list[int], temperature: float) -> EngineResult:
        size = self.batch_size or len(prompts)
        start = time.perf_counter()
        for i in range(0, len(prompts), size):
            batch, lens = prompts[i:i + size], out_lens[i:i + size]
            ids, mask = left_pad(batch, self.pad)   # as generate expects
            sampling = dict(do_sample=True, temperature=temperature, top_k=0) if temperature \
                else dict(do_sample=False)
            self.model.generate(ids.to(self.device), attention_mask=mask.to(self.device),
                                max_new_tokens=max(lens), eos_token_id=None,
                                pad_token_id=self.pad, **sampling)
        _sync(self.device)
        return EngineResult(self.name, time.perf_counter() - start, sum(out_lens))


@dataclass
class BenchResult:
    workload: Workload
    results: list[EngineResult]
    model: str
    device: str
    command: str = ""
    tensor_parallel_size: int = 1   # ranks of every folovllm engine in the run
    torch_version: str = torch.__version__
    date: str = field(default_factory=lambda: datetime.date.today().isoformat())
    commit: str | None = field(default_factory=lambda: git_commit())
    host_cpu: str = field(default_factory=host_cpu_name)

    def to_dict(self) -> dict:
        d = asdict(self)
        base = {r.engine: r.output_tokens_per_s for r in self.results}.get("transformers")
        for r, raw in zip(self.results, d["results"]):
            raw["output_tokens_per_s"] = round(r.output_tokens_per_s, 2)
            raw["vs_transformers"] = round(r.output_tokens_per_s / base, 3) if base else None
        return d


# --8<-- [start:run_throughput]
def run_throughput(model_kwargs: dict[str, Any], workload: Workload,
                   engines: tuple[str, ...] = ENGINES, command: str = "",
                   timeline: bool = False) -> BenchResult:
    """Run ``workload`` through each engine in turn; ``model_kwargs`` as for ``LLM``.
    ``timeline``: keep each engine's per-step token split of its best run."""
    check_engines(engines)
    check_workload_fits(model_kwargs, workload)
    results, device, model = [], "", ""
    for name in engines:
        engine = (_HFEngine(model_kwargs, workload.hf_batch_size) if name == "transformers" else
                  _OurEngine(model_kwargs, workload.num_prompts, name, timeline))
        vocab = _vocab_size(engine)
        prompts, out_lens = workload.requests(vocab)
        warm = [p[:8] for p in prompts[:2]]
        engine.run(warm, [4] * len(warm), workload.temperature)  # warm-up
        if engine.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(engine.device)
        runs = [engine.run(prompts, out_lens, workload.temperature) for _ in range(workload.repeats)]
        best = min(runs, key=lambda r: r.seconds)
        best.first_pass_seconds = runs[0].seconds
        if isinstance(engine, _OurEngine):
            best.expected_prefix_cache_hit_rate = engine.expected_hit_rate(workload, prompts)
        if engine.device.type == "cuda":
            best.peak_memory_bytes = torch.cuda.max_memory_allocated(engine.device)
            device = torch.cuda.get_device_name(engine.device)
        else:
            device = "cpu"
        model = model_kwargs.get("model") or "default (SmolLM2-135M-Instruct)"
        results.append(best)
        if isinstance(engine, _OurEngine):   # stop the tensor-parallel workers now, not at exit
            engine.llm.shutdown()
        del engine
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    return BenchResult(workload, results, str(model), device, command=command,
                       tensor_parallel_size=model_kwargs.get("tensor_parallel_size", 1))
# --8<-- [end:run_throughput]


def check_workload_fits(model_kwargs: dict[str, Any], workload: Workload) -> None:
    """Refuse, before any engine is built, a workload with a request longer than the run's
    ``max_model_len``: the given one, else the model's own limit. ``ModelConfig`` resolves it as
    the engines will (it reads only ``config.json``), so the rule lives in one place."""
    from folovllm.config import ModelConfig

    config = ModelConfig(**{k: v for k, v in model_kwargs.items() if k in _MODEL_KEYS})
    workload.check_fits(config.max_model_len,
                        model_limit=model_kwargs.get("max_model_len") is None)


def git_commit() -> str | None:
    """The commit the engine's code comes from (``+dirty`` with uncommitted changes); None
    outside a git checkout, e.g. an installed package."""
    here = Path(__file__).resolve().parent
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True,
                              text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=here, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if head.returncode != 0:
        return None
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def _vocab_size(engine: _OurEngine | _HFEngine) -> int:
    if isinstance(engine, _HFEngine):
        return engine.model.config.vocab_size
    return engine.llm.llm_engine.config.model_config.vocab_size


def _ranks(result: dict) -> str:
    """The tensor-parallel size of the run (files from before M7 have none, and say nothing)."""
    tp = result.get("tensor_parallel_size")
    return "" if tp is None else f", tensor parallel size {tp}"


def _fmt(value: float | None, scale: float = 1.0, digits: int = 1) -> str:
    return "-" if value is None else f"{value * scale:.{digits}f}"


def format_table(result: dict) -> str:
    """A Markdown table of a result dict (``BenchResult.to_dict()`` or its JSON file); the docs
    include exactly this text, and a test re-renders it from the committed JSON."""
    # results files from before M2 lack the later fields: read them with their defaults
    w = {"name": "random", "range_ratio": 0.0, **result["workload"]}
    base = next((r["output_tokens_per_s"] for r in result["results"]
                 if r["engine"] == "transformers"), None)
    if w["name"] == "nanovllm":
        shape = f"{w['num_prompts']} prompts, input and output lengths uniform in [100, 1024]"
    elif w["name"] == "shared-prefix" and not w["range_ratio"]:
        shape = (f"{w['num_prompts']} prompts x ({w['prefix_len']} shared + {w['input_len']} "
                 f"own) input tokens -> {w['output_len']} output tokens")
    elif w["name"] == "long-prompt":
        shape = (f"{w['num_prompts']} prompts, one in {w['long_every']} of {w['long_len']} "
                 f"input tokens, the others {w['input_len']}, -> {w['output_len']} output tokens")
        if w["range_ratio"]:
            r = w["range_ratio"]
            shape += f" (the short inputs and all outputs x uniform [{1 - r:g}, {1 + r:g}])"
    elif w["range_ratio"]:
        r = w["range_ratio"]
        shape = (f"{w['num_prompts']} prompts, input {w['input_len']} and output "
                 f"{w['output_len']} tokens each x uniform [{1 - r:g}, {1 + r:g}]")
    else:
        shape = (f"{w['num_prompts']} prompts x {w['input_len']} input tokens -> "
                 f"{w['output_len']} output tokens")
    mode = "temperature 0.6" if w["name"] == "nanovllm" else "greedy"
    lines = [
        f"Workload `{w['name']}`: {shape} ({mode}, EOS ignored), best of {w['repeats']} runs; "
        f"device `{result['device']}`{_ranks(result)}, torch {result['torch_version']}, "
        f"{result['date']}.",
        "",
        "| engine | seconds | output tokens | output tokens/s | vs transformers | TTFT p50 (ms) "
        "| TPOT p50 (ms) | concurrent seqs |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["results"]:
        ratio = "-" if not base else f"{r['output_tokens_per_s'] / base:.2f}x"
        lines.append(
            f"| {r['engine']} | {r['seconds']:.2f} | {r['output_tokens']} | "
            f"{r['output_tokens_per_s']:.1f} | {ratio} | {_fmt(r.get('ttft_p50'), 1000)} | "
            f"{_fmt(r.get('tpot_p50'), 1000)} | {r.get('max_concurrent_seqs') or '-'} |")
    lines.append("")
    passes = [r for r in result["results"] if r.get("first_pass_seconds") and w["repeats"] > 1]
    lines += [f"First timed pass of {r['engine']}: {r['first_pass_seconds']:.2f} s, best "
              f"{r['seconds']:.2f} s ({r['first_pass_seconds'] / r['seconds'] - 1:+.1%})."
              for r in passes]
    if passes:
        lines.append("")
    lines += _latency_table(result["results"])
    hits = [r for r in result["results"] if r.get("prefix_cache_hit_rate") is not None]
    for r in hits:
        expected = r.get("expected_prefix_cache_hit_rate")
        lines.append(f"Prefix cache hit rate of {r['engine']}: {r['prefix_cache_hit_rate']:.1%}"
                     + ("" if expected is None else f" (the caching rule predicts {expected:.1%})")
                     + ".")
    if hits:
        lines.append("")
    return "\n".join(lines)


def _latency_table(results: list[dict]) -> list[str]:
    """The decode latencies a long prefill hurts, for results that measured the gaps between
    tokens (none for ``transformers``, whose ``generate`` returns all tokens at once)."""
    rows = [r for r in results if r.get("itl_p99") is not None]
    if not rows:
        return []
    lines = ["| engine | token budget | TPOT p50 (ms) | TPOT p99 (ms) | ITL p50 (ms) "
             "| ITL p99 (ms) | TTFT p99 (ms) |", "|---|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['engine']} | {r.get('max_num_batched_tokens') or '-'} | "
              f"{_fmt(r.get('tpot_p50'), 1000)} | {_fmt(r.get('tpot_p99'), 1000)} | "
              f"{_fmt(r.get('itl_p50'), 1000)} | {_fmt(r.get('itl_p99'), 1000)} | "
              f"{_fmt(r.get('ttft_p99'), 1000)} |" for r in rows]
    return lines + [""]

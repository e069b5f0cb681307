"""Layered engine configuration, built from flat keyword arguments.

An inference engine has four independent groups of knobs: *what* model runs (``ModelConfig``),
*how KV memory is managed* (``CacheConfig``), *how requests are batched* (``SchedulerConfig``) and
*how the model is split over devices* (``ParallelConfig``). Each group validates itself; the few
rules that involve two groups (for example "the token budget must hold one whole prompt") live in
``EngineConfig``. Users never build these by hand: ``LLM(**kwargs)`` hands its keywords to
``EngineArgs``, which rejects unknown names and builds the layered config.

Every rule raises ``ValueError`` naming the field, the value and what is allowed, before any model
is loaded. ``assert`` is never used for validation: it disappears under ``python -O``.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from folovllm.default_model import ensure_default_model
from folovllm.validation import (
    DEVICES,
    LOAD_FORMATS,
    MODEL_DTYPES,
    check_bool,
    check_choice,
    check_fraction,
    check_int,
    check_model_dir,
    fail,
)

# The torch dtype of every name in MODEL_DTYPES but "auto" (tests/m0/test_config.py checks that
# the two agree: the names live in the torch-free validation module, for the command line).
_DTYPES: dict[str, torch.dtype] = {
    "half": torch.float16,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float": torch.float32,
    "float32": torch.float32,
}
CACHE_DTYPES = ("auto", "float16", "bfloat16", "float32")
# "auto": Triton kernels on CUDA, the PyTorch reference elsewhere (see attention/selector.py)
ATTENTION_BACKENDS = ("auto", "torch", "triton")
SCHEDULER_POLICIES = ("fcfs",)

# Keys under which HF configs store the longest sequence a model was trained for, in the order
# vLLM looks at them. The smallest one present wins: it is the binding limit.
_MAX_LEN_KEYS = (
    "max_position_embeddings",
    "n_positions",
    "max_seq_len",
    "seq_length",
    "max_sequence_length",
    "max_seq_length",
    "seq_len",
)
_FALLBACK_MAX_MODEL_LEN = 2048


def resolve_device(device: str) -> torch.device:
    """``auto`` means CUDA when a GPU is visible, else CPU."""
    check_choice("device", device, DEVICES)
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise fail("device", device, "CUDA is not available on this machine; use 'cpu'")
    return torch.device(device)


def head_dim_of(hf_config: Any) -> int:
    """The one head-size rule, for the cache's shape and the model's layers alike: a config's
    explicit ``head_dim`` wins (Qwen3's 128 is not 1024 / 16), else hidden size over heads."""
    return getattr(hf_config, "head_dim", None) or hf_config.hidden_size // \
        hf_config.num_attention_heads


@dataclass
class ModelConfig:
    """What runs: the checkpoint, its tokenizer, numeric type and length limit.

    ``model=None`` selects the embedded default model (SmolLM2-135M-Instruct), converted into the
    cache on first use.
    """

    model: str | None = None
    tokenizer: str | None = None
    dtype: str = "auto"
    max_model_len: int | None = None
    seed: int = 0
    load_format: str = "auto"
    skip_tokenizer_init: bool = False
    # None: decode steps replay CUDA graphs where they can (CUDA and the Triton kernels), every
    # step runs eagerly elsewhere; resolved to True or False below. False asks for graphs (an
    # error where there are none); True runs every step eagerly.
    enforce_eager: bool | None = None
    max_logprobs: int = 20   # the most top log-probabilities a request may ask for (vLLM's)
    device: str = "auto"
    attention_backend: str = "auto"
    hf_config: Any = field(init=False, repr=False)
    torch_dtype: torch.dtype = field(init=False)

    def __post_init__(self) -> None:
        # Cheap checks first: a typo must not wait for the default model's first conversion.
        check_choice("dtype", self.dtype, MODEL_DTYPES)
        check_choice("load_format", self.load_format, LOAD_FORMATS)
        check_int("seed", self.seed)
        check_bool("skip_tokenizer_init", self.skip_tokenizer_init)
        if self.enforce_eager is not None:
            check_bool("enforce_eager", self.enforce_eager)
        check_int("max_logprobs", self.max_logprobs, 0)
        check_choice("attention_backend", self.attention_backend, ATTENTION_BACKENDS)
        self.device = str(resolve_device(self.device))
        self.enforce_eager = self._resolve_enforce_eager()
        if self.model is None:
            self.model = str(ensure_default_model())
        if not isinstance(self.model, (str, Path)):
            raise fail("model", self.model, "must be a path to a model directory")
        self.model = str(self.model)
        self.tokenizer = str(self.tokenizer) if self.tokenizer is not None else self.model
        self.hf_config = self._load_hf_config()
        self.torch_dtype = self._resolve_dtype()
        self.max_model_len = self._resolve_max_model_len()

    def _resolve_enforce_eager(self) -> bool:
        """CUDA graphs replay kernels on a CUDA device, and only kernels that read every input
        from device memory: the Triton backend's. The reference backend loops over sequences in
        Python (lengths on the host), which a graph would freeze at their captured values."""
        graphs_possible = self.device == "cuda" and self.attention_backend != "torch"
        if self.enforce_eager is None:
            return not graphs_possible
        if not self.enforce_eager and not graphs_possible:
            raise fail("enforce_eager", False, "CUDA graphs need device='cuda' and the Triton "
                       f"attention backend (device={self.device!r}, attention_backend="
                       f"{self.attention_backend!r}); leave enforce_eager unset or True")
        return self.enforce_eager

    def _load_hf_config(self) -> Any:
        from transformers import AutoConfig

        check_model_dir(self.model)
        try:
            return AutoConfig.from_pretrained(self.model)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise ValueError(f"model={self.model!r} is invalid: transformers cannot read its "
                             f"config.json ({type(error).__name__}: {error})") from error

    @property
    def checkpoint_dtype(self) -> torch.dtype:
        """The dtype the weights were saved in (``float32`` when the config does not say)."""
        dt = getattr(self.hf_config, "dtype", None) or getattr(self.hf_config, "torch_dtype", None)
        if isinstance(dt, str):
            dt = _DTYPES.get(dt, getattr(torch, dt, None))
        return dt if isinstance(dt, torch.dtype) else torch.float32

    # --8<-- [start:dtype_rule]
    def _resolve_dtype(self) -> torch.dtype:
        """The ``auto`` rule: the checkpoint's dtype on GPU, float32 on CPU.

        On GPU a float32 checkpoint runs in bfloat16: twice less memory traffic, which is what
        decoding is bound by. On CPU many half-precision kernels are slow or missing, and the
        parity tests compare against ``transformers`` in float32, so ``auto`` picks float32 there;
        an explicit ``dtype`` is always obeyed.
        """
        if self.dtype != "auto":
            return _DTYPES[self.dtype]
        if self.device == "cpu":
            return torch.float32
        ckpt = self.checkpoint_dtype
        return torch.bfloat16 if ckpt == torch.float32 else ckpt
    # --8<-- [end:dtype_rule]

    def derived_max_model_len(self) -> int:
        """The longest context the checkpoint supports, read from its config."""
        found = [
            getattr(self.hf_config, k) for k in _MAX_LEN_KEYS
            if isinstance(getattr(self.hf_config, k, None), int)
        ]
        return min(found) if found else _FALLBACK_MAX_MODEL_LEN

    def _resolve_max_model_len(self) -> int:
        limit = self.derived_max_model_len()
        if self.max_model_len is None:
            return limit
        check_int("max_model_len", self.max_model_len, 1, limit)
        return self.max_model_len

    # --- shape helpers, used by the KV-cache arithmetic and the runners -------------------
    @property
    def vocab_size(self) -> int:
        return self.hf_config.vocab_size

    @property
    def num_layers(self) -> int:
        return self.hf_config.num_hidden_layers

    @property
    def num_attention_heads(self) -> int:
        return self.hf_config.num_attention_heads

    @property
    def num_kv_heads(self) -> int:
        return getattr(self.hf_config, "num_key_value_heads", None) or self.num_attention_heads

    @property
    def head_dim(self) -> int:
        return head_dim_of(self.hf_config)

    def num_kv_heads_per_rank(self, tensor_parallel_size: int = 1) -> int:
        """The KV heads one tensor-parallel rank holds (and caches): its share of them, or one
        replicated head when there are more ranks than KV heads."""
        return max(1, self.num_kv_heads // tensor_parallel_size)

    def kv_cache_bytes_per_token(self, cache_dtype: torch.dtype | None = None,
                                 tensor_parallel_size: int = 1) -> int:
        """Bytes of K and V that one token occupies across all layers, on one rank.

        ``2 (K and V) x layers x kv_heads x head_dim x bytes per element``: the number that decides
        how many tokens fit in GPU memory. With tensor parallelism each rank caches only its own
        KV heads (``num_kv_heads_per_rank``), so this is the per-rank figure, and each rank's
        memory holds that many more tokens.
        """
        elem = torch.tensor([], dtype=cache_dtype or self.torch_dtype).element_size()
        heads = self.num_kv_heads_per_rank(tensor_parallel_size)
        return 2 * self.num_layers * heads * self.head_dim * elem


@dataclass
class CacheConfig:
    """How KV memory is carved up (used from M3 on: paged blocks, prefix caching).

    ``block_size=16`` tokens per block is vLLM's default: small enough that the last, partly filled
    block wastes little (at most 15 tokens per sequence), large enough that block tables stay short
    and attention kernels read contiguous runs of memory.

    ``enable_prefix_caching`` (on by default, as in vLLM v1) keeps the K/V of full prompt blocks
    after their sequence finishes, so a later prompt with the same prefix skips computing them.
    """

    block_size: int = 16
    gpu_memory_utilization: float = 0.9
    num_gpu_blocks: int | None = None
    enable_prefix_caching: bool = True
    cache_dtype: str = "auto"
    kv_cache_memory_bytes: int | None = None

    def __post_init__(self) -> None:
        check_int("block_size", self.block_size, 1, 1024)
        check_fraction("gpu_memory_utilization", self.gpu_memory_utilization)
        if self.num_gpu_blocks is not None:
            check_int("num_gpu_blocks", self.num_gpu_blocks, 1)
        check_bool("enable_prefix_caching", self.enable_prefix_caching)
        check_choice("cache_dtype", self.cache_dtype, CACHE_DTYPES)
        if self.kv_cache_memory_bytes is not None:
            check_int("kv_cache_memory_bytes", self.kv_cache_memory_bytes, 1)

    def resolve_dtype(self, model_dtype: torch.dtype) -> torch.dtype:
        """``auto`` stores K/V in the model's dtype."""
        return model_dtype if self.cache_dtype == "auto" else _DTYPES[self.cache_dtype]


@dataclass
class SchedulerConfig:
    """How many sequences and tokens one step may process.

    ``max_num_batched_tokens`` is the step's token budget, the one knob between latency (a small
    step ends soon, so decodes stream evenly) and throughput (a big step keeps the device busy).
    ``None`` is resolved by ``EngineConfig``: 8192 with chunked prefill (vLLM's offline
    default); without it one step must hold a whole prompt, so ``max(max_model_len, 8192)``.
    ``long_prefill_token_threshold`` caps the chunk one sequence computes in a step (0: no cap
    but the budget), so that a long prompt leaves room for other prompts' chunks.
    ``async_scheduling`` schedules and queues step N+1 while the device runs step N (``None``:
    on for one CUDA device, where it hides the host's work; off on CPU, where nothing runs
    beside the host). It is refused with tensor parallelism.
    """

    max_num_seqs: int = 256
    max_num_batched_tokens: int | None = None
    enable_chunked_prefill: bool = True
    long_prefill_token_threshold: int = 0
    policy: str = "fcfs"
    # decode batch sizes captured as CUDA graphs; None: default_cuda_graph_sizes(max_num_seqs)
    cuda_graph_sizes: list[int] | None = None
    async_scheduling: bool | None = None

    def __post_init__(self) -> None:
        check_int("max_num_seqs", self.max_num_seqs, 1)
        if self.max_num_batched_tokens is not None:
            check_int("max_num_batched_tokens", self.max_num_batched_tokens, 1)
        check_bool("enable_chunked_prefill", self.enable_chunked_prefill)
        check_int("long_prefill_token_threshold", self.long_prefill_token_threshold, 0)
        if self.long_prefill_token_threshold and not self.enable_chunked_prefill:
            raise fail("long_prefill_token_threshold", self.long_prefill_token_threshold,
                       "it caps prompt chunks, so it needs enable_chunked_prefill=True; "
                       "leave it 0 or turn chunked prefill on")
        check_choice("policy", self.policy, SCHEDULER_POLICIES)
        if self.async_scheduling is not None:
            check_bool("async_scheduling", self.async_scheduling)
        if self.cuda_graph_sizes is not None:
            self.cuda_graph_sizes = self._checked_graph_sizes(self.cuda_graph_sizes)

    def _checked_graph_sizes(self, sizes: Any) -> list[int]:
        if not isinstance(sizes, (list, tuple)) or not sizes:
            raise fail("cuda_graph_sizes", sizes, "must be a non-empty list of batch sizes")
        for size in sizes:
            if isinstance(size, bool) or not isinstance(size, int) \
                    or not 1 <= size <= self.max_num_seqs:
                raise fail("cuda_graph_sizes", sizes, "every size must be an integer in "
                           f"[1, max_num_seqs={self.max_num_seqs}]")
        return sorted(set(sizes))


# --8<-- [start:graph_sizes]
def default_cuda_graph_sizes(max_num_seqs: int) -> list[int]:
    """1, 2, 4, then every 8 up to 256 and every 16 beyond (vLLM's list), and ``max_num_seqs``:
    a decode batch of ``n`` replays the smallest size >= ``n``, so the padding wasted is under 8
    rows (16 past 256) and the largest batch a step can hold always has a graph."""
    sizes = [1, 2, 4, *range(8, 257, 8), *range(272, max_num_seqs + 1, 16), max_num_seqs]
    return sorted({s for s in sizes if s <= max_num_seqs})
# --8<-- [end:graph_sizes]


@dataclass
class ParallelConfig:
    """How the model is split across devices: ``tensor_parallel_size`` ranks (processes), each
    holding a slice of every layer. Whether the model's heads can be split that way is checked
    by ``EngineConfig``, which knows the model."""

    tensor_parallel_size: int = 1

    def __post_init__(self) -> None:
        check_int("tensor_parallel_size", self.tensor_parallel_size, 1)


# --8<-- [start:engine_config]
@dataclass
class EngineConfig:
    """All four groups, plus the rules that need more than one of them."""

    model_config: ModelConfig
    cache_config: CacheConfig
    scheduler_config: SchedulerConfig
    parallel_config: ParallelConfig

    def __post_init__(self) -> None:
        m, s = self.model_config, self.scheduler_config
        if m.enforce_eager and s.cuda_graph_sizes is not None:
            raise fail("cuda_graph_sizes", s.cuda_graph_sizes, "every step runs eagerly "
                       f"(enforce_eager=True on device={m.device!r}), so no graph is captured; "
                       "drop it, or leave enforce_eager unset on a CUDA device")
        if m.enforce_eager:
            s.cuda_graph_sizes = []
        elif s.cuda_graph_sizes is None:
            s.cuda_graph_sizes = default_cuda_graph_sizes(s.max_num_seqs)
        if s.max_num_batched_tokens is None:
            s.max_num_batched_tokens = (8192 if s.enable_chunked_prefill
                                        else max(m.max_model_len, 8192))
        if s.max_num_batched_tokens < s.max_num_seqs:
            raise ValueError(
                f"max_num_batched_tokens={s.max_num_batched_tokens} is invalid: a decode step "
                f"runs one token per sequence, so it must be >= max_num_seqs={s.max_num_seqs}")
        if not s.enable_chunked_prefill and s.max_num_batched_tokens < m.max_model_len:
            raise ValueError(
                f"max_num_batched_tokens={s.max_num_batched_tokens} is invalid: without chunked "
                f"prefill it must be >= max_model_len={m.max_model_len} so that one step can hold "
                "a whole prompt; raise it, lower max_model_len, or turn chunked prefill on"
            )
        check_tensor_parallel(m, self.parallel_config.tensor_parallel_size)
        s.async_scheduling = self._resolve_async_scheduling()

    def _resolve_async_scheduling(self) -> bool:
        tp, wanted = self.parallel_config.tensor_parallel_size, self.scheduler_config.async_scheduling
        if wanted and tp > 1:
            raise fail("async_scheduling", True, f"it needs tensor_parallel_size=1 (got {tp}): "
                       "the workers take the sampled tokens on the host each step; leave "
                       "async_scheduling unset or False")
        if wanted is None:
            return self.model_config.device.startswith("cuda") and tp == 1
        return wanted

    @property
    def kv_cache_dtype(self) -> torch.dtype:
        return self.cache_config.resolve_dtype(self.model_config.torch_dtype)
# --8<-- [end:engine_config]


# --8<-- [start:check_tp]
def check_tensor_parallel(m: ModelConfig, tp: int) -> None:
    """The ranks split the query heads and the MLP evenly; KV heads are split evenly, or, when
    there are fewer KV heads than ranks, each one is replicated on ``tp / num_kv_heads`` ranks.
    On CUDA each rank needs its own GPU. Checked here, before any process starts."""
    if tp == 1:
        return
    kv = m.num_kv_heads
    sizes = (("num_attention_heads", m.num_attention_heads),
             ("intermediate_size", getattr(m.hf_config, "intermediate_size", 0)))
    for name, value in sizes:
        if value % tp:
            raise ValueError(f"tensor_parallel_size={tp} is invalid: {name}={value} is not "
                             "divisible by it")
    if kv % tp and tp % kv:
        raise ValueError(f"tensor_parallel_size={tp} is invalid: num_kv_heads={kv} is neither "
                         "divisible by it nor a divisor of it")
    if m.device == "cuda" and tp > torch.cuda.device_count():
        raise ValueError(f"tensor_parallel_size={tp} is invalid: one GPU per rank is needed, "
                         f"and {torch.cuda.device_count()} are visible")
# --8<-- [end:check_tp]


_GROUPS = (ModelConfig, CacheConfig, SchedulerConfig, ParallelConfig)


def _init_fields(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls) if f.init]


@dataclass
class EngineArgs:
    """The flat keyword arguments of ``LLM(...)``, split into the layered config.

    The accepted keywords are the union of the four groups' ``__init__`` fields
    (:meth:`known_keys`), so a new knob is added in exactly one place, its group.
    """

    kwargs: dict[str, Any] = field(default_factory=dict)

    # --8<-- [start:engine_args]
    @classmethod
    def known_keys(cls) -> list[str]:
        return [name for group in _GROUPS for name in _init_fields(group)]

    def __post_init__(self) -> None:
        known = self.known_keys()
        for key in self.kwargs:
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ValueError(f"unknown engine argument {key!r}{hint} (known: {known})")

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> EngineArgs:
        return cls(kwargs=dict(kwargs))

    def create_engine_config(self) -> EngineConfig:
        # Validate the cheap groups first, so a bad value fails before the model config loads.
        parts = {}
        for group in reversed(_GROUPS):
            names = _init_fields(group)
            parts[group] = group(**{k: v for k, v in self.kwargs.items() if k in names})
        return EngineConfig(
            model_config=parts[ModelConfig],
            cache_config=parts[CacheConfig],
            scheduler_config=parts[SchedulerConfig],
            parallel_config=parts[ParallelConfig],
        )
    # --8<-- [end:engine_args]

"""The M2 model runner: our own model code over a flat batch, with a contiguous per-slot KV cache.

Each step it turns the scheduler's decision into tensors — the flat ``input_ids`` and ``positions``
of every scheduled token and the attention metadata — runs the model once, and returns logits for
the last token of each sequence only.

The KV cache is one region per *slot*: ``[num_slots, max_model_len, num_kv_heads, head_dim]`` per
layer for K and for V. A sequence owns a slot from admission to finish, so a 20-token answer
reserves room for ``max_model_len`` tokens: simple, and wasteful in exactly the way M3's paged
cache fixes (the learning notes measure how much).
"""

from __future__ import annotations

import torch

from folovllm.attention.metadata import AttentionMetadata
from folovllm.config import EngineConfig
from folovllm.core.scheduler import SchedulerOutput
from folovllm.model_executor.layers.attention import Attention
from folovllm.model_executor.layers.sampler import Sampler, SamplingMetadata
from folovllm.model_executor.loader import load_model
from folovllm.sampling_params import SamplingParams

# KV budget on CPU when none is given (vLLM's CPU backend default is 4 GiB too).
DEFAULT_CPU_KV_BYTES = 4 * 2**30


class ModelRunner:
    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        mc = config.model_config
        self.device = torch.device(mc.device)
        self.model = load_model(mc)
        self.max_model_len = mc.max_model_len
        self.bytes_per_slot = mc.max_model_len * mc.kv_cache_bytes_per_token(config.kv_cache_dtype)
        self.num_slots = self._num_slots()
        self._allocate_kv_cache(self.num_slots, self.max_model_len)

    # ---- KV cache sizing and allocation --------------------------------------------------
    # --8<-- [start:kv_budget]
    def kv_budget_bytes(self) -> int:
        """Bytes available for the KV cache.

        An explicit ``kv_cache_memory_bytes`` wins. On GPU: ``gpu_memory_utilization`` of the
        card minus what is already used (weights) and the peak of the largest step — forward
        pass, logits of ``max_num_seqs`` rows and the sampler's work on them — measured by
        running one (vLLM's profiling run). On CPU: 4 GiB.
        """
        cc = self.config.cache_config
        if cc.kv_cache_memory_bytes is not None:
            return cc.kv_cache_memory_bytes
        if self.device.type != "cuda":
            return DEFAULT_CPU_KV_BYTES
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(self.device)
        profile_kv_bytes = self._profile_run()
        free, total = torch.cuda.mem_get_info(self.device)
        not_ours = total - free - torch.cuda.memory_reserved(self.device)  # CUDA context, others
        # weights + the largest step, less the throw-away cache the profiling run needed
        peak = torch.cuda.max_memory_allocated(self.device) - profile_kv_bytes
        return int(total * cc.gpu_memory_utilization) - peak - max(not_ours, 0)
    # --8<-- [end:kv_budget]

    @torch.inference_mode()
    def _profile_run(self) -> int:
        """Run the largest step once; returns the bytes of the throw-away cache it used.

        A prefill of ``max_num_batched_tokens`` tokens (split into sequences that fit
        ``max_model_len``), then logits and a sampling pass with top-p for ``max_num_seqs`` rows:
        the most activation memory any real step can need.
        """
        sc, mc = self.config.scheduler_config, self.config.model_config
        n = min(sc.max_num_batched_tokens, self.max_model_len * sc.max_num_seqs)
        lengths = []
        while n > 0:
            lengths.append(min(n, self.max_model_len - 1))
            n -= lengths[-1]
        kv_bytes = self._allocate_kv_cache(len(lengths), max(lengths))
        ids = torch.randint(0, mc.vocab_size, (sum(lengths),), device=self.device)
        md = self._prefill_metadata(lengths, list(range(len(lengths))))
        hidden = self.model(ids, md.positions, md)
        rows = hidden[:1].expand(sc.max_num_seqs, -1)
        params = [SamplingParams(temperature=1.0, top_p=0.9)] * sc.max_num_seqs
        outputs = [[] for _ in params]
        md = SamplingMetadata.build(params, outputs, outputs, [None] * len(params),
                                    mc.vocab_size, self.device)
        Sampler()(self.model.compute_logits(rows), md)
        self._free_kv_cache()
        return kv_bytes

    def _num_slots(self) -> int:
        budget = self.kv_budget_bytes()
        slots = min(self.config.scheduler_config.max_num_seqs, budget // self.bytes_per_slot)
        if slots < 1:
            raise ValueError(
                f"the KV cache budget ({budget / 2**20:.0f} MiB) cannot hold one sequence of "
                f"max_model_len={self.max_model_len} ({self.bytes_per_slot / 2**20:.0f} MiB per "
                "slot): lower max_model_len or raise kv_cache_memory_bytes / "
                "gpu_memory_utilization")
        return int(slots)

    def _allocate_kv_cache(self, num_slots: int, length: int) -> int:
        """Per layer, K and V of ``[num_slots, length, num_kv_heads, head_dim]``, bound to the
        layer's ``Attention`` module. Returns the bytes allocated."""
        mc = self.config.model_config
        shape = (num_slots, length, mc.num_kv_heads, mc.head_dim)
        dtype = self.config.kv_cache_dtype
        total = 0
        for module in self.model.modules():
            if isinstance(module, Attention):
                module.k_cache = torch.zeros(shape, dtype=dtype, device=self.device)
                module.v_cache = torch.zeros(shape, dtype=dtype, device=self.device)
                total += 2 * module.k_cache.numel() * module.k_cache.element_size()
        return total

    def _free_kv_cache(self) -> None:
        for module in self.model.modules():
            if isinstance(module, Attention):
                module.k_cache = module.v_cache = None

    @property
    def kv_cache_bytes(self) -> int:
        return self.num_slots * self.bytes_per_slot

    # ---- one step ------------------------------------------------------------------------
    def _tensor(self, values: list[int]) -> torch.Tensor:
        """A host list as a device tensor; pinned + non-blocking on GPU, so no sync."""
        t = torch.tensor(values, dtype=torch.long)
        if self.device.type == "cuda":
            return t.pin_memory().to(self.device, non_blocking=True)
        return t

    # --8<-- [start:execute_model]
    def _prefill_metadata(self, lengths: list[int], slots: list[int]) -> AttentionMetadata:
        starts = [0]
        for n in lengths:
            starts.append(starts[-1] + n)
        positions = [p for n in lengths for p in range(n)]
        token_slots = [s for s, n in zip(slots, lengths) for _ in range(n)]
        return AttentionMetadata(
            is_prefill=True, slot_ids=self._tensor(slots), seq_lens=self._tensor(lengths),
            token_slot_ids=self._tensor(token_slots), positions=self._tensor(positions),
            query_start_loc=starts, max_seq_len=max(lengths))

    def _decode_metadata(self, lengths: list[int], slots: list[int]) -> AttentionMetadata:
        slot_ids, seq_lens = self._tensor(slots), self._tensor(lengths)
        return AttentionMetadata(
            is_prefill=False, slot_ids=slot_ids, seq_lens=seq_lens, token_slot_ids=slot_ids,
            positions=self._tensor([n - 1 for n in lengths]),
            query_start_loc=list(range(len(lengths) + 1)), max_seq_len=max(lengths),
            slot_window=_window(slots))

    @torch.inference_mode()
    def execute_model(self, out: SchedulerOutput) -> torch.Tensor:
        """Run the scheduled step; logits ``[S, V]`` for each sequence's last token, in order."""
        seqs = [s.seq for s in out.scheduled]
        slots = [s.slot for s in out.scheduled]
        lengths = [s.data.get_len() for s in seqs]
        if out.is_prefill:
            ids = self._tensor([t for s in seqs for t in s.data.get_token_ids()])
            md = self._prefill_metadata(lengths, slots)
        else:
            ids = self._tensor([s.data.get_last_token_id() for s in seqs])
            md = self._decode_metadata(lengths, slots)
        hidden = self.model(ids, md.positions, md)
        if out.is_prefill:
            hidden = hidden[self._tensor([e - 1 for e in md.query_start_loc[1:]])]
        return self.model.compute_logits(hidden)
    # --8<-- [end:execute_model]


def _window(slots: list[int]) -> tuple[int, int] | None:
    """The slot range a decode step can attend over in place (see ``AttentionMetadata``)."""
    lo, hi = min(slots), max(slots)
    return (lo, hi) if hi - lo + 1 <= 2 * len(slots) else None

"""The model runner: our own model code over a flat batch, with a paged KV cache.

Each step it turns the scheduler's decision into tensors — the flat ``input_ids`` and ``positions``
of every scheduled token and the attention metadata (slot mapping, block tables, context lengths)
— runs the model once, and returns logits for the last token of each sequence only.

The KV cache is, per layer, a pool of blocks: K and V each ``[num_blocks, block_size,
num_kv_heads, head_dim]``. Which blocks belong to which sequence is decided by the scheduler's
``KVCacheManager``; the runner only turns block tables into addresses. How many blocks there are
is decided here, once, from the memory budget.
"""

from __future__ import annotations

import logging

import torch

from folovllm.attention.metadata import AttentionMetadata
from folovllm.attention.selector import get_attn_backend
from folovllm.config import EngineConfig
from folovllm.core.kv_cache_manager import cdiv
from folovllm.core.scheduler import SchedulerOutput
from folovllm.model_executor.layers.attention import Attention
from folovllm.model_executor.layers.sampler import Sampler, SamplingMetadata
from folovllm.model_executor.loader import load_model
from folovllm.sampling_params import SamplingParams
from folovllm.sequence import Sequence, SequenceData

logger = logging.getLogger(__name__)

# KV budget on CPU when none is given (vLLM's CPU backend default is 4 GiB too).
DEFAULT_CPU_KV_BYTES = 4 * 2**30


class ModelRunner:
    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        mc, cc = config.model_config, config.cache_config
        self.device = torch.device(mc.device)
        self.attn_backend = get_attn_backend(mc.attention_backend, self.device)
        self.model = load_model(mc)
        self.attn_layers = [m for m in self.model.modules() if isinstance(m, Attention)]
        self.max_model_len = mc.max_model_len
        self.block_size = cc.block_size
        self.bytes_per_block = cc.block_size * mc.kv_cache_bytes_per_token(config.kv_cache_dtype)
        self.num_blocks = self._num_blocks()
        self._allocate_kv_cache(self.num_blocks)
        self._warm_up()

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

    # --8<-- [start:num_blocks]
    def _num_blocks(self) -> int:
        """``num_gpu_blocks`` if given, else the budget over the bytes of one block (all layers,
        K and V) — but never more than ``max_num_seqs`` sequences of ``max_model_len`` tokens can
        use, so a small model on CPU does not zero gigabytes it will never touch."""
        cc, sc = self.config.cache_config, self.config.scheduler_config
        if cc.num_gpu_blocks is not None:
            blocks = cc.num_gpu_blocks
        else:
            budget = self.kv_budget_bytes()
            most_usable = sc.max_num_seqs * cdiv(self.max_model_len, self.block_size)
            blocks = min(budget // self.bytes_per_block, most_usable)
            if blocks < 1:
                raise ValueError(
                    f"the KV cache budget ({budget / 2**20:.1f} MiB) cannot hold one block of "
                    f"{self.block_size} tokens ({self.bytes_per_block / 2**20:.2f} MiB): raise "
                    "kv_cache_memory_bytes / gpu_memory_utilization or lower block_size")
        if blocks * self.block_size < self.max_model_len:
            logger.warning("the KV cache holds %d tokens, fewer than max_model_len=%d: longer "
                           "sequences are refused or stopped early", blocks * self.block_size,
                           self.max_model_len)
        return int(blocks)
    # --8<-- [end:num_blocks]

    def _allocate_kv_cache(self, num_blocks: int) -> int:
        """Per layer, K and V of ``[num_blocks, block_size, num_kv_heads, head_dim]``, bound to
        the layer's ``Attention`` module with the attention backend. Returns the bytes allocated.

        Allocated with ``empty``, not ``zeros``: zeroing a CPU cache would touch (and make
        resident) every page of a budget that a small job never uses. A block is zeroed instead
        the first time a step uses it (``_zero_new_blocks``): the reference backend reads whole
        blocks and masks the unused tail, and uninitialised memory could hold NaNs that a mask
        does not remove.
        """
        mc = self.config.model_config
        shape = (num_blocks, self.block_size, mc.num_kv_heads, mc.head_dim)
        dtype = self.config.kv_cache_dtype
        total = 0
        for layer in self.attn_layers:
            layer.k_cache = torch.empty(shape, dtype=dtype, device=self.device)
            layer.v_cache = torch.empty(shape, dtype=dtype, device=self.device)
            layer.backend = self.attn_backend
            total += 2 * layer.k_cache.numel() * layer.k_cache.element_size()
        self._zeroed = torch.zeros(num_blocks, dtype=torch.bool)
        return total

    def _zero_new_blocks(self, seqs: list[Sequence], is_prefill: bool) -> None:
        """Zero the blocks of ``seqs`` that no step has used yet; afterwards every block a kernel
        can read holds finite values. A decode step can only have added each sequence's last
        block, so it looks at those alone: one id per sequence."""
        if is_prefill:
            ids = torch.tensor([b for s in seqs for b in s.block_ids], dtype=torch.long)
        else:
            ids = torch.tensor([s.block_ids[-1] for s in seqs], dtype=torch.long)
        new = ids[~self._zeroed[ids]].unique()
        if not len(new):
            return
        self._zeroed[new] = True
        index = self._to_device(new.long())
        for layer in self.attn_layers:
            layer.k_cache.index_fill_(0, index, 0)
            layer.v_cache.index_fill_(0, index, 0)

    def _free_kv_cache(self) -> None:
        for layer in self.attn_layers:
            layer.k_cache = layer.v_cache = None

    @property
    def kv_cache_bytes(self) -> int:
        return self.num_blocks * self.bytes_per_block

    @torch.inference_mode()
    def _profile_run(self) -> int:
        """Run the largest step once; returns the bytes of the throw-away cache it used.

        A prefill of ``max_num_batched_tokens`` tokens (split into sequences that fit
        ``max_model_len``), then logits and a sampling pass with top-p for ``max_num_seqs`` rows:
        the most activation memory any real step can need.
        """
        sc, mc = self.config.scheduler_config, self.config.model_config
        n = min(sc.max_num_batched_tokens, self.max_model_len * sc.max_num_seqs)
        seqs, first = [], 0
        while n > 0:  # sequences of fake tokens, on consecutive blocks of a throw-away cache
            length = min(n, max(self.max_model_len - 1, 1))
            seq = Sequence(len(seqs), SequenceData((0,) * length))
            seq.block_ids = list(range(first, first + cdiv(length, self.block_size)))
            first += len(seq.block_ids)
            seqs.append(seq)
            n -= length
        kv_bytes = self._allocate_kv_cache(first)
        ids, md = self.prepare_inputs(seqs, is_prefill=True)
        hidden = self.model(ids, md.positions, md)
        rows = hidden[:1].expand(sc.max_num_seqs, -1)
        params = [SamplingParams(temperature=1.0, top_p=0.9)] * sc.max_num_seqs
        outputs = [[] for _ in params]
        smd = SamplingMetadata.build(params, outputs, outputs, [None] * len(params),
                                     mc.vocab_size, self.device)
        Sampler()(self.model.compute_logits(rows), smd)
        self._free_kv_cache()
        return kv_bytes

    @torch.inference_mode()
    def _warm_up(self) -> None:
        """Compile the Triton kernels before the first request: a one-sequence prefill and
        decode through the whole model, then every decode-attention variant a step can launch
        (Triton compiles a variant on its first launch, about a second each; left to the run,
        the first requests would pay for it). Nothing to compile on the reference backend."""
        warm_up = getattr(self.attn_backend, "warm_up", None)
        if warm_up is None:
            return
        seq = Sequence(0, SequenceData((0, 0)))
        seq.block_ids = [0]
        for is_prefill in (True, False):
            ids, md = self.prepare_inputs([seq], is_prefill)
            self.model.compute_logits(self.model(ids, md.positions, md)[-1:])
            seq.data.num_computed_tokens = 1
        mc, layer = self.config.model_config, self.attn_layers[0]
        q = torch.randn(1, mc.num_attention_heads, mc.head_dim, dtype=mc.torch_dtype,
                        device=self.device)
        warm_up(q, layer.k_cache, layer.v_cache, md.block_tables, md.seq_lens,
                self.max_model_len, layer.scale)

    # ---- one step ------------------------------------------------------------------------
    def _to_device(self, t: torch.Tensor) -> torch.Tensor:
        """A host tensor on the device; pinned + non-blocking on GPU, so no sync."""
        if self.device.type == "cuda":
            return t.pin_memory().to(self.device, non_blocking=True)
        return t

    # --8<-- [start:prepare_inputs]
    def prepare_inputs(self, seqs: list[Sequence], is_prefill: bool
                       ) -> tuple[torch.Tensor, AttentionMetadata]:
        """Flat ``input_ids`` and the attention metadata for one step.

        Each sequence contributes its tokens from ``num_computed_tokens`` on: the whole prompt on
        a prefill (or all tokens again after a preemption), the last token on a decode. The slot
        of position ``p`` is ``block_ids[p // block_size] * block_size + p % block_size``,
        computed for all tokens at once on the host from the padded block tables.
        """
        bs = self.block_size
        starts = [s.data.num_computed_tokens for s in seqs]
        seq_lens = [s.data.get_len() for s in seqs]
        q_lens = [n - c for n, c in zip(seq_lens, starts)]
        query_start_loc = [0]
        for n in q_lens:
            query_start_loc.append(query_start_loc[-1] + n)
        if is_prefill:
            ids = [t for s, c in zip(seqs, starts) for t in s.data.get_token_ids()[c:]]
        else:  # one token each: no copy of every sequence's whole history
            ids = [s.data.get_last_token_id() for s in seqs]
        width = cdiv(max(seq_lens), bs)
        tables = torch.tensor([s.block_ids + [0] * (width - len(s.block_ids)) for s in seqs],
                              dtype=torch.int32)
        if is_prefill:
            positions = torch.cat([torch.arange(c, n) for c, n in zip(starts, seq_lens)])
            rows = torch.repeat_interleave(torch.arange(len(seqs)), torch.tensor(q_lens))
        else:  # one token per sequence, at its last position
            positions = torch.tensor(starts)
            rows = torch.arange(len(seqs))
        slot_mapping = tables[rows, positions // bs].long() * bs + positions % bs
        md = AttentionMetadata(
            is_prefill=is_prefill,
            positions=self._to_device(positions),
            slot_mapping=self._to_device(slot_mapping),
            seq_lens=self._to_device(torch.tensor(seq_lens, dtype=torch.int32)),
            block_tables=self._to_device(tables),
            query_start_loc=self._to_device(torch.tensor(query_start_loc, dtype=torch.int32)),
            query_start_loc_host=query_start_loc, seq_lens_host=seq_lens,
            max_query_len=max(q_lens), max_seq_len=max(seq_lens))
        return self._to_device(torch.tensor(ids, dtype=torch.long)), md
    # --8<-- [end:prepare_inputs]

    # --8<-- [start:execute_model]
    @torch.inference_mode()
    def execute_model(self, out: SchedulerOutput) -> torch.Tensor:
        """Run the scheduled step; logits ``[S, V]`` for each sequence's last token, in order."""
        seqs = [s.seq for s in out.scheduled]
        self._zero_new_blocks(seqs, out.is_prefill)
        ids, md = self.prepare_inputs(seqs, out.is_prefill)
        hidden = self.model(ids, md.positions, md)
        if md.max_query_len > 1:
            hidden = hidden[md.query_start_loc[1:].long() - 1]
        return self.model.compute_logits(hidden)
    # --8<-- [end:execute_model]

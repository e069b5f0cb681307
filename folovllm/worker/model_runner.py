"""The model runner: our own model code over a flat batch, with a paged KV cache, and sampling.

Each step it applies what the scheduler sent (new sequences, new blocks, computed counts) to its
persistent ``InputBatch``, gathers the flat ``input_ids`` and ``positions`` of every scheduled
token and the attention metadata (slot mapping, block tables, context lengths) into fixed
buffers, runs the model once, computes logits for the sequences that sample, samples, and
returns the tokens on the host with one device-to-host copy (vLLM v1's ``GPUModelRunner``).

With async scheduling (``execute_model(..., non_block=True)``) the runner returns as soon as the
step is queued on the GPU, and ``get_output()`` of what it returns waits for the tokens. The next
step can then be prepared and queued while the GPU still runs this one: its inputs at the places
of this step's tokens are filled on the device, from the sampled tensor (``_feed_sampled``).

The KV cache is, per layer, a pool of blocks: K and V each ``[num_blocks, block_size,
num_kv_heads, head_dim]``. Which blocks belong to which sequence is decided by the scheduler's
``KVCacheManager``; the runner only turns block tables into addresses. How many blocks there are
is decided here, once, from the memory budget.

With tensor parallelism (M7) every rank runs its own runner on the same ``SchedulerOutput``: each
holds its shard of the model and the K/V of its own heads, and all keep identical input batches.
Rank 0 samples (the LM head gathers the logits there) and broadcasts the sampled tokens, which
every other rank appends as rank 0 does. All ranks agree on the number of KV blocks (the
smallest any of them can hold), since the scheduler hands out one block id for all of them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from folovllm.attention.metadata import AttentionMetadata
from folovllm.attention.selector import get_attn_backend
from folovllm.config import EngineConfig
from folovllm.core.kv_cache_manager import cdiv
from folovllm.core.scheduler_output import (
    ModelRunnerOutput,
    NewSeqData,
    SampledLogprobs,
    SchedulerOutput,
)
from folovllm.distributed.parallel_state import (
    get_tp_rank,
    get_tp_world_size,
    tensor_model_parallel_all_reduce,
    tensor_model_parallel_broadcast,
)
from folovllm.model_executor.layers.attention import Attention
from folovllm.model_executor.layers.sampler import Sampler, SamplingMetadata
from folovllm.model_executor.loader import load_model
from folovllm.sampling_params import SamplingParams
from folovllm.utils import to_device
from folovllm.worker.cuda_graph import CUDAGraphRunner
from folovllm.worker.input_batch import InputBatch

logger = logging.getLogger(__name__)

# KV budget on CPU when none is given (vLLM's CPU backend default is 4 GiB too).
DEFAULT_CPU_KV_BYTES = 4 * 2**30


@dataclass
class _LaunchedStep:
    """A step queued on the device: what is needed to turn its sampled tokens into a
    ``ModelRunnerOutput`` once they reach the host."""

    seq_ids: list[int]
    samples: np.ndarray        # [num seqs] bool: the sequence sampled a token
    sample_rows: np.ndarray    # the input-batch rows of the sampling sequences
    reserved: np.ndarray       # where their tokens go (InputBatch.reserve_sampled)
    token_ids: torch.Tensor    # [num samples] the sampled tokens, on the device
    packed: torch.Tensor       # [num samples, 3 + 2N]: token, logprob, rank, top-N ids and logprobs
    wants_logprobs: list[bool]  # per sample: its request asked for logprobs
    ready: torch.cuda.Event | None   # recorded after the copy to the host (None on CPU)


class AsyncModelRunnerOutput:
    """A step that may still be running on the GPU (vLLM's ``AsyncModelRunnerOutput``):
    ``get_output()`` waits for its tokens and returns them."""

    def __init__(self, finish: Callable[[], ModelRunnerOutput]) -> None:
        self._finish = finish

    def get_output(self) -> ModelRunnerOutput:
        return self._finish()


class ModelRunner:
    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        mc, cc = config.model_config, config.cache_config
        self.device = torch.device(mc.device)
        self.attn_backend = get_attn_backend(mc.attention_backend, self.device)
        self.tp_rank, self.tp_size = get_tp_rank(), get_tp_world_size()
        if self.tp_size != config.parallel_config.tensor_parallel_size:
            raise RuntimeError(
                f"tensor_parallel_size={config.parallel_config.tensor_parallel_size}, but this "
                f"process is in a group of {self.tp_size} ranks: a tensor-parallel engine is "
                "still alive in it; shut it down first (LLM.shutdown())")
        self.model = load_model(mc)
        self.attn_layers = [m for m in self.model.modules() if isinstance(m, Attention)]
        self.max_model_len = mc.max_model_len
        self.block_size = cc.block_size
        self.num_kv_heads = mc.num_kv_heads_per_rank(self.tp_size)   # this rank's
        self.bytes_per_block = cc.block_size * mc.kv_cache_bytes_per_token(
            config.kv_cache_dtype, self.tp_size)
        sc = config.scheduler_config
        self.max_num_tokens = max(sc.max_num_batched_tokens, sc.max_num_seqs)
        self.max_blocks_per_seq = cdiv(self.max_model_len, self.block_size)
        self.vocab_size = mc.vocab_size
        self.input_batch = InputBatch(sc.max_num_seqs, self.max_model_len,
                                      self.max_blocks_per_seq, self.device)
        self.cuda_graphs = self._make_graph_runner()
        self._allocate_step_buffers()
        generator = torch.Generator(device=self.device)
        generator.manual_seed(mc.seed)
        self.sampler = Sampler(generator)
        # per-row token counts for the penalties, made the first time a request asks for one
        self.prompt_mask: torch.Tensor | None = None     # [rows, V] bool
        self.output_counts: torch.Tensor | None = None   # [rows, V] int32
        self.num_blocks = self._num_blocks()
        self._allocate_kv_cache(self.num_blocks)
        self._warm_up()
        self._capture_graphs()

    # ---- KV cache sizing and allocation --------------------------------------------------
    # --8<-- [start:kv_budget]
    def kv_budget_bytes(self) -> int:
        """Bytes available for the KV cache.

        An explicit ``kv_cache_memory_bytes`` wins. On GPU: ``gpu_memory_utilization`` of the
        card minus what is already used (weights), the peak of the largest step — forward
        pass, logits of ``max_num_seqs`` rows and the sampler's work on them — measured by
        running one (vLLM's profiling run), the CUDA graphs (``_graph_bytes``), and the penalty
        counts a request may ask for later (``_penalty_bytes``). On CPU: 4 GiB.
        """
        cc = self.config.cache_config
        if cc.kv_cache_memory_bytes is not None:
            return cc.kv_cache_memory_bytes
        if self.device.type != "cuda":
            return DEFAULT_CPU_KV_BYTES
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(self.device)
        profile_kv_bytes = self._profile_run()
        # weights + the largest step, less the throw-away cache the profiling run needed
        peak = torch.cuda.max_memory_allocated(self.device) - profile_kv_bytes
        graph_bytes = self._graph_bytes()
        free, total = torch.cuda.mem_get_info(self.device)
        not_ours = total - free - torch.cuda.memory_reserved(self.device)  # CUDA context, others
        return (int(total * cc.gpu_memory_utilization) - peak - max(not_ours, 0) - graph_bytes
                - self._penalty_bytes())

    def _penalty_bytes(self) -> int:
        """The per-row prompt mask and output counts (``[max_num_seqs, V]`` bool and int32)
        that the first request with a penalty allocates: kept out of the KV budget, so that
        request cannot run the device out of memory."""
        if self.output_counts is not None:
            return 0
        return self.config.scheduler_config.max_num_seqs * self.vocab_size * (1 + 4)
    # --8<-- [end:kv_budget]

    # --8<-- [start:num_blocks]
    def _num_blocks(self) -> int:
        """``num_gpu_blocks`` if given, else the budget over the bytes of one block (all layers,
        K and V) — but never more than ``max_num_seqs`` sequences of ``max_model_len`` tokens can
        use, so a small model on CPU does not zero gigabytes it will never touch. With tensor
        parallelism, the smallest count of any rank: one block id addresses every rank's cache."""
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
        blocks = self._min_over_ranks(int(blocks))
        if blocks * self.block_size < self.max_model_len:
            logger.warning("the KV cache holds %d tokens, fewer than max_model_len=%d: longer "
                           "sequences are refused or stopped early", blocks * self.block_size,
                           self.max_model_len)
        return int(blocks)
    # --8<-- [end:num_blocks]

    def _min_over_ranks(self, value: int) -> int:
        """The smallest ``value`` any rank has (``value`` itself on one rank)."""
        if self.tp_size == 1:
            return value
        t = torch.tensor([value], dtype=torch.int64, device=self.device)
        return int(tensor_model_parallel_all_reduce(t, torch.distributed.ReduceOp.MIN).item())

    def _allocate_kv_cache(self, num_blocks: int) -> int:
        """Per layer, K and V of ``[num_blocks, block_size, num_kv_heads, head_dim]`` (this rank's
        KV heads), bound to
        the layer's ``Attention`` module with the attention backend. Returns the bytes allocated.

        Allocated with ``empty``, not ``zeros``: zeroing a CPU cache would touch (and make
        resident) every page of a budget that a small job never uses. A block is zeroed instead
        the first time a step uses it (``_zero_new_blocks``): the reference backend reads whole
        blocks and masks the unused tail, and uninitialised memory could hold NaNs that a mask
        does not remove.
        """
        mc = self.config.model_config
        shape = (num_blocks, self.block_size, self.num_kv_heads, mc.head_dim)
        dtype = self.config.kv_cache_dtype
        total = 0
        for layer in self.attn_layers:
            layer.k_cache = torch.empty(shape, dtype=dtype, device=self.device)
            layer.v_cache = torch.empty(shape, dtype=dtype, device=self.device)
            layer.backend = self.attn_backend
            total += 2 * layer.k_cache.numel() * layer.k_cache.element_size()
        self._zeroed = torch.zeros(num_blocks, dtype=torch.bool)
        return total

    # --8<-- [start:zero_new_blocks]
    def _zero_new_blocks(self, block_ids: list[int]) -> None:
        """Zero the blocks this step handed out that no step has used yet; afterwards every
        block a kernel can read holds finite values. Only for a backend that reads whole
        blocks: the Triton kernels never load a position past a sequence's length."""
        if not block_ids or not self.attn_backend.READS_WHOLE_BLOCKS:
            return
        ids = torch.tensor(block_ids, dtype=torch.long)
        new = ids[~self._zeroed[ids]].unique()
        if not len(new):
            return
        self._zeroed[new] = True
        index = to_device(new.long(), self.device)
        for layer in self.attn_layers:
            layer.k_cache.index_fill_(0, index, 0)
            layer.v_cache.index_fill_(0, index, 0)
    # --8<-- [end:zero_new_blocks]

    def _free_kv_cache(self) -> None:
        for layer in self.attn_layers:
            layer.k_cache = layer.v_cache = None

    @property
    def kv_cache_bytes(self) -> int:
        return self.num_blocks * self.bytes_per_block


    # ---- persistent step buffers ---------------------------------------------------------
    # --8<-- [start:step_buffers]
    def _allocate_step_buffers(self) -> None:
        """The inputs of one step, each a fixed host buffer (pinned on GPU, so the copy to the
        device does not block) and its device twin, sized for the largest step. A step fills
        the front of each; nothing is allocated per step."""
        n, s = self.max_num_tokens, self.config.scheduler_config.max_num_seqs
        sizes = {"input_ids": (n, torch.int64), "positions": (n, torch.int64),
                 "slot_mapping": (n, torch.int64), "seq_lens": (s, torch.int32),
                 "query_start_loc": (s + 1, torch.int32), "logits_indices": (s, torch.int64),
                 "block_tables": (s * self.max_blocks_per_seq, torch.int32),
                 "feed_dst": (s, torch.int64), "feed_src": (s, torch.int64)}
        pin = self.device.type == "cuda"
        self._host = {k: torch.zeros(size, dtype=dt, pin_memory=pin) for k, (size, dt) in sizes.items()}
        self._np = {k: t.numpy() for k, t in self._host.items()}
        self._dev = ({k: torch.zeros_like(t, device=self.device) for k, t in self._host.items()}
                     if pin else self._host)
        # the captured graphs' block tables: every row as wide as the longest sequence's table
        # (a graph cannot follow a width that changes per step; a kernel reads only the first
        # cdiv(seq_len, block_size) entries of a row, so what lies beyond is never read)
        self._graph_block_tables = (torch.zeros(s, self.max_blocks_per_seq, dtype=torch.int32,
                                                device=self.device)
                                    if self.cuda_graphs is not None else None)
        # the tokens the last launched step sampled, on the device, and each row's index into
        # them (-1: none): the next step's inputs at those places (_feed_sampled)
        self._prev_sampled: torch.Tensor | None = None
        self._prev_index = np.full(s, -1, dtype=np.int64)
        # recorded once a step's inputs are copied: the host buffers are not rewritten before
        self._inputs_copied = torch.cuda.Event() if pin else None
    # --8<-- [end:step_buffers]

    def _to_step_device(self, name: str, n: int) -> torch.Tensor:
        """The first ``n`` entries of a step buffer, on the device (one non-blocking copy)."""
        if self._dev is self._host:
            return self._host[name][:n]
        return self._dev[name][:n].copy_(self._host[name][:n], non_blocking=True)

    # --8<-- [start:prepare_inputs]
    def _prepare_inputs(self, rows: np.ndarray, num_scheduled: np.ndarray, num_padded: int = 0
                        ) -> tuple[torch.Tensor, AttentionMetadata, np.ndarray]:
        """The step's flat ``input_ids``, its attention metadata, and which sequences sample.

        Sequence ``i`` computes ``num_scheduled[i]`` tokens from its ``num_computed_tokens``
        on: a whole prompt, the rest of one, or its last token. Every per-token array is built
        from the per-sequence ones with ``repeat`` and fancy indexing, no Python loop: position
        ``p`` of row ``r`` reads token ``token_ids[r, p]`` and its K/V go to slot
        ``block_table[r, p // block_size] * block_size + p % block_size``. ``num_padded`` rows
        in all (a CUDA graph's batch size) adds empty rows after the real ones (``_pad``).
        """
        if self._inputs_copied is not None:   # the last step's copies have left the buffers
            self._inputs_copied.synchronize()
        b, bs, h = self.input_batch, self.block_size, self._np
        n, total = len(rows), int(num_scheduled.sum())
        starts = b.num_computed_tokens[rows]
        seq_lens = starts + num_scheduled
        ends = np.cumsum(num_scheduled)
        token_rows = np.repeat(rows, num_scheduled)
        positions = h["positions"][:total]
        np.subtract(np.arange(total), np.repeat(ends - num_scheduled - starts, num_scheduled),
                    out=positions)
        h["input_ids"][:total] = b.token_ids[token_rows, positions]
        h["slot_mapping"][:total] = (b.block_table[token_rows, positions // bs] * bs
                                     + positions % bs)
        width = cdiv(int(seq_lens.max()), bs)
        h["block_tables"][:n * width].reshape(n, width)[:] = b.block_table[rows, :width]
        h["seq_lens"][:n] = seq_lens
        h["query_start_loc"][0] = 0
        h["query_start_loc"][1:n + 1] = ends
        samples = seq_lens == b.num_tokens[rows]   # the step reaches the end of its tokens
        num_logits = int(samples.sum())
        h["logits_indices"][:num_logits] = (ends - 1)[samples]
        self._to_step_device("logits_indices", num_logits)   # read after the forward pass
        if num_padded > n:
            self._pad(n, num_padded, total, width)
            n, total = num_padded, total + num_padded - n
        md = AttentionMetadata(
            positions=self._to_step_device("positions", total),
            slot_mapping=self._to_step_device("slot_mapping", total),
            seq_lens=self._to_step_device("seq_lens", n),
            block_tables=self._to_step_device("block_tables", n * width).view(n, width),
            query_start_loc=self._to_step_device("query_start_loc", n + 1),
            query_start_loc_host=h["query_start_loc"][:n + 1].tolist(),
            seq_lens_host=h["seq_lens"][:n].tolist(),
            max_query_len=int(num_scheduled.max()), max_seq_len=int(seq_lens.max()))
        num_decodes = int((num_scheduled == 1).sum())   # first: _execute orders them so
        if 0 < num_decodes < n:
            md.split_decodes(num_decodes)
        input_ids = self._to_step_device("input_ids", total)
        self._feed_sampled(input_ids, token_rows, positions)
        if self._inputs_copied is not None:
            self._inputs_copied.record()
        return input_ids, md, samples
    # --8<-- [end:prepare_inputs]

    # --8<-- [start:feed_sampled]
    def _feed_sampled(self, input_ids: torch.Tensor, token_rows: np.ndarray,
                      positions: np.ndarray) -> None:
        """Inputs at the places of the last launched step's tokens, taken from its sampled
        tensor on the device: the host may not have them yet (async scheduling). A row's
        reserved place is its last one (``num_tokens - 1``); one gather and one scatter."""
        if self._prev_sampled is None:
            return
        src = self._prev_index[token_rows]
        feed = (src >= 0) & (positions == self.input_batch.num_tokens[token_rows] - 1)
        if not feed.any():
            return
        dst = np.flatnonzero(feed)
        self._np["feed_dst"][:len(dst)] = dst
        self._np["feed_src"][:len(dst)] = src[feed]
        input_ids[self._to_step_device("feed_dst", len(dst))] = self._prev_sampled[
            self._to_step_device("feed_src", len(dst))]
    # --8<-- [end:feed_sampled]

    # --8<-- [start:pad]
    def _pad(self, n: int, num_padded: int, total: int, width: int) -> None:
        """Rows ``n..num_padded`` of a decode step as empty sequences: a token whose K/V are not
        stored (slot -1), no context to attend (length 0) and no block. The graph computes them
        with the rest, and their results are dropped."""
        h, pad = self._np, num_padded - n
        h["input_ids"][total:total + pad] = 0
        h["positions"][total:total + pad] = 0
        h["slot_mapping"][total:total + pad] = -1
        h["seq_lens"][n:num_padded] = 0
        h["query_start_loc"][n + 1:num_padded + 1] = total + np.arange(1, pad + 1)
        h["block_tables"][n * width:num_padded * width] = 0
    # --8<-- [end:pad]

    # ---- one step ------------------------------------------------------------------------
    # --8<-- [start:execute_model]
    @torch.inference_mode()
    def execute_model(self, scheduler_output: SchedulerOutput, non_block: bool = False
                      ) -> ModelRunnerOutput | AsyncModelRunnerOutput:
        """Apply the scheduler's changes, run the scheduled sequences, sample. With
        ``non_block`` return once the step is queued, as an ``AsyncModelRunnerOutput``.

        A fault (an exception in the model or the sampler) must not cost the other requests
        their work. Nothing is written back before a step has sampled, so the step can simply
        be run again, request by request: a request whose inputs make the model fail fails
        alone, and the others get the tokens they would have got (the outputs do not depend on
        the batch); seeded generators are put back first, so they draw the same numbers.

        With tensor parallelism a failed step raises instead: the ranks meet in collectives, and
        a re-run on one rank that the others do not make would leave them waiting.
        """
        self._update_states(scheduler_output)
        seq_ids = list(scheduler_output.num_scheduled_tokens)
        counts = list(scheduler_output.num_scheduled_tokens.values())
        if not seq_ids:
            return self._ready(ModelRunnerOutput(), non_block)
        if self.tp_size > 1:
            step = self._execute(seq_ids, counts)
            return ModelRunnerOutput() if step is None else self._finish(step)
        try:
            step = self._execute(seq_ids, counts)
        except Exception:
            logger.exception("a model step failed; running its requests one by one")
            return self._ready(self._execute_one_by_one(seq_ids, counts), non_block)
        if not non_block:   # the tokens reach the host now: the next step reads them there
            return self._finish(step)
        self._prev_sampled, self._prev_index[:] = step.token_ids, -1
        self._prev_index[step.sample_rows] = np.arange(len(step.sample_rows))
        return AsyncModelRunnerOutput(lambda: self._finish(step))

    @staticmethod
    def _ready(output: ModelRunnerOutput, non_block: bool
               ) -> ModelRunnerOutput | AsyncModelRunnerOutput:
        return AsyncModelRunnerOutput(lambda: output) if non_block else output

    def _execute_one_by_one(self, seq_ids: list[int], counts: list[int]) -> ModelRunnerOutput:
        """The failed step again, one request at a time, each waited for; afterwards every
        sampled token is on the host, so the next step has nothing to take from the device."""
        groups: dict[str, list[tuple[int, int]]] = {}
        for seq_id, count in zip(seq_ids, counts):
            request_id = self.input_batch.request_ids[self.input_batch.row_of[seq_id]]
            groups.setdefault(request_id, []).append((seq_id, count))
        out = ModelRunnerOutput()
        for request_id, group in groups.items():
            try:
                part = self._finish(self._execute(*map(list, zip(*group))))
            except Exception as error:
                out.errors[request_id] = f"{type(error).__name__}: {error}"
                continue
            out.seq_ids += part.seq_ids
            out.sampled_token_ids += part.sampled_token_ids
            out.sampled_logprobs += part.sampled_logprobs
            out.logprobs.update(part.logprobs)
        self._prev_sampled = None
        return out

    def _update_states(self, so: SchedulerOutput) -> None:
        """Forget finished sequences, add new ones, apply new blocks and computed counts; zero
        the blocks handed out this step."""
        for seq_id in so.finished_seq_ids:
            self.input_batch.remove(seq_id)
        for new in so.scheduled_new_seqs:
            row = self.input_batch.add(new)
            self._prev_index[row] = -1   # a row given to a new sequence takes nothing fed
            self._init_penalty_row(row, new)
        self.input_batch.update(so.scheduled_cached_seqs)
        self._zero_new_blocks([b for new in so.scheduled_new_seqs for b in new.block_ids]
                              + [b for ids in so.scheduled_cached_seqs.new_block_ids for b in ids])

    def _execute(self, seq_ids: list[int], counts: list[int]) -> _LaunchedStep | None:
        """Forward, logits of the sampling rows, sampling, and the copy of the results to the
        host, all queued on the device; None on a rank that does not sample.

        The one-token queries go first (a stable sort, so the scheduler's order holds within
        each kind): a step that mixes decodes with prompt chunks then attends in two runs."""
        b = self.input_batch
        num_scheduled = np.array(counts, dtype=np.int64)
        longer = num_scheduled > 1
        if (longer[:-1] & ~longer[1:]).any():   # a decode after a longer query: reorder
            order = np.argsort(longer, kind="stable")
            seq_ids, num_scheduled = [seq_ids[i] for i in order], num_scheduled[order]
        rows = np.fromiter((b.row_of[i] for i in seq_ids), dtype=np.int64, count=len(seq_ids))
        graph_size = self._graph_size(num_scheduled)
        ids, md, samples = self._prepare_inputs(rows, num_scheduled, graph_size or 0)
        if graph_size:
            self._graph_block_tables[:graph_size, :md.block_tables.shape[1]] = md.block_tables
            hidden = self.cuda_graphs.replay(graph_size)[:len(rows)]
        else:
            hidden = self.model(ids, md.positions, md)
        num_logits = int(samples.sum())
        sample_rows = rows[samples]
        if not num_logits:   # every sequence stops inside its prompt (M5): nothing to sample
            return self._launched(seq_ids, samples, sample_rows,
                                  torch.empty(0, dtype=torch.long, device=self.device),
                                  torch.empty(0, 3, dtype=torch.float64, device=self.device))
        if md.max_query_len > 1 or num_logits < len(rows):
            hidden = hidden[self._dev["logits_indices"][:num_logits]]
        generators = [g for r in sample_rows if (g := b.generators[r]) is not None]
        states = [g.get_state() for g in generators]
        try:
            logits = self.model.compute_logits(hidden)
            if logits is None:   # a rank other than 0: it takes the tokens rank 0 sampled
                self._receive_sampled(sample_rows)
                return None
            smd = self._sampling_metadata(sample_rows)
            sampled = self.sampler(logits, smd)
        except Exception:
            for g, state in zip(generators, states):
                g.set_state(state)
            raise
        if self.tp_size > 1:
            tensor_model_parallel_broadcast(sampled.sampled_token_ids)
        self._count_outputs(sample_rows, sampled.sampled_token_ids)
        packed = torch.cat([
            sampled.sampled_token_ids.unsqueeze(1).double(),
            sampled.sampled_logprobs.unsqueeze(1).double(),
            sampled.sampled_ranks.unsqueeze(1).double(), sampled.topk_token_ids.double(),
            sampled.topk_logprobs.double()], dim=1)
        return self._launched(seq_ids, samples, sample_rows, sampled.sampled_token_ids, packed,
                              smd.need_ranks)
    # --8<-- [end:execute_model]

    # --8<-- [start:launched]
    def _launched(self, seq_ids: list[int], samples: np.ndarray, sample_rows: np.ndarray,
                  token_ids: torch.Tensor, packed: torch.Tensor,
                  any_logprobs: bool = False) -> _LaunchedStep:
        """Reserve the sampled tokens' places and queue the results' copy to the host: the one
        device-to-host copy of the step, into pinned memory, with an event to wait on."""
        reserved = self.input_batch.reserve_sampled(sample_rows)
        ready = None
        if self.device.type == "cuda":
            host = torch.empty(packed.shape, dtype=packed.dtype, pin_memory=True)
            host.copy_(packed, non_blocking=True)
            ready = torch.cuda.Event()
            ready.record()
            packed = host
        params = self.input_batch.params   # read now: a row may change hands before _finish
        wants = ([params[r].logprobs is not None for r in sample_rows.tolist()] if any_logprobs
                 else [False] * len(sample_rows))
        return _LaunchedStep(seq_ids, samples, sample_rows, reserved, token_ids, packed, wants,
                             ready)

    def _finish(self, step: _LaunchedStep) -> ModelRunnerOutput:
        """Wait for a launched step's results (the step's only wait for the device), write its
        tokens into the input batch, and describe them to the scheduler."""
        if step.ready is not None:
            step.ready.synchronize()
        host = step.packed.tolist()
        tokens = [int(v[0]) for v in host]
        self.input_batch.write_sampled(step.sample_rows, step.reserved,
                                       np.array(tokens, dtype=np.int32))
        seq_ids, n_top = step.seq_ids, (step.packed.shape[1] - 3) // 2
        result = ModelRunnerOutput(seq_ids, [[] for _ in seq_ids], [0.0] * len(seq_ids))
        for i, wants, token, vals in zip(np.flatnonzero(step.samples).tolist(),
                                         step.wants_logprobs, tokens, host):
            result.sampled_token_ids[i] = [token]
            result.sampled_logprobs[i] = vals[1]
            if wants:
                result.logprobs[seq_ids[i]] = SampledLogprobs(
                    vals[1], int(vals[2]), [int(t) for t in vals[3:3 + n_top]], vals[3 + n_top:])
        return result
    # --8<-- [end:launched]

    # --8<-- [start:receive_sampled]
    def _receive_sampled(self, sample_rows: np.ndarray) -> None:
        """On a rank other than 0: the tokens rank 0 sampled, appended as rank 0 appends them,
        so that every rank's next inputs are the same. Only rank 0's output reaches the
        scheduler: a worker returns nothing else."""
        tokens = torch.empty(len(sample_rows), dtype=torch.int64, device=self.device)
        tokens = tensor_model_parallel_broadcast(tokens).cpu().numpy()
        reserved = self.input_batch.reserve_sampled(sample_rows)
        self.input_batch.write_sampled(sample_rows, reserved, tokens.astype(np.int32))
    # --8<-- [end:receive_sampled]

    # --8<-- [start:graph_size]
    def _graph_size(self, num_scheduled: np.ndarray) -> int | None:
        """The captured batch size this step replays, or None to run it eagerly: only a step of
        one-token queries (decodes) has the fixed shape a graph recorded."""
        if self.cuda_graphs is None or num_scheduled.max() != 1:
            return None
        return self.cuda_graphs.padded_size(len(num_scheduled))
    # --8<-- [end:graph_size]

    # ---- sampling state ------------------------------------------------------------------
    def _sampling_metadata(self, rows: np.ndarray) -> SamplingMetadata:
        b = self.input_batch
        output_lens = (b.num_tokens[rows] - b.num_prompt_tokens[rows]).tolist()
        prompt_mask = output_counts = None
        if self.output_counts is not None:
            index = to_device(torch.from_numpy(rows), self.device)
            prompt_mask = self.prompt_mask.index_select(0, index)
            output_counts = self.output_counts.index_select(0, index)
        return SamplingMetadata.build(
            [b.params[r] for r in rows], output_lens, [b.generators[r] for r in rows],
            self.vocab_size, self.device, prompt_mask=prompt_mask, output_counts=output_counts)

    def _init_penalty_row(self, row: int, new: NewSeqData) -> None:
        """A penalised sequence's row: its prompt's tokens marked, no outputs counted yet. The
        counts then grow by one scatter per step (``_count_outputs``), on the device."""
        p = new.sampling_params
        if p.repetition_penalty == 1.0 and not p.frequency_penalty and not p.presence_penalty:
            if self.output_counts is not None:
                self.prompt_mask[row] = False
                self.output_counts[row] = 0
            return
        if self.output_counts is None:
            rows = self.config.scheduler_config.max_num_seqs
            self.prompt_mask = torch.zeros(rows, self.vocab_size, dtype=torch.bool,
                                           device=self.device)
            self.output_counts = torch.zeros(rows, self.vocab_size, dtype=torch.int32,
                                             device=self.device)
        self.prompt_mask[row] = False
        self.output_counts[row] = 0
        prompt = to_device(torch.tensor(new.prompt_token_ids, dtype=torch.long), self.device)
        self.prompt_mask[row, prompt] = True

    def _count_outputs(self, rows: np.ndarray, token_ids: torch.Tensor) -> None:
        if self.output_counts is not None and len(rows):
            index = to_device(torch.from_numpy(rows), self.device)
            self.output_counts.index_put_((index, token_ids), torch.ones_like(
                token_ids, dtype=torch.int32), accumulate=True)

    # ---- CUDA graphs ---------------------------------------------------------------------
    # --8<-- [start:cuda_graphs]
    def _make_graph_runner(self) -> CUDAGraphRunner | None:
        sizes = self.config.scheduler_config.cuda_graph_sizes
        if not sizes:
            return None
        if not self.attn_backend.SUPPORTS_CUDA_GRAPHS:
            raise ValueError("enforce_eager=False is invalid: CUDA graphs need the Triton "
                             "attention backend, and it is not available here")
        mc = self.config.model_config
        return CUDAGraphRunner(sizes, mc.hf_config.hidden_size, mc.torch_dtype, self.device)

    def _graph_bytes(self) -> int:
        """The device memory the CUDA graphs take: captured against a one-block throw-away
        cache (no row reads or writes it while capturing), measured, and dropped. The real
        graphs are captured once the real cache exists: a graph holds its addresses."""
        if self.cuda_graphs is None:
            return 0
        self._allocate_kv_cache(1)
        graph_bytes = self._capture_graphs()
        self.cuda_graphs.release()
        self._free_kv_cache()
        return graph_bytes

    @torch.inference_mode()
    def _capture_graphs(self) -> int:
        """Capture every decode graph against the cache bound now; returns their bytes. The
        step buffers hold empty rows meanwhile: nothing is read from or written to the cache."""
        if self.cuda_graphs is None:
            return 0
        for name, value in (("input_ids", 0), ("positions", 0), ("slot_mapping", -1),
                            ("seq_lens", 0), ("query_start_loc", 0)):
            self._dev[name].fill_(value)
        return self.cuda_graphs.capture(self._graph_forward)

    def _graph_forward(self, size: int) -> torch.Tensor:
        """The model on the first ``size`` rows of the step buffers as a decode step: what a
        graph records; each replay reads what ``_prepare_inputs`` put there. The longest
        context is given as ``max_model_len``, so the decode kernel's split count is fixed per
        size and holds for any context a replay meets."""
        d = self._dev
        md = AttentionMetadata(
            positions=d["positions"][:size], slot_mapping=d["slot_mapping"][:size],
            seq_lens=d["seq_lens"][:size], block_tables=self._graph_block_tables[:size],
            query_start_loc=d["query_start_loc"][:size + 1],
            query_start_loc_host=list(range(size + 1)), seq_lens_host=[0] * size,
            max_query_len=1, max_seq_len=self.max_model_len)
        return self.model(d["input_ids"][:size], md.positions, md)
    # --8<-- [end:cuda_graphs]

    # ---- startup runs --------------------------------------------------------------------
    def _dummy_step(self, lengths: list[int], first_block: int = 0) -> AttentionMetadata:
        """Run the model on fake sequences of ``lengths`` zero tokens over consecutive blocks
        from ``first_block``, through the real input path; their rows are freed afterwards."""
        seq_ids = [-1 - i for i in range(len(lengths))]
        for seq_id, length in zip(seq_ids, lengths):
            blocks = list(range(first_block, first_block + cdiv(length, self.block_size)))
            first_block += len(blocks)
            self.input_batch.add(NewSeqData(seq_id, "", 0, (0,) * length, SamplingParams(),
                                            blocks, 0))
        b = self.input_batch
        try:
            rows = np.array([b.row_of[i] for i in seq_ids], dtype=np.int64)
            ids, md, _ = self._prepare_inputs(rows, b.num_tokens[rows] - b.num_computed_tokens[rows])
            hidden = self.model(ids, md.positions, md)
            self.model.compute_logits(hidden[-1:])
            return md
        finally:
            for seq_id in seq_ids:
                b.remove(seq_id)

    @torch.inference_mode()
    def _profile_run(self) -> int:
        """Run the largest step once; returns the bytes of the throw-away cache it used.

        A prefill of ``max_num_batched_tokens`` tokens (split into sequences that fit
        ``max_model_len``), then logits and a sampling pass with top-p for ``max_num_seqs`` rows:
        the most activation memory any real step can need.
        """
        sc, mc = self.config.scheduler_config, self.config.model_config
        n = min(sc.max_num_batched_tokens, self.max_model_len * sc.max_num_seqs)
        lengths = [self.max_model_len] * (n // self.max_model_len)
        lengths += [n % self.max_model_len] if n % self.max_model_len else []
        kv_bytes = self._allocate_kv_cache(sum(cdiv(x, self.block_size) for x in lengths))
        self._dummy_step(lengths)
        hidden = torch.zeros(sc.max_num_seqs, mc.hf_config.hidden_size, dtype=mc.torch_dtype,
                             device=self.device)
        params = [SamplingParams(temperature=1.0, top_p=0.9)] * sc.max_num_seqs
        smd = SamplingMetadata.build(params, [0] * len(params), [None] * len(params),
                                     mc.vocab_size, self.device)
        logits = self.model.compute_logits(hidden)
        if logits is not None:   # rank 0 samples; the other ranks only take part in the gather
            Sampler()(logits, smd)
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
        self._dummy_step([2])
        md = self._dummy_step([1])  # one query: the decode path
        mc, layer = self.config.model_config, self.attn_layers[0]
        q = torch.randn(1, layer.num_heads, mc.head_dim, dtype=mc.torch_dtype,
                        device=self.device)
        warm_up(q, layer.k_cache, layer.v_cache, md.block_tables, md.seq_lens,
                self.max_model_len, layer.scale)

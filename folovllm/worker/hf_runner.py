"""The M1 model runner, kept for comparisons: ``transformers.AutoModelForCausalLM`` with its own
KV cache (``model_impl="transformers"``).

It runs a *static batch*: one batched prefill over left-padded prompts, then one forward per decode
step for the whole batch until every row is finished. That is exactly what HF ``generate`` does,
so this runner shows what an engine adds around a model (sampling, stopping, detokenizing,
request bookkeeping) before M2 replaces the padded batch with continuous batching.

Left padding keeps every row's newest token in the last column, so one ``logits[:, -1]`` serves the
whole batch; the attention mask hides the pads and the position ids count real tokens only.

Finished rows: a padded batch cannot shrink without copying the whole KV cache, so a finished row
stays in the batch until the last row finishes, fed a pad token whose result is thrown away (HF
``generate`` does the same). That wasted compute, plus the padding itself, is what M2 removes.
"""

from __future__ import annotations

import inspect

import torch

from folovllm.config import ModelConfig
from folovllm.core.scheduler import SchedulerOutput
from folovllm.model_executor.loader import load_hf_model


class HFModelRunner:
    """Holds the model and the state of the one batch in flight (cache, mask, positions)."""

    def __init__(self, model_config: ModelConfig, pad_token_id: int) -> None:
        self.model = load_hf_model(model_config)
        self._cache_arg = _cache_arg_name(self.model)
        self.device = torch.device(model_config.device)
        self.pad_token_id = pad_token_id
        self._cache = None
        self._attention_mask: torch.Tensor | None = None
        self._next_position: torch.Tensor | None = None
        self._rows: dict[int, int] = {}  # seq_id -> row of the padded batch

    # --8<-- [start:execute_model]
    def execute_model(self, out: SchedulerOutput) -> torch.Tensor:
        """The engine's runner interface: logits ``[S, V]`` for the scheduled sequences.

        A prefill starts a new padded batch (the scheduler admits one only when the previous
        batch has drained; starting it drops the old batch's cache). A decode runs every row;
        rows whose sequence was not scheduled (it finished) are fed the pad token.
        """
        seqs = [s.seq for s in out.scheduled]
        if out.is_prefill:
            self._rows = {s.seq_id: row for row, s in enumerate(seqs)}
            return self.prefill([s.data.get_token_ids() for s in seqs])
        last = [self.pad_token_id] * len(self._rows)
        for s in seqs:
            last[self._rows[s.seq_id]] = s.data.get_last_token_id()
        logits = self.decode(last)
        index = torch.tensor([self._rows[s.seq_id] for s in seqs], device=logits.device)
        return logits.index_select(0, index)

    def release(self) -> None:
        """Drop the drained batch's KV cache (the engine calls this when nothing runs)."""
        self._cache = self._attention_mask = self._next_position = None
        self._rows = {}
    # --8<-- [end:execute_model]

    # --8<-- [start:prefill_decode]
    @torch.inference_mode()
    def prefill(self, prompts: list[list[int]], all_logits: bool = False) -> torch.Tensor:
        """Start a new batch. Returns the last position's logits ``[B, V]``, or with
        ``all_logits`` the logits of every position ``[B, T, V]`` (for prompt logprobs), aligned
        to the left-padded input."""
        from transformers import DynamicCache

        width = max(len(p) for p in prompts)
        ids = torch.full((len(prompts), width), self.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(prompts), width), dtype=torch.long)
        for row, prompt in enumerate(prompts):
            ids[row, width - len(prompt):] = torch.tensor(prompt)
            mask[row, width - len(prompt):] = 1
        ids, mask = ids.to(self.device), mask.to(self.device)
        positions = (mask.cumsum(dim=-1) - 1).clamp(min=0)
        self._cache = DynamicCache()
        out = self.model(input_ids=ids, attention_mask=mask, position_ids=positions,
                         use_cache=True, logits_to_keep=0 if all_logits else 1,
                         **{self._cache_arg: self._cache})
        self._attention_mask = mask
        self._next_position = positions[:, -1] + 1
        return out.logits if all_logits else out.logits[:, -1, :]

    @torch.inference_mode()
    def decode(self, last_token_ids: list[int]) -> torch.Tensor:
        """One step for every row of the batch; finished rows pass ``pad_token_id``."""
        if self._cache is None:
            raise RuntimeError("decode() called with no batch in flight; call prefill() first")
        ids = torch.tensor(last_token_ids, dtype=torch.long, device=self.device).unsqueeze(1)
        ones = self._attention_mask.new_ones((len(last_token_ids), 1))
        self._attention_mask = torch.cat([self._attention_mask, ones], dim=1)
        positions = self._next_position.unsqueeze(1)
        out = self.model(input_ids=ids, attention_mask=self._attention_mask, position_ids=positions,
                         use_cache=True, logits_to_keep=1, **{self._cache_arg: self._cache})
        self._next_position = self._next_position + 1
        return out.logits[:, -1, :]
    # --8<-- [end:prefill_decode]


def _cache_arg_name(model: torch.nn.Module) -> str:
    """The keyword under which ``model.forward`` takes the KV cache.

    transformers 5.24 renamed ``past_key_values`` to ``cache``; the old name still works there but
    warns on every call, and older releases know only the old name.
    """
    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"

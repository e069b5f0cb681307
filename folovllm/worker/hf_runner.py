"""M1's model runner: a *static padded batch* over ``transformers.AutoModelForCausalLM``, with
a KV cache it owns.

One batched prefill over left-padded prompts, then one forward per decode step for the whole batch
until every row is finished. That is exactly what HF ``generate`` does; M1's engine
(``git checkout m1``) ran its requests this way, adding what an engine brings around a model
(sampling, stopping, detokenizing, request bookkeeping). Since M2 the engine runs ``ModelRunner``
on our own model code with continuous batching; this runner is used directly, to study the static
batch that M2 replaced and to compare with ``transformers``.

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

    # --8<-- [start:prefill_decode]
    @torch.inference_mode()
    def prefill(self, prompts: list[list[int]], all_logits: bool = False) -> torch.Tensor:
        """Start a new batch. Returns the last position's logits ``[B, V]``, or with
        ``all_logits`` the logits of every position ``[B, T, V]`` (for prompt logprobs), aligned
        to the left-padded input."""
        from transformers import DynamicCache

        ids, mask = left_pad(prompts, self.pad_token_id)
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

    # --8<-- [start:generate]
    def generate(self, prompts: list[list[int]], max_tokens: list[int]) -> list[list[int]]:
        """Greedy tokens for one whole static batch; row ``i`` stops after ``max_tokens[i]``.

        A finished row stays in the batch, fed ``pad_token_id``, until the last row finishes:
        the batch runs ``max(max_tokens)`` forwards. Its cache lives as long as the batch and is
        dropped at the end, so a request that arrives meanwhile waits for the next batch.
        """
        outputs = [[t] for t in self.prefill(prompts).argmax(-1).tolist()]
        while any(len(out) < n for out, n in zip(outputs, max_tokens)):
            last = [out[-1] if len(out) < n else self.pad_token_id
                    for out, n in zip(outputs, max_tokens)]
            for out, n, token in zip(outputs, max_tokens, self.decode(last).argmax(-1).tolist()):
                if len(out) < n:
                    out.append(token)
        self._cache = self._attention_mask = self._next_position = None
        return outputs
    # --8<-- [end:generate]


# --8<-- [start:left_pad]
def left_pad(prompts: list[list[int]], pad_token_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(input_ids, attention_mask)`` ``[B, T]`` with every prompt right-aligned: the newest
    token of every row sits in the last column, as a padded batch (and HF ``generate``) needs."""
    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), pad_token_id, dtype=torch.long)
    mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for row, prompt in enumerate(prompts):
        ids[row, width - len(prompt):] = torch.tensor(prompt)
        mask[row, width - len(prompt):] = 1
    return ids, mask
# --8<-- [end:left_pad]


def _cache_arg_name(model: torch.nn.Module) -> str:
    """The keyword under which ``model.forward`` takes the KV cache.

    transformers 5.24 renamed ``past_key_values`` to ``cache``; the old name still works there but
    warns on every call, and older releases know only the old name.
    """
    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"

"""The attention layer: store the new K/V in the cache, then attend.

It owns no weights (the projections live in the model); it owns the link to its layer's slice of
the paged KV cache and to the attention backend (PyTorch reference or Triton), both of which the
model runner binds after allocating the cache.
"""

from __future__ import annotations

from types import ModuleType

import torch
from torch import nn

from folovllm.attention.backends import torch_ref
from folovllm.attention.metadata import AttentionMetadata


class Attention(nn.Module):
    def __init__(self, num_heads: int, num_kv_heads: int, head_dim: int) -> None:
        super().__init__()
        self.num_heads, self.num_kv_heads, self.head_dim = num_heads, num_kv_heads, head_dim
        self.scale = head_dim ** -0.5
        self.k_cache: torch.Tensor | None = None
        self.v_cache: torch.Tensor | None = None
        self.backend: ModuleType = torch_ref

    # --8<-- [start:forward]
    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                md: AttentionMetadata) -> torch.Tensor:
        """``q [T, H, D]``, ``k``/``v`` ``[T, Hk, D]`` -> ``[T, H * D]``."""
        if self.k_cache is None or self.v_cache is None:
            raise RuntimeError("attention layer has no KV cache bound; the model runner binds it")
        self.backend.write_kv(self.k_cache, self.v_cache, k, v, md)
        if md.max_query_len == 1:    # one query per sequence: the decode kernel
            out = self._decode(q, md)
        elif md.num_decodes == 0:    # any mix of query lengths over paged KV
            out = self._varlen(q, k, v, md)
        else:                        # decodes first (M5): each run to its own kernel
            n = md.num_decodes
            out = torch.cat([self._decode(q[:n], md.decodes),
                             self._varlen(q[n:], k[n:], v[n:], md.prefills)])
        return out.reshape(out.shape[0], -1)

    # --8<-- [end:forward]

    def _decode(self, q: torch.Tensor, md: AttentionMetadata) -> torch.Tensor:
        return self.backend.decode_attention(q, self.k_cache, self.v_cache, md, self.scale)

    def _varlen(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                md: AttentionMetadata) -> torch.Tensor:
        return self.backend.prefill_attention(q, k, v, self.k_cache, self.v_cache, md,
                                              self.scale)

"""What the M7 walkthrough says: without a process group every collective returns its input;
the default model has 9 query heads over 3 KV heads, so it runs at TP=3 and is refused at TP=2,
before any process starts."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from folovllm.config import EngineArgs
from folovllm.distributed.parallel_state import (
    get_tp_rank,
    get_tp_world_size,
    tensor_model_parallel_all_gather,
    tensor_model_parallel_all_reduce,
    tensor_model_parallel_broadcast,
    tensor_model_parallel_gather,
)
from tests.docs.docs_tools import DOCS

_SAYS = {"walkthrough.md": "9 query heads and 3 KV heads",
         "walkthrough.zh.md": "9 个查询头和 3 个 KV 头"}


@pytest.mark.parametrize("page", sorted(_SAYS))
def test_the_default_models_heads_and_sizes(page: str, default_model_dir: Path) -> None:
    assert _SAYS[page] in (DOCS / "milestones/m7" / page).read_text(encoding="utf-8")
    args = dict(model=str(default_model_dir), device="cpu")
    config = EngineArgs.from_kwargs(**args, tensor_parallel_size=3).create_engine_config()
    assert (config.model_config.num_attention_heads, config.model_config.num_kv_heads) == (9, 3)
    with pytest.raises(ValueError, match="tensor_parallel_size=2 is invalid"):
        EngineArgs.from_kwargs(**args, tensor_parallel_size=2).create_engine_config()


def test_without_a_group_every_collective_returns_its_input() -> None:
    """One process (``tensor_parallel_size=1``) runs the same layers with nothing to set up."""
    assert (get_tp_rank(), get_tp_world_size()) == (0, 1)
    x = torch.arange(6.0).reshape(2, 3)
    for collective in (tensor_model_parallel_all_reduce, tensor_model_parallel_broadcast,
                       tensor_model_parallel_all_gather, tensor_model_parallel_gather):
        assert collective(x) is x

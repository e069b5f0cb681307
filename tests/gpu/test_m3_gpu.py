"""M3 on CUDA: the engine on the Triton backend against transformers and the torch backend."""

from __future__ import annotations

import pytest
import torch

from folovllm import LLM, SamplingParams
from tests.gpu.test_m2_gpu import _hf_greedy_cuda
from tests.m1.test_parity import PROMPTS
from tests.m2.test_parity import _mixed_prompts

pytestmark = pytest.mark.gpu

GREEDY = SamplingParams(temperature=0, max_tokens=24, ignore_eos=True)


def _ids(outs) -> list[list[int]]:
    return [o.outputs[0].token_ids for o in outs]


@pytest.mark.parametrize("block_size", [1, 16, 256])
@pytest.mark.parametrize("name", ["llama", "qwen2", "qwen3"])
def test_triton_engine_greedy_equals_transformers_fp32(name, block_size, tiny_model_dirs) -> None:
    llm = LLM(str(tiny_model_dirs[name]), device="cuda", dtype="float32", block_size=block_size,
              gpu_memory_utilization=0.3)
    assert llm.llm_engine.runner.attn_backend.__name__.endswith("triton_attn")  # auto on CUDA
    outs = llm.generate(PROMPTS, GREEDY, use_tqdm=False)
    assert _ids(outs) == _hf_greedy_cuda(tiny_model_dirs[name], PROMPTS, 24, torch.float32)


def test_triton_and_torch_backends_agree_under_preemption(tiny_model_dirs) -> None:
    prompts = _mixed_prompts(16, seed=11)
    runs = {}
    for backend, blocks in [("torch", None), ("triton", None), ("triton", 24)]:
        llm = LLM(str(tiny_model_dirs["qwen3"]), device="cuda", dtype="float32", block_size=4,
                  attention_backend=backend, num_gpu_blocks=blocks, gpu_memory_utilization=0.3)
        runs[(backend, blocks)] = _ids(llm.generate(prompts, GREEDY, use_tqdm=False))
        if blocks:
            assert llm.llm_engine.scheduler.num_preemptions > 0
    assert runs[("torch", None)] == runs[("triton", None)] == runs[("triton", 24)]


def test_kv_blocks_sized_from_gpu_memory_with_the_profiling_run(tiny_model_dirs) -> None:
    llm = LLM(str(tiny_model_dirs["qwen3"]), device="cuda", gpu_memory_utilization=0.3,
              max_num_seqs=512, max_model_len=256)
    runner = llm.llm_engine.runner
    free_after = torch.cuda.mem_get_info()[0]
    total = torch.cuda.get_device_properties(0).total_memory
    assert runner.num_blocks == 512 * 256 // 16        # tiny model: what the sequences can use
    assert runner.kv_cache_bytes < 0.3 * total and free_after > 0

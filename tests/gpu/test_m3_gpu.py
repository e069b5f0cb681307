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


def _compiled(kernel) -> int:
    """How many variants Triton has compiled of ``kernel`` on the current device."""
    return len(kernel.device_caches[torch.cuda.current_device()][0])


def test_every_decode_kernel_variant_is_compiled_before_the_first_request() -> None:
    """The warm-up at start-up compiles what any later step launches: decoding at every split
    count the engine can choose (1 to 66 here, merge widths 16 to 128) adds no compiled kernel
    (each would cost about a second of the first requests' time)."""
    from folovllm.attention.backends import triton_attn as ta

    llm = LLM("folovllm/benchmarks/configs/qwen3-0.6b", load_format="dummy", device="cuda",
              skip_tokenizer_init=True, max_model_len=20480, gpu_memory_utilization=0.3)
    before = _compiled(ta._paged_decode_kernel), _compiled(ta._merge_splits_kernel)
    layer = llm.llm_engine.runner.attn_layers[0]
    mc = llm.llm_engine.config.model_config
    most = ta.choose_num_splits(1, mc.num_kv_heads, mc.max_model_len,
                                ta._num_sms(torch.device("cuda")))
    assert most > 32
    q = torch.randn(2, mc.num_attention_heads, mc.head_dim, dtype=mc.torch_dtype, device="cuda")
    tables = torch.tensor([[0, 1], [2, 3]], dtype=torch.int32, device="cuda")
    lens = torch.tensor([20, 7], dtype=torch.int32, device="cuda")
    for num_splits in range(1, most + 1):
        ta.paged_decode(q, layer.k_cache, layer.v_cache, tables, lens, 20, layer.scale,
                        num_splits=num_splits)
    assert (_compiled(ta._paged_decode_kernel), _compiled(ta._merge_splits_kernel)) == before
    prompts = [{"prompt_token_ids": list(range(1, n))} for n in (3, 40, 300)]
    outs = llm.generate(prompts, GREEDY, use_tqdm=False)
    assert (_compiled(ta._paged_decode_kernel), _compiled(ta._merge_splits_kernel)) == before
    assert all(len(o.outputs[0].token_ids) == GREEDY.max_tokens for o in outs)

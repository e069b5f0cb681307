"""M2 on CUDA: our model code and engine against transformers on the GPU."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM

from folovllm import LLM, SamplingParams
from tests.m1.test_parity import PROMPTS

pytestmark = pytest.mark.gpu


def _hf_greedy_cuda(model_dir, prompts, n, dtype):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    tok.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype).cuda().eval()
    outs = []
    for p in prompts:  # one at a time: no padding, the cleanest reference
        ids = tok(p, return_tensors="pt").input_ids.cuda()
        out = model.generate(ids, max_new_tokens=n, do_sample=False, eos_token_id=None,
                             pad_token_id=tok.eos_token_id)
        outs.append(out[0, ids.shape[1]:].tolist())
    return outs


@pytest.mark.parametrize("name", ["llama", "qwen2", "qwen3"])
def test_tiny_models_greedy_fp32_on_gpu(name, tiny_model_dirs) -> None:
    llm = LLM(str(tiny_model_dirs[name]), device="cuda", dtype="float32",
              gpu_memory_utilization=0.3)
    outs = llm.generate(PROMPTS, SamplingParams(temperature=0, max_tokens=24, ignore_eos=True),
                        use_tqdm=False)
    ref = _hf_greedy_cuda(tiny_model_dirs[name], PROMPTS, 24, torch.float32)
    assert [o.outputs[0].token_ids for o in outs] == ref


@pytest.mark.parametrize("name", ["llama", "qwen3"])
def test_bf16_logits_close_on_gpu(name, tiny_model_dirs) -> None:
    """bf16 on GPU: logits agree with transformers in fp32 to bf16 precision (rel. L2 < 2e-2)."""
    from folovllm.config import EngineArgs
    from folovllm.core.kv_cache_manager import KVCacheManager
    from folovllm.sequence import Sequence, SequenceData
    from folovllm.worker.model_runner import ModelRunner
    from tests.m2.test_models import run_step

    model_dir = tiny_model_dirs[name]
    cfg = EngineArgs.from_kwargs(model=str(model_dir), device="cuda", gpu_memory_utilization=0.3
                                 ).create_engine_config()
    assert cfg.model_config.torch_dtype == torch.bfloat16  # the fp32 checkpoint runs in bf16
    runner = ModelRunner(cfg)
    prompts = [[1, 50, 345, 282, 46, 314], [1, 147, 28, 94, 359]]
    seqs = [Sequence(i, SequenceData(tuple(p))) for i, p in enumerate(prompts)]
    kv = KVCacheManager(runner.num_blocks, runner.block_size)
    logits = run_step(runner, kv, seqs, prefill=True).float()
    hf = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).cuda().eval()
    with torch.no_grad():
        ref = torch.stack([hf(torch.tensor([p]).cuda()).logits[0, -1] for p in prompts])
    rel = (logits - ref).norm() / ref.norm()
    assert rel < 2e-2, rel.item()
    assert (logits.argmax(-1) == ref.argmax(-1)).all()


def test_kv_blocks_sized_from_gpu_memory(tiny_model_dirs) -> None:
    llm = LLM(str(tiny_model_dirs["qwen3"]), device="cuda", gpu_memory_utilization=0.2,
              max_num_seqs=64)
    runner = llm.llm_engine.runner
    total = torch.cuda.get_device_properties(0).total_memory
    # a tiny model's blocks are small: what 64 sequences of max_model_len can use binds
    assert runner.num_blocks == 64 * 256 // 16
    assert runner.kv_cache_bytes < 0.2 * total

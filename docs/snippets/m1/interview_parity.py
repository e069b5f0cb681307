"""Greedy tokens identical to transformers' generate on the same weights."""

import torch

from folovllm import LLM, SamplingParams
from folovllm.config import ModelConfig
from folovllm.model_executor.loader import load_hf_model

llm = LLM(device="cpu")  # our engine and model code
tok = llm.get_tokenizer()
prompts = ["Hello world", "大语言模型",
           "An inference engine schedules requests"]
params = SamplingParams(temperature=0, max_tokens=8, ignore_eos=True)
outs = llm.generate(prompts, params, use_tqdm=False)
ours = [o.outputs[0].token_ids for o in outs]

# The reference: HF generate on the same checkpoint, left padding, no EOS.
hf_model = load_hf_model(ModelConfig(device="cpu"))
enc = tok(prompts, return_tensors="pt", padding=True, padding_side="left")
with torch.inference_mode():
    ref = hf_model.generate(**enc, max_new_tokens=8, do_sample=False,
                            eos_token_id=None, pad_token_id=tok.pad_token_id)
theirs = ref[:, enc.input_ids.shape[1]:].tolist()
for prompt, a, b in zip(prompts, ours, theirs):
    print(f"ours == transformers: {a == b} for {prompt!r}")

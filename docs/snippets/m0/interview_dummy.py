"""Dummy weights: a real model's shapes from config.json alone."""

import json
import tempfile
from pathlib import Path

import torch

from folovllm.config import ModelConfig
from folovllm.model_executor.loader import load_hf_model, summarize_model


def llama_num_params(cfg) -> int:
    """Parameters of a Llama-style decoder, from its config alone."""
    h, layers, vocab = cfg.hidden_size, cfg.num_hidden_layers, cfg.vocab_size
    head_dim = getattr(cfg, "head_dim", None) or h // cfg.num_attention_heads
    q_o = 2 * h * cfg.num_attention_heads * head_dim  # q_proj, o_proj
    k_v = 2 * h * cfg.num_key_value_heads * head_dim  # k_proj, v_proj
    mlp = 3 * h * cfg.intermediate_size  # gate, up, down
    per_layer = q_o + k_v + mlp + 2 * h  # + two RMSNorm weights
    lm_head = 0 if cfg.tie_word_embeddings else vocab * h
    return vocab * h + layers * per_layer + h + lm_head


tiny = {"architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 2,
        "vocab_size": 256, "max_position_embeddings": 128,
        "tie_word_embeddings": False}


def dummy(d: str, seed: int) -> tuple[ModelConfig, torch.nn.Module]:
    cfg = ModelConfig(model=d, load_format="dummy", device="cpu", seed=seed)
    return cfg, load_hf_model(cfg)


with tempfile.TemporaryDirectory() as d:
    (Path(d) / "config.json").write_text(json.dumps(tiny))  # nothing else
    rng_before = torch.get_rng_state()
    cfg, a = dummy(d, seed=0)
    rng_after = torch.get_rng_state()  # the global RNG is left untouched
    (_, b), (_, c) = dummy(d, seed=0), dummy(d, seed=1)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    up = "model.layers.0.mlp.up_proj.weight"
    print("seed 0 twice, same weights:",
          all(torch.equal(sa[n], sb[n]) for n in sa))
    print("seed 0 vs 1, same weights: ", torch.equal(sa[up], sc[up]))
    counted = summarize_model(cfg, a).num_parameters
    print("parameters:", counted, "| formula:", llama_num_params(cfg.hf_config))
    with torch.no_grad():
        logits = a(torch.tensor([[1, 2, 3]])).logits
    print("logits:", tuple(logits.shape))

default = ModelConfig(model=None, device="cpu")  # config only, no weights
smol = llama_num_params(default.hf_config)
print(f"default model: {smol:,} parameters")
# Batch-1 decode reads every bf16 weight once per step: at 3 TB/s ...
print(f"one decode step at 3 TB/s: {2 * smol / 3e12 * 1e6:.0f} us")

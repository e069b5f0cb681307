"""Tiny random-weight Hugging Face model directories for fast, hub-free tests.

Each directory is a real checkpoint (``config.json`` + ``model.safetensors`` + a trained byte-level
BPE tokenizer with a chat template) that ``transformers.AutoModelForCausalLM`` loads as it is, so
the same directory serves our engine and the reference implementation.
"""

from __future__ import annotations

from pathlib import Path

import torch

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
# A small bilingual corpus: the vocabulary learns English words, while Chinese characters stay
# split into their UTF-8 bytes, the case the incremental detokenizer must get right.
_CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "An inference engine schedules requests, manages the KV cache and samples tokens.",
    "Paged attention stores keys and values in fixed-size blocks.",
    "Hello world! How are you today? I am fine, thank you.",
    "Once upon a time there was a small language model that loved to count: 1 2 3 4 5.",
    "大语言模型推理引擎 调度 请求 缓存",
    "def main():\n    print('hello')\n",
]

# name -> (architecture, config overrides). 2 layers, hidden 64, GQA (4 heads over 2 KV heads).
TINY_CONFIGS: dict[str, dict] = {
    "llama": dict(  # llama3-style RoPE scaling, so that path is covered too
        model_type="llama", architectures=["LlamaForCausalLM"], tie_word_embeddings=False,
        rope_parameters=dict(rope_type="llama3", rope_theta=10000.0, factor=8.0,
                             low_freq_factor=1.0, high_freq_factor=4.0,
                             original_max_position_embeddings=64),
    ),
    "qwen2": dict(
        model_type="qwen2", architectures=["Qwen2ForCausalLM"], tie_word_embeddings=True,
        rope_theta=1000000.0,
    ),
    "qwen3": dict(
        model_type="qwen3", architectures=["Qwen3ForCausalLM"], tie_word_embeddings=True,
        head_dim=32, rope_theta=1000000.0,
    ),
}
_COMMON = dict(
    hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
    num_key_value_heads=2, max_position_embeddings=256, rms_norm_eps=1e-6,
    initializer_range=0.1, dtype="float32",
)


def build_tokenizer(out_dir: Path):
    """Train a 384-token byte-level BPE on the corpus and save it as an HF fast tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=384, special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False,
    )
    tok.train_from_iterator(_CORPUS * 4, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|im_end|>", bos_token="<|endoftext|>",
        pad_token="<|endoftext|>",
    )
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(out_dir)
    return fast


def build_tiny_model(name: str, out_dir: Path, seed: int = 0, **config_overrides) -> Path:
    """Write the tiny ``name`` model (random weights, seeded) with its tokenizer into ``out_dir``;
    ``config_overrides`` change its config (``vocab_size`` larger than the tokenizer, another
    ``hidden_act``, a rope scaling, ...)."""
    from transformers import AutoConfig, AutoModelForCausalLM

    out_dir.mkdir(parents=True, exist_ok=True)
    tok = build_tokenizer(out_dir)
    overrides = {**_COMMON, **TINY_CONFIGS[name], "vocab_size": len(tok), **config_overrides}
    model_type = overrides.pop("model_type")
    config = AutoConfig.for_model(
        model_type, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id, **overrides,
    )
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.save_pretrained(out_dir, safe_serialization=True)
    return out_dir

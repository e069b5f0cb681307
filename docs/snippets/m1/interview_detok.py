"""Incremental detokenization of characters split over several tokens."""

from transformers import AutoTokenizer

from folovllm.engine.detokenizer import IncrementalDetokenizer
from folovllm.default_model import ensure_default_model

tok = AutoTokenizer.from_pretrained(ensure_default_model())
text = "模型推理 🚀 done"
ids = tok(text, add_special_tokens=False).input_ids
print(len(text), "characters,", len(ids), "tokens")

# Wrong: decode each token alone. Half a character decodes to U+FFFD.
naive = [tok.decode([i]) for i in ids]
print("token by token:", naive)
# Correct but O(length) per token: decode everything at every step.
full = tok.decode(ids)

# Right: the incremental detokenizer with its two offsets.
detok = IncrementalDetokenizer(tok)
state = detok.init_state(tok("Q: hi").input_ids, skip_special_tokens=True)
pieces, windows = [], []
for token in ids:
    pieces.append(detok.step(state, token, skip_special_tokens=True))
    windows.append(len(state.tokens) - state.prefix_offset)
print("incremental:   ", pieces)
print("tokens decoded per step:", windows)

# Stopping inside the emoji: its partial bytes are never emitted.
state = detok.init_state(tok("Q: hi").input_ids, skip_special_tokens=True)
cut = "".join(detok.step(state, t, skip_special_tokens=True) for t in ids[:8])
print("stopped after 8 tokens:", repr(cut), "| full decode:",
      repr(tok.decode(ids[:8])))

"""Why detokenizing one token at a time needs care, on the default model's byte-level tokenizer.

Compares three ways of streaming text out of a growing list of token ids, then replays the
stop-string holdback that the engine applies to the text of every unfinished output.
"""

from transformers import AutoTokenizer

from folovllm import SamplingParams
from folovllm.engine.detokenizer import IncrementalDetokenizer
from folovllm.engine.llm_engine import LLMEngine
from folovllm.engine.stop_checker import StopChecker
from folovllm.model_executor.default_model import ensure_default_model
from folovllm.sequence import Sequence, SequenceData, SequenceStatus

tok = AutoTokenizer.from_pretrained(ensure_default_model())
detok = IncrementalDetokenizer(tok)
REPLACEMENT = "\ufffd"  # what a decoder prints for bytes that are not a whole UTF-8 character

text = "你好，世界 🚀"
ids = tok(text, add_special_tokens=False).input_ids
assert tok.decode(ids) == text
assert (len(text), len(text.encode("utf-8")), len(ids)) == (7, 20, 13)  # chars, bytes, tokens
# Byte-level BPE: "你" is 3 bytes (E4 BD A0) and is split over two tokens; the rocket is 4 bytes
# (F0 9F 9A 80), split over three.
assert tok.convert_ids_to_tokens(ids[:2]) == ["ä½", "ł"]
assert [tok.decode(ids[:k]) for k in (1, 2)] == [REPLACEMENT, "你"]

# Way 1, naive: decode each token alone and concatenate. Every split character becomes U+FFFD.
naive = "".join(tok.decode([t]) for t in ids)
assert naive != text and naive.count(REPLACEMENT) == 12
print("naive:      ", naive)

# Way 2, diff of full decodes: decode ids[:k] every step and emit the characters beyond the
# previous length. The first step emits U+FFFD; at the second, the full text ("你") is no longer
# than before, so "你" itself is never emitted. It also re-decodes everything: O(length) per
# token, O(length^2) per sequence.
emitted, previous = [], ""
for k in range(1, len(ids) + 1):
    full = tok.decode(ids[:k])
    emitted.append(full[len(previous):])
    previous = full
assert emitted[0] == REPLACEMENT and emitted[1] == ""
assert "".join(emitted) == "\ufffd\ufffd，\ufffd\ufffd \ufffd"  # every split character lost
print("full diffs: ", "".join(emitted))

# Way 3, the engine's IncrementalDetokenizer: decode a short window, hold back U+FFFD.
prompt = tok("Say hi in Chinese:").input_ids
state = detok.init_state(prompt, skip_special_tokens=True)
assert (state.prefix_offset, state.read_offset) == (len(prompt) - 5, len(prompt))
pieces, offsets = [], []
for t in ids:
    pieces.append(detok.step(state, t, skip_special_tokens=True))
    offsets.append((state.prefix_offset - len(prompt), state.read_offset - len(prompt)))
assert "".join(pieces) == text and REPLACEMENT not in "".join(pieces)
assert pieces[:5] == ["", "你", "", "好", "，"]
# The space before the rocket shares a token with the rocket's first bytes ("ĠðŁ"), so both
# wait until the rocket's third token completes it.
assert tok.convert_ids_to_tokens(ids[-3:]) == ["ĠðŁ", "ļ", "Ģ"]
assert pieces[-3:] == ["", "", " 🚀"]
# The window never grows: prefix_offset trails read_offset by the last emitted chunk only.
assert all(read - prefix <= 3 for prefix, read in offsets[1:])
print("incremental:", pieces)

# The stop-string holdback. Text once streamed cannot be taken back, so while a sequence runs the
# engine leaves the last output_text_buffer_length = len(longest stop) - 1 characters out of its
# output (LLMEngine._visible_text); a client just prints whatever is new in each output.
params = SamplingParams(stop=["Paris."], max_tokens=50)
assert params.output_text_buffer_length == 5
answer = tok(" The capital is Paris. It is", add_special_tokens=False).input_ids
seq = Sequence(0, SequenceData(tuple(prompt)))
seq.status = SequenceStatus.RUNNING
state = detok.init_state(prompt, skip_special_tokens=True)
checker, shown, stream = StopChecker(max_model_len=8192), 0, []
for t in answer:
    seq.data.append_token_id(t, 0.0)
    new = detok.step(state, t, skip_special_tokens=True)
    seq.output_text += new
    status = checker.check(seq, params, len(new))
    if status is not None:
        seq.status = status
    visible = LLMEngine._visible_text(seq, params)  # what this step's RequestOutput carries
    if len(visible) > shown:
        stream.append(visible[shown:])
        shown = len(visible)
    if status is not None:
        break
assert seq.stop_reason == "Paris." and seq.output_text == " The capital is "
# Nothing streamed ever has to be taken back, and "Par" never reached the screen.
assert "".join(stream) == seq.output_text and not any("P" in s for s in stream)
print("streamed:   ", stream)
print("detokenizer demo: all checks pass")

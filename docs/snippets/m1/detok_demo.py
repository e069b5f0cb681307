"""Streaming text out of growing token ids: three ways, then the holdback."""

from transformers import AutoTokenizer

from folovllm import SamplingParams
from folovllm.core.scheduler import SequenceUpdate
from folovllm.engine.detokenizer import IncrementalDetokenizer
from folovllm.engine.output_processor import OutputProcessor
from folovllm.default_model import ensure_default_model
from folovllm.sequence import Request, SequenceStatus

tok = AutoTokenizer.from_pretrained(ensure_default_model())
detok = IncrementalDetokenizer(tok)
text = "你好，世界 🚀"  # 7 characters, 20 UTF-8 bytes, 13 byte-level tokens
ids = tok(text, add_special_tokens=False).input_ids

# 1. Naive: decode each token alone. A split character becomes U+FFFD.
naive = "".join(tok.decode([t]) for t in ids)
print("naive:      ", naive)
# 2. Diff of full decodes: O(length) per token, and split characters lost.
emitted, previous = [], ""
for k in range(1, len(ids) + 1):
    full = tok.decode(ids[:k])
    emitted.append(full[len(previous):])
    previous = full
print("full diffs: ", "".join(emitted))
# 3. The engine's way: decode a short window, hold back incomplete bytes.
prompt = tok("Say hi in Chinese:").input_ids
state = detok.init_state(prompt, skip_special_tokens=True)
pieces = [detok.step(state, t, skip_special_tokens=True) for t in ids]
print("incremental:", pieces)

# The stop-string holdback: while a sequence runs, the last
# len(longest stop) - 1 characters stay out of what is streamed.
params = SamplingParams(stop=["Paris."], max_tokens=50)
answer = tok(" The capital is Paris. It is", add_special_tokens=False)
req = Request.create("0", None, prompt, params, 0, tok.eos_token_id)
seq, outputs, stream = req.seqs[0], OutputProcessor(tok), []
seq.status = SequenceStatus.RUNNING
outputs.add_request(req)  # output processing: text, stop strings
for t in answer.input_ids:
    seq.data.append_token_id(t, 0.0)
    done = outputs.process_updates([SequenceUpdate(req, seq, [t])], now=0.0)
    if done.stopped_seq_ids:  # a stop string: the engine finishes it
        seq.status = SequenceStatus.FINISHED_STOPPED
    out = outputs.make_output(req).outputs[0]  # what a client sees
    if len(out.text) > len("".join(stream)):
        stream.append(out.text[len("".join(stream)):])
    if seq.is_finished():
        break
print("streamed:   ", stream)
print("final text: ", repr(out.text), "stop:", out.stop_reason)

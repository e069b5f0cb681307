"""Exercise: two requests, 10 and 100 prompt tokens, 5 and 50 output tokens."""

prompts, outputs = [10, 100], [5, 50]
rows = len(prompts)
prompt_useful, prompt_computed = sum(prompts), rows * max(prompts)
decode_useful = sum(n - 1 for n in outputs)  # the first token is the prefill's
decode_computed = rows * (max(outputs) - 1)
print(f"static prefill: {prompt_computed} positions, {prompt_useful} useful "
      f"({1 - prompt_useful / prompt_computed:.0%} wasted)")
print(f"static decode: {decode_computed} row-steps, {decode_useful} useful "
      f"({1 - decode_useful / decode_computed:.0%} wasted)")
print(f"continuous: {prompt_useful} prefill tokens, "
      f"{decode_useful} decode row-steps, nothing wasted")

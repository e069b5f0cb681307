"""Why TPOT hides a stall and ITL p99 shows it, on RequestMetrics itself.

A request streams 101 tokens, one every 20 ms, except four times: a long
prompt joins the batch and its whole prefill holds one step for 500 ms.
The times are made up, so the numbers are exact; the benchmark records
real ones the same way.
"""

import statistics

from folovllm.outputs import RequestMetrics

m = RequestMetrics(arrival_time=0.0)
now = 0.1                                   # the first token
for i in range(101):
    m.record_token(now)                     # the output processor's call
    now += 0.5 if i % 25 == 20 else 0.02    # four stalls
m.finished_time = m.last_token_time

gaps = m.inter_token_latencies
tpot = m.tpot(101)
p50, p99 = (statistics.quantiles(gaps, n=100, method="inclusive")[q - 1]
            for q in (50, 99))
stalls = [g for g in gaps if g > 0.1]
print(f"{len(gaps)} gaps: {len(stalls)} of {max(gaps) * 1000:.0f} ms, "
      f"the others {min(gaps) * 1000:.0f} ms")
print(f"TPOT (the mean)  {tpot * 1000:5.1f} ms")
print(f"ITL p50          {p50 * 1000:5.1f} ms")
print(f"ITL p99          {p99 * 1000:5.1f} ms")
print(f"max ITL          {max(gaps) * 1000:5.1f} ms")

"""When TP stops paying: one decode step of Qwen3-0.6B at batch 1 reads
every weight once (bf16), spread over N GPUs, then waits for 57
all-reduces of 2 KiB. Assumed figures (datasheet bandwidths, a typical
all-reduce latency), not measurements: HBM 4.8 TB/s; NVLink 450 GB/s
per direction; PCIe 5.0 x16 64 GB/s; 10 us per all-reduce on NVLink,
20 us on PCIe."""

weights, reduces, buf = 1.19e9, 57, 2048       # bytes, count, bytes
links = {"NVLink": (450e9, 10e-6), "PCIe": (64e9, 20e-6)}
print("N   read weights  NVLink step  PCIe step   (us)")
for n in (1, 2, 4, 8):
    read = weights / n / 4.8e12
    steps = [read + (0 if n == 1 else reduces * (lat + 2 * (n - 1) / n
                                               * buf / bw))
             for bw, lat in links.values()]
    print(f"{n}   {read * 1e6:10.1f}  {steps[0] * 1e6:11.1f}  "
          f"{steps[1] * 1e6:9.1f}")

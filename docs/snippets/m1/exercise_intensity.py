"""Exercise: decode FLOPs per byte in fp32, as the engine runs on a CPU."""

params = 134_515_008  # the default model
flops_per_token = 2 * params  # a multiply and an add per weight
for dtype, elem in (("bf16", 2), ("fp32", 4)):
    for batch in (1, 64):  # the weights are read once for the whole batch
        intensity = batch * flops_per_token / (elem * params)
        print(f"{dtype}, batch {batch:2d}: {intensity:4.1f} FLOPs per byte")

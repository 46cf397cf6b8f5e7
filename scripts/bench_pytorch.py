#!/usr/bin/env python3
"""The PyTorch side of `dricl bench cuda`: runs the plan the C# benchmark wrote on the same GPU and writes
the measurements as JSON, which the benchmark prints next to its own.

    python3 bench_pytorch.py PLAN.json RESULTS.json

attention:      F.scaled_dot_product_attention on [B,H,S,D] tensors (bf16 or fp32, as the plan's precision),
                forward and backward timed separately with CUDA events.
cross_entropy:  logits = h @ W^T materialized (under bf16 autocast, then upcast to fp32 as Hugging Face
                does before its loss), F.cross_entropy(reduction="none") weighted per token, backward;
                time and torch.cuda.max_memory_allocated above the inputs.
train:          transformers' LlamaForCausalLM from the plan's config, random init, fp32 master weights,
                torch.autocast(bfloat16), SDPA attention, eager (no torch.compile), clip_grad_norm_ 1.0 and
                torch.optim.AdamW with the trainer's defaults; time per step and peak memory.

Exit code 3 means no usable torch (not installed, or no CUDA GPU for it); the reason is the last line on stderr.
"""
import json
import sys

UNAVAILABLE = 3


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    plan_path, results_path = argv[1], argv[2]
    try:
        import torch
    except ImportError:
        print(f"torch is not installed for {sys.executable}", file=sys.stderr)
        return UNAVAILABLE
    if not torch.cuda.is_available():
        print(f"torch {torch.__version__} sees no CUDA GPU", file=sys.stderr)
        return UNAVAILABLE

    with open(plan_path) as f:
        plan = json.load(f)
    bf16 = plan["precision"] == "bf16"
    warmup, reps = plan["warmup"], plan["reps"]
    # fp32 means fp32: no TF32 on either side.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False

    results = {
        "versions": versions(torch),
        "gpu": torch.cuda.get_device_name(),
        "attention": [guarded(torch, attention, torch, c, bf16, warmup, reps) for c in plan["attention"]],
        "cross_entropy": [guarded(torch, cross_entropy, torch, c, bf16, warmup, reps) for c in plan["cross_entropy"]],
        "train": guarded(torch, train, torch, plan["train"], bf16, warmup, reps),
    }
    with open(results_path, "w") as f:
        json.dump(results, f, indent=2)
    return 0


def versions(torch):
    try:
        import transformers
        return f"torch {torch.__version__}, transformers {transformers.__version__}"
    except ImportError:
        return f"torch {torch.__version__}, no transformers"


def guarded(torch, measure, *args):
    """One case; a failure (out of memory, a missing package) becomes that case's error, not the run's."""
    try:
        return measure(*args)
    except torch.cuda.OutOfMemoryError:
        return {"error": "out of memory"}
    except ImportError as e:
        return {"error": f"{e.name} is not installed"}
    finally:
        torch.cuda.empty_cache()


def events(torch):
    return torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)


def time_ms(torch, fn, warmup, reps):
    """Mean GPU time of fn over reps calls after warmup calls, between two events on the current stream."""
    for _ in range(warmup):
        fn()
    start, end = events(torch)
    start.record()
    for _ in range(reps):
        fn()
    end.record()
    end.synchronize()
    return start.elapsed_time(end) / reps


def attention(torch, case, bf16, warmup, reps):
    import torch.nn.functional as F
    b, s, h, d, causal = case["batch"], case["seq"], case["heads"], case["head_dim"], case["causal"]
    dtype = torch.bfloat16 if bf16 else torch.float32
    q, k, v = (torch.randn(b, h, s, d, device="cuda", dtype=dtype, requires_grad=True) for _ in range(3))
    grad_out = torch.randn(b, h, s, d, device="cuda", dtype=dtype)

    def forward():
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal)

    forward_ms = time_ms(torch, forward, warmup, reps)
    backward_ms = 0.0
    for i in range(warmup + reps):
        out = forward()
        start, end = events(torch)
        start.record()
        torch.autograd.grad(out, (q, k, v), grad_out)
        end.record()
        if i >= warmup:
            end.synchronize()
            backward_ms += start.elapsed_time(end)
    return {"forward_ms": forward_ms, "backward_ms": backward_ms / reps}


def cross_entropy(torch, case, bf16, warmup, reps):
    import torch.nn.functional as F
    n, c, v = case["tokens"], case["hidden"], case["vocab"]
    h = torch.randn(n, c, device="cuda").requires_grad_()
    w = (0.02 * torch.randn(v, c, device="cuda")).requires_grad_()
    labels = torch.randint(0, v, (n,), device="cuda")
    weights = torch.full((n,), 1.0 / n, device="cuda")

    def step():
        h.grad = w.grad = None
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16):
            logits = h @ w.t()
        nll = F.cross_entropy(logits.float(), labels, reduction="none")
        (nll * weights).sum().backward()

    for _ in range(warmup):
        step()
    h.grad = w.grad = None
    torch.cuda.synchronize()
    inputs = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    ms = time_ms(torch, step, 0, reps)
    return {"ms": ms, "peak_bytes": torch.cuda.max_memory_allocated() - inputs}


def train(torch, case, bf16, warmup, reps):
    from transformers import LlamaConfig, LlamaForCausalLM
    config = LlamaConfig(
        vocab_size=case["vocab_size"], hidden_size=case["hidden_size"], intermediate_size=case["intermediate_size"],
        num_hidden_layers=case["layers"], num_attention_heads=case["heads"], num_key_value_heads=case["kv_heads"],
        rope_theta=case["rope_theta"], rms_norm_eps=case["rms_norm_eps"], tie_word_embeddings=case["tie_word_embeddings"],
        max_position_embeddings=max(case["seq"], 2048))
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = LlamaForCausalLM._from_config(config, attn_implementation="sdpa", torch_dtype=torch.float32)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5, betas=(0.9, 0.98), eps=5e-8, weight_decay=1e-4)
    ids = torch.randint(0, case["vocab_size"], (case["batch"], case["seq"]), device="cuda")

    def step():
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16):
            loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()

    for _ in range(warmup):
        step()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    ms = time_ms(torch, step, 0, reps)
    return {"ms": ms, "peak_bytes": torch.cuda.max_memory_allocated()}


if __name__ == "__main__":
    sys.exit(main(sys.argv))

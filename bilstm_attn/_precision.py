"""The ``precision`` parameter: which floating-point format the networks compute in.

``"fp32"`` computes everything in float32. ``"bf16"`` runs the forward passes of
training, validation and prediction under ``torch.autocast`` with bfloat16: matrix
products and the recurrent layers in bf16, while the weights, the optimizer state, the
weight average, the gradients' accumulation, the attention softmax, the logits and the
loss stay float32 (:mod:`bilstm_attn.nn` casts them back). ``"auto"`` picks bf16 where
the device has native bf16 matrix units and fp32 elsewhere:

- on a CPU, AMX (``amx_bf16``) or AVX-512-BF16, as PyTorch's own CPU probe (cpuinfo,
  ``torch.cpu.get_capabilities``) reports them: where oneDNN has bf16 kernels that run
  faster than float32 ones. Without them oneDNN converts bf16 in software, slower than
  float32;
- on CUDA, ``torch.cuda.is_bf16_supported()``.

The translator's ``"auto"`` is fp32 on every CPU: its decoder runs one float32 LSTM cell
per output step (the cell has no bf16 kernel on CPU), and the casts around it cost what
the bf16 encoder saves (``benchmarks/NOTES.md``).

Explanations (``explain``, ``faithfulness``, ``predict_proba_ids``, ``proba_and_attention``,
``attention_weights``) compute in float32 whatever the precision, so that they agree
across machines to float32 rounding.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator

import torch

__all__ = ["PRECISIONS", "autocast", "has_native_bf16", "resolve_precision"]

PRECISIONS = ("auto", "fp32", "bf16")


@functools.cache
def _cpu_has_native_bf16() -> bool:
    probe = getattr(torch.cpu, "get_capabilities", None)  # torch 2.3 and later
    if probe is None:
        return False
    try:
        capabilities = probe()
    except RuntimeError:  # cpuinfo could not read this CPU
        return False
    return bool(capabilities.get("amx_bf16") or capabilities.get("avx512_bf16"))


def has_native_bf16(device: torch.device) -> bool:
    """Whether ``device`` multiplies bf16 matrices in hardware (AMX or AVX-512-BF16 on
    a CPU; CUDA devices that support bf16)."""
    if device.type == "cpu":
        return _cpu_has_native_bf16()
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    return False


def resolve_precision(precision: str, device: torch.device, bf16_on_cpu: bool = True) -> str:
    """``"fp32"`` or ``"bf16"``: what a validated ``precision`` parameter means on
    ``device``. With ``bf16_on_cpu=False``, ``"auto"`` means fp32 on every CPU (for a
    network that bf16 does not speed up there)."""
    if precision == "auto":
        if device.type == "cpu" and not bf16_on_cpu:
            return "fp32"
        return "bf16" if has_native_bf16(device) else "fp32"
    return precision


@contextlib.contextmanager
def autocast(precision: str, device: torch.device) -> Iterator[None]:
    """A block that computes in ``precision`` (``"fp32"`` or ``"bf16"``) on ``device``.

    Autocast is per thread: each thread that runs a network enters its own block.
    """
    if precision == "bf16":
        with torch.autocast(device.type, dtype=torch.bfloat16):
            yield
    else:
        # Off even inside a caller's autocast block: fp32 means fp32.
        with torch.autocast(device.type, enabled=False):
            yield

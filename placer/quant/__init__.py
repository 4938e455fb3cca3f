"""Hardware-friendly weight quantization of the placement policy.

Uniform, symmetric, power-of-two scaled, per tensor (or per output channel)
fake quantizers (placer.quant.fake), MSQE and learned-threshold (TQT)
scales with the stabilising fixes of Bae et al. (placer.quant.threshold),
quantization-aware fine-tuning by distillation (placer.quant.distill), and
``quantize`` / ``save_quantized`` (placer.quant.api).
"""

from placer.quant.api import (
    QUANT_FORMAT,
    QuantizedPolicy,
    quantize,
    save_quantized,
)

__all__ = ["QUANT_FORMAT", "QuantizedPolicy", "quantize", "save_quantized"]

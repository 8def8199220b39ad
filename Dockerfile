# A portable image: llama.cpp is built without -march=native so the image runs on
# any x86-64 host (a native build also picks AMX kernels that crash on some CPUs).
FROM python:3.11-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends build-essential cmake git \
    && rm -rf /var/lib/apt/lists/*
ENV CMAKE_ARGS="-DGGML_NATIVE=OFF"
WORKDIR /src
COPY . .
RUN pip wheel --wheel-dir /wheels ".[model]"

FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends git libgomp1 \
    && rm -rf /var/lib/apt/lists/* && useradd --create-home bastion
COPY --from=build /wheels /wheels
RUN pip install --no-index --find-links /wheels bastion-review[model] && rm -rf /wheels
USER bastion
ENV BASTION_DATA_DIR=/home/bastion/data BASTION_HOST=0.0.0.0
EXPOSE 8080
ENTRYPOINT ["bastion"]
CMD ["serve"]

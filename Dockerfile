# One image for both production processes: `overture worker` and `overture api`.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md worker.py ./
COPY workflows ./workflows
COPY activities ./activities
COPY starter ./starter
COPY journeys ./journeys
RUN pip install --no-cache-dir '.[postgres]'
# Listening beyond loopback, both processes refuse to start without a real OVERTURE_SECRET_KEY,
# and the API without an API key (README, "Security"): pass them with `docker run -e`.
ENV OVERTURE_LOG_FORMAT=json \
    OVERTURE_API_HOST=0.0.0.0
USER nobody
CMD ["overture", "worker"]

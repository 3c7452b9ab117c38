FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY alembic ./alembic
COPY service ./service
COPY matching ./matching
COPY notifications ./notifications
# Editable install: the migrations in /app/alembic are found next to the code.
RUN pip install --no-cache-dir -e . && useradd --system --home /app coffee && chown coffee /app
USER coffee
EXPOSE 8000
CMD ["coffeerounds", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]

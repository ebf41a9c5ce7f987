# Deployment image: the same processes as `make up`, against external PostgreSQL and Redis.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 JUKINET_MODE=production JUKINET_VAR_DIR=/var/lib/jukinet
WORKDIR /app
# The font embedded in every printed PDF (docs/printing.md; JUKINET_PDF_FONT_FILE points into it).
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends fonts-ipaexfont-gothic fonts-ipaexfont-mincho \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY jukinet jukinet
COPY audit audit
COPY honnin honnin
COPY fuhyo fuhyo
COPY provision provision
COPY disclosure disclosure
COPY templates templates
COPY manage.py ./
RUN pip install --no-cache-dir . \
    && DJANGO_SECRET_KEY=build-only-build-only-build-only-build-only-build-only \
       python manage.py collectstatic --noinput \
    && useradd --system --home /var/lib/jukinet jukinet && mkdir -p /var/lib/jukinet && chown jukinet /var/lib/jukinet
USER jukinet
EXPOSE 8000
CMD ["gunicorn", "jukinet.wsgi", "--bind", "0.0.0.0:8000", "--workers", "4"]

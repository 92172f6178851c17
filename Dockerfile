# Verity's container image: a release build in a Rust image, then only the binary on a slim
# Debian with the one shared library it links (libpq) and the CA roots. It runs as an
# unprivileged user and needs no shell (exec-form entrypoint). Build from the repository root:
#
#   docker build -t verity .
#
# Everything is configured by VERITY_* variables (README, "Configuration"); see
# deploy/docker-compose.yml for two nodes on PostgreSQL + Redis behind a proxy.

FROM rust:1.95-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin verity \
 && install -m 0755 target/release/verity /verity

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq5 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/verity --create-home verity
COPY --from=build /verity /usr/local/bin/verity
USER 10001:10001
WORKDIR /var/lib/verity
ENV VERITY_LISTEN=0.0.0.0:8080 \
    VERITY_DATA_DIR=/var/lib/verity \
    VERITY_LOG_FORMAT=json
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/verity"]
CMD ["serve"]

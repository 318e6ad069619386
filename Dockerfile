# The audit log server as a container image (not built on the development machine: it has no
# Docker daemon; see "Running in containers" in README.md).
#
#   docker build -t audit-log-server .
#   docker run -p 8080:8080 -v audit-data:/data -e AUDIT_ADMIN_TOKEN=... audit-log-server

# --- build: the release binary, with dependencies cached in their own layer -----------------
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p audit-server --bin audit-server \
    && cp target/release/audit-server /usr/local/bin/audit-server

# --- run: a slim image, an unprivileged user, the SQLite database on a volume ----------------
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 audit \
    && useradd --system --uid 10001 --gid audit --home-dir /data --shell /usr/sbin/nologin audit \
    && mkdir -p /data && chown audit:audit /data
COPY --from=build /usr/local/bin/audit-server /usr/local/bin/audit-server
USER audit:audit
WORKDIR /data
VOLUME ["/data"]
ENV AUDIT_BIND=0.0.0.0:8080 \
    AUDIT_DATABASE_URL=sqlite:///data/audit.db?mode=rwc \
    AUDIT_LOG_FORMAT=json
EXPOSE 8080
# SIGTERM drains requests in flight and ends live tails before exiting.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/audit-server"]
CMD ["serve"]

# Infrastructure image of the `ha` compose topology, from Debian 12 packages only: etcd,
# Patroni with PostgreSQL 15, and haproxy (the same packages as `scripts/deps ha`).
ARG BASE=docker.io/library/debian:bookworm
FROM ${BASE}
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends \
      etcd-server etcd-client patroni python3-etcd postgresql-15 postgresql-client-15 haproxy \
      curl ca-certificates >/dev/null \
 && { pg_dropcluster 15 main 2>/dev/null || true; } \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/postgresql/patroni /var/lib/etcd /run/haproxy \
 && chown postgres:postgres /var/lib/postgresql/patroni \
 && chmod 0700 /var/lib/postgresql/patroni

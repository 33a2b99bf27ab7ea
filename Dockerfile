# syntax=docker/dockerfile:1
# The eni-operator image: a build stage that bundles the TypeScript and what it uses of its
# dependencies into dist/, and a distroless Node.js 24 runtime with the app under /app, run as 65532.
# The base images are build arguments; their defaults are the public images, so `docker build .` or
# `podman build .` works as is wherever they can be pulled (`npm run image` builds stand-ins where not).
ARG BUILD_IMAGE=docker.io/library/node:24-bookworm-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12

FROM ${BUILD_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the only install script is the `node` devDependency's, which would fetch a second
# Node binary that neither the build nor the image uses. The npm cache stays in a build cache mount.
# Behind a TLS-intercepting proxy, `--secret id=npm-ca,src=CA.pem` lets npm trust its CA; like the
# cache, a secret mount never reaches a layer.
RUN --mount=type=cache,target=/npm-cache --mount=type=secret,id=npm-ca \
    NODE_EXTRA_CA_CERTS="$(test -f /run/secrets/npm-ca && echo /run/secrets/npm-ca)" \
    npm ci --ignore-scripts --no-audit --no-fund --cache /npm-cache
COPY tsconfig.json rolldown.config.ts ./
COPY src ./src
RUN npm run build

FROM ${RUNTIME_IMAGE}
ARG VERSION=0.0.0-dev
ARG REVISION=unknown
ARG SOURCE=
ARG LICENSES=Apache-2.0
LABEL org.opencontainers.image.title="eni-operator" \
      org.opencontainers.image.description="Kubernetes operator that attaches and detaches Tencent Cloud ECM network interfaces" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="${LICENSES}"
WORKDIR /app
# Owned by root and not writable by the operator's user; package.json makes dist/*.js ES modules and
# holds the engines range the entry point checks. The bundle needs no node_modules.
COPY package.json ./
COPY --from=build /app/dist ./dist
ENV NODE_ENV=production
USER 65532:65532
EXPOSE 8080 8081
# V8 sized for a small steady heap rather than for throughput: a 1 MiB young generation instead of up
# to 64 MiB, and an old generation grown in small steps. No memory reducer: after a burst (adopting
# thousands of resources) it runs full collections for half a minute to hand back a few MiB; without
# it the heap stays a little larger and the operator is quiet once its work is done. `npm run bench`
# runs the operator with these flags, read from this line.
ENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=1", "--optimize-for-size", "--no-memory-reducer", "/app/dist/main.js"]

#!/usr/bin/env bash
# `npm run image`: builds localhost/eni-operator:<package version> from the top-level Dockerfile with
# buildah into the local containers storage and prints that reference as the last line of stdout
# (progress goes to stderr). Installs buildah, runc and debootstrap from Debian's packages when missing.
# The base images are the Dockerfile's defaults; where they cannot be pulled, local stand-ins are
# built under the same names (bases.sh). Extra arguments go to `buildah bud`, e.g. --iidfile FILE.
set -euo pipefail
IMAGE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$IMAGE_DIR/../.." && pwd)
source "$IMAGE_DIR/common.sh"
source "$IMAGE_DIR/bases.sh"

NODE_BIN=$REPO/node_modules/node/bin/node
[[ -x "$NODE_BIN" ]] || die "$NODE_BIN not found: run npm ci first"
# npm itself, for the build stage's stand-in: the npm running this script.
NPM_DIR=$(cd "$(dirname "$(readlink -f "${npm_execpath:-$(command -v npm)}")")/.." && pwd)
[[ -f "$NPM_DIR/bin/npm-cli.js" ]] || die "npm not found (looked in $NPM_DIR)"

ensure_tools buildah=buildah runc=runc debootstrap=debootstrap flock=util-linux

arg_default() { sed -n "s/^ARG $1=//p" "$REPO/Dockerfile"; }
version=$("$NODE_BIN" -p 'require(process.argv[1]).version' "$REPO/package.json")
ref=localhost/eni-operator:$version
ensure_bases "$(arg_default BUILD_IMAGE)" "$(arg_default RUNTIME_IMAGE)"

revision=$(git -C "$REPO" rev-parse HEAD 2>/dev/null || echo unknown)
# The source label names an https URL only (never a local clone's path), without credentials.
source_url=$(git -C "$REPO" remote get-url origin 2>/dev/null | sed -nE 's#^https://([^/@]*@)?#https://#; s#\.git$##; /^https:/p' || true)
licenses=$("$NODE_BIN" -p 'require(process.argv[1]).license' "$REPO/package.json")
# The CA npm trusts here (e.g. a TLS-intercepting proxy's) reaches the build stage's npm as a secret.
secrets=()
npm_ca=${NODE_EXTRA_CA_CERTS:-$("$NODE_BIN" "$NPM_DIR/bin/npm-cli.js" config get cafile 2>/dev/null || true)}
[[ -f "$npm_ca" ]] && secrets=(--secret "id=npm-ca,src=$npm_ca")
log "building $ref"
# chroot isolation: the default (oci) cannot run RUN steps on hosts like this one. --layers reuses
# the npm ci and build steps while their inputs are unchanged; --force-rm leaves no working container
# behind when a step fails.
# buildah's layer cache keys a step by its text, not by build-argument values, so a cached LABEL step
# would keep an old revision: the labels are given with --label too, which applies to the final image.
oci=org.opencontainers.image
buildah bud --isolation chroot --pull=never --layers --force-rm \
  --build-arg "VERSION=$version" --build-arg "REVISION=$revision" \
  --build-arg "SOURCE=$source_url" --build-arg "LICENSES=$licenses" \
  --label "$oci.version=$version" --label "$oci.revision=$revision" \
  --label "$oci.source=$source_url" --label "$oci.licenses=$licenses" \
  "${secrets[@]}" -f "$REPO/Dockerfile" -t "$ref" "$@" "$REPO" >&2 || die "buildah bud of $ref failed (see above)"
size=$(buildah images --format '{{.Size}}' "$ref" | head -1)
log "built $ref ($size)"
echo "$ref"

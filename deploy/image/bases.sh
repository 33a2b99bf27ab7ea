# Sourced by build.sh after common.sh. ensure_bases BUILD_IMAGE RUNTIME_IMAGE makes both base images
# available in the local containers storage: as they are when present, pulled when a registry answers,
# or else as local stand-ins under the same names, built from Debian's packages (debootstrap) and the
# Node 24 binary of the `node` npm package. Stand-in root filesystems are cached by version in
# $CACHE_ROOT/image-bases/<key>/, and the images carry the key in a label, so a second run reuses them.
SUITE=bookworm
# The runtime keeps only these packages' files, as distroless does.
RUNTIME_PACKAGES=(base-files libc6 libgcc-s1 libstdc++6 tzdata netbase)
STAND_IN_LABEL=io.eni-operator.stand-in

# The stand-in key: what the stand-ins are made of and how.
stand_in_key() {
  local recipe
  recipe=$(cat "$IMAGE_DIR/bases.sh" "$IMAGE_DIR"/*.Containerfile | sha256sum | cut -c1-12)
  echo "$SUITE-node$("$NODE_BIN" --version)-npm$("$NODE_BIN" "$NPM_DIR/bin/npm-cli.js" --version)-$recipe"
}

# Writes builder.tar and runtime.tar into dir from one debootstrap.
build_rootfs_tarballs() { # dir
  local out=$1 work
  work=$(mktemp -d -p "$CACHE_ROOT/image-bases" .work.XXXXXX)
  BASES_WORK=$work
  trap 'rm -rf "$BASES_WORK"' EXIT
  log "debootstrap --variant=minbase $SUITE (first run only; cached in $out)"
  if ! debootstrap --variant=minbase --include=ca-certificates,tzdata,netbase "$SUITE" "$work/rootfs" \
    ${DEBIAN_MIRROR:+"$DEBIAN_MIRROR"} >"$work/debootstrap.log" 2>&1; then
    tail -n 30 "$work/debootstrap.log" >&2
    die "debootstrap $SUITE failed (is a Debian mirror reachable? DEBIAN_MIRROR sets one)"
  fi
  local rootfs=$work/rootfs

  # Runtime: the packages' files (directories and docs left out), merged-/usr paths made canonical.
  local stage=$work/runtime
  mkdir -p "$stage"/{etc/ssl/certs,nodejs/bin,home/nonroot,root,tmp,usr}
  for link in bin sbin lib lib64; do ln -s "usr/$link" "$stage/$link"; done
  local package
  for package in "${RUNTIME_PACKAGES[@]}"; do
    cat "$rootfs/var/lib/dpkg/info/$package.list" "$rootfs/var/lib/dpkg/info/$package:amd64.list" 2>/dev/null || true
  done | sed -E 's#^/(bin|sbin|lib|lib64)/#/usr/\1/#' | grep -vE '^/usr/share/(doc|man|info|lintian)/|^/(bin|sbin|lib|lib64)$' | sort -u |
    while read -r path; do [[ -d "$rootfs$path" && ! -L "$rootfs$path" ]] || echo ".$path"; done >"$work/runtime.files"
  tar -C "$rootfs" --no-recursion -T "$work/runtime.files" -cf - | tar -C "$stage" -xf -
  cp "$rootfs/etc/ssl/certs/ca-certificates.crt" "$stage/etc/ssl/certs/"
  printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' 'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin' \
    'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' >"$stage/etc/passwd"
  printf '%s\n' 'root:x:0:' 'nobody:x:65534:' 'nonroot:x:65532:' >"$stage/etc/group"
  chown 65532:65532 "$stage/home/nonroot" && chmod 700 "$stage/home/nonroot" "$stage/root" && chmod 1777 "$stage/tmp"
  install -m 755 "$NODE_BIN" "$stage/nodejs/bin/node"
  tar -C "$stage" --numeric-owner -cf "$work/runtime.tar" .

  # Builder: the whole minbase system, trimmed, with Node and npm under /usr/local as the node image has them.
  install -m 755 "$NODE_BIN" "$rootfs/usr/local/bin/node"
  mkdir -p "$rootfs/usr/local/lib/node_modules"
  cp -a "$NPM_DIR" "$rootfs/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
  rm -rf "$rootfs"/usr/share/{doc,man,info}/* "$rootfs"/var/cache/apt/* "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*
  tar -C "$rootfs" --numeric-owner -cf "$work/builder.tar" .

  mkdir -p "$out"
  mv "$work/runtime.tar" "$work/builder.tar" "$out/"
  rm -rf "$work"
}

ensure_stand_in() { # image kind key
  local image=$1 kind=$2 key=$3 dir=$CACHE_ROOT/image-bases/$3
  mkdir -p "$CACHE_ROOT/image-bases"
  # One build at a time per key: a concurrent run waits for it and reuses its result.
  local lock
  exec {lock}>"$dir.lock"
  flock "$lock"
  [[ -f "$dir/builder.tar" && -f "$dir/runtime.tar" ]] || build_rootfs_tarballs "$dir"
  log "building the stand-in $image from $dir/$kind.tar"
  buildah bud --isolation chroot --pull=never --quiet --build-arg "STAND_IN=$key" \
    -f "$IMAGE_DIR/$kind.Containerfile" -t "$image" "$dir" >&2 || die "could not build the stand-in $image"
  exec {lock}>&-
}

ensure_base() { # image kind key
  local image=$1 kind=$2 key=$3 label
  if label=$(buildah inspect --type image --format "{{index .OCIv1.Config.Labels \"$STAND_IN_LABEL\"}}" "$image" 2>/dev/null); then
    if [[ -z "$label" || "$label" == "$key" ]]; then return 0; fi
    log "$image is a stand-in of another version ($label); replacing it"
  fi
  if buildah pull --policy always --quiet "$image" >/dev/null 2>&1; then log "pulled $image"; return 0; fi
  log "$image cannot be pulled here; using a local stand-in"
  ensure_stand_in "$image" "$kind" "$key"
}

ensure_bases() { # build_image runtime_image
  local key
  key=$(stand_in_key)
  ensure_base "$1" builder "$key"
  ensure_base "$2" runtime "$key"
}

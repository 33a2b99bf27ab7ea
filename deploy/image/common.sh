# Shared by the image scripts: logging to stderr (stdout carries only results), the cache root the
# test bed also uses, and installing the container tools from Debian's packages when missing.
CACHE_ROOT="${ENI_OPERATOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/eni-operator}"

log() { printf '[image] %s\n' "$*" >&2; }
die() { printf '[image] ERROR: %s\n' "$*" >&2; exit 1; }

# ensure_tools COMMAND=PACKAGE...: installs the packages of the commands not on PATH.
ensure_tools() {
  local pair missing=()
  for pair in "$@"; do
    command -v "${pair%%=*}" >/dev/null || missing+=("${pair#*=}")
  done
  ((${#missing[@]} == 0)) && return 0
  command -v apt-get >/dev/null || die "missing ${missing[*]}, and no apt-get to install them: install them and run again"
  ((EUID == 0)) || die "missing ${missing[*]}: run as root, or first: sudo apt-get install -y ${missing[*]}"
  log "installing ${missing[*]} from Debian's packages"
  # Another apt run on the machine holds the lock for a while at most: wait for it instead of failing.
  local apt=(apt-get -o DPkg::Lock::Timeout=600 -q)
  DEBIAN_FRONTEND=noninteractive "${apt[@]}" update >&2 || die "apt-get update failed (is a Debian mirror reachable?)"
  DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y "${missing[@]}" >&2 || die "apt-get install ${missing[*]} failed"
  for pair in "$@"; do
    command -v "${pair%%=*}" >/dev/null || die "${pair%%=*} still missing after installing ${pair#*=}"
  done
}

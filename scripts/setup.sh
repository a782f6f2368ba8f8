# shellcheck shell=bash
# Set-up steps shared by every ./flowspace command. Each step is idempotent and quick when
# there is nothing to do, so every command can run all of them.

FLOWSPACE_VENV="${FLOWSPACE_VENV:-$FLOWSPACE_ROOT/.venv}"
FLOWSPACE_CACHE_DIR="${FLOWSPACE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/flowspace}"
export FLOWSPACE_CACHE_DIR

log() { printf '[flowspace] %s\n' "$*" >&2; }
die() { printf '[flowspace] error: %s\n' "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" -eq 0 ]; }
have() { command -v "$1" >/dev/null 2>&1; }

# Debian/Ubuntu packages the lab and the tests need on this machine.
setup_host_packages() {
  local missing=()
  have debootstrap || missing+=(debootstrap)
  have ssh-keygen || missing+=(openssh-client)
  have dockerd || have docker || missing+=(docker.io)
  have pebble && have pebble-challtestsrv || missing+=(pebble)
  have redis-server || missing+=(redis-server)
  have go || [ -x /usr/local/go/bin/go ] || die "Go (>= 1.26) is needed to build the lab's service binaries; install it and run again"
  python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! is_root || ! have apt-get; then
    die "missing ${missing[*]}; install them (Debian/Ubuntu: sudo apt-get install ${missing[*]}) and run again"
  fi
  log "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# A reachable Docker engine: use the one running, or start Debian's as root.
setup_docker() {
  docker info >/dev/null 2>&1 && return 0
  if ! is_root || ! have dockerd; then
    die "no Docker engine is reachable. Start one (sudo systemctl start docker), or add your user to the docker group, then run again"
  fi
  log "starting dockerd"
  if [ -d /run/systemd/system ] && systemctl start docker 2>/dev/null; then
    :
  else
    mkdir -p "$FLOWSPACE_CACHE_DIR"
    setsid nohup dockerd >"$FLOWSPACE_CACHE_DIR/dockerd.log" 2>&1 </dev/null &
  fi
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && return 0
    sleep 1
  done
  die "dockerd did not come up within 60 s; see $FLOWSPACE_CACHE_DIR/dockerd.log"
}

# The project virtualenv, reinstalled only when requirements.txt changes.
setup_venv() {
  local stamp="$FLOWSPACE_VENV/.requirements.sha256"
  local want
  want="$(sha256sum "$FLOWSPACE_ROOT/requirements.txt" | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  log "installing Python dependencies into $FLOWSPACE_VENV (about a minute)"
  [ -x "$FLOWSPACE_VENV/bin/python" ] || python3 -m venv "$FLOWSPACE_VENV"
  "$FLOWSPACE_VENV/bin/python" -m pip install -q --upgrade pip
  "$FLOWSPACE_VENV/bin/python" -m pip install -q -r "$FLOWSPACE_ROOT/requirements.txt"
  echo "$want" >"$stamp"
}

# Test-host images, rebuilt only when their recipe changes.
setup_images() {
  "$FLOWSPACE_VENV/bin/python" -m labkit images "$@" >/dev/null
}

# Node projects: the Socket.io server (server/) and the tests' tools (tests/node: Next.js' .env
# loader), each reinstalled with npm ci when its lock file changes.
setup_node_projects() {
  have npm || die "Node.js and npm are needed (the socket server and Next.js' .env loader); install them and run again"
  local dir want
  for dir in "$FLOWSPACE_ROOT/server" "$FLOWSPACE_ROOT/tests/node"; do
    want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
    [ -f "$dir/node_modules/.lock.sha256" ] && [ "$(cat "$dir/node_modules/.lock.sha256")" = "$want" ] && continue
    log "installing Node dependencies (npm ci in ${dir#"$FLOWSPACE_ROOT"/})"
    (cd "$dir" && npm ci --silent --no-audit --no-fund >/dev/null)
    echo "$want" >"$dir/node_modules/.lock.sha256"
  done
}

# Service binaries the lab installs (built from the Go module proxy once per machine).
setup_binaries() {
  [ -d /usr/local/go/bin ] && export PATH="$PATH:/usr/local/go/bin"
  "$FLOWSPACE_VENV/bin/python" -m labkit.binaries >/dev/null
}

setup_all() {
  setup_host_packages
  setup_docker
  setup_venv
  setup_images "$@"
  setup_binaries
  setup_node_projects
  export PATH="$FLOWSPACE_VENV/bin:$PATH"
  export ANSIBLE_CONFIG="$FLOWSPACE_ROOT/ansible.cfg"
  FLOWSPACE_LAB_KEY="$("$FLOWSPACE_VENV/bin/python" -m labkit key)"
  export FLOWSPACE_LAB_KEY
}

# shellcheck shell=bash
# Set-up steps shared by every ./flowspace command. Each step is idempotent and quick when
# there is nothing to do, so every command can run all of them.

FLOWSPACE_VENV="${FLOWSPACE_VENV:-$FLOWSPACE_ROOT/.venv}"
log() { printf '[flowspace] %s\n' "$*" >&2; }
die() { printf '[flowspace] error: %s\n' "$*" >&2; exit 1; }

# The one rule for the cache folder lives in the collection (Ansible and labkit read it too);
# a folder given in FLOWSPACE_CACHE_DIR is the rule's first answer, so python3 is not asked then.
if [ -z "${FLOWSPACE_CACHE_DIR:-}" ]; then
  command -v python3 >/dev/null 2>&1 \
    || die "python3 is needed (the project's tools are Python): apt-get install python3 python3-venv"
  FLOWSPACE_CACHE_DIR="$(python3 "$FLOWSPACE_ROOT/collections/ansible_collections/flowspace/infra/plugins/module_utils/cache_dir.py")"
fi
export FLOWSPACE_CACHE_DIR

is_root() { [ "$(id -u)" -eq 0 ]; }
have() { command -v "$1" >/dev/null 2>&1; }

# Minimum Node.js major version (server/package.json's engines).
NODE_MINIMUM_MAJOR=18

docker_engine_reachable() { have docker && docker info >/dev/null 2>&1; }
# Whether python3 can make the project's venv (Debian splits venv and ensurepip out); tried for
# real, and only while the project has no venv yet.
python3_makes_venvs() {
  [ -x "$FLOWSPACE_VENV/bin/python" ] && return 0
  local probe ok=0
  probe="$(mktemp -d)"
  python3 -m venv "$probe/venv" >/dev/null 2>&1 || ok=1
  rm -rf "$probe"
  return "$ok"
}
node_new_enough() {
  have node && node -e "process.exit(+process.versions.node.split('.')[0] >= $NODE_MINIMUM_MAJOR ? 0 : 1)" 2>/dev/null
}

# The Debian/Ubuntu packages this machine lacks, each judged by what the project runs: an
# engine (a reachable one, or dockerd to start), not a docker client; pebble and its DNS
# server; a python3 that can make a venv with pip. Go is not one of them: Debian's is too old,
# so labkit go-toolchain fetches a pinned one when the machine has none new enough.
missing_host_packages() {
  local missing=()
  have debootstrap || missing+=(debootstrap)
  { have ssh-keygen && have ssh; } || missing+=(openssh-client)
  have ip || missing+=(iproute2)
  docker_engine_reachable || have dockerd || missing+=(docker.io)
  { have pebble && have pebble-challtestsrv; } || missing+=(pebble)
  have redis-server || missing+=(redis-server)
  have node || missing+=(nodejs)
  have npm || missing+=(npm)
  have gpg || missing+=(gpg)  # signs the lab's mirror of the upstream apt repositories
  have chromium || missing+=(chromium)  # the browser tests' headless browser
  have certutil || missing+=(libnss3-tools)  # trusts the lab's ACME root in that browser's store
  have qemu-aarch64-static || missing+=(qemu-user-static)  # runs the A1's arm64 builds once here
  python3_makes_venvs || missing+=(python3-venv)
  echo "${missing[*]}"
}

setup_host_packages() {
  local missing
  missing="$(missing_host_packages)"
  if [ -n "$missing" ]; then
    if ! is_root || ! have apt-get; then
      die "this machine lacks: $missing. Install them (Debian/Ubuntu: sudo apt-get install $missing), or run this command as root, which installs them itself"
    fi
    log "installing Debian packages: $missing (a minute or two; log: $FLOWSPACE_CACHE_DIR/logs/apt.log)"
    # shellcheck disable=SC2086 # one word per package
    quietly apt "installing $missing" \
      sh -c "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing"
  fi
  node_new_enough || die "Node.js >= $NODE_MINIMUM_MAJOR is needed (found $(node --version 2>/dev/null || echo none)); upgrade it and run again"
}

# Run a command with its output in $FLOWSPACE_CACHE_DIR/logs/NAME.log; on failure say what
# failed, show the log's end and where the whole log is.
quietly() {
  local name="$1" what="$2"
  shift 2
  local log_dir="$FLOWSPACE_CACHE_DIR/logs"
  mkdir -p "$log_dir"
  if ! "$@" >"$log_dir/$name.log" 2>&1; then
    tail -n 30 "$log_dir/$name.log" >&2
    die "$what failed; full log: $log_dir/$name.log"
  fi
}

# A reachable Docker engine: use the one running, or start the machine's dockerd as root.
setup_docker() {
  docker_engine_reachable && return 0
  if ! have dockerd; then
    die "no Docker engine is reachable and this machine has no dockerd (a docker client alone is not an engine); run as root to install Debian's docker.io, or start an engine and run again"
  fi
  if ! is_root; then
    die "no Docker engine is reachable. Start one (sudo systemctl start docker), or add your user to the docker group, then run again"
  fi
  log "starting dockerd"
  mkdir -p "$FLOWSPACE_CACHE_DIR"
  if [ -d /run/systemd/system ] && systemctl start docker 2>/dev/null; then
    :
  else
    setsid nohup dockerd >"$FLOWSPACE_CACHE_DIR/dockerd.log" 2>&1 </dev/null &
  fi
  for _ in $(seq 1 60); do
    docker_engine_reachable && return 0
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
  log "installing Python dependencies into $FLOWSPACE_VENV (about a minute; log: $FLOWSPACE_CACHE_DIR/logs/pip.log)"
  [ -x "$FLOWSPACE_VENV/bin/python" ] || python3 -m venv "$FLOWSPACE_VENV"
  quietly pip "installing the Python dependencies" sh -c \
    "'$FLOWSPACE_VENV/bin/python' -m pip install --upgrade pip && '$FLOWSPACE_VENV/bin/python' -m pip install -r '$FLOWSPACE_ROOT/requirements.txt'"
  echo "$want" >"$stamp"
}

# Test-host images, rebuilt only when their recipe changes (each step says what it builds).
setup_images() {
  "$FLOWSPACE_VENV/bin/python" -m labkit images "$@" >/dev/null
}

# Node projects: the Socket.io server (server/), the tests' tools (tests/node: Next.js' .env
# loader) and the browser client (tests/browser), each reinstalled with npm ci when its lock
# file changes.
setup_node_projects() {
  local dir want
  for dir in "$FLOWSPACE_ROOT/server" "$FLOWSPACE_ROOT/tests/node" "$FLOWSPACE_ROOT/tests/browser"; do
    want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
    [ -f "$dir/node_modules/.lock.sha256" ] && [ "$(cat "$dir/node_modules/.lock.sha256")" = "$want" ] && continue
    log "installing Node dependencies (npm ci in ${dir#"$FLOWSPACE_ROOT"/}, under a minute; log: $FLOWSPACE_CACHE_DIR/logs/npm-${dir##*/}.log)"
    quietly "npm-${dir##*/}" "npm ci in ${dir#"$FLOWSPACE_ROOT"/}" sh -c "cd '$dir' && npm ci --no-audit --no-fund"
    echo "$want" >"$dir/node_modules/.lock.sha256"
  done
}

# Service binaries the lab installs (built from the Go module proxy once per machine, with a Go
# toolchain labkit go-toolchain finds or fetches).
setup_binaries() {
  "$FLOWSPACE_VENV/bin/python" -m labkit binaries >/dev/null
  # An arm64 Debian tree, for running the arm64 Node.js under qemu-user in the tests.
  "$FLOWSPACE_VENV/bin/python" -m labkit arm64-sysroot >/dev/null
}

setup_all() {
  setup_host_packages
  setup_docker
  setup_venv
  # The test images (Docker, debootstrap from Debian's mirror) and the service binaries (Go
  # builds) need nothing of each other: on a fresh machine they are made side by side.
  setup_images "$@" &
  local images=$!
  setup_binaries
  setup_node_projects
  wait "$images" || die "building the test images failed (see above)"
  export PATH="$FLOWSPACE_VENV/bin:$PATH"
  export ANSIBLE_CONFIG="$FLOWSPACE_ROOT/ansible.cfg"
  FLOWSPACE_LAB_KEY="$("$FLOWSPACE_VENV/bin/python" -m labkit key)"
  export FLOWSPACE_LAB_KEY
}

# Secrets given as environment variables (a CI runner's repository secrets), for the commands
# that reach real hosts: the vault password through an executable vault-password file that
# prints it; the SSH private key and the hosts' known keys in files only this user reads,
# removed when the command ends. None of them is printed.
#   FLOWSPACE_VAULT_PASSWORD   the ansible-vault password
#   FLOWSPACE_SSH_PRIVATE_KEY  the admin's SSH private key (the text of the file)
#   FLOWSPACE_SSH_KNOWN_HOSTS  known_hosts lines for the stack's hosts (strict host-key checking)
#   FLOWSPACE_OCI_CONFIG       an OCI SDK config file's text (provision), and with it
#   FLOWSPACE_OCI_API_KEY      its API private key (PEM): the config's key_file is pointed at it
# One secret as a file in FLOWSPACE_SECRETS_DIR that only this user reads (ssh refuses a key
# others can read).
write_secret() {
  (umask 077 && printf '%s\n' "$2" >"$FLOWSPACE_SECRETS_DIR/$1")
}

setup_secrets_from_env() {
  if [ -n "${FLOWSPACE_VAULT_PASSWORD:-}" ] && [ -z "${ANSIBLE_VAULT_PASSWORD_FILE:-}" ]; then
    export ANSIBLE_VAULT_PASSWORD_FILE="$FLOWSPACE_ROOT/scripts/vault_password_from_env.sh"
  fi
  if [ -z "${FLOWSPACE_SSH_PRIVATE_KEY:-}" ] && [ -z "${FLOWSPACE_SSH_KNOWN_HOSTS:-}" ] \
    && [ -z "${FLOWSPACE_OCI_CONFIG:-}" ]; then
    return 0
  fi
  FLOWSPACE_SECRETS_DIR="$(umask 077 && mktemp -d "${TMPDIR:-/tmp}/flowspace-secrets.XXXXXX")"
  # shellcheck disable=SC2064 # the folder's name now, not at exit
  trap "rm -rf '$FLOWSPACE_SECRETS_DIR'" EXIT
  if [ -n "${FLOWSPACE_SSH_PRIVATE_KEY:-}" ]; then
    write_secret ssh_key "$FLOWSPACE_SSH_PRIVATE_KEY"
    export ANSIBLE_PRIVATE_KEY_FILE="$FLOWSPACE_SECRETS_DIR/ssh_key"
  fi
  if [ -n "${FLOWSPACE_SSH_KNOWN_HOSTS:-}" ]; then
    write_secret known_hosts "$FLOWSPACE_SSH_KNOWN_HOSTS"
    export ANSIBLE_SSH_COMMON_ARGS="-o UserKnownHostsFile=$FLOWSPACE_SECRETS_DIR/known_hosts -o StrictHostKeyChecking=yes"
  fi
  if [ -n "${FLOWSPACE_OCI_CONFIG:-}" ]; then
    [ -n "${FLOWSPACE_OCI_API_KEY:-}" ] || die "FLOWSPACE_OCI_CONFIG is set without FLOWSPACE_OCI_API_KEY (its API key, PEM)"
    write_secret oci_api_key.pem "$FLOWSPACE_OCI_API_KEY"
    write_secret oci_config "$(printf '%s\n' "$FLOWSPACE_OCI_CONFIG" \
      | sed "s|^key_file[[:space:]]*=.*|key_file=$FLOWSPACE_SECRETS_DIR/oci_api_key.pem|")"
    # The collection's OCI modules read OCI_CONFIG_FILE when the inventory names no config file.
    export OCI_CONFIG_FILE="$FLOWSPACE_SECRETS_DIR/oci_config"
  fi
}


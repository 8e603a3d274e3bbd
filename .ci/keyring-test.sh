#!/usr/bin/env bash
# The real-keychain tests (tests/secrets_keychain.rs, ignored by a plain `cargo test`) against
# a private D-Bus session bus and an unlocked gnome-keyring in a fresh temporary HOME, so no
# real keyring is read or written.
#   .ci/keyring-test.sh
# Needs Debian packages: dbus (dbus-run-session, dbus-send) and gnome-keyring.
set -euo pipefail
cd "$(dirname "$0")/.."

# Second stage, inside dbus-run-session: unlock a login keyring, wait for it, run the command.
if [[ ${1:-} == --inside ]]; then
  shift
  # gnome-keyring-daemon reads the new keyring's password from stdin and prints its control
  # socket; the login keyring it creates becomes the default collection.
  eval "$(printf 'tb-monitor-ci' | gnome-keyring-daemon --unlock --components=secrets)"
  export GNOME_KEYRING_CONTROL
  # Ready when the Secret Service answers with a default collection (deadline 20 s).
  deadline=$((SECONDS + 20))
  until dbus-send --session --print-reply --dest=org.freedesktop.secrets /org/freedesktop/secrets \
      org.freedesktop.Secret.Service.ReadAlias string:default 2>/dev/null |
      grep -q 'object path "/org/freedesktop/secrets/collection/'; do
    if ((SECONDS >= deadline)); then
      echo "keyring-test: the Secret Service has no default collection after 20 s" >&2
      exit 1
    fi
    sleep 0.1
  done
  echo "keyring-test: gnome-keyring unlocked, running: $*"
  exec "$@"
fi

for tool in dbus-run-session dbus-send gnome-keyring-daemon; do
  command -v "$tool" >/dev/null || {
    echo "keyring-test: $tool is missing: apt-get install dbus gnome-keyring" >&2
    exit 2
  }
done

# Build outside the session so the bus and the daemon live only as long as the tests.
cargo test --test secrets_keychain --no-run

# A fresh HOME and XDG dirs: gnome-keyring keeps its keyrings there. Cargo and rustup keep
# theirs where they are.
export CARGO_HOME=${CARGO_HOME:-$HOME/.cargo}
export RUSTUP_HOME=${RUSTUP_HOME:-$HOME/.rustup}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export HOME=$tmp/home XDG_DATA_HOME=$tmp/home/.local/share XDG_CONFIG_HOME=$tmp/home/.config \
  XDG_CACHE_HOME=$tmp/home/.cache XDG_RUNTIME_DIR=$tmp/run
mkdir -p "$HOME" "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"
unset DBUS_SESSION_BUS_ADDRESS GNOME_KEYRING_CONTROL

now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }
started=$(now_ms)
# dbus-daemon may warn "Failed to set fd limit": harmless in containers.
timeout 300 dbus-run-session -- "$0" --inside cargo test --test secrets_keychain -- --ignored
echo "keyring-test: passed in $(($(now_ms) - started)) ms (bus and keyring start included)"

#!/usr/bin/env bash
# Installs what the other scripts need beyond a bare Rust toolchain.
set -euo pipefail
for component in rustfmt clippy; do
    if ! rustup component list --installed 2>/dev/null | grep -q "^${component}"; then
        rustup component add "${component}"
    fi
done
# The English word list index-bench uses as a real string key set.
if [ ! -f /usr/share/dict/words ]; then
    if command -v apt-get >/dev/null; then
        SUDO=""
        [ "$(id -u)" -ne 0 ] && SUDO="sudo"
        $SUDO apt-get update -qq || true
        $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wamerican ||
            echo "warning: could not install wamerican; index-bench will use a generated word list"
    fi
fi
rustc --version
cargo --version

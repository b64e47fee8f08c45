#!/usr/bin/env bash
# Debian packages the test suite uses beyond npm: python3 with websockets and
# PyNaCl (to run the reference Python client against the gateway), openssl
# (a throwaway certificate for the wss:// tier) and mosquitto (bench smoke).
# Installs what is missing when run as root with apt-get; otherwise says what
# is missing, and the tests that need it skip with a message.
set -euo pipefail

need=()
# The interop test uses the first python3 that imports both (a pyenv python3 on
# the PATH does not see Debian's packages; /usr/bin/python3 does).
have_py=no
for py in python3 /usr/bin/python3; do
  "$py" -c 'import websockets, nacl' 2>/dev/null && have_py=yes && break
done
[ "$have_py" = yes ] || need+=(python3-websockets python3-nacl)
command -v openssl >/dev/null || need+=(openssl)
command -v mosquitto >/dev/null || need+=(mosquitto)

if [ ${#need[@]} -eq 0 ]; then
  echo "test dependencies: all present"
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "test dependencies: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
  echo "test dependencies: missing ${need[*]} (not root or no apt-get); the tests that need them will skip"
fi

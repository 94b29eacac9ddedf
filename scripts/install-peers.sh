#!/usr/bin/env bash
# Installs the real peers the test suite talks to, from Debian's packages:
#   nginx     — its auth_request module is a real forward-auth client (gateway tests)
#   chromium  — real browser tests through playwright-core (hosted login page)
#   apache2, libapache2-mod-auth-openidc — a real OpenID Connect relying party (test/rp-mod-auth-openidc)
#   openssl   — makes the certificates of the TLS tests
#   slapd, ldap-utils — a real LDAP directory (federation tests)
#   glewlwyd  — an independent OpenID Provider, the upstream in brokering tests
#   python3-fastapi, python3-uvicorn, python3-jwt, python3-cryptography — the Python reference service
#             (examples/python-service; PyJWT needs cryptography for ES256, only a recommendation of python3-jwt)
#   kubectl   — renders the kustomize overlays the manifest test validates (test/deploy.test.ts)
#   wrk       — load generator for bench/ (not needed by the tests)
# Usage: scripts/install-peers.sh [--with-bench]
# Needs root (apt-get). Packages already present are left alone.
set -euo pipefail

if [[ "${1:-}" == "--help" || "${1:-}" == "-h" ]]; then
  sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi

want=(nginx chromium apache2 libapache2-mod-auth-openidc openssl slapd ldap-utils glewlwyd python3-fastapi python3-uvicorn python3-jwt python3-cryptography kubectl)
[[ "${1:-}" == "--with-bench" ]] && want+=(wrk)

missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "peers: all present (${want[*]})"
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "peers: missing ${missing[*]}; run as root: apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "peers: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "peers: installed ${missing[*]}"

#!/usr/bin/env bash
# Installs the third-party SIP/RTP peers the tests talk to (Debian packages),
# once: sipp, baresip, kamailio, tshark, sox, espeak-ng, openssl, iproute2.
# Runs before `npm test`; does nothing when they are all present.
set -euo pipefail

declare -A PACKAGE_OF=(
  [sipp]=sip-tester [baresip]=baresip-core [kamailio]=kamailio [sipsak]=sipsak [tshark]=tshark
  [sox]=sox [espeak-ng]=espeak-ng [openssl]=openssl [ip]=iproute2 [ping]=iputils-ping [python3]=python3 [dnsmasq]=dnsmasq-base
)
missing=()
for tool in "${!PACKAGE_OF[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || PATH="$PATH:/usr/sbin:/sbin" command -v "$tool" >/dev/null 2>&1 || missing+=("${PACKAGE_OF[$tool]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-peers: installing ${missing[*]} (Debian packages used by the interop tests)"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-peers: run as root or install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" libsox-fmt-all >/dev/null
echo "install-peers: done"

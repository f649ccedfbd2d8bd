#!/usr/bin/env bash
# Installs the Debian packages the real-peer lab needs. Idempotent, quiet, CI-safe:
# packages already present are skipped, and no system service is started (the lab runs
# its own instances inside network namespaces).
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
	echo "install.sh: must run as root" >&2
	exit 1
fi

pkgs=(iproute2 nftables tcpdump coturn stun-client openssl kamailio kamailio-tls-modules
	prosody openssh-server openssh-client busybox procps coreutils)

missing=()
for p in "${pkgs[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "install.sh: all lab packages present"
	exit 0
fi

export DEBIAN_FRONTEND=noninteractive
# Forbid maintainer scripts from starting services (coturn, prosody, kamailio, sshd) on the
# host: policy-rc.d exit 101 = "action not allowed".
prc=/usr/sbin/policy-rc.d
made_prc=0
if [ ! -e "$prc" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$prc"
	chmod 755 "$prc"
	made_prc=1
fi
log=$(mktemp)
cleanup() {
	if [ "$made_prc" = 1 ]; then rm -f "$prc"; fi
	rm -f "$log"
}
trap cleanup EXIT

echo "install.sh: installing ${missing[*]}"
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends \
	-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
	"${missing[@]}"; } >"$log" 2>&1; then
	cat "$log" >&2
	exit 1
fi

# If a service got started anyway (a host that ignores policy-rc.d), stop it.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
	for svc in coturn prosody kamailio ssh; do
		if systemctl is-active --quiet "$svc" 2>/dev/null; then
			systemctl stop "$svc" >/dev/null 2>&1 || true
		fi
	done
fi
echo "install.sh: done"

#!/usr/bin/env bash
# Installs the real servers and tools the integration test bed (internal/testbed) runs on loopback:
# Prosody (XMPP), Kamailio with TLS (SIP), sipp, go-sendxmpp and baresip, all from Debian packages
# (and openssl, the DTLS peer of plugins/sip/callmedia's interop test; prometheus for promtool,
# Prometheus's own parser of the metrics audit-tls --format openmetrics writes; chromium, the
# headless browser that renders audit-tls --format html in its test: about 23 s to install).
#
# Idempotent and non-interactive: it does nothing when everything is there, runs `apt-get update`
# at most once, and leaves the distro's own prosody/kamailio services stopped and disabled, because
# the test bed starts its own instances on free ports and a system instance would only get in the way.
# Quiet on success (one line per action); exits non-zero with a message on failure.
set -euo pipefail

log() { echo "testbed-install: $*"; }
die() { echo "testbed-install: error: $*" >&2; exit 1; }

PACKAGES=(prosody kamailio kamailio-tls-modules sip-tester go-sendxmpp baresip-core lua-unbound ca-certificates dnsmasq-base openssl prometheus chromium)
# Binaries the test bed calls; a package can be "installed" with a binary missing (e.g. half-removed).
BINARIES=(prosody prosodyctl kamailio sipp go-sendxmpp baresip openssl promtool chromium)

if [[ $(id -u) -ne 0 ]]; then
	SUDO=sudo
	command -v sudo >/dev/null || die "not root and no sudo: run this script as root"
else
	SUDO=
fi

missing=()
for p in "${PACKAGES[@]}"; do
	if [[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true) != installed ]]; then
		missing+=("$p")
	fi
done
for b in "${BINARIES[@]}"; do
	if ! command -v "$b" >/dev/null 2>&1 && [[ ! -x /usr/sbin/$b ]]; then
		missing+=("(binary $b)")
	fi
done

if ((${#missing[@]} > 0)); then
	log "missing: ${missing[*]}"

	# Debian starts services from maintainer scripts through invoke-rc.d, which asks policy-rc.d.
	# Forbid that during our install (exit 101 = action not allowed) unless a policy already exists,
	# and restore the previous state afterwards.
	policy=/usr/sbin/policy-rc.d
	if [[ ! -e $policy ]]; then
		printf '#!/bin/sh\n# temporary, from cusax scripts/testbed/install.sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
		$SUDO chmod 755 "$policy"
		trap '$SUDO rm -f "$policy"' EXIT
	fi

	log "apt-get update"
	if ! out=$($SUDO apt-get update -qq -o DPkg::Lock::Timeout=300 2>&1); then
		echo "$out" >&2
		die "apt-get update failed"
	fi
	log "apt-get install ${PACKAGES[*]}"
	if ! out=$($SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 \
		-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${PACKAGES[@]}" 2>&1); then
		echo "$out" | tail -n 40 >&2
		die "apt-get install failed (see above)"
	fi

	for b in "${BINARIES[@]}"; do
		command -v "$b" >/dev/null 2>&1 || [[ -x /usr/sbin/$b ]] || die "$b still missing after install"
	done
fi

# The test bed needs Kamailio's TLS module; it lives in kamailio-tls-modules.
if ! compgen -G '/usr/lib/*/kamailio/modules/tls.so' >/dev/null && ! compgen -G '/usr/lib/kamailio/modules/tls.so' >/dev/null; then
	die "kamailio tls.so module not found (package kamailio-tls-modules)"
fi

# Make sure no distro instance runs (it may have been started by an install without our policy-rc.d,
# by a boot, or by hand). Only the system service is touched: the test bed's own instances run
# from per-run dirs with their own pid files and are stopped by the bed. Each step reports only
# when it changed something. (Debian's kamailio init script answers "status" with 0 even when not
# running, so the pid file decides, not "service status".)
system_running() {
	local svc=$1 pidf=/run/$1/$1.pid
	if [[ -d /run/systemd/system ]] && systemctl is-active --quiet "$svc" 2>/dev/null; then
		return 0
	fi
	[[ -s $pidf ]] && kill -0 "$(cat "$pidf")" 2>/dev/null
}

for svc in prosody kamailio prometheus; do
	if system_running "$svc"; then
		log "stopping system service $svc"
		$SUDO service "$svc" stop >/dev/null 2>&1 || true
		# bookworm's sysv script for prosody stops "--name lua5.2" while the daemon is lua5.4,
		# so "service prosody stop" misses it: fall back to the pid in the service's pid file.
		if system_running "$svc" && [[ -s /run/$svc/$svc.pid ]]; then
			pid=$(cat "/run/$svc/$svc.pid")
			$SUDO kill -TERM "$pid" 2>/dev/null || true
			for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
			kill -0 "$pid" 2>/dev/null && { $SUDO kill -KILL "$pid" 2>/dev/null || true; sleep 0.2; }
		fi
		system_running "$svc" && die "system service $svc still running after 'service $svc stop'"
	fi
	if [[ -d /run/systemd/system ]]; then
		if systemctl is-enabled --quiet "$svc" 2>/dev/null; then
			log "disabling system service $svc (systemd)"
			$SUDO systemctl disable --quiet "$svc" 2>/dev/null || true
		fi
	elif compgen -G "/etc/rc[2345].d/S*$svc" >/dev/null; then
		log "disabling system service $svc (sysv)"
		$SUDO update-rc.d "$svc" disable >/dev/null 2>&1 || true
	fi
done

exit 0

#!/usr/bin/env bash
# edgeaudit real-peer lab: a Lync/Skype for Business Edge pool behind an nftables "HLB",
# built from network namespaces, served by real Debian programs (coturn, kamailio,
# prosody, openssl, sshd, busybox httpd) and captured with tcpdump at several points.
#
#   lab.sh up [SCENARIO]        build the lab and start the servers, leave it running
#   lab.sh run SCENARIO OUTDIR  build, capture, drive the clients, tear down;
#                               OUTDIR gets <point>.pcap + topology.yaml (+ logs/)
#   lab.sh run all OUTDIR       every scenario, into OUTDIR/<scenario>
#   lab.sh down                 tear everything down (also after a crash)
#   lab.sh scenarios | points   list the scenarios / capture points
#
# Scenarios: compliant, snat-av, asymmetric, unexpected-ports.
# Only 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24 and 172.16.0.0/16 are used, all inside
# the lab's namespaces; no namespace has a route out of the lab.
set -euo pipefail

P=ealab                         # namespace name prefix
STATE=/run/ealab                # pids, logs, pki, configs of the running lab
LOCK=/run/ealab.lock
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NSS=(cli1 cli2 rtr hlb sw e1 e2 irtr fe)
SCENARIOS=(compliant snat-av asymmetric unexpected-ports)
# capture point -> namespace:interface
POINTS=(client1:cli1:eth0 client2:cli2:eth0 hlb-outside:hlb:up0 hlb-inside:hlb:dmz0
	hlb-internal:hlb:int0 edge1:e1:ext0 edge2:e2:ext0 frontend:fe:eth0)

# addresses (must match topology.yaml)
VIP_ACCESS=198.51.100.100 VIP_WEBCONF=198.51.100.101 VIP_AV=198.51.100.102 VIP_INT=172.16.0.100
HLB_EXT=198.51.100.250 HLB_INT=172.16.0.250
CLI1=203.0.113.10 CLI2=203.0.113.20 FE=172.16.1.10
HLB_SEED=0x5  # jhash seed: with it 203.0.113.10 -> edge1 and 203.0.113.20 -> edge2

TURN_USER=lab TURN_PASS=labpass REALM=lab.example
SCENARIO=""
LANES=() # client lanes (subshells) of a run in progress

log() { printf '[lab %s] %s\n' "$(date +%T)" "$*" >&2; }
die() {
	log "ERROR: $*"
	exit 1
}
ipn() { # ip -n is much cheaper than ip netns exec
	local n=$1
	shift
	ip -n "$P-$n" "$@"
}
nsx() {
	local n=$1
	shift
	ip netns exec "$P-$n" "$@"
}

# ---------------------------------------------------------------------------------------
# teardown: every process we started (by pid), then the namespaces (which removes every
# veth and bridge with them), then the state directory.
# ---------------------------------------------------------------------------------------
is_ours() { # pid: true if it lives in one of the lab's namespaces (pid files may be stale)
	local pid=$1 ino n
	ino=$(stat -L -c %i "/proc/$pid/ns/net" 2>/dev/null) || return 1
	for n in "${NSS[@]}"; do
		[ "$ino" = "$(stat -L -c %i "/run/netns/$P-$n" 2>/dev/null)" ] && return 0
	done
	return 1
}

alive() { # pid: running (a zombie is not)
	local st
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}

stop_pid() { # pid signal: send, then wait up to ~3 s, then SIGKILL
	local pid=$1 sig=$2 i
	alive "$pid" || return 0
	kill -"$sig" "$pid" 2>/dev/null || return 0
	for i in $(seq 1 30); do
		alive "$pid" || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
}

teardown() {
	local errexit=0
	case $- in *e*) errexit=1 ;; esac
	set +e
	local pid name n p
	for pid in "${LANES[@]}"; do kill -TERM "$pid" 2>/dev/null; done
	if [ -f "$STATE/pids" ]; then
		# captures first and gently (SIGINT flushes the pcap), then the servers
		while read -r pid name; do
			case $name in cap-*) is_ours "$pid" && stop_pid "$pid" INT ;; esac
		done <"$STATE/pids"
		while read -r pid name; do
			is_ours "$pid" && kill -TERM "$pid" 2>/dev/null
		done <"$STATE/pids"
		while read -r pid name; do
			is_ours "$pid" && stop_pid "$pid" TERM
		done <"$STATE/pids"
	fi
	for n in "${NSS[@]}"; do
		if [ -e "/run/netns/$P-$n" ]; then
			# anything still running in a lab namespace was started by the lab (server
			# children, clients of an interrupted run); kill it by pid.
			for p in $(ip netns pids "$P-$n" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
			ip netns del "$P-$n" 2>/dev/null
		fi
		rm -rf "/etc/netns/$P-$n"
	done
	rmdir /etc/netns 2>/dev/null
	rm -rf "$STATE"
	# reap our own children (no zombies left behind by `run`)
	wait 2>/dev/null
	[ $errexit = 1 ] && set -e
	return 0
}

# ---------------------------------------------------------------------------------------
# namespaces and links
# ---------------------------------------------------------------------------------------
mkns() {
	local n=$1
	ip netns add "$P-$n"
	# IPv6 off before any link exists: no router solicitations or MLD in the captures.
	nsx "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
	ipn "$n" link set lo up
	# programs that resolve names (ssh, kamailio) must not ask the host's resolver
	mkdir -p "/etc/netns/$P-$n"
	printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"/etc/netns/$P-$n/resolv.conf"
	printf '127.0.0.1 localhost\n198.51.100.100 sip.lab.example lab.example\n198.51.100.101 webcon.lab.example\n198.51.100.102 av.lab.example\n' >"/etc/netns/$P-$n/hosts"
}

# link NS1 IF1 MAC1 NS2 IF2 MAC2: a veth pair, created directly in the two namespaces
link() {
	ip link add "$2" netns "$P-$1" address "$3" type veth peer name "$5" netns "$P-$4" address "$6"
	# no multicast: no IGMP reports in the captures (the lab needs only unicast and ARP)
	ipn "$1" link set "$2" multicast off
	ipn "$4" link set "$5" multicast off
	ipn "$1" link set "$2" up
	ipn "$4" link set "$5" up
}

bridge_port() { # NS BRIDGE IF
	ipn "$1" link set "$3" master "$2"
}

build() {
	local sc=$1
	log "building namespaces ($sc)"
	local n
	for n in "${NSS[@]}"; do mkns "$n"; done
	for n in rtr hlb irtr; do nsx "$n" sysctl -qw net.ipv4.ip_forward=1; done

	# Internet: two clients on a bridge inside the Internet router
	ipn rtr link add brc type bridge
	ipn rtr link set brc address 02:ea:00:00:00:01
	ipn rtr link set brc multicast off up
	link cli1 eth0 02:ea:00:00:c1:01 rtr c1 02:ea:00:00:00:11
	link cli2 eth0 02:ea:00:00:c2:01 rtr c2 02:ea:00:00:00:12
	bridge_port rtr brc c1
	bridge_port rtr brc c2
	ipn rtr addr add 203.0.113.1/24 dev brc
	ipn cli1 addr add $CLI1/24 dev eth0
	ipn cli2 addr add $CLI2/24 dev eth0
	ipn cli1 route add default via 203.0.113.1
	ipn cli2 route add default via 203.0.113.1

	# Internet router <-> HLB outside leg
	link rtr up0 02:ea:00:00:00:21 hlb up0 02:ea:00:00:01:01
	ipn rtr addr add 192.0.2.1/24 dev up0
	ipn hlb addr add 192.0.2.2/24 dev up0

	# DMZ switch (HLB inside leg, Edge external interfaces) and internal switch
	ipn sw link add dmzbr type bridge
	ipn sw link add intbr type bridge
	ipn sw link set dmzbr multicast off up
	ipn sw link set intbr multicast off up
	link hlb dmz0 02:ea:00:00:01:02 sw d-hlb 02:ea:00:00:0d:01
	link hlb int0 02:ea:00:00:01:03 sw i-hlb 02:ea:00:00:0e:01
	link e1 ext0 02:ea:00:00:11:01 sw d-e1 02:ea:00:00:0d:11
	link e1 int0 02:ea:00:00:11:02 sw i-e1 02:ea:00:00:0e:11
	link e2 ext0 02:ea:00:00:21:01 sw d-e2 02:ea:00:00:0d:21
	link e2 int0 02:ea:00:00:21:02 sw i-e2 02:ea:00:00:0e:21
	link irtr int0 02:ea:00:00:31:01 sw i-irtr 02:ea:00:00:0e:31
	for n in d-hlb d-e1 d-e2; do bridge_port sw dmzbr "$n"; done
	for n in i-hlb i-e1 i-e2 i-irtr; do bridge_port sw intbr "$n"; done

	# HLB addresses: self IPs + VIPs (the VIPs answer ARP, the Edges use the Access VIP
	# as their default gateway, as Microsoft asks)
	ipn hlb addr add $HLB_EXT/24 dev dmz0
	ipn hlb addr add $VIP_ACCESS/32 dev dmz0
	ipn hlb addr add $VIP_WEBCONF/32 dev dmz0
	ipn hlb addr add $VIP_AV/32 dev dmz0
	ipn hlb addr add $HLB_INT/24 dev int0
	ipn hlb addr add $VIP_INT/32 dev int0
	ipn hlb route add 203.0.113.0/24 via 192.0.2.1
	ipn hlb route add 172.16.1.0/24 via 172.16.0.1

	# Edge nodes: three external addresses, one internal; persistent internal route
	local i
	for i in 1 2; do
		ipn e$i addr add 198.51.100.${i}1/24 dev ext0
		ipn e$i addr add 198.51.100.${i}2/24 dev ext0
		ipn e$i addr add 198.51.100.${i}3/24 dev ext0
		ipn e$i addr add 172.16.0.${i}1/24 dev int0
		ipn e$i route add 172.16.1.0/24 via 172.16.0.1
	done

	# internal router and Front End
	link irtr fe0 02:ea:00:00:31:02 fe eth0 02:ea:00:00:41:01
	ipn irtr addr add 172.16.0.1/24 dev int0
	ipn irtr addr add 172.16.1.1/24 dev fe0
	ipn fe addr add $FE/24 dev eth0
	ipn fe route add default via 172.16.1.1

	if [ "$sc" = asymmetric ]; then
		# The Internet router also sits on the DMZ, and the Edges' default route goes to it:
		# answers to VIP traffic bypass the HLB (the classic wrong-gateway fault).
		link rtr dmz0 02:ea:00:00:00:31 sw d-rtr 02:ea:00:00:0d:31
		bridge_port sw dmzbr d-rtr
		ipn rtr addr add 198.51.100.1/24 dev dmz0
		for n in $VIP_ACCESS $VIP_WEBCONF $VIP_AV $HLB_EXT; do
			ipn rtr route add $n/32 via 192.0.2.2
		done
		ipn e1 route add default via 198.51.100.1
		ipn e2 route add default via 198.51.100.1
	else
		ipn rtr route add 198.51.100.0/24 via 192.0.2.2
		ipn e1 route add default via $VIP_ACCESS
		ipn e2 route add default via $VIP_ACCESS
	fi
	hlb_rules "$sc"
}

# The load balancer: DNAT with source affinity (jhash of the client address), SNAT for the
# Access and Web Conferencing VIPs (HLB-01), and per scenario for A/V too (HLB-02 fault) or
# for nothing (asymmetric: a transparent HLB, which needs to be the Edges' gateway).
hlb_rules() {
	local sc=$1 snat_ext snat_av
	case $sc in
	compliant | unexpected-ports) snat_ext=1 snat_av=0 ;;
	snat-av) snat_ext=1 snat_av=1 ;;
	asymmetric) snat_ext=0 snat_av=0 ;;
	*) die "unknown scenario $sc" ;;
	esac
	local aff="jhash ip saddr mod 2 seed $HLB_SEED"
	{
		echo "table ip hlb {"
		echo "  chain pre {"
		echo "    type nat hook prerouting priority dstnat; policy accept;"
		echo "    ip daddr $VIP_ACCESS tcp dport { 443, 5061, 5269 } dnat to $aff map { 0 : 198.51.100.11, 1 : 198.51.100.21 }"
		echo "    ip daddr $VIP_WEBCONF tcp dport 443 dnat to $aff map { 0 : 198.51.100.12, 1 : 198.51.100.22 }"
		echo "    ip daddr $VIP_AV udp dport 3478 dnat to $aff map { 0 : 198.51.100.13, 1 : 198.51.100.23 }"
		echo "    ip daddr $VIP_AV tcp dport 443 dnat to $aff map { 0 : 198.51.100.13, 1 : 198.51.100.23 }"
		echo "    ip daddr $VIP_INT tcp dport { 5061, 5062, 443 } dnat to $aff map { 0 : 172.16.0.11, 1 : 172.16.0.21 }"
		echo "    ip daddr $VIP_INT udp dport 3478 dnat to $aff map { 0 : 172.16.0.11, 1 : 172.16.0.21 }"
		echo "  }"
		echo "  chain post {"
		echo "    type nat hook postrouting priority srcnat; policy accept;"
		if [ $snat_ext = 1 ]; then
			echo "    ct original ip daddr { $VIP_ACCESS, $VIP_WEBCONF } snat to $HLB_EXT"
		fi
		if [ $snat_av = 1 ]; then
			echo "    ct original ip daddr $VIP_AV snat to $HLB_EXT"
		fi
		# internal VIP: SIP via the pool's internal VIP is SNATed (Access, HLB-01)
		echo "    ct original ip daddr $VIP_INT tcp dport { 5061, 5062 } snat to $HLB_INT"
		echo "  }"
		echo "}"
	} >"$STATE/hlb.nft"
	nsx hlb nft -f "$STATE/hlb.nft"
}

# ---------------------------------------------------------------------------------------
# PKI generated at run time (lab CA, Edge external cert, Edge internal cert, client cert)
# ---------------------------------------------------------------------------------------
pki() {
	local d=$STATE/pki
	mkdir -p "$d"
	(
		cd "$d"
		ec="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
		# shellcheck disable=SC2086
		openssl req -x509 $ec -keyout ca.key -out ca.pem -days 2 -subj "/CN=edgeaudit lab CA" \
			-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
		mk() { # name subject san
			# shellcheck disable=SC2086
			openssl req -new $ec -keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
			if [ -n "$3" ]; then printf 'subjectAltName=%s\n' "$3" >"$1.ext"; else : >"$1.ext"; fi
			openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
				-extfile "$1.ext" -out "$1.pem" 2>/dev/null
		}
		mk edge-ext "/CN=sip.lab.example" \
			"DNS:sip.lab.example,DNS:webcon.lab.example,DNS:av.lab.example,DNS:lab.example,DNS:xmpp.lab.example"
		mk edge-int "/CN=edgepool.lab.internal" ""
		mk client "/CN=fe01.lab.internal" ""
		mk partner "/CN=sip.partner.example" "DNS:sip.partner.example"
	)
}

# ---------------------------------------------------------------------------------------
# servers
# ---------------------------------------------------------------------------------------
bg() { # bg NAME NS CMD...: start in the background inside NS, record the pid
	local name=$1 n=$2
	shift 2
	ip netns exec "$P-$n" "$@" </dev/null >"$STATE/log/$name.log" 2>&1 9>&- &
	echo "$! $name" >>"$STATE/pids"
}

wait_listen() { # NS PROTO(t|u) ADDR:PORT : up to 30 s (a loaded CI machine is slow)
	local i
	for i in $(seq 1 300); do
		if nsx "$1" ss -Hln"$2" "src $3" 2>/dev/null | grep -q .; then return 0; fi
		sleep 0.1
	done
	die "nothing listens on $3 ($2) in $1; see $STATE/log"
}

turn() { # NAME NS PORT MINPORT MAXPORT LISTEN-IPs...
	local name=$1 n=$2 port=$3 lo=$4 hi=$5
	shift 5
	local args=() ip
	for ip in "$@"; do args+=(-L "$ip"); done
	bg "$name" "$n" turnserver -n "${args[@]}" -E "$1" --listening-port "$port" \
		--min-port "$lo" --max-port "$hi" --no-tls --no-dtls --lt-cred-mech \
		--user "$TURN_USER:$TURN_PASS" --realm "$REALM" --server-name "av.$REALM" \
		--no-cli --no-rfc5780 \
		--userdb "$STATE/$name.db" --pidfile "$STATE/$name.pid" \
		--log-file stdout --simple-log
}

kamailio_cfg() { # N -> config files for edge N
	local i=$1 d=$STATE/kam$i
	mkdir -p "$d"
	cat >"$d/tls.cfg" <<EOF
[server:default]
method = TLSv1.2+
certificate = $STATE/pki/edge-ext.pem
private_key = $STATE/pki/edge-ext.key
verify_certificate = no
require_certificate = no

[server:198.51.100.${i}1:5061]
method = TLSv1.2+
certificate = $STATE/pki/edge-ext.pem
private_key = $STATE/pki/edge-ext.key
ca_list = $STATE/pki/ca.pem
verify_certificate = yes
require_certificate = yes

[server:172.16.0.${i}1:5061]
method = TLSv1.2+
certificate = $STATE/pki/edge-int.pem
private_key = $STATE/pki/edge-int.key
ca_list = $STATE/pki/ca.pem
verify_certificate = yes
require_certificate = yes
EOF
	local mp
	mp=$(dirname "$(dpkg -L kamailio-tls-modules 2>/dev/null | grep '/tls\.so$' | head -1)")
	cat >"$d/kamailio.cfg" <<EOF
#!KAMAILIO
debug=1
log_stderror=yes
fork=yes
children=1
tcp_children=2
auto_aliases=no
dns=no
rev_dns=no
disable_tcp=no
enable_tls=yes
listen=tls:198.51.100.${i}1:443
listen=tls:198.51.100.${i}1:5061
listen=tls:172.16.0.${i}1:5061
alias=sip.lab.example
mpath="$mp/"
loadmodule "tls.so"
loadmodule "sl.so"
modparam("tls", "config", "$d/tls.cfg")
request_route {
	if (method=="ACK") { exit; }
	sl_send_reply("200", "OK");
	exit;
}
EOF
}

prosody_cfg() { # N
	local i=$1 d=$STATE/prosody$i
	mkdir -p "$d/data"
	cat >"$d/prosody.cfg.lua" <<EOF
run_as_root = true
pidfile = "$d/prosody.pid"
data_path = "$d/data"
plugin_paths = {}
modules_enabled = { "tls", "dialback", "disco" }
modules_disabled = { "s2s_bidi", "posix", "c2s", "offline", "pep", "register", "admin_shell" }
interfaces = { "198.51.100.${i}1" }
s2s_interfaces = { "198.51.100.${i}1" }
s2s_ports = { 5269 }
c2s_ports = { }
c2s_direct_tls_ports = { }
s2s_direct_tls_ports = { }
http_ports = { }
https_ports = { }
s2s_require_encryption = true
s2s_secure_auth = false
certificates = "$d/certs"
ssl = { certificate = "$STATE/pki/edge-ext.pem", key = "$STATE/pki/edge-ext.key" }
log = { { levels = { min = "info" }, to = "console" } }
VirtualHost "lab.example"
EOF
	mkdir -p "$d/certs"
}

sserver() { # NAME NS ADDR:PORT [extra s_server args]: a TLS server that stays up
	local name=$1 n=$2 acc=$3
	shift 3
	# stdin is a FIFO opened read-write: never EOF (an EOF on stdin stops s_server)
	mkfifo "$STATE/$name.in"
	ip netns exec "$P-$n" openssl s_server -accept "$acc" -cert "$STATE/pki/$CERT.pem" \
		-key "$STATE/pki/$CERT.key" -CAfile "$STATE/pki/ca.pem" "$@" \
		0<>"$STATE/$name.in" >"$STATE/log/$name.log" 2>&1 9>&- &
	echo "$! $name" >>"$STATE/pids"
}

start_servers() {
	local sc=$1 i
	log "starting servers"
	for i in 1 2; do
		local A=198.51.100.${i}1 W=198.51.100.${i}2 V=198.51.100.${i}3 I=172.16.0.${i}1
		# A/V Edge: coturn on UDP+TCP 3478 and on TCP 443 of the A/V and internal addresses
		turn "turn$i-3478" e$i 3478 50000 54999 "$V" "$I"
		turn "turn$i-443" e$i 443 55000 58999 "$V" "$I"
		# Access Edge: kamailio SIP over TLS 443, mutual TLS 5061 (external and internal)
		kamailio_cfg $i
		bg "kamailio$i" e$i kamailio -f "$STATE/kam$i/kamailio.cfg" -DD -E -m 32 -M 8 \
			-Y "$STATE/kam$i" -P "$STATE/kam$i/kamailio.pid"
		# XMPP proxy 5269 on the Access address: prosody with STARTTLS
		prosody_cfg $i
		bg "prosody$i" e$i prosody -F --config "$STATE/prosody$i/prosody.cfg.lua"
		# Web Conferencing 443 (TLS, PSOM stand-in); internal 8057 (MTLS), 4443 (HTTPS), 50001 (MTLS)
		CERT=edge-ext sserver "webconf$i" e$i "$W:443" -naccept 1000
		CERT=edge-int sserver "psom$i" e$i "$I:8057" -Verify 2 -naccept 1000
		CERT=edge-int sserver "cms$i" e$i "$I:4443" -www -naccept 1000
		CERT=edge-int sserver "cls$i" e$i "$I:50001" -Verify 2 -naccept 1000
	done
	if [ "$sc" = unexpected-ports ]; then
		# things a hardened Edge must not expose
		mkdir -p /run/sshd
		ssh-keygen -q -t ed25519 -N '' -f "$STATE/ssh_host_ed25519_key"
		printf 'ListenAddress 198.51.100.11:22\nHostKey %s\nPidFile %s\nUsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n' \
			"$STATE/ssh_host_ed25519_key" "$STATE/sshd.pid" >"$STATE/sshd_config"
		bg sshd e1 /usr/sbin/sshd -D -e -f "$STATE/sshd_config"
		mkdir -p "$STATE/www"
		echo "edge1 admin page" >"$STATE/www/index.html"
		bg httpd e1 busybox httpd -f -p 198.51.100.12:8080 -h "$STATE/www"
		# a STUN/TURN server on a port the policy does not have
		turn "turn1-3479" e1 3479 59000 59999 198.51.100.13
	fi
	log "waiting for the servers to listen"
	for i in 1 2; do
		wait_listen e$i u "198.51.100.${i}3:3478"
		wait_listen e$i t "198.51.100.${i}3:443"
		wait_listen e$i t "198.51.100.${i}1:443"
		wait_listen e$i t "198.51.100.${i}1:5061"
		wait_listen e$i t "172.16.0.${i}1:5061"
		wait_listen e$i t "198.51.100.${i}1:5269"
		wait_listen e$i t "198.51.100.${i}2:443"
		wait_listen e$i t "172.16.0.${i}1:8057"
		wait_listen e$i t "172.16.0.${i}1:4443"
		wait_listen e$i t "172.16.0.${i}1:50001"
	done
	if [ "$sc" = unexpected-ports ]; then
		wait_listen e1 t 198.51.100.11:22
		wait_listen e1 t 198.51.100.12:8080
		wait_listen e1 u 198.51.100.13:3479
	fi
}

# ---------------------------------------------------------------------------------------
# captures
# ---------------------------------------------------------------------------------------
start_captures() {
	local out=$1 p name n ifc i
	log "starting captures"
	for p in "${POINTS[@]}"; do
		IFS=: read -r name n ifc <<<"$p"
		bg "cap-$name" "$n" tcpdump -i "$ifc" -n -s 0 -U -w "$out/$name.pcap"
	done
	for p in "${POINTS[@]}"; do
		IFS=: read -r name n ifc <<<"$p"
		for i in $(seq 1 300); do
			grep -q 'listening on' "$STATE/log/cap-$name.log" 2>/dev/null && break
			sleep 0.05
		done
		grep -q 'listening on' "$STATE/log/cap-$name.log" || die "tcpdump at $name did not start"
	done
}

stop_captures() {
	local pid name
	log "stopping captures"
	sleep 0.5 # let the last answers and FINs arrive
	while read -r pid name; do
		case $name in cap-*)
			kill -INT "$pid" 2>/dev/null || true
			wait "$pid" 2>/dev/null || true
			;;
		esac
	done <"$STATE/pids"
}

# ---------------------------------------------------------------------------------------
# clients: every client under timeout(1), every loop bounded
# ---------------------------------------------------------------------------------------
C() { # C NS SECONDS CMD...: run a client, never fail the run (faults are the point)
	local n=$1 t=$2
	shift 2
	[ -e "$STATE/pids" ] || return 0 # torn down (interrupted): stop quietly
	timeout -k 1 "$t" ip netns exec "$P-$n" "$@" >>"$STATE/log/clients-$n.log" 2>&1 || true
}

sip_msg() { # METHOD FROM-IP -> a SIP request (text inside the TLS session)
	local m=$1 ip=$2 tag=$RANDOM$RANDOM
	printf '%s sip:lab.example SIP/2.0\r\nVia: SIP/2.0/TLS %s:5061;branch=z9hG4bK%s\r\nMax-Forwards: 70\r\nFrom: <sip:user@lab.example>;tag=%s\r\nTo: <sip:user@lab.example>\r\nCall-ID: %s@%s\r\nCSeq: 1 %s\r\nContact: <sip:user@%s;transport=tls>\r\nContent-Length: 0\r\n\r\n' \
		"$m" "$ip" "$tag" "$tag" "$tag" "$ip" "$m" "$ip"
}

tls_client() { # NS SECONDS PAYLOAD-CMD -- s_client args...: send, wait for answer, close
	local n=$1 t=$2 payload=$3
	shift 4
	# the payload then a short pause keeps stdin open long enough to read the answer;
	# stdin EOF then makes s_client close the session (no -quiet, so no ign_eof)
	{
		eval "$payload"
		sleep 1
	} | C "$n" "$t" openssl s_client -brief -nocommands -tls1_2 -CAfile "$STATE/pki/ca.pem" "$@"
}

internet_client() { # NS IP AV-REAL: three lanes in parallel, each one bounded
	local n=$1 ip=$2 av_real=$3 pki=$STATE/pki
	{
		# A/V over UDP: classic STUN (stun-client), RFC 5389 Binding, TURN allocation.
		# The classic client repeats its test from the same port to the CHANGED-ADDRESS
		# (the real A/V address). After a request to the VIP from that port, the HLB's
		# conntrack already holds the same inside tuple and port-translates the second
		# request (nf_nat clash resolution): real NAT on A/V, which edgeaudit rightly
		# reports. So it asks the node's real A/V address directly (EXT-N-09), and the VIP
		# only where A/V is SNATed anyway.
		if [ "$SCENARIO" = snat-av ]; then
			C "$n" 4 stun $VIP_AV
		else
			C "$n" 4 stun "$av_real"
		fi
		C "$n" 4 turnutils_stunclient -p 3478 $VIP_AV
		C "$n" 8 turnutils_uclient -u $TURN_USER -w $TURN_PASS -y -n 5 -m 1 -l 120 -z 20 -p 3478 $VIP_AV
	} &
	{
		# A/V over TCP 443: TURN allocation
		C "$n" 8 turnutils_uclient -t -u $TURN_USER -w $TURN_PASS -y -n 5 -m 1 -l 120 -z 20 -p 443 $VIP_AV
	} &
	{
		# Access: SIP over TLS 443 (REGISTER), SIP over MTLS 5061 (federation OPTIONS)
		tls_client "$n" 4 "sip_msg REGISTER $ip" -- -connect $VIP_ACCESS:443 -servername sip.lab.example
		tls_client "$n" 4 "sip_msg OPTIONS $ip" -- -connect $VIP_ACCESS:5061 -servername sip.lab.example \
			-cert "$pki/partner.pem" -key "$pki/partner.key"
		# XMPP federation 5269 with STARTTLS against prosody
		tls_client "$n" 4 "true" -- -connect $VIP_ACCESS:5269 -starttls xmpp-server -xmpphost lab.example
		# Web Conferencing 443 (opaque TLS application data, as PSOM is)
		tls_client "$n" 4 "printf 'PSOM lab hello %s\n' $ip" -- -connect $VIP_WEBCONF:443 -servername webcon.lab.example
	} &
	wait
}

frontend_edge() { # N: the Front End toward one Edge's internal address
	local pki=$STATE/pki I=172.16.0.${1}1
	C fe 4 turnutils_stunclient -p 3478 "$I"
	tls_client fe 4 "printf 'PSOM internal\n'" -- -connect "$I:8057" -cert "$pki/client.pem" -key "$pki/client.key"
	tls_client fe 4 "printf 'GET / HTTP/1.0\r\n\r\n'" -- -connect "$I:4443"
	tls_client fe 4 "printf 'CLS agent hello\n'" -- -connect "$I:50001" -cert "$pki/client.pem" -key "$pki/client.key"
}

frontend_client() {
	local pki=$STATE/pki
	frontend_edge 1 &
	frontend_edge 2 &
	# SIP from the pool to the Edge through the internal VIP (mutual TLS)
	tls_client fe 4 "sip_msg OPTIONS $FE" -- -connect $VIP_INT:5061 -cert "$pki/client.pem" -key "$pki/client.key"
	wait
}

unexpected_client() {
	# sshd on the Access address, a web server on the Web Conferencing address, STUN on 3479
	C cli1 5 ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o ConnectTimeout=4 -o LogLevel=ERROR -F /dev/null admin@198.51.100.11 true
	C cli1 4 busybox wget -q -O - http://198.51.100.12:8080/
	C cli1 4 turnutils_stunclient -p 3479 198.51.100.13
}

drive() {
	local sc=$1
	log "driving clients"
	# wait for these lanes only: a bare `wait` here would wait for the servers too
	internet_client cli1 $CLI1 198.51.100.13 &
	LANES+=($!)
	internet_client cli2 $CLI2 198.51.100.23 &
	LANES+=($!)
	frontend_client &
	LANES+=($!)
	if [ "$sc" = unexpected-ports ]; then
		unexpected_client &
		LANES+=($!)
	fi
	wait "${LANES[@]}" || true
	LANES=()
}

save_logs() { # OUTDIR: server and client logs, the HLB ruleset (also after a failure)
	mkdir -p "$1/logs"
	cp "$STATE"/log/*.log "$1/logs/" 2>/dev/null || true
	cp "$STATE/hlb.nft" "$1/logs/" 2>/dev/null || true
}

write_topology() { cp "$HERE/topology.yaml" "$1/topology.yaml"; }

check_scenario() {
	local s
	for s in "${SCENARIOS[@]}"; do [ "$s" = "$1" ] && return 0; done
	die "unknown scenario '$1' (one of: ${SCENARIOS[*]})"
}

prepare() {
	[ "$(id -u)" -eq 0 ] || die "must run as root"
	local b
	for b in ip nft tcpdump turnserver turnutils_uclient turnutils_stunclient stun openssl \
		kamailio prosody timeout; do
		command -v "$b" >/dev/null || die "missing $b (run samples/lab/install.sh)"
	done
	exec 9>"$LOCK"
	flock -w 30 9 || die "another lab is running"
	teardown # leftovers of a crashed run
	mkdir -p "$STATE/log"
	: >"$STATE/pids"
}

cmd=${1:-}
case $cmd in
up)
	SCENARIO=${2:-compliant}
	check_scenario "$SCENARIO"
	prepare
	trap 'teardown; exit 1' ERR INT TERM
	build "$SCENARIO"
	pki
	start_servers "$SCENARIO"
	trap - ERR INT TERM
	log "lab up ($SCENARIO); namespaces: $(ip netns list | grep -c "^$P-") ; 'lab.sh down' to stop"
	;;
run)
	[ $# -eq 3 ] || die "usage: lab.sh run SCENARIO|all OUTDIR"
	if [ "$2" = all ]; then
		for s in "${SCENARIOS[@]}"; do "$0" run "$s" "$3/$s"; done
		exit 0
	fi
	SCENARIO=$2
	OUT=$3
	check_scenario "$SCENARIO"
	mkdir -p "$OUT"
	OUT=$(cd "$OUT" && pwd)
	prepare
	trap 'rc=$?; save_logs "$OUT"; teardown; exit $rc' EXIT
	trap 'exit 130' INT TERM
	t0=$(date +%s)
	build "$SCENARIO"
	pki
	start_servers "$SCENARIO"
	start_captures "$OUT"
	sleep 0.3
	drive "$SCENARIO"
	stop_captures
	write_topology "$OUT"
	log "scenario $SCENARIO done in $(($(date +%s) - t0)) s; captures in $OUT"
	;;
down)
	exec 9>"$LOCK"
	flock -w 30 9 || die "lab busy"
	teardown
	;;
scenarios) printf '%s\n' "${SCENARIOS[@]}" ;;
points) printf '%s\n' "${POINTS[@]%%:*}" ;;
*)
	echo "usage: lab.sh up [SCENARIO] | run SCENARIO|all OUTDIR | down | scenarios | points" >&2
	exit 2
	;;
esac

#!/usr/bin/env bash
# natpunch demo: two WireGuard peers, each behind its own NAT, find each other through a natpunch
# rendezvous server and talk directly. Everything runs in network namespaces on this machine; the
# root namespace is not changed. See examples/README.md for the picture.
#
#   sudo examples/demo.sh              the full demo (builds natpunch if needed)
#   sudo examples/demo.sh --lab-only   everything but natpunch: the endpoints are set by hand,
#                                      as the natpunch client would set them
set -euo pipefail

readonly PORT=3478          # natpunch server port
readonly WG_PORT=51820      # WireGuard listen port of both peers
readonly SERVER_IP=198.18.0.2
readonly NAT1_IP=198.18.0.11
readonly NAT2_IP=198.18.0.12
readonly ALICE_TUN=100.127.0.1
readonly BOB_TUN=100.127.0.2
# Our PID in every name: several demos can run at once, and leftovers of a killed one are
# recognisable (their PID is gone). WireGuard interface names must be unique machine-wide
# because wireguard-go's control sockets live in /var/run/wireguard.
readonly ID=$$
readonly NS_INET=npd-$ID-inet NS_SERVER=npd-$ID-server NS_NAT1=npd-$ID-nat1 NS_NAT2=npd-$ID-nat2
readonly NS_ALICE=npd-$ID-alice NS_BOB=npd-$ID-bob
readonly WG_ALICE=npd${ID}a WG_BOB=npd${ID}b

LAB_ONLY=0
case "${1:-}" in
  --lab-only) LAB_ONLY=1 ;;
  "") ;;
  -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
  *) echo "unknown option: $1 (try --help)" >&2; exit 2 ;;
esac

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly REPO
readonly JAR=$REPO/natpunch-cli/target/natpunch.jar
WORK=$(mktemp -d /tmp/npd-demo.XXXXXX)
readonly WORK
BG_PIDS=()

say()  { printf '\n\033[1;34m==> %s\033[0m\n' "$*"; }
note() { printf '    %s\n' "$*"; }
die()  { printf '\n\033[1;31mdemo failed: %s\033[0m\n' "$*" >&2; exit 1; }
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# --------------------------------------------------------------------------- teardown
remove_namespaces_of() {
  local id=$1 ns pid
  for ns in $(ip netns list | awk '{print $1}' | grep "^npd-$id-" || true); do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
  rm -f /var/run/wireguard/npd"$id"[ab].sock
}

CLEANING=0
cleanup() {
  local rc=$?
  # a second Ctrl-C must not interrupt the teardown half-way
  trap '' INT TERM
  [[ $CLEANING -eq 0 ]] || return 0
  CLEANING=1
  say "Tearing down: stopping processes, deleting namespaces and WireGuard sockets"
  local pid
  for pid in "${BG_PIDS[@]}"; do
    kill -TERM -- "-$pid" 2>/dev/null || true
  done
  sleep 0.5
  for pid in "${BG_PIDS[@]}"; do
    kill -KILL -- "-$pid" 2>/dev/null || true
  done
  remove_namespaces_of "$ID"
  rm -rf "$WORK"
  if ip netns list | grep -q "^npd-$ID-"; then
    note "some namespaces could not be deleted: $(ip netns list | grep "^npd-$ID-" | tr '\n' ' ')"
  else
    note "nothing left behind"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Starts "$@" in its own process group (so cleanup can kill it with its children), output to $log.
start_bg() {
  local log=$1; shift
  setsid "$@" >"$log" 2>&1 </dev/null &
  BG_PIDS+=("$!")
}

# --------------------------------------------------------------------------- 1. tools
[[ $(id -u) -eq 0 ]] || { echo "run me as root: namespaces, nftables and WireGuard need it" >&2; exit 1; }

say "Checking tools (installing only what is missing)"
missing=()
need() { command -v "$1" >/dev/null 2>&1 || missing+=("$2"); }
need ip iproute2
need nft nftables
need wg wireguard-tools
need wireguard-go wireguard-go
need ping iputils-ping
need setsid util-linux
java_ok() { command -v java >/dev/null 2>&1 && [[ $(java -XshowSettings:properties -version 2>&1 | awk -F' = ' '/java.specification.version/ {print $2}' | cut -d. -f1) -ge 17 ]]; }
if [[ $LAB_ONLY -eq 0 ]]; then
  java_ok || missing+=(openjdk-17-jdk-headless)
  [[ -f $JAR ]] || command -v mvn >/dev/null 2>&1 || missing+=(maven)
fi
if [[ ${#missing[@]} -gt 0 ]]; then
  note "installing: ${missing[*]}"
  command -v apt-get >/dev/null || die "no apt-get: install ${missing[*]} yourself"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  note "all present"
fi

# Leftovers of demos that were killed too hard to clean up (their PID no longer exists).
for stale in $(ip netns list | awk '{print $1}' | sed -n 's/^npd-\([0-9]*\)-.*/\1/p' | sort -u); do
  kill -0 "$stale" 2>/dev/null || { note "removing leftovers of demo $stale"; remove_namespaces_of "$stale"; }
done

# --------------------------------------------------------------------------- 2. build
if [[ $LAB_ONLY -eq 0 && ! -f $JAR ]]; then
  say "Building natpunch (mvn package of the CLI, tests skipped): $JAR is missing"
  build() { (cd "$REPO" && mvn -B -q -Dstyle.color=never -DskipTests -pl natpunch-cli -am "$@" package); }
  # Offline first: quick and quiet when ~/.m2 already holds every plugin and library; a first
  # build on a fresh machine downloads them from Maven Central instead.
  if ! build -o >"$WORK/build-offline.log" 2>&1; then
    note "not everything is in ~/.m2 yet: building online (downloads from Maven Central)"
    # Maven 3.8 leaves stray colour resets even with -B; errors still show in full
    build 2>&1 | sed 's/\x1b\[0m//g'
  fi
  [[ -f $JAR ]] || die "the build did not produce $JAR"
fi

# --------------------------------------------------------------------------- 3. the little internet
say "Building a little internet out of network namespaces"
note "$NS_INET: a bridge standing for the internet, 198.18.0.0/24 (a range reserved for tests)"
ip netns add "$NS_INET"
ip -n "$NS_INET" link set lo up
ip -n "$NS_INET" link add br0 type bridge
ip -n "$NS_INET" link set br0 up

port_no=0
# attach_to_internet NS IFNAME ADDRESS: a veth from the bridge into NS, named IFNAME there.
attach_to_internet() {
  local ns=$1 ifname=$2 addr=$3 port=p$port_no
  port_no=$((port_no + 1))
  ip -n "$NS_INET" link add "$port" type veth peer name "$ifname" netns "$ns"
  ip -n "$NS_INET" link set "$port" master br0 up
  ip -n "$ns" addr add "$addr/24" dev "$ifname"
  ip -n "$ns" link set "$ifname" up
}

note "$NS_SERVER: a public server at $SERVER_IP, where the natpunch server will run"
ip netns add "$NS_SERVER"
ip -n "$NS_SERVER" link set lo up
attach_to_internet "$NS_SERVER" eth0 "$SERVER_IP"

# make_nat NS PUBLIC_IP N: a home router, wan on the internet, LAN 100.64.N.0/24 behind it.
make_nat() {
  local ns=$1 pub=$2 n=$3
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  attach_to_internet "$ns" wan "$pub"
  ip -n "$ns" link add lan type bridge
  ip -n "$ns" addr add "100.64.$n.1/24" dev lan
  ip -n "$ns" link set lan up
  in_ns "$ns" sysctl -qw net.ipv4.ip_forward=1
  # masquerade: everything leaving wan gets the public address; Linux keeps the private source
  # port when it can and reuses one mapping for all destinations (an "endpoint-independent"
  # NAT, the kind hole punching works through). Unsolicited packets from the internet are
  # dropped, as a home router does.
  in_ns "$ns" nft -f - <<EOF
table ip npd_nat {
  chain postrouting { type nat hook postrouting priority srcnat; policy accept;
    oifname "wan" masquerade
  }
}
table ip npd_fw {
  chain input { type filter hook input priority filter; policy accept;
    iifname "wan" ct state != { established, related } drop
  }
  chain forward { type filter hook forward priority filter; policy accept;
    iifname "wan" ct state != { established, related } drop
  }
}
EOF
}

# make_lan_host NS ROUTER_NS N HOST_OCTET
make_lan_host() {
  local ns=$1 router=$2 n=$3 octet=$4
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip -n "$router" link add "h$octet" type veth peer name eth0 netns "$ns"
  ip -n "$router" link set "h$octet" master lan up
  ip -n "$ns" addr add "100.64.$n.$octet/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" route add default via "100.64.$n.1"
}

note "$NS_NAT1: NAT router, public $NAT1_IP, LAN 100.64.1.0/24 with alice at 100.64.1.2"
make_nat "$NS_NAT1" "$NAT1_IP" 1
make_lan_host "$NS_ALICE" "$NS_NAT1" 1 2
note "$NS_NAT2: NAT router, public $NAT2_IP, LAN 100.64.2.0/24 with bob at 100.64.2.2"
make_nat "$NS_NAT2" "$NAT2_IP" 2
make_lan_host "$NS_BOB" "$NS_NAT2" 2 2

# --------------------------------------------------------------------------- 4. WireGuard
say "Starting WireGuard (wireguard-go) on alice and bob, each knowing the other's key but NOT its address"
# start_wg NS IFNAME TUNNEL_IP: sets WG_PUBKEY (not printed: a $(...) subshell would lose BG_PIDS)
start_wg() {
  local ns=$1 ifname=$2 tun=$3 key
  key=$(wg genkey)
  WG_PROCESS_FOREGROUND=1 start_bg "$WORK/$ifname.log" ip netns exec "$ns" wireguard-go "$ifname"
  for _ in $(seq 100); do [[ -S /var/run/wireguard/$ifname.sock ]] && break; sleep 0.1; done
  [[ -S /var/run/wireguard/$ifname.sock ]] || die "wireguard-go $ifname did not start: $(cat "$WORK/$ifname.log")"
  printf '%s\n' "$key" | in_ns "$ns" wg set "$ifname" listen-port "$WG_PORT" private-key /dev/stdin
  ip -n "$ns" addr add "$tun/24" dev "$ifname"
  ip -n "$ns" link set "$ifname" up
  WG_PUBKEY=$(printf '%s\n' "$key" | wg pubkey)
}
start_wg "$NS_ALICE" "$WG_ALICE" "$ALICE_TUN"
ALICE_PUB=$WG_PUBKEY
start_wg "$NS_BOB" "$WG_BOB" "$BOB_TUN"
BOB_PUB=$WG_PUBKEY
in_ns "$NS_ALICE" wg set "$WG_ALICE" peer "$BOB_PUB" allowed-ips "$BOB_TUN/32"
in_ns "$NS_BOB" wg set "$WG_BOB" peer "$ALICE_PUB" allowed-ips "$ALICE_TUN/32"
note "alice $ALICE_TUN ($WG_ALICE), bob $BOB_TUN ($WG_BOB), both listening on UDP $WG_PORT"
note "without endpoints neither can send the first packet:"
in_ns "$NS_ALICE" wg show "$WG_ALICE" | sed 's/^/      /'
if in_ns "$NS_ALICE" ping -n -q -c 1 -W 1 "$BOB_TUN" >/dev/null 2>&1; then
  die "alice reached bob before any endpoint was set: the lab is wrong"
fi
note "ping $BOB_TUN from alice: no answer, as expected"

# --------------------------------------------------------------------------- 5-6. natpunch
if [[ $LAB_ONLY -eq 0 ]]; then
  say "Starting the natpunch rendezvous server on $SERVER_IP:$PORT"
  start_bg "$WORK/server.log" ip netns exec "$NS_SERVER" java -jar "$JAR" server "$PORT"
  server=${BG_PIDS[-1]}
  SERVER_PUB=
  for _ in $(seq 100); do
    SERVER_PUB=$(sed -n 's/^.*Public key: *\([A-Za-z0-9+/=]\{44\}\).*$/\1/p' "$WORK/server.log" | head -n 1)
    [[ -n $SERVER_PUB ]] && break
    kill -0 "$server" 2>/dev/null || die "the server exited. Its output:
$(cat "$WORK/server.log")"
    sleep 0.2
  done
  [[ -n $SERVER_PUB ]] || die "the server printed no 'Public key: ...' within 20 s. Its output:
$(cat "$WORK/server.log")"
  note "server public key: $SERVER_PUB"

  say "Running the natpunch client on alice and bob"
  note "each registers its WireGuard port's public address with the server (through its NAT),"
  note "asks for the other's, and writes it into WireGuard as endpoint with keepalive 25 s"
  start_bg "$WORK/client-alice.log" timeout 120 ip netns exec "$NS_ALICE" java -jar "$JAR" client "$WG_ALICE" "$SERVER_IP:$PORT" "$SERVER_PUB"
  alice_client=${BG_PIDS[-1]}
  start_bg "$WORK/client-bob.log" timeout 120 ip netns exec "$NS_BOB" java -jar "$JAR" client "$WG_BOB" "$SERVER_IP:$PORT" "$SERVER_PUB"
  bob_client=${BG_PIDS[-1]}
  # exit 0: every peer connected; 3: endpoints set but no WireGuard handshake followed
  wait "$alice_client" || die "the client on alice failed (exit $?):
$(cat "$WORK/client-alice.log")"
  wait "$bob_client" || die "the client on bob failed (exit $?):
$(cat "$WORK/client-bob.log")"
  note "both clients found their peer, saw the WireGuard handshake and exited. alice's client said:"
  sed 's/^/      /' "$WORK/client-alice.log"
  note "bob's client said:"
  sed 's/^/      /' "$WORK/client-bob.log"
  note "the server logged the lookups (keys shortened to 16 characters):"
  grep ' ==> ' "$WORK/server.log" | sed 's/^.* - /      /'
else
  say "--lab-only: setting the endpoints by hand, as the natpunch client would"
  note "alice's NAT keeps port $WG_PORT, so bob is at $NAT2_IP:$WG_PORT and alice at $NAT1_IP:$WG_PORT"
  in_ns "$NS_ALICE" wg set "$WG_ALICE" peer "$BOB_PUB" endpoint "$NAT2_IP:$WG_PORT" persistent-keepalive 25
  in_ns "$NS_BOB" wg set "$WG_BOB" peer "$ALICE_PUB" endpoint "$NAT1_IP:$WG_PORT" persistent-keepalive 25
fi

# --------------------------------------------------------------------------- 7. proof
say "WireGuard now knows where the other peer is (the other NAT's public address):"
in_ns "$NS_ALICE" wg show "$WG_ALICE" | sed 's/^/    /'
echo
in_ns "$NS_BOB" wg show "$WG_BOB" | sed 's/^/    /'

say "Waiting for the WireGuard handshake through both NATs"
handshake=0
for _ in $(seq 60); do
  if in_ns "$NS_ALICE" wg show "$WG_ALICE" latest-handshakes | awk '$2 != 0 {found=1} END {exit !found}'; then
    handshake=1
    break
  fi
  sleep 0.5
done
[[ $handshake -eq 1 ]] || die "no handshake within 30 s"
note "handshake done"

say "Pinging bob ($BOB_TUN) from alice through the direct tunnel"
in_ns "$NS_ALICE" ping -n -c 3 -W 2 "$BOB_TUN" | sed 's/^/    /' || die "ping from alice through the tunnel failed"
say "And alice ($ALICE_TUN) from bob"
in_ns "$NS_BOB" ping -n -c 3 -W 2 "$ALICE_TUN" | sed 's/^/    /' || die "ping from bob through the tunnel failed"
alice_sees=$(in_ns "$NS_ALICE" wg show "$WG_ALICE" endpoints | awk '{print $2}')
bob_sees=$(in_ns "$NS_BOB" wg show "$WG_BOB" endpoints | awk '{print $2}')
[[ $alice_sees == "$NAT2_IP:"* ]] || die "alice's endpoint for bob is $alice_sees, not bob's NAT"
[[ $bob_sees == "$NAT1_IP:"* ]] || die "bob's endpoint for alice is $bob_sees, not alice's NAT"
note "alice sends to $alice_sees (bob's NAT), bob to $bob_sees (alice's NAT):"
note "peer to peer, the server is not in the path"

say "Demo succeeded"

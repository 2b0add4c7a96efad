#!/usr/bin/env bash
# The whole benchmark suite of docs/PERFORMANCE.md in one command, each part against the limit it
# is compared with, measured in the same run:
#
#   sudo bash natpunch-bench/run-suite.sh [--quick] [--only PART[,PART...]] [--out DIR]
#
# PARTS (in this order): machine, jmh, load, memory, startup, mesh, relay. Every part's full output
# goes to DIR (default target/bench-report/<UTC time>/PART.txt) and the lines that carry the figures
# to DIR/summary.txt. --quick shortens every part (fewer iterations, runs and peers) for a check
# that the suite works; its figures are not the ones to report. Needs root for startup, mesh and
# relay (network namespaces), and the lab's tools (.ci/run installs them). About 50 minutes in
# full, 15 with --quick. Nothing here runs in CI: figures are never asserted.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=false
only="machine,jmh,load,memory,startup,mesh,relay"
out=""
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) quick=true ;;
        --only) only="$2"; shift ;;
        --out) out="$2"; shift ;;
        -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "run-suite.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
    shift
done
for part in ${only//,/ }; do
    case "$part" in
        machine|jmh|load|memory|startup|mesh|relay) ;;
        *) echo "run-suite.sh: unknown part '$part'; parts are machine, jmh, load, memory, startup, mesh, relay" >&2; exit 2 ;;
    esac
done
wants() { [[ ",$only," == *",$1,"* ]]; }
needs_root=false
for part in startup mesh relay; do wants "$part" && needs_root=true; done
if $needs_root && [ "$(id -u)" -ne 0 ]; then
    echo "run-suite.sh: startup, mesh and relay build network namespaces: run as root (sudo), or leave them out with --only machine,jmh,load,memory" >&2
    exit 1
fi

out=${out:-target/bench-report/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out"
summary="$out/summary.txt"
: > "$summary"
bench_jar=natpunch-bench/target/benchmarks.jar

# Runs one part, its output to DIR/NAME.txt, and copies the lines matching PATTERN to the summary.
run_part() {
    local name=$1 pattern=$2
    shift 2
    echo "== $name ($(date -u +%H:%M:%S) UTC, load average $(cut -d' ' -f1-3 /proc/loadavg))" | tee -a "$summary"
    if "$@" > "$out/$name.txt" 2>&1; then
        grep -E "$pattern" "$out/$name.txt" >> "$summary" || true
    else
        echo "   FAILED (exit $?): see $out/$name.txt" | tee -a "$summary"
        tail -n 20 "$out/$name.txt" >> "$summary"
    fi
}

echo "Building (natpunch-cli, natpunch-bench, src-it; tests skipped)..."
mvn -B -q -pl natpunch-cli,natpunch-bench,src-it -am package -DskipTests

if wants machine; then
    {
        echo "== machine"
        echo "cores: $(nproc); CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
        echo "memory: $(awk '/MemTotal/ {printf "%.1f GB", $2 / 1048576}' /proc/meminfo); kernel $(uname -r)"
        java -version 2>&1 | head -n 1
        echo "git: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')"
    } | tee -a "$summary"
fi

if wants jmh; then
    if $quick; then jmh_args=(-f 1 -wi 1 -i 2 -w 1s -r 1s); else jmh_args=(-f 1 -wi 3 -i 5 -w 2s -r 2s); fi
    # Throughput rows and the gc.alloc.rate.norm rows (bytes per operation) carry the figures.
    run_part jmh '^(Benchmark |d\.n\.b\.[^: ]+( |:gc\.alloc\.rate\.norm |:mixed))' \
        java -jar "$bench_jar" 'X25519Benchmark|ChaChaPolyBenchmark|HandshakeBenchmark|ServerHandlerBenchmark|CodecBenchmark|RegistryBenchmark' \
        "${jmh_args[@]}" -prof gc
fi

if wants load; then
    if $quick; then load_args=(--duration 5s --flood 10s); else load_args=(--flood 60s); fi
    run_part load '(limit|/ echo|of limit|p99|flood|RSS|heap|X25519|echo )' \
        java -cp "$bench_jar" dev.natpunch.bench.load.LoadGenerator --mode suite "${load_args[@]}"
fi

if wants memory; then
    if $quick; then keys=100000; else keys=1000000; fi
    for version in 1 2; do
        run_part "memory-v$version" '(keys,|per registered key|a session costs)' \
            java -cp "$bench_jar" dev.natpunch.bench.server.RegistrationMemory --keys "$keys" --protocol "$version"
    done
fi

if wants startup; then
    if $quick; then runs=3; else runs=7; fi
    run_part startup '(^floor|median|ms +(yes|no)$|first use)' \
        java -cp "$bench_jar" dev.natpunch.bench.load.StartupBenchmark --runs "$runs"
fi

if wants mesh; then
    if $quick; then peers=2,4; runs=1; else peers=2,4,8,16; runs=3; fi
    run_part mesh '^\|' \
        mvn -B -q -pl src-it -am verify -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false \
            -Dit.test=TimeToMeshBench -Dttm.peers="$peers" -Dttm.runs="$runs" \
            '-Dttm.clientOptions=-c -d 1|-c -d 1 --protocol 1'
fi

if wants relay; then
    if $quick; then secs=3; else secs=10; fi
    run_part relay-forwarding '(delivered|forwarded|CPU)' \
        java -cp "$bench_jar" dev.natpunch.bench.relay.RelayLoad --seconds "$secs" --size 1452 --relay-threads 2
    run_part relay-memory '(per allocation|bytes)' \
        java -cp "$bench_jar" dev.natpunch.bench.relay.RelayLoad --memory 2000
    run_part relay-tunnel '(direct|relayed|Mbit)' \
        mvn -B -q -pl src-it -am verify -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false \
            -Dit.test=RelayThroughputIT -Dnatpunch.measure=true
fi

echo "Done: $summary (full outputs beside it)."

#!/bin/bash
# make bench: vtpmd and Debian's swtpm measured side by side in one run, on the same machine,
# alternating between the two so that drift hits both alike. Prints a markdown table and
# writes it, with the machine and the versions, to docs/BENCHMARKS.md.
#
#   bench/run.sh [BUILD]            (BUILD defaults to "build"; `make bench` passes it)
#
# Environment (all optional):
#   BENCH_QUICK=1                  a smoke run (< 1 min): fewer starts, instances, iterations
#                                  (full run: about 4 minutes)
#   BENCH_A, BENCH_B               server command and its leading arguments; default
#                                  "swtpm socket --tpm2" and "BUILD/src/daemon/vtpmd socket --tpm2"
#   BENCH_A_NAME, BENCH_B_NAME     column names (default swtpm, vtpmd)
#   BENCH_A_EXTRA, BENCH_B_EXTRA   arguments appended to every start of that server; %KEY%
#                                  becomes the path of a 0600 key file made for this run.
#                                  Unset BENCH_B_EXTRA with the default vtpmd: '--key
#                                  file=%KEY%' (encrypted state, the real deployment) when
#                                  this vtpmd accepts --key, else nothing (the report says so)
#   BENCH_A_INIT, BENCH_B_INIT     a command that creates a new vTPM's state in the folder
#                                  %STATE% (and %KEY%), for a server that does not create it
#                                  itself on its first start in an empty folder (as swtpm does)
#   BENCH_STARTS BENCH_INSTANCES BENCH_ITERS BENCH_NV_ITERS BENCH_OPS_ITERS BENCH_RSA_ITERS
#   BENCH_LOAD                     sizes (see below)
#   BENCH_OUT                      where the report goes (default docs/BENCHMARKS.md; - = none)
#   BENCH_DIR                      parent of the run's scratch folder (default $TMPDIR or /tmp)
#   BENCH_GUEST_HOOK               guest-boot hook (default tests/guest/bench-hook.sh)
#   BENCH_KEEP=1                   keep the scratch folder (logs, state) after the run
#
# To validate the harness itself, measure swtpm against itself:
#   BENCH_B=swtpm\ socket\ --tpm2 BENCH_B_NAME=swtpm-B BENCH_OUT=- bench/run.sh build
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
TPMBENCH=$BUILD/bench/tpmbench
VTPMD=$BUILD/src/daemon/vtpmd

if [ "${BENCH_QUICK:-0}" = 1 ]; then
    STARTS=${BENCH_STARTS:-10}; INSTANCES=${BENCH_INSTANCES:-50}; ITERS=${BENCH_ITERS:-2000}
    NV_ITERS=${BENCH_NV_ITERS:-300}; OPS_ITERS=${BENCH_OPS_ITERS:-200}
    RSA_ITERS=${BENCH_RSA_ITERS:-5}; LOAD=${BENCH_LOAD:-1000}
else
    STARTS=${BENCH_STARTS:-30}; INSTANCES=${BENCH_INSTANCES:-200}; ITERS=${BENCH_ITERS:-20000}
    NV_ITERS=${BENCH_NV_ITERS:-5000}; OPS_ITERS=${BENCH_OPS_ITERS:-3000}
    RSA_ITERS=${BENCH_RSA_ITERS:-100}; LOAD=${BENCH_LOAD:-1000}
fi
BLOCK=$(( ITERS >= 2000 ? 250 : (ITERS + 3) / 4 ))
NV_BLOCK=$(( NV_ITERS >= 1000 ? 100 : (NV_ITERS + 3) / 4 ))
OPS_BLOCK=$(( OPS_ITERS >= 1000 ? 100 : (OPS_ITERS + 3) / 4 ))
OUT=${BENCH_OUT-$ROOT/docs/BENCHMARKS.md}
GUEST_HOOK=${BENCH_GUEST_HOOK:-$ROOT/tests/guest/bench-hook.sh}

say() { printf 'bench: %s\n' "$*" >&2; }
fail() { printf 'bench: %s\n' "$*" >&2; exit 1; }

[ -x "$TPMBENCH" ] || fail "$TPMBENCH is missing: build first (make bench builds it)."
command -v taskset >/dev/null || fail "taskset (util-linux) is missing: run scripts/deps.sh."

# ---------------------------------------------------------------------------------------------
# The two servers. A is the reference (swtpm), B the candidate (vtpmd).
read -r -a A_CMD <<< "${BENCH_A:-swtpm socket --tpm2}"
A_NAME=${BENCH_A_NAME:-swtpm}
if [ -n "${BENCH_B:-}" ]; then
    read -r -a B_CMD <<< "$BENCH_B"
else
    B_CMD=("$VTPMD" socket --tpm2)
fi
B_NAME=${BENCH_B_NAME:-vtpmd}
command -v "${A_CMD[0]}" >/dev/null || fail "${A_CMD[0]} not found: run scripts/deps.sh."
HAVE_B=1
if ! command -v "${B_CMD[0]}" >/dev/null; then
    HAVE_B=0
    say "*** ${B_CMD[0]} does not exist (vtpmd not built yet): measuring $A_NAME alone. ***"
fi
SERVERS=(A)
[ $HAVE_B = 1 ] && SERVERS=(A B)

# The CPUs this process may use (cgroups and affinity may hide some): client on the first,
# servers on the first (same core) or the second (different cores).
read -r -a CPUS <<< "$(taskset -cp $$ | sed 's/.*: //' | tr ',' '\n' |
    awk -F- '{for (c = $1; c <= ($2 == "" ? $1 : $2); c++) printf "%d ", c}')"
NCPU=${#CPUS[@]}
[ "$NCPU" -ge 1 ] || fail "cannot read this process's CPU affinity with taskset"
SCRATCH_PARENT=${BENCH_DIR:-${TMPDIR:-/tmp}}
W=$(mktemp -d "$SCRATCH_PARENT/vtpm-bench.XXXXXX")
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do
        kill -TERM "$p" 2>/dev/null || true
    done
    for p in "${PIDS[@]}"; do
        wait "$p" 2>/dev/null || true
    done
    if [ "${BENCH_KEEP:-0}" = 1 ]; then
        say "scratch folder kept: $W"
    else
        rm -rf "$W"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$W/log"
# A key for servers that want one (%KEY% in BENCH_*_EXTRA): 32 random bytes, hex, mode 0600.
( umask 077; od -An -tx1 -N32 /dev/urandom | tr -d ' \n' > "$W/key" )

# vtpmd runs as it is deployed, with its state encrypted under a key, when it accepts --key
# (parsing the command line with --print-capabilities starts nothing).
A_EXTRA=${BENCH_A_EXTRA:-}
B_EXTRA=${BENCH_B_EXTRA:-}
KEY_NOTE=
if [ -z "${BENCH_B+set}" ] && [ -z "${BENCH_B_EXTRA+set}" ] && [ $HAVE_B = 1 ]; then
    if "${B_CMD[@]}" --key "file=$W/key" --print-capabilities >/dev/null 2>&1; then
        B_EXTRA='--key file=%KEY%'
        KEY_NOTE="$B_NAME stores its state encrypted under a 32-byte key (\`--key file=KEY\`, a"
        KEY_NOTE="$KEY_NOTE 0600 file made for the run), as deployed; $A_NAME runs without one."
    else
        KEY_NOTE="**$B_NAME ran without \`--key\`: this build refuses the option, so its state"
        KEY_NOTE="$KEY_NOTE is kept in plain form, not as deployed.**"
        say "*** $B_NAME refuses --key: measured without encryption of its state. ***"
    fi
fi

extra_args() { # NAME -> EXTRA array
    local e
    if [ "$1" = A ]; then e=$A_EXTRA; else e=$B_EXTRA; fi
    read -r -a EXTRA <<< "${e//%KEY%/$W/key}"
}

# new_state X DIR: DIR/state becomes the state of a new vTPM that never ran: an empty folder,
# or what BENCH_X_INIT makes of it.
new_state() {
    local x=$1 d=$2 init
    rm -rf "$d/state"
    mkdir -p "$d/state"
    if [ "$x" = A ]; then init=${BENCH_A_INIT:-}; else init=${BENCH_B_INIT:-}; fi
    [ -n "$init" ] || return 0
    init=${init//%KEY%/$W/key}
    read -r -a INIT <<< "${init//%STATE%/$d/state}"
    "${INIT[@]}" >>"$W/log/$x.log" 2>&1 || fail "BENCH_${x}_INIT failed (see $W/log/$x.log)"
}

# srv_argv X DIR TRANSPORT PORT -> SRV array: the command line as QEMU/libvirt start swtpm
# (state dir, unix control socket, not-need-init,startup-clear), plus a data server socket.
srv_argv() {
    local x=$1 d=$2 tr=$3 port=${4:-}
    local -n cmd=${x}_CMD
    extra_args "$x"
    SRV=("${cmd[@]}" --tpmstate "dir=$d/state" --ctrl "type=unixio,path=$d/ctrl"
         --flags not-need-init,startup-clear)
    if [ "$tr" = tcp ]; then
        SRV+=(--server "type=tcp,port=$port")
    else
        SRV+=(--server "type=unixio,path=$d/data")
    fi
    SRV+=("${EXTRA[@]}")
}

ep_of() { # DIR TRANSPORT PORT
    if [ "$2" = tcp ]; then echo "tcp:$3"; else echo "unix:$1/data"; fi
}

free_port() { # a TCP port nobody listens on, away from the usual 2321/2322
    local p
    for _ in $(seq 1 200); do
        p=$(( 20000 + RANDOM % 12000 )) # below the ephemeral ports (32768-)
        if ! ss -Hltn "sport = :$p" 2>/dev/null | grep -q .; then
            echo "$p"
            return 0
        fi
    done
    fail "no free TCP port found"
}

# bg_start X DIR TRANSPORT [PORT]: starts a server in the background; sets BG_PID.
bg_start() {
    srv_argv "$@"
    "${SRV[@]}" >>"$W/log/$1.log" 2>&1 &
    BG_PID=$!
    PIDS+=("$BG_PID")
}

bg_stop() { # PID...: SIGTERM, then wait for each
    local p
    for p in "$@"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "$@"; do wait "$p" 2>/dev/null || true; done
    local keep=() q
    for q in "${PIDS[@]}"; do
        case " $* " in *" $q "*) ;; *) keep+=("$q") ;; esac
    done
    PIDS=("${keep[@]}")
}

tb() { # tpmbench with a time limit; a failure ends the run with the server logs' tail
    if ! timeout --kill-after=5 300 "$TPMBENCH" "$@"; then
        for f in "$W"/log/*.log; do
            [ -s "$f" ] && { say "last lines of $f:"; tail -n 5 "$f" >&2; }
        done
        fail "tpmbench $1 failed (see above): no figures are reported for a failed run."
    fi
}

smaps() { # PID -> "rss_kb private_kb pss_kb private_dirty_kb"
    awk '/^Rss:/ {r=$2} /^Pss:/ {p=$2} /^Private_(Clean|Dirty):/ {v+=$2}
         /^Private_Dirty:/ {d=$2} END {print r+0, v+0, p+0, d+0}' "/proc/$1/smaps_rollup"
}

median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) {print "nan"; exit}
    if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

declare -A R  # R[metric,X] = value

T_BEGIN=$(date +%s)
LOAD_BEGIN=$(cut -d' ' -f1-3 /proc/loadavg)
say "scratch folder $W; $NCPU CPUs; starts=$STARTS instances=$INSTANCES iters=$ITERS" \
    "nv_iters=$NV_ITERS ops_iters=$OPS_ITERS rsa_iters=$RSA_ITERS load=$LOAD"

# ---------------------------------------------------------------------------------------------
# 1. Start-up: process start -> first answered command (GetRandom on the data socket), on an
#    existing state (a VM restarting) and on a new vTPM's state (its very first start).
#    Alternating A B / B A each round. Each server is stopped with CMD_SHUTDOWN, as libvirt does.
say "start-up: $STARTS starts per server and state"
for x in "${SERVERS[@]}"; do
    d=$W/start/$x
    mkdir -p "$W/start/${x}e"
    new_state "$x" "$d"
    srv_argv "$x" "$d" unix
    tb start -l "$W/log/$x.log" -e "unix:$d/data" -c "$d/ctrl" -- "${SRV[@]}" >/dev/null
done
for i in $(seq 1 "$STARTS"); do
    order=("${SERVERS[@]}")
    if [ $((i % 2)) = 0 ] && [ $HAVE_B = 1 ]; then order=(B A); fi
    for x in "${order[@]}"; do
        d=$W/start/$x
        srv_argv "$x" "$d" unix
        tb start -l "$W/log/$x.log" -e "unix:$d/data" -c "$d/ctrl" -- "${SRV[@]}" \
            >> "$W/start/$x.res"
        d=$W/start/${x}e
        new_state "$x" "$d"
        srv_argv "$x" "$d" unix
        tb start -l "$W/log/$x.log" -e "unix:$d/data" -c "$d/ctrl" -- "${SRV[@]}" \
            >> "$W/start/${x}e.res"
    done
done
for x in "${SERVERS[@]}"; do
    R[start,$x]=$(sed -n 's/.*start_us=\([0-9.]*\).*/\1/p' "$W/start/$x.res" | median)
    R[starte,$x]=$(sed -n 's/.*start_us=\([0-9.]*\).*/\1/p' "$W/start/${x}e.res" | median)
    R[stop,$x]=$(sed -n 's/.*stop_us=\([0-9.]*\).*/\1/p' "$W/start/$x.res" | median)
done

# ---------------------------------------------------------------------------------------------
# 2. Memory of one instance: idle right after its first answer, then after LOAD mixed commands.
say "memory: one instance, idle and after $LOAD mixed commands"
# A binary written moments ago (a fresh build) has dirty page-cache pages, which smaps counts as
# private dirty memory of the process that maps them: write them back first.
sync
for x in "${SERVERS[@]}"; do
    d=$W/mem1/$x
    mkdir -p "$d"
    cp -a "$W/start/$x/state" "$d/state"
    bg_start "$x" "$d" unix
    pid=$BG_PID
    tb ping -e "unix:$d/data"
    read -r R[rss0,$x] R[priv0,$x] R[pss0,$x] R[dirty0,$x] < <(smaps "$pid")
    tb load -n "$LOAD" -e "unix:$d/data"
    read -r R[rss1,$x] R[priv1,$x] R[pss1,$x] R[dirty1,$x] < <(smaps "$pid")
    bg_stop "$pid"
done

# ---------------------------------------------------------------------------------------------
# 3. INSTANCES instances started together (each its own copy of an existing state), idle.
#    A warm-up round of A (discarded: the first round on a machine pays for the kernel's
#    caches), then A B and B A; the wall time is the mean of two, the memory the last one's.
many_round() {
    local x=$1 i t0 t1 p r v s rss=0 priv=0 pss=0
    local eps=() pids=()
    for i in $(seq 1 "$INSTANCES"); do
        mkdir -p "$W/many/$x/$i"
        cp -a "$W/start/$x/state" "$W/many/$x/$i/state"
        eps+=(-e "unix:$W/many/$x/$i/data")
    done
    t0=$(date +%s%N)
    for i in $(seq 1 "$INSTANCES"); do
        bg_start "$x" "$W/many/$x/$i" unix
        pids+=("$BG_PID")
    done
    tb ping -t 120000 "${eps[@]}"
    t1=$(date +%s%N)
    R[manyt,$x]=$(awk -v a="$t0" -v b="$t1" -v s="${R[manyt,$x]:-}" \
        'BEGIN {t = (b - a) / 1e6; printf "%.0f", s == "" ? t : (s + t) / 2}')
    for p in "${pids[@]}"; do
        read -r r v s _ < <(smaps "$p")
        rss=$((rss + r)) priv=$((priv + v)) pss=$((pss + s))
    done
    R[manyrss,$x]=$rss R[manypriv,$x]=$priv R[manypss,$x]=$pss
    bg_stop "${pids[@]}"
    rm -rf "$W/many/$x"
}
say "memory: $INSTANCES instances started together, a warm-up round and two rounds each"
many_round A
unset 'R[manyt,A]'
for x in "${SERVERS[@]}"; do many_round "$x"; done
for x in $(printf '%s\n' "${SERVERS[@]}" | tac); do many_round "$x"; done

# ---------------------------------------------------------------------------------------------
# 4. Latency over one persistent connection per server, unix socket and TCP, client and server
#    on the same core and on different cores. tpmbench alternates A and B in blocks.
CHEAP=getrandom,pcrextend,pcrread,hash,getcap
COMMITS=daparams,changeauth,nvwrite,nvincrement
OPS=nvread,primary_ecc,seal,salted,sign_ecc,sign_rsa,rsa_decrypt,quote,encdec
RSA=primary_rsa,primary_rsa_new
lat_run() { # WHAT FILE tpmbench-lat-arguments...: on the client's core, the run fails loudly
    local what=$1 f=$2
    shift 2
    say "$what: $tr, $pin core(s): $*"
    taskset -c "$CCORE" timeout --kill-after=5 600 "$TPMBENCH" lat "$@" > "$f" \
        || { cat "$f" >&2; fail "tpmbench lat ($what) failed (see above)"; }
}
PINS=(same)
if [ "$NCPU" -ge 2 ]; then PINS=(same diff); fi
CCORE=${CPUS[0]}
for tr in unix tcp; do
    eps=()
    pids=()
    for x in "${SERVERS[@]}"; do
        d=$W/lat-$tr/$x
        mkdir -p "$d"
        cp -a "$W/start/$x/state" "$d/state"
        port=$(free_port)
        bg_start "$x" "$d" "$tr" "$port"
        pids+=("$BG_PID")
        eps+=(-e "$(ep_of "$d" "$tr" "$port")" -s "$d/state")
    done
    tb ping "${eps[@]}"
    for pin in "${PINS[@]}"; do
        if [ "$pin" = same ]; then score=${CPUS[0]}; else score=${CPUS[1]}; fi
        for p in "${pids[@]}"; do taskset -a -p -c "$score" "$p" >/dev/null; done
        say "latency: $tr, $pin core(s), $ITERS iterations of $CHEAP"
        taskset -c "$CCORE" timeout --kill-after=5 600 "$TPMBENCH" lat -n "$ITERS" -b "$BLOCK" \
            -w 50 -C "$CHEAP" "${eps[@]}" > "$W/lat-$tr-$pin.res" \
            || { cat "$W/lat-$tr-$pin.res" >&2; fail "tpmbench lat failed (see above)"; }
        if [ "$tr" = unix ] && [ "$pin" = "${PINS[-1]}" ]; then
            lat_run "durable commits" "$W/nv.res" -n "$NV_ITERS" -b "$NV_BLOCK" -w 20 \
                -C "$COMMITS" "${eps[@]}"
            lat_run "NV, keys, sessions, signing" "$W/ops.res" -n "$OPS_ITERS" \
                -b "$OPS_BLOCK" -w 20 -C "$OPS" "${eps[@]}"
            lat_run "RSA-2048 primary keys" "$W/rsa.res" -n "$RSA_ITERS" -b 1 -w 2 \
                -C "$RSA" "${eps[@]}"
        fi
    done
    bg_stop "${pids[@]}"
done
NV_PIN=${PINS[-1]}

lat_get() { # FILE EP CMD FIELD
    sed -n "s/^RESULT ep=$2 cmd=$3 .*$4=\([0-9.]*\).*/\1/p" "$1"
}

# ---------------------------------------------------------------------------------------------
# 5. Time a booting guest waits on the TPM: measured by the guest-boot harness when it exists.
#    Contract: HOOK NAME SERVER ARGS... (NAME: swtpm or vtpmd; SERVER ARGS: the server command
#    with its leading arguments, to which the hook adds --tpmstate, --ctrl ... as QEMU needs;
#    BENCH_BUILD in the environment: the build folder) boots one guest with that server and
#    prints a line "tpm_wait_ms=<number>": the time the guest spent waiting on TPM answers.
GUEST=0
GUEST_WHY="not measured (no tests/guest)"
[ -d "$ROOT/tests/guest" ] && GUEST_WHY="not measured (no executable ${GUEST_HOOK#"$ROOT"/})"
if [ -x "$GUEST_HOOK" ]; then
    GUEST=1
    for x in "${SERVERS[@]}"; do
        declare -n cmd=${x}_CMD
        extra_args "$x"
        say "guest boot with $x: $GUEST_HOOK"
        if [ "$x" = A ]; then name=$A_NAME; else name=$B_NAME; fi
        v=$(BENCH_BUILD=$BUILD timeout --kill-after=10 600 "$GUEST_HOOK" "$name" "${cmd[@]}" \
            "${EXTRA[@]}" \
            | sed -n 's/^tpm_wait_ms=\([0-9.]*\)$/\1/p' | tail -n 1) \
            || fail "the guest-boot hook $GUEST_HOOK failed"
        [ -n "$v" ] || fail "the guest-boot hook printed no tpm_wait_ms= line"
        R[guest,$x]=$v
        unset -n cmd
    done
fi
T_END=$(date +%s)

# ---------------------------------------------------------------------------------------------
# The report.
A_LABEL=$A_NAME
B_LABEL=$B_NAME
MET=0
TARGETED=0

fmt() { # value scale decimals -> formatted, or "n/a"
    awk -v v="$1" -v s="$2" -v d="$3" 'BEGIN {
        if (v == "" || v == "nan") { print "n/a"; exit }
        printf "%." d "f", v / s }'
}

row() { # METRIC KEY SCALE DECIMALS TARGET(max ratio or -) [TARGET-LABEL]
    local metric=$1 key=$2 scale=$3 dec=$4 target=$5 tlabel=${6:-$5} a b ratio tcell
    a=$(fmt "${R[$key,A]:-}" "$scale" "$dec")
    if [ $HAVE_B = 1 ]; then
        b=$(fmt "${R[$key,B]:-}" "$scale" "$dec")
        ratio=$(awk -v a="${R[$key,A]:-}" -v b="${R[$key,B]:-}" 'BEGIN {
            if (a == "" || b == "" || a + 0 == 0) { print "n/a"; exit }
            r = b / a; printf (r < 0.1 ? "%.3f" : "%.2f"), r }')
    else
        b="not built"
        ratio="—"
    fi
    if [ "$target" = - ]; then
        tcell="—"
    else
        tcell="≤ $tlabel"
        if [ "$ratio" != n/a ] && [ "$ratio" != "—" ]; then
            TARGETED=$((TARGETED + 1))
            if awk -v a="${R[$key,A]}" -v b="${R[$key,B]}" -v t="$target" \
                    'BEGIN {exit !(b / a <= t)}'; then
                MET=$((MET + 1))
                tcell="≤ $tlabel ✓"
            else
                tcell="≤ $tlabel ✗"
            fi
        fi
    fi
    printf '| %s | %s | %s | %s | %s |\n' "$metric" "$a" "$b" "$ratio" "$tcell"
}

section() { printf '| **%s** | | | | |\n' "$1"; }

declare -A LABEL=(
    [getrandom]="GetRandom(32)"
    [pcrextend]="PCR_Extend(16, sha256, password session)"
    [pcrread]="PCR_Read(sha256, PCR 0)"
    [hash]="Hash(64 B, sha256)"
    [getcap]="GetCapability(TPM_PROPERTIES, 1)"
    [daparams]="DictionaryAttackParameters (alternating)"
    [changeauth]="HierarchyChangeAuth(owner, alternating)"
    [nvwrite]="NV_Write(64 B of changed data, owner auth)"
    [nvincrement]="NV_Increment(counter index)"
    [nvread]="NV_Read(64 B, owner auth)"
    [primary_ecc]="CreatePrimary(owner, ECC P-256 storage key)"
    [seal]="Create + Load + Unseal of a sealed object under an ECC P-256 SRK"
    [seal_create]="… of which Create"
    [seal_load]="… of which Load"
    [seal_unseal]="… of which Unseal"
    [salted]="StartAuthSession salted (ECC P-256) + HMAC-authorized PCR_Extend + FlushContext"
    [salted_start]="… of which StartAuthSession"
    [salted_hmac]="… of which PCR_Extend with command and response HMAC"
    [salted_flush]="… of which FlushContext"
    [sign_ecc]="Sign(ECDSA, ECC P-256)"
    [sign_rsa]="Sign(RSASSA, RSA-2048)"
    [rsa_decrypt]="RSA_Decrypt(OAEP, RSA-2048)"
    [quote]="Quote(8 sha256 PCRs, ECC P-256 restricted AK)"
    [encdec]="EncryptDecrypt2(1 KiB, AES-128-CFB)"
    [primary_rsa]="CreatePrimary(owner, RSA-2048), the same template again"
    [primary_rsa_new]="CreatePrimary(owner, RSA-2048), a new template (unique) each time"
)

# lat_rows FILE SCALE DECIMALS MODE:TARGET[:LABEL]...: median (targeted) and p99 per mode; a
# target of - gives the median alone (the steps of a flow).
lat_rows() {
    local f=$1 scale=$2 dec=$3 spec c t tl i x
    shift 3
    for spec in "$@"; do
        IFS=: read -r c t tl <<< "$spec"
        i=0
        for x in "${SERVERS[@]}"; do
            R[m,$x]=$(lat_get "$f" "$i" "$c" median_us)
            R[p,$x]=$(lat_get "$f" "$i" "$c" p99_us)
            i=$((i + 1))
        done
        row "${LABEL[$c]} median" m "$scale" "$dec" "$t" "${tl:-$t}"
        [ "$t" = - ] || row "${LABEL[$c]} p99" p "$scale" "$dec" -
    done
}

table() {
    local tr pin c i lbl f x
    printf '| metric | %s | %s | ratio (%s/%s) | target |\n' "$A_LABEL" "$B_LABEL" \
        "$B_LABEL" "$A_LABEL"
    printf '|---|---:|---:|---:|---|\n'
    section "Start-up (median of $STARTS starts)"
    row "process start → first answered GetRandom, existing state [ms]" start 1000 2 0.33
    row "process start → first answered GetRandom, new vTPM (first start) [ms]" starte 1000 2 0.33
    row "CMD_SHUTDOWN → process exited [ms]" stop 1000 2 -
    section "Memory, one instance [KiB]"
    row "idle after start: RSS" rss0 1 0 -
    row "idle after start: private (clean + dirty)" priv0 1 0 0.5
    row "idle after start: PSS" pss0 1 0 -
    row "idle after start: private dirty (heap, stack, written data)" dirty0 1 0 0.5
    row "after $LOAD mixed commands: RSS" rss1 1 0 -
    row "after $LOAD mixed commands: private" priv1 1 0 0.5
    row "after $LOAD mixed commands: PSS" pss1 1 0 -
    row "after $LOAD mixed commands: private dirty" dirty1 1 0 0.5
    section "Memory, $INSTANCES instances started together, idle"
    row "total RSS [MiB]" manyrss 1024 1 -
    row "total private [MiB]" manypriv 1024 1 0.5
    row "total PSS [MiB]" manypss 1024 1 -
    for x in "${SERVERS[@]}"; do
        R[manyprivi,$x]=$(awk -v v="${R[manypriv,$x]}" -v n="$INSTANCES" 'BEGIN {print v / n}')
        R[manypssi,$x]=$(awk -v v="${R[manypss,$x]}" -v n="$INSTANCES" 'BEGIN {print v / n}')
    done
    row "private per instance [KiB]" manyprivi 1 0 0.5
    row "PSS per instance [KiB]" manypssi 1 0 -
    row "wall time until all $INSTANCES answered [ms]" manyt 1 0 -
    for tr in unix tcp; do
        for pin in "${PINS[@]}"; do
            f=$W/lat-$tr-$pin.res
            if [ "$pin" = same ]; then lbl="same core"; else lbl="different cores"; fi
            section "Latency over $tr socket, client and server on $lbl [µs] ($ITERS iterations)"
            for c in ${CHEAP//,/ }; do
                lat_rows "$f" 1 1 "$c:0.6"
            done
        done
    done
    if [ "$NV_PIN" = same ]; then lbl="same core"; else lbl="different cores"; fi
    section "Commands that commit persistent state, unix socket, $lbl [µs] ($NV_ITERS iterations)"
    lat_rows "$W/nv.res" 1 1 daparams:0.6 changeauth:0.6 nvwrite:0.6 nvincrement:0.6
    section "NV, keys, sessions, signing, unix socket, $lbl [µs] ($OPS_ITERS iterations)"
    lat_rows "$W/ops.res" 1 1 nvread:0.6 primary_ecc:0.5 seal:0.6 seal_create:- seal_load:- \
        seal_unseal:- salted:0.6 salted_start:- salted_hmac:- salted_flush:- sign_ecc:0.6 \
        sign_rsa:0.6 rsa_decrypt:0.6 quote:0.6 encdec:0.6
    section "RSA-2048 primary keys, unix socket, $lbl [ms] ($RSA_ITERS templates)"
    lat_rows "$W/rsa.res" 1000 2 primary_rsa:0.033333:1/30 primary_rsa_new:1.0
    section "Guest boot"
    if [ $GUEST = 1 ]; then
        row "server CPU time over one guest boot (the least the guest waits on the TPM) [ms]" guest 1 1 -
    else
        printf '| %s | %s | %s | — | — |\n' \
            "server CPU time over one guest boot (the least the guest waits on the TPM) [ms]" \
            "$GUEST_WHY" "$GUEST_WHY"
    fi
}

version_of() { # command word -> one line
    local bin=$1 path pkg v
    path=$(command -v "$bin" || echo "$bin")
    v=$("$path" --version 2>/dev/null | head -n 1 || true)
    pkg=$(dpkg-query -S "$(readlink -f "$path")" 2>/dev/null | head -n 1 | cut -d: -f1 || true)
    if [ -n "$pkg" ]; then
        v="$v (Debian package $pkg $(dpkg-query -W -f '${Version}' "$pkg"))"
        if [ "$pkg" = swtpm ]; then
            v="$v, libtpms $(dpkg-query -W -f '${Version}' libtpms0 2>/dev/null || echo '?')"
        fi
    elif git -C "$ROOT" rev-parse --short HEAD >/dev/null 2>&1; then
        v="$v (built from vtpm $(git -C "$ROOT" describe --always --dirty 2>/dev/null))"
    fi
    echo "${v:-unknown}"
}

table > "$W/table.md"
TABLE=$(cat "$W/table.md")
REPRO="make bench"
for v in BENCH_QUICK BENCH_A BENCH_B BENCH_A_NAME BENCH_B_NAME BENCH_A_EXTRA BENCH_B_EXTRA \
         BENCH_A_INIT BENCH_B_INIT BENCH_STARTS BENCH_INSTANCES BENCH_ITERS BENCH_NV_ITERS \
         BENCH_OPS_ITERS BENCH_RSA_ITERS BENCH_LOAD; do
    if [ -n "${!v:-}" ]; then REPRO_ENV="${REPRO_ENV:-}$v=$(printf '%q' "${!v}") "; fi
done
REPRO="${REPRO_ENV:-}$REPRO"
CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
RAM=$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)
MACHINE="$NCPU CPUs, $CPU, Linux $(uname -r), $RAM RAM"
SRV_OPTS="\`--tpmstate dir=D --ctrl type=unixio,path=D/ctrl --flags not-need-init,startup-clear"
SRV_OPTS="$SRV_OPTS --server type=unixio,path=D/data\` (or \`type=tcp,port=P\`)"
[ -z "$A_EXTRA" ] || SRV_OPTS="$SRV_OPTS; $A_NAME also \`${A_EXTRA//%KEY%/KEY}\`"
[ -z "$B_EXTRA" ] || SRV_OPTS="$SRV_OPTS; $B_NAME also \`${B_EXTRA//%KEY%/KEY}\`"
FS=$(df -T "$W" | awk 'NR == 2 {print $2 " on " $1}')
A_VER=$(version_of "${A_CMD[0]}")
if [ $HAVE_B = 1 ]; then B_VER=$(version_of "${B_CMD[0]}"); else B_VER="not built"; fi
A_SHOW=${A_CMD[*]}
A_SHOW=${A_SHOW#"$ROOT"/}
B_SHOW=${B_CMD[*]}
B_SHOW=${B_SHOW#"$ROOT"/}
if [ $HAVE_B = 1 ]; then
    SUMMARY="Targets met: $MET of $TARGETED."
    [ -z "$KEY_NOTE" ] || SUMMARY="$SUMMARY

$KEY_NOTE"
else
    SUMMARY="$B_NAME was not built (${B_CMD[0]#"$ROOT"/} does not exist): only $A_NAME was"
    SUMMARY="$SUMMARY measured."
fi

# The analysis of the missed targets is written by hand: carried over from the last report.
NOTES_HEAD="## What limits the missed targets"
NOTES=
if [ "$OUT" != - ] && [ -f "$OUT" ]; then
    NOTES=$(sed -n "/^$NOTES_HEAD\$/,\$p" "$OUT")
fi
if [ -z "$NOTES" ]; then
    NOTES="$NOTES_HEAD

<!-- Written by hand and kept by bench/run.sh, which carries everything from this heading to
     the end of the file over to the next report. -->

Not analysed yet."
fi

REPORT=$(cat <<EOF
# Benchmarks: vtpmd beside swtpm

Generated by \`bench/run.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC') in $((T_END - T_BEGIN)) s.
Reproduce from the repository root with:

    $REPRO

| | |
|---|---|
| machine | $MACHINE |
| load average (1, 5, 15 min) | at start $LOAD_BEGIN, at end $(cut -d' ' -f1-3 /proc/loadavg) |
| state directories | $FS |
| $A_NAME | \`${A_SHOW}\` — $A_VER |
| $B_NAME | \`${B_SHOW}\` — $B_VER |
| server options | $SRV_OPTS |

$SUMMARY

Ratios are $B_NAME/$A_NAME: below 1 means $B_NAME is smaller or faster. A target
applies to the medians and the private memory; p99, RSS and PSS are shown for context.

$TABLE

## How each figure is taken

- All servers are started the way QEMU/libvirt start swtpm (options above; with
  \`not-need-init,startup-clear\` the TPM is usable at once, no CMD_INIT). The client is
  \`bench/tpmbench\`: raw TPM 2.0 command bytes built by hand (\`bench/tpmcmd.c\`), no TSS, one
  persistent data connection per server, like QEMU. Every response is checked (success code,
  tag, size, parameters; the Hash digest against OpenSSL); one failure aborts the run.
- **Start-up**: \`tpmbench start\` takes the time before \`posix_spawn\` of the server, polls the
  data socket every 20 µs until it accepts, sends GetRandom(32) and stops the clock at the
  last response byte. Then it sends CMD_SHUTDOWN on the control socket (as libvirt does) and
  times the process until reaped. "Existing state" reuses the state folder of the previous start
  (a VM restarting); "new vTPM" starts each time in a new empty folder (or one made by
  BENCH_*_INIT), so the server creates the TPM's seeds (the first start of a new vTPM). The
  servers alternate A B / B A.
- **Memory**: \`/proc/PID/smaps_rollup\`: Rss, Pss, Private_Clean + Private_Dirty. One instance is
  read right after its first answer and again after $LOAD commands (every benchmark command in
  turn, including the state-changing ones). A single instance's "private" and PSS include the
  pages of its libraries that no other process maps at that moment (another swtpm running on
  the host, e.g. a test's, lowers swtpm's figures); private dirty does not depend on that. With
  $INSTANCES instances those library pages are shared, so the per-instance figures there are
  the marginal cost of one more VM. $INSTANCES instances
  per server are started at once (a shell loop) from copies of an existing state; the figures
  are read when all have answered a GetRandom. After an untimed warm-up round, the servers run
  A B then B A; the wall time is the mean of both rounds.
- **Latency**: write of the command to the last byte of the response, $ITERS timed iterations
  per command and server after 50 untimed ones; the client alternates between the servers in
  blocks of $BLOCK commands so drift affects both. Client on CPU ${CPUS[0]}; servers on
  CPU ${CPUS[0]} (same core) or CPU ${CPUS[1]:-—} (different cores), set with \`taskset\`.
  Median and p99 (nearest rank). The p99 reflects whatever else the machine runs at the
  time; the medians are stable to a few percent (checked by running the harness with swtpm
  as both servers).
- **Commits**: over the unix socket, client and server on ${NV_PIN/diff/different} core(s),
  $NV_ITERS iterations per command in blocks of $NV_BLOCK. DictionaryAttackParameters
  (alternating newMaxTries 32/33) and HierarchyChangeAuth (owner auth alternating between
  empty and 8 bytes) change the TPM's persistent state on every call, so the server must write
  it before answering. During the warm-up tpmbench checks that the bytes in the state folder
  changed with every command; the run fails if they did not. (Debian's swtpm 0.7.1 writes its
  state file with write + rename and no fsync; a durable server also pays an fsync of the file
  and of the folder.) NV_Write writes 64 bytes, every one different from the previous write,
  to a 64-byte ordinary index (OWNERREAD | OWNERWRITE, owner authorization by password);
  NV_Increment increments a counter index (same attributes), which the client reads back after
  the last increment: it must have gone up by exactly their number. The indices are defined
  before and undefined after, untimed.
- **NV, keys, sessions, signing**: same socket and cores, $OPS_ITERS samples per mode in blocks
  of $OPS_BLOCK after 20 untimed ones. Before a mode each server gets the primary keys (owner
  hierarchy, empty authValue, SHA-256) and NV index the mode works on, untimed; they are
  flushed or undefined when no later mode needs them (libtpms keeps only 3 objects loaded).
  NV_Read returns 64 bytes, compared with what was written last. CreatePrimary uses the ECC
  P-256 storage template of \`tpm2_createprimary -G ecc256\` (restricted decrypt, AES-128-CFB,
  empty unique); each key is flushed after, untimed. The sealed object is a keyedhash object
  with 32 bytes of data (new ones each time) and an 8-byte authValue, created under an ECC
  P-256 SRK, loaded and unsealed (the bytes are compared) and flushed, untimed; the figure is
  the sum of the three round trips, each also shown. The salted session: the client makes an
  ephemeral P-256 key and the salt KDFe(SHA-256, Z, "SECRET", ephemeral x, SRK x, 256) with
  OpenSSL (Part 1 Annex C.6.1), sends StartAuthSession (tpmKey the SRK, bind TPM_RH_NULL, an
  HMAC session, no symmetric algorithm, SHA-256), derives sessionKey = KDFa(SHA-256, salt,
  "ATH", nonceTPM, nonceCaller, 256) (Part 1 §19.6.8), sends PCR_Extend(16) authorized by the
  session with its command HMAC (an authorization that changes no persistent state, so that no
  commit hides the session's cost; GetRandom could carry the session only for encryption),
  verifies the response HMAC, and flushes the session; the figure
  is the sum of the three round trips; the client's own ECDH, KDFs and HMACs between them are
  not counted. Sign signs a digest that changes every time, with an unrestricted ECC P-256 key
  (ECDSA-SHA256) or an RSA-2048 sign + decrypt key (RSASSA-SHA256); every signature is verified
  with OpenSSL against the public key CreatePrimary returned. RSA_Decrypt decrypts a 256-byte
  ciphertext (OAEP, SHA-256, empty label) that the client made of 32 bytes with that public key;
  the plaintext is compared. Quote signs SHA-256 PCRs 0-7 with 16 bytes of qualifying data that
  change every time, with an ECC P-256 restricted signing key (ECDSA-SHA256); the attestation is
  parsed (TPM_GENERATED_VALUE, quote type, qualifying data, PCR selection) and its signature
  verified. EncryptDecrypt2 sends 1024 bytes to an AES-128-CFB key, alternately encrypting new
  data and decrypting the last ciphertext, which must give the data back.
- **RSA-2048 primary keys**: the RSA-2048 storage template of \`tpm2_createprimary -G
  rsa2048\` with 16 bytes never used before in its unique field (8 random bytes per run, then a
  counter), so that each sample is a template no cache has seen; $RSA_ITERS samples per server
  after 2 untimed ones, the servers alternating sample by sample, each key flushed after,
  untimed. "A new template": that CreatePrimary, timed: the server derives the template's primes.
  "The same template again": that CreatePrimary untimed (a server that caches derived keys fills
  its cache), then the same template again, timed. Both are medians over $RSA_ITERS templates, so
  they do not hang on how long one seed's prime search happens to take. The target for the
  same template is at most 1/30 of swtpm's time.
- libtpms answers TPM_RC_RETRY to the first use of a DA-protected object after start-up, once it
  has recorded that use in NV; the client sends the command again, as a TSS does (the time
  includes both). The raw results count such retries during timed samples (\`retries=\`).
- **Guest boot**: \`tests/guest/bench-hook.sh NAME SERVER-COMMAND...\` boots the test guest
  once per server (\`tests/guest/run.sh --device crb\`: QEMU, OVMF, the Linux kernel and its
  initramfs, which measure into and read the TPM) and reports the user + system CPU time the
  server process used over the whole run, from its start to its exit. The guest waits on the
  TPM for at least that long; socket and scheduling delays come on top, alike for both servers.
  Skipped (with a note) when the guest image cannot be built on this machine.

$NOTES
EOF
)

printf '%s\n' "$REPORT"
if [ "$OUT" != - ]; then
    mkdir -p "$(dirname "$OUT")"
    printf '%s\n' "$REPORT" > "$OUT"
    say "written to $OUT"
fi
if [ $HAVE_B = 0 ]; then
    say "*** ${B_CMD[0]} does not exist: only $A_NAME was measured. ***"
fi

#!/usr/bin/env bash
# Install rowpipe's build and test dependencies on Debian 12 with apt-get (a quick no-op when all are present).
# usage: scripts/deps.sh [--check|--list]
#   (none)   install what is missing (as root, or through sudo), then fetch the servers Debian
#            lacks into ~/.cache/rowpipe (Kafka jars, FerretDB) when not already there
#   --check  print what is missing, exit 1 if anything is; install nothing
#   --list   print the package list
# Installing server packages must not leave system services running: the tests
# start private servers (tests/services/run). While installing, a policy-rc.d
# that forbids service starts is put in place if there is none, and system
# services of server packages installed here are stopped and disabled after.
set -euo pipefail

PACKAGES=(
    # build
    g++ make pkg-config ccache
    default-libmysqlclient-dev libhiredis-dev librdkafka-dev librabbitmq-dev
    libmongoc-dev libbson-dev libcli11-dev rapidjson-dev libzstd-dev zlib1g-dev
    clang clang-format clang-tidy libclang-rt-14-dev
    # tests, demo and docs
    catch2 mariadb-server mariadb-client redis-server rabbitmq-server kcat amqp-tools
    groff-base python3-uhashring procps iproute2 util-linux maven openjdk-17-jre-headless
)
# package -> system services it may start
declare -A SERVICES=(
    [mariadb-server]="mariadb"
    [redis-server]="redis-server"
    [rabbitmq-server]="rabbitmq-server epmd.socket epmd.service"
)

mode=install
case ${1:-} in
'') ;;
--check) mode=check ;;
--list) printf '%s\n' "${PACKAGES[@]}"; exit 0 ;;
-h | --help) sed -n '2,10s/^# \{0,1\}//p' "$0"; exit 0 ;;
*) echo "deps: unknown argument $1 (see --help)" >&2; exit 2 ;;
esac

command -v dpkg-query >/dev/null 2>&1 || {
    echo "deps: dpkg-query not found: this script is for Debian 12; install these by hand:" >&2
    echo "  ${PACKAGES[*]}" >&2
    exit 1
}

# missing_packages: print the packages of PACKAGES not fully installed (one dpkg-query call).
missing_packages() {
    local -A ok=()
    local name status p
    while read -r name status; do
        [[ $status == 'install ok installed' ]] && ok[$name]=1
    done < <(dpkg-query -W -f='${Package} ${Status}\n' "${PACKAGES[@]}" 2>/dev/null || true)
    for p in "${PACKAGES[@]}"; do
        [[ -n ${ok[$p]:-} ]] || echo "$p"
    done
}

# fetch_servers: the test servers Debian lacks, cached outside the repository: Kafka's jars
# (Maven Central) and FerretDB (built with Go from the module proxy). A failure is reported, not
# fatal: the services that need them then SKIP with the reason (a failure under CI=true).
fetch_servers() {
    local here
    here=$(cd "$(dirname "$0")/.." && pwd)
    "$here/tests/services/fetch-kafka" >&2 || echo "deps: warning: could not fetch Kafka; kafka tests will skip" >&2
    "$here/tests/services/fetch-ferretdb" >&2 || echo "deps: warning: could not build FerretDB; mongo tests will skip" >&2
}

mapfile -t missing < <(missing_packages)
if ((${#missing[@]} == 0)); then
    [[ $mode == install ]] && fetch_servers
    exit 0
fi

if [[ $mode == check ]]; then
    echo "deps: missing: ${missing[*]}" >&2
    exit 1
fi

if ((EUID == 0)); then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
else
    echo "deps: missing packages and not root (no sudo): ${missing[*]}" >&2
    echo "deps: as root run: apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
fi

echo "deps: installing: ${missing[*]}" >&2

# No service starts during the install (invoke-rc.d and deb-systemd-invoke obey policy-rc.d).
policy=/usr/sbin/policy-rc.d
marker='# rowpipe scripts/deps.sh: no service starts while installing'
remove_policy() {
    if [[ -f $policy ]] && grep -qxF "$marker" "$policy"; then
        "${as_root[@]}" rm -f "$policy"
    fi
}
if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\n%s\nexit 101\n' "$marker" | "${as_root[@]}" tee "$policy" >/dev/null
    "${as_root[@]}" chmod 755 "$policy"
    trap remove_policy EXIT
fi

apt=("${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q -o Dpkg::Use-Pty=0)
"${apt[@]}" update
"${apt[@]}" install -y --no-install-recommends "${missing[@]}"
remove_policy

# Stop (and keep from starting at boot) system services of server packages installed now.
for p in "${missing[@]}"; do
    for unit in ${SERVICES[$p]:-}; do
        if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1; then
            if systemctl is-enabled --quiet "$unit" 2>/dev/null || systemctl is-active --quiet "$unit" 2>/dev/null; then
                "${as_root[@]}" systemctl disable --now --quiet "$unit" 2>/dev/null || true
                echo "deps: stopped and disabled system service $unit (tests start private servers)" >&2
            fi
        elif [[ $unit != *.* ]] && command -v service >/dev/null 2>&1 &&
            "${as_root[@]}" service "$unit" status >/dev/null 2>&1; then
            "${as_root[@]}" service "$unit" stop >/dev/null 2>&1 || true
            echo "deps: stopped system service $unit (tests start private servers)" >&2
        fi
    done
done

mapfile -t still < <(missing_packages)
if ((${#still[@]})); then
    echo "deps: still missing after apt-get install: ${still[*]}" >&2
    exit 1
fi
echo "deps: all ${#PACKAGES[@]} packages installed" >&2
fetch_servers

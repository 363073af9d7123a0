#!/usr/bin/env bash
# services:
# budget: 60
# `make demo`'s script (scripts/demo.sh), which starts its own MariaDB and Redis (so no harness
# service is named above): it exits 0, shows each MySQL row next to a Redis hash holding the same
# values, the deleted row gone from Redis, and leaves no server it started running (nor their
# directory). Environment: BUILD (default build: bin/).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
failed=0
ok() { echo "ok - $1"; }
not_ok() {
  echo "not ok - $1"
  failed=1
}
bin_dir=$root/bin
[ "${BUILD:-build}" = build ] || bin_dir=$root/$BUILD/bin
for t in binlog-tail jsonl-to-redis; do
  [ -x "$bin_dir/$t" ] || { echo "not ok - demo: $bin_dir/$t not built"; exit 1; }
done
for b in mariadbd redis-server redis-cli; do
  command -v "$b" >/dev/null || [ -x "/usr/sbin/$b" ] || { echo "skip - demo: $b is not installed"; exit 0; }
done
# The demo's servers live under TMPDIR: a private one tells its processes and files apart from others.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/t"
# An outer harness run's addresses must not be reused: the demo promises servers of its own.
env -u MYSQL_URL -u REDIS_URL -u ROWPIPE_SERVICES_DIR TMPDIR="$tmp/t" BUILD="${BUILD:-build}" \
  "$root/scripts/demo.sh" >"$tmp/out" 2>&1
rc=$?
if [ "$rc" = 0 ] && grep -q '^services: mariadb .* on 127.0.0.1:' "$tmp/out" &&
  grep -q '^services: redis .* on 127.0.0.1:' "$tmp/out"; then
  ok "demo: scripts/demo.sh exits 0 after starting its own MariaDB and Redis"
else
  not_ok "demo: exit $rc: $(tail -5 "$tmp/out")"
fi

# Each "mysql  shop.users id=N: name=..." line is followed by "redis  shop_users_N: id=N name=..."
# with the same values; the rows left are 1, 3 and 4; row 2 (deleted) no longer exists in Redis.
verdict=$(awk '
  /^mysql  shop\.users id=/ { id = $3; sub(/^id=/, "", id); sub(/:$/, "", id); m = $0; sub(/^[^:]*: /, "", m); want[id] = m; order = order " " id; next }
  /^redis  shop_users_[0-9]+: / { id = $2; sub(/^shop_users_/, "", id); sub(/:$/, "", id); r = $0; sub(/^[^:]*: /, "", r);
    if (r != "id=" id " " want[id]) { bad = bad " " id }; seen[id] = 1; next }
  END { for (i in want) if (!(i in seen)) bad = bad " " i " (no hash)"; print "rows" order (bad ? "; differ:" bad : "") }
' "$tmp/out")
if [ "$verdict" = "rows 1 3 4" ]; then
  ok "demo: each MySQL row (ids 1, 3, 4) is shown next to a Redis hash with equal values"
else
  not_ok "demo: MySQL rows vs Redis hashes: $verdict; $(grep -E '^(mysql|redis) ' "$tmp/out" | head -8)"
fi
if grep -qx 'redis  shop_users_2 (deleted in MySQL): exists=0' "$tmp/out"; then
  ok "demo: the row deleted in MySQL is gone from Redis"
else
  not_ok "demo: the deleted row: $(grep 'shop_users_2' "$tmp/out")"
fi

# Nothing the demo started survives it: no process names its directory, which is removed.
left=()
for c in /proc/[0-9]*/cmdline; do
  if tr '\0' ' ' <"$c" 2>/dev/null | grep -qF "$tmp/t/"; then
    p=${c#/proc/}
    left+=("${p%/cmdline} $(tr '\0' ' ' <"$c" | cut -c1-80)")
  fi
done
if [ ${#left[@]} = 0 ] && [ -z "$(ls -A "$tmp/t")" ]; then
  ok "demo: no server it started is left running, and its server directory is gone"
else
  not_ok "demo: left behind: ${left[*]} $(ls -A "$tmp/t")"
fi
exit $failed

# Watchdog started by tests/services/run: if run dies without cleaning up (SIGKILL), stop its servers.
# shellcheck shell=bash
# Its stdin is a FIFO that only run holds open for writing; run writes "done" when it has
# cleaned up itself. EOF without "done" means run is gone: tear down ROWPIPE_SERVICES_DIR.
set -euo pipefail
# shellcheck source=tests/services/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
trap '' INT HUP
line=''
IFS= read -r line || true
[[ $line == 'done' ]] && exit 0
# run's COMMAND (pid saved by run) would only fail on without its servers: stop it too.
cmd_pid=$(cat "$ROWPIPE_SERVICES_DIR/.cmd_pid" 2>/dev/null) || cmd_pid=''
if [[ -n $cmd_pid ]]; then kill -TERM "$cmd_pid" 2>/dev/null || true; fi
teardown_all "$ROWPIPE_SERVICES_DIR" || true

// binlog-tail --mysql URL: a replica connection's events, decoded into lines as they are committed,
// with checkpoints, HEARTBEAT lines, reconnection and a drain on SIGTERM.
#pragma once

#include "config.hpp"

namespace rowpipe::tail {

// Streams from the start position (--resume's checkpoint, else --from: FILE:POS, a MariaDB GTID
// position, current (default) or earliest) until a signal (at a transaction boundary), --to,
// --stop-at-end once caught up, or an error that reconnecting cannot heal. Returns the exit code;
// throws Error otherwise (kUnavailable once --max-retries/--retry-timeout are spent).
int run_live(const Config& config);

}  // namespace rowpipe::tail

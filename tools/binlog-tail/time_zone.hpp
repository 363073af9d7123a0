// The zone of the `time` field: UTC, a fixed offset, or a named zone (tz database) read through
// localtime_r(3).
#pragma once

#include <string>

#include "binlog/line_emitter.hpp"

namespace rowpipe::tail {

// A formatter for `zone`: "UTC" (also "Z", "GMT"), "+HH:MM"/"-HH:MM", "local" or "SYSTEM" (the
// process's zone, TZ), a tz database name such as "Europe/Berlin" (it must exist in TZDIR or
// /usr/share/zoneinfo), or a POSIX TZ string ("CET-1CEST,M3.5.0,M10.5.0/3"). An empty zone means
// UTC, or the local zone when `local_default` (the seed format's rule). Throws Error(kUsage) for a
// zone it cannot resolve. A named zone sets TZ for the process.
binlog::LineEmitter::TimeFormatter make_time_formatter(const std::string& zone, bool local_default);

}  // namespace rowpipe::tail

// Crash points for fault tests: ROWPIPE_FAILPOINT=NAME:N makes the tool _exit(99) the N-th time it
// passes NAME (after-exec, before-exec, mid-chunk, mid-purge, after-read). Always compiled in; a pass
// costs one comparison when unset.
#pragma once

#include <string_view>

namespace rowpipe::redis_sink {

// Exits the process at once (no flush, no checkpoint: like kill -9) when the configured failpoint is
// `name` and this is its N-th pass.
void failpoint(std::string_view name);

}  // namespace rowpipe::redis_sink

// Crash points for fault tests: ROWPIPE_FAILPOINT=NAME:N makes the tool _exit(99) the N-th time it
// passes the point NAME, as a kill -9 there would (no flush, no checkpoint). Always compiled in; a pass
// costs one comparison when the variable is unset.
#pragma once

#include <string_view>

namespace rowpipe {

// Exits the process at once when ROWPIPE_FAILPOINT names `name` and this is its N-th pass (N defaults
// to 1), after one line on stderr: "TOOL: failpoint NAME:N reached: exiting".
void failpoint(std::string_view name);

// Whether ROWPIPE_FAILPOINT names `name` (for a failpoint that needs the code path shaped around it).
bool failpoint_armed(std::string_view name);

}  // namespace rowpipe

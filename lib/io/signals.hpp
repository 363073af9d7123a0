// Process-wide signal policy: SIGPIPE ignored, SIGINT/SIGTERM only request a drain.
#pragma once

namespace rowpipe::signals {

// Ignores SIGPIPE (so no client library's socket can kill the tool; EPIPE is handled where written)
// and installs SIGINT/SIGTERM/SIGHUP handlers that only set a flag. Call once at start.
void install();

// True once SIGINT, SIGTERM or SIGHUP arrived: stop reading input, flush, checkpoint, exit.
bool stop_requested() noexcept;

// The signal that asked to stop (0 when none).
int stop_signal() noexcept;

// For tests and for tools that stop themselves (e.g. --stop-at-end).
void request_stop(int signo = 0) noexcept;

}  // namespace rowpipe::signals

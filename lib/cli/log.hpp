// Diagnostics on stderr as `tool: level: [where: ]message`; stdout is for data only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace rowpipe::log {

enum class Level { kError, kWarning, kNotice, kInfo, kDebug };

// Set once in main; names every message.
void set_tool(std::string_view name);
const std::string& tool();

// Messages above this level are dropped (default kNotice; --verbose raises it, --quiet lowers it).
void set_threshold(Level level);
bool enabled(Level level);

// `where` is an input position such as "stdin:1234" or "mysql-bin.000001:4711"; empty for none.
void write(Level level, std::string_view where, std::string_view message);

inline void error(std::string_view message) { write(Level::kError, {}, message); }
inline void warning(std::string_view message) { write(Level::kWarning, {}, message); }
inline void notice(std::string_view message) { write(Level::kNotice, {}, message); }
inline void info(std::string_view message) { write(Level::kInfo, {}, message); }
inline void debug(std::string_view message) { write(Level::kDebug, {}, message); }

// True when stderr is a terminal: progress reports are shown only then.
bool stderr_is_terminal();

// Rewrites the current terminal line with a progress report (no-op unless stderr is a terminal);
// finish_progress() ends that line so later messages start clean.
void progress(std::string_view text);
void finish_progress();

// Rate-limits progress reports for long work (snapshots, replays): due() is true at most twice a
// second, and never when stderr is not a terminal, so hot loops can call it per row.
class ProgressMeter {
 public:
  bool due() {
    if (!stderr_is_terminal() || ++calls_ % 1024 != 0) return false;
    return clock_due();
  }

 private:
  bool clock_due();
  uint64_t calls_ = 0;
  int64_t last_ms_ = 0;
};

}  // namespace rowpipe::log

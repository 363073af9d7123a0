// Diagnostics writer: one write(2) per message so lines from concurrent tools in a pipeline do not interleave.
#include "cli/log.hpp"

#include <unistd.h>

#include <cerrno>
#include <ctime>

namespace rowpipe::log {
namespace {

std::string g_tool = "rowpipe";
Level g_threshold = Level::kNotice;
bool g_progress_open = false;

const char* level_name(Level level) {
  switch (level) {
    case Level::kError: return "error";
    case Level::kWarning: return "warning";
    case Level::kNotice: return "notice";
    case Level::kInfo: return "info";
    case Level::kDebug: return "debug";
  }
  return "error";
}

void write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // nowhere left to report a failing stderr
    }
    text.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace

void set_tool(std::string_view name) { g_tool = name; }
const std::string& tool() { return g_tool; }
void set_threshold(Level level) { g_threshold = level; }
bool enabled(Level level) { return level <= g_threshold; }

void write(Level level, std::string_view where, std::string_view message) {
  if (!enabled(level)) return;
  std::string line;
  line.reserve(g_tool.size() + where.size() + message.size() + 24);
  if (g_progress_open) {
    line += "\r\033[K";
    g_progress_open = false;
  }
  line += g_tool;
  line += ": ";
  line += level_name(level);
  line += ": ";
  if (!where.empty()) {
    line += where;
    line += ": ";
  }
  line += message;
  line += '\n';
  write_all(STDERR_FILENO, line);
}

bool stderr_is_terminal() {
  static const bool terminal = ::isatty(STDERR_FILENO) == 1;
  return terminal;
}

void progress(std::string_view text) {
  if (!stderr_is_terminal()) return;
  std::string line = "\r\033[K";
  line += g_tool;
  line += ": ";
  line += text;
  write_all(STDERR_FILENO, line);
  g_progress_open = true;
}

void finish_progress() {
  if (!g_progress_open) return;
  write_all(STDERR_FILENO, "\n");
  g_progress_open = false;
}

bool ProgressMeter::clock_due() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  int64_t ms = static_cast<int64_t>(now.tv_sec) * 1000 + now.tv_nsec / 1000000;
  if (ms - last_ms_ < 500) return false;
  last_ms_ = ms;
  return true;
}

}  // namespace rowpipe::log

// Time zones of the `time` field.
#include "time_zone.hpp"

#include <sys/stat.h>

#include <cctype>
#include <cstdlib>
#include <ctime>
#include <optional>

#include "cli/error.hpp"
#include "event/values.hpp"

namespace rowpipe::tail {
namespace {

void append_local(std::string& out, int64_t ts) {
  time_t t = static_cast<time_t>(ts);
  tm parts{};
  if (localtime_r(&t, &parts) == nullptr) {
    append_utc_datetime(out, ts, 0, 0);
    return;
  }
  append_datetime(out, static_cast<unsigned>(parts.tm_year + 1900), static_cast<unsigned>(parts.tm_mon + 1),
                  static_cast<unsigned>(parts.tm_mday), static_cast<unsigned>(parts.tm_hour),
                  static_cast<unsigned>(parts.tm_min), static_cast<unsigned>(parts.tm_sec), 0, 0);
}

// "+08:00", "-0530", "+8": seconds east of UTC.
std::optional<int64_t> fixed_offset(const std::string& zone) {
  if (zone.size() < 2 || (zone[0] != '+' && zone[0] != '-')) return std::nullopt;
  int digits[4] = {0, 0, 0, 0};
  size_t n = 0;
  for (size_t i = 1; i < zone.size(); ++i) {
    char c = zone[i];
    if (c == ':' && i == 3 && n == 2) continue;
    if (!std::isdigit(static_cast<unsigned char>(c)) || n == 4) return std::nullopt;
    digits[n++] = c - '0';
  }
  int hours, minutes = 0;
  if (n == 1) {
    hours = digits[0];
  } else if (n == 2) {
    hours = digits[0] * 10 + digits[1];
  } else if (n == 4) {
    hours = digits[0] * 10 + digits[1];
    minutes = digits[2] * 10 + digits[3];
  } else {
    return std::nullopt;
  }
  if (hours > 14 || minutes > 59) return std::nullopt;
  int64_t s = hours * 3600 + minutes * 60;
  return zone[0] == '-' ? -s : s;
}

bool known_zone_name(const std::string& zone) {
  if (zone.empty() || zone[0] == '/' || zone.find("..") != std::string::npos) return false;
  const char* dir = std::getenv("TZDIR");
  std::string path = std::string(dir && *dir ? dir : "/usr/share/zoneinfo") + "/" + zone;
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// A POSIX TZ string: a name of 3+ letters (or <...>), then an offset with at least one digit.
bool posix_zone(const std::string& zone) {
  size_t i = 0;
  if (!zone.empty() && zone[0] == '<') {
    i = zone.find('>');
    if (i == std::string::npos) return false;
    ++i;
  } else {
    while (i < zone.size() && std::isalpha(static_cast<unsigned char>(zone[i]))) ++i;
    if (i < 3) return false;
  }
  if (i < zone.size() && (zone[i] == '+' || zone[i] == '-')) ++i;
  return i < zone.size() && std::isdigit(static_cast<unsigned char>(zone[i]));
}

}  // namespace

binlog::LineEmitter::TimeFormatter make_time_formatter(const std::string& zone, bool local_default) {
  auto utc = [](std::string& out, int64_t ts) { append_utc_datetime(out, ts, 0, 0); };
  if (zone.empty() && !local_default) return utc;
  if (zone == "UTC" || zone == "utc" || zone == "Z" || zone == "GMT" || zone == "Etc/UTC") return utc;
  if (auto offset = fixed_offset(zone)) {
    int64_t off = *offset;
    return [off](std::string& out, int64_t ts) { append_utc_datetime(out, ts + off, 0, 0); };
  }
  if (zone.empty() || zone == "local" || zone == "SYSTEM") {
    tzset();
    return append_local;
  }
  if (!known_zone_name(zone) && !posix_zone(zone))
    fail(ErrorKind::kUsage, "--timezone " + zone +
                                ": unknown time zone (give UTC, +HH:MM, local, a tz database name such as "
                                "Europe/Berlin, or a POSIX TZ string)");
  ::setenv("TZ", zone.c_str(), 1);
  tzset();
  return append_local;
}

}  // namespace rowpipe::tail

// ROWPIPE_FAILPOINT parsing and the crash itself.
#include "cli/failpoint.hpp"

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "cli/log.hpp"
#include "event/position.hpp"

namespace rowpipe {
namespace {

struct FailpointConfig {
  std::string name;
  uint64_t at = 0;
  uint64_t passes = 0;
};

FailpointConfig& config() {
  static FailpointConfig c = [] {
    FailpointConfig out;
    const char* env = std::getenv("ROWPIPE_FAILPOINT");
    if (env == nullptr) return out;
    std::string_view text(env);
    size_t colon = text.rfind(':');
    auto n = colon == std::string_view::npos ? std::optional<uint64_t>(1) : parse_u64(text.substr(colon + 1));
    if (!n || *n == 0) return out;
    out.name = std::string(text.substr(0, colon));
    out.at = *n;
    return out;
  }();
  return c;
}

}  // namespace

bool failpoint_armed(std::string_view name) {
  const FailpointConfig& c = config();
  return c.at != 0 && name == c.name;
}

void failpoint(std::string_view name) {
  FailpointConfig& c = config();
  if (c.at == 0 || name != c.name || ++c.passes != c.at) return;
  std::string msg = log::tool() + ": failpoint " + c.name + ":" + std::to_string(c.at) + " reached: exiting\n";
  ssize_t ignored = ::write(STDERR_FILENO, msg.data(), msg.size());
  (void)ignored;
  ::_exit(99);
}

}  // namespace rowpipe

// ROWPIPE_FAILPOINT parsing and the crash itself.
#include "failpoint.hpp"

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "event/position.hpp"

namespace rowpipe::redis_sink {
namespace {

struct Config {
  std::string name;
  uint64_t at = 0;
  uint64_t passes = 0;
};

Config& config() {
  static Config c = [] {
    Config out;
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

void failpoint(std::string_view name) {
  Config& c = config();
  if (c.at == 0 || name != c.name || ++c.passes != c.at) return;
  std::string msg = "jsonl-to-redis: failpoint " + c.name + ":" + std::to_string(c.at) + " reached: exiting\n";
  ssize_t ignored = ::write(STDERR_FILENO, msg.data(), msg.size());
  (void)ignored;
  ::_exit(99);
}

}  // namespace rowpipe::redis_sink

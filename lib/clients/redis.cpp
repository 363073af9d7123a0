// Connecting to Redis from a URL, binary-safe commands and thin pipelining over hiredis.
#include "clients/redis.hpp"

#include <sys/time.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <vector>

namespace rowpipe {
namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>(ms.count() % 1000 * 1000);
  return tv;
}

// argv/argvlen arrays for hiredis without a heap allocation for the common short command.
class Argv {
 public:
  explicit Argv(std::span<const std::string_view> args) {
    if (args.size() > kInline) {
      heap_ptrs_.resize(args.size());
      heap_lens_.resize(args.size());
      ptrs_ = heap_ptrs_.data();
      lens_ = heap_lens_.data();
    }
    for (size_t i = 0; i < args.size(); ++i) {
      ptrs_[i] = args[i].data();
      lens_[i] = args[i].size();
    }
    count_ = static_cast<int>(args.size());
  }
  Argv(const Argv&) = delete;
  Argv& operator=(const Argv&) = delete;

  int count() const { return count_; }
  const char** ptrs() { return ptrs_; }
  const size_t* lens() const { return lens_; }

 private:
  static constexpr size_t kInline = 16;
  std::array<const char*, kInline> inline_ptrs_{};
  std::array<size_t, kInline> inline_lens_{};
  std::vector<const char*> heap_ptrs_;
  std::vector<size_t> heap_lens_;
  const char** ptrs_ = inline_ptrs_.data();
  size_t* lens_ = inline_lens_.data();
  int count_ = 0;
};

std::string command_name(std::span<const std::string_view> args) {
  return args.empty() ? std::string("(empty command)") : std::string(args[0]);
}

}  // namespace

ErrorKind redis_error_kind(std::string_view text) noexcept {
  std::string_view code = text.substr(0, text.find(' '));
  if (code == "NOAUTH" || code == "WRONGPASS" || code == "NOPERM") return ErrorKind::kPermission;
  if (code == "LOADING" || code == "BUSY" || code == "TRYAGAIN" || code == "MASTERDOWN" || code == "CLUSTERDOWN" ||
      code == "READONLY" || code == "OOM") {
    return ErrorKind::kUnavailable;
  }
  if (code == "MOVED" || code == "ASK") return ErrorKind::kConfig;
  return ErrorKind::kData;
}

void throw_redis_error(const redisContext* c, std::string_view context) {
  ErrorKind kind = ErrorKind::kUnavailable;
  std::string what = c->errstr[0] != '\0' ? std::string(c->errstr) : std::string("unknown error");
  switch (c->err) {
    case REDIS_ERR_PROTOCOL: kind = ErrorKind::kProtocol; break;
    case REDIS_ERR_OOM: kind = ErrorKind::kInternal; break;
    case REDIS_ERR_IO:
      // hiredis leaves errstr empty for some I/O errors (a read timeout): errno says what happened.
      if (c->errstr[0] == '\0' && errno != 0) what = std::strerror(errno);
      break;
    default:  // REDIS_ERR_EOF, REDIS_ERR_OTHER (timeouts, resolution failures)
      break;
  }
  fail(kind, std::string(context) + ": " + what);
}

void check_reply(const redisReply* r, std::string_view context) {
  if (r->type == REDIS_REPLY_ERROR) {
    std::string_view text = reply_text(r);
    fail(redis_error_kind(text), std::string(context) + ": " + std::string(text));
  }
}

RedisContext connect_redis(const Url& url, std::chrono::milliseconds timeout, const std::string& password_file) {
  if (url.scheme != Scheme::kRedis) fail(ErrorKind::kUsage, "expected a redis:// URL, got " + url.redacted());
  const std::string where = url.redacted();
  timeval tv = to_timeval(timeout.count() > 0 ? timeout : std::chrono::milliseconds(5000));
  std::optional<std::string_view> socket = url.param("socket");
  RedisContext c(socket ? redisConnectUnixWithTimeout(std::string(*socket).c_str(), tv)
                        : redisConnectWithTimeout(url.host().host.c_str(), url.host().port, tv));
  if (!c) fail(ErrorKind::kInternal, "cannot allocate a redis context");
  if (c->err != 0) throw_redis_error(c.get(), "cannot connect to " + where);
  if (timeout.count() > 0 && redisSetTimeout(c.get(), tv) != REDIS_OK) {
    throw_redis_error(c.get(), "cannot set the timeout on " + where);
  }

  if (std::optional<std::string> password = resolve_password(url, password_file)) {
    std::string_view with_user[] = {"AUTH", url.user, *password};
    std::string_view without_user[] = {"AUTH", *password};
    Argv argv(url.user.empty() ? std::span<const std::string_view>(without_user) : with_user);
    RedisReply reply(static_cast<redisReply*>(redisCommandArgv(c.get(), argv.count(), argv.ptrs(), argv.lens())));
    std::fill(password->begin(), password->end(), '\0');
    if (!reply) throw_redis_error(c.get(), "AUTH failed on " + where);
    if (is_error(reply.get())) {
      std::string_view text = reply_text(reply.get());
      // "ERR AUTH <password> called without any password configured": a setting, not a refusal.
      ErrorKind kind = text.find("without any password configured") != std::string_view::npos ? ErrorKind::kConfig
                                                                                              : ErrorKind::kPermission;
      fail(kind, "authentication refused by " + where + ": " + std::string(text));
    }
  }
  if (!url.path.empty()) {
    RedisReply reply = command(c.get(), {"SELECT", url.path});
    (void)reply;
  }
  return c;
}

RedisReply command(redisContext* c, std::span<const std::string_view> args) {
  Argv argv(args);
  RedisReply reply(static_cast<redisReply*>(redisCommandArgv(c, argv.count(), argv.ptrs(), argv.lens())));
  if (!reply) throw_redis_error(c, "redis " + command_name(args) + " failed");
  check_reply(reply.get(), "redis " + command_name(args) + " failed");
  return reply;
}

void append_command(redisContext* c, std::span<const std::string_view> args) {
  Argv argv(args);
  if (redisAppendCommandArgv(c, argv.count(), argv.ptrs(), argv.lens()) != REDIS_OK) {
    throw_redis_error(c, "redis " + command_name(args) + " could not be queued");
  }
}

RedisReply get_reply(redisContext* c) {
  void* raw = nullptr;
  if (redisGetReply(c, &raw) != REDIS_OK || raw == nullptr) throw_redis_error(c, "reading a redis reply failed");
  return RedisReply(static_cast<redisReply*>(raw));
}

}  // namespace rowpipe

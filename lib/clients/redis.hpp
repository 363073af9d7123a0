// Redis through hiredis 0.14 (no TLS, no RESP3): RAII handles, connecting from a URL, binary-safe commands.
#pragma once

#include <hiredis/hiredis.h>

#include <chrono>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

#include "cli/error.hpp"
#include "clients/handle.hpp"
#include "clients/url.hpp"

namespace rowpipe {

using RedisContext = Handle<redisContext, redisFree>;
using RedisReply = Handle<redisReply, freeReplyObject>;

// Connects to `url` (redis://[USER][:PASS]@HOST[:PORT][/DB], ?socket=/path for a unix socket), sends
// AUTH when a password resolves (URL, REDIS_PASSWORD, then `password_file`; AUTH USER PASS when the URL
// names a user) and SELECT DB when the URL has one. `timeout` bounds the connect and, if non-zero, every
// later read and write. Throws Error: kUnavailable when unreachable, kPermission when AUTH is refused;
// messages name the redacted URL.
RedisContext connect_redis(const Url& url, std::chrono::milliseconds timeout = std::chrono::seconds(5),
                           const std::string& password_file = {});

// The category of an error reply by its prefix: NOAUTH/WRONGPASS/NOPERM -> kPermission;
// LOADING/BUSY/TRYAGAIN/MASTERDOWN/CLUSTERDOWN/READONLY/OOM -> kUnavailable; MOVED/ASK -> kConfig (no
// cluster support); anything else (ERR, WRONGTYPE, ...) -> kData.
ErrorKind redis_error_kind(std::string_view error_text) noexcept;

// Throws the context's I/O or protocol error (after it the context is unusable): kUnavailable for
// I/O, EOF and timeouts, kProtocol for a malformed reply, kInternal for out of memory.
[[noreturn]] void throw_redis_error(const redisContext* c, std::string_view context);

// Sends one command (each argument binary safe) and waits for its reply. Throws on an I/O error and on
// an error reply (redis_error_kind); the message names the command (args[0]) but no other argument.
RedisReply command(redisContext* c, std::span<const std::string_view> args);
inline RedisReply command(redisContext* c, std::initializer_list<std::string_view> args) {
  return command(c, std::span<const std::string_view>(args.begin(), args.size()));
}

// Pipelining: append_command() only buffers the command (nothing is sent); get_reply() flushes the
// buffer and reads the next reply in order. get_reply() throws on I/O errors only: error replies are
// returned (check with is_error) so a caller can deal with each command's outcome.
void append_command(redisContext* c, std::span<const std::string_view> args);
inline void append_command(redisContext* c, std::initializer_list<std::string_view> args) {
  append_command(c, std::span<const std::string_view>(args.begin(), args.size()));
}
RedisReply get_reply(redisContext* c);

inline bool is_error(const redisReply* r) { return r->type == REDIS_REPLY_ERROR; }
// The text of a string, status or error reply ("" for other types).
inline std::string_view reply_text(const redisReply* r) {
  return r->str == nullptr ? std::string_view() : std::string_view(r->str, r->len);
}
// Throws Error(redis_error_kind) for an error reply: "context: ERRTEXT".
void check_reply(const redisReply* r, std::string_view context);

}  // namespace rowpipe

// Server addresses given as URLs (mysql, redis, amqp, kafka, mongodb): parsing, redaction, passwords.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rowpipe {

enum class Scheme : uint8_t { kMysql, kRedis, kAmqp, kKafka, kMongodb };

// "mysql", "redis", "amqp", "kafka", "mongodb".
std::string_view scheme_name(Scheme scheme);
// 3306, 6379, 5672, 9092, 27017.
uint16_t default_port(Scheme scheme);
// The environment variable consulted for a password: MYSQL_PWD, REDIS_PASSWORD, AMQP_PASSWORD,
// KAFKA_PASSWORD, MONGO_PASSWORD.
const char* password_env_var(Scheme scheme);

struct HostPort {
  std::string host;  // IPv6 literals without brackets ("::1")
  uint16_t port = 0;

  // "host:port", IPv6 in brackets ("[::1]:3306").
  std::string str() const;
};

// A parsed URL. Components are percent-decoded. `raw` keeps the text as given (libmongoc parses its
// own): it may hold a password, so log only redacted().
//
//   mysql://USER[:PASS]@HOST[:PORT][/DB][?k=v&...]
//   redis://[USER][:PASS]@HOST[:PORT][/DB]              (also redis://HOST[:PORT])
//   amqp://USER[:PASS]@HOST[:PORT][/VHOST]?exchange=E&routing_key=R&queue=Q
//   kafka://[USER[:PASS]@]HOST:PORT[,HOST:PORT...]/TOPIC
//   mongodb://[USER[:PASS]@]HOST[:PORT][,HOST[:PORT]...][/DB][?k=v...]   (and mongodb+srv://)
//
// Only kafka and mongodb take a host list. A missing port is the scheme's default port.
struct Url {
  Scheme scheme = Scheme::kMysql;
  std::string raw;
  std::string user;
  std::optional<std::string> password;                     // absent when the URL has none (`user@`); empty for `user:@`
  std::vector<HostPort> hosts;                             // never empty
  bool has_path = false;                                   // a '/' followed the authority (amqp: `/` alone is vhost "")
  std::string path;                                        // without the leading '/': database, db number, vhost, topic
  std::vector<std::pair<std::string, std::string>> query;  // in order; repeated keys kept
  bool srv = false;                                        // mongodb+srv

  const HostPort& host() const { return hosts.front(); }
  // The last value of a query parameter, if present.
  std::optional<std::string_view> param(std::string_view key) const;
  // "h1:p1,h2:p2".
  std::string host_list() const;
  // The URL rebuilt without its password (user:***@) and with password-like query values masked.
  std::string redacted() const;
};

// Parses `text`. Throws Error(kUsage) naming the redacted URL and what is wrong.
Url parse_url(std::string_view text);
// Parses and checks the scheme is `expected`; throws Error(kUsage) otherwise.
Url parse_url(std::string_view text, Scheme expected);

// Best-effort redaction of any URL-like text, also malformed (an unencoded '/' or '@' in a password):
// everything between "scheme://USER:" and the last '@' becomes "***". For error messages.
std::string redact_url_text(std::string_view text);

// A URL argument as given on the command line: `@/path/to/file` means "read the URL from that file"
// (surrounding whitespace trimmed), so that a URL carrying a password stays out of argv; anything else
// is the URL itself. Throws Error(kConfig) when the file cannot be read or is empty.
std::string resolve_url_argument(std::string_view argument);

// The password for a connection: the URL's own, else the contents of `password_file` when one is
// named, else the scheme's environment variable (see password_env_var) when set, else nullopt
// (connect without a password, or let the client library find one, e.g. in a MySQL option file).
std::optional<std::string> resolve_password(const Url& url, const std::string& password_file = {});

// RFC 3986 percent-decoding; '+' is kept. nullopt on a malformed escape.
std::optional<std::string> percent_decode(std::string_view text);

}  // namespace rowpipe

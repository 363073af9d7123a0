// URL parsing for every client: one grammar (RFC 3986 authority, percent-decoding, IPv6 brackets).
#include "clients/url.hpp"

#include <array>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "cli/error.hpp"
#include "cli/secret.hpp"

namespace rowpipe {
namespace {

struct SchemeInfo {
  std::string_view name;
  uint16_t port;
  const char* env;
  bool host_list;
};

constexpr std::array<SchemeInfo, 5> kSchemes{{
    {"mysql", 3306, "MYSQL_PWD", false},
    {"redis", 6379, "REDIS_PASSWORD", false},
    {"amqp", 5672, "AMQP_PASSWORD", false},
    {"kafka", 9092, "KAFKA_PASSWORD", true},
    {"mongodb", 27017, "MONGO_PASSWORD", true},
}};

const SchemeInfo& info(Scheme scheme) { return kSchemes[static_cast<size_t>(scheme)]; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    if (x != b[i]) return false;
  }
  return true;
}

bool is_password_key(std::string_view key) {
  return key == "password" || key == "pass" || key == "pwd" || key.ends_with(".password");
}

// Percent-encodes what would change the meaning of a URL component; other bytes (UTF-8) stay raw.
void append_encoded(std::string& out, std::string_view text) {
  static const char kHex[] = "0123456789ABCDEF";
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || std::strchr("%@:/?#&=[],", c) != nullptr) {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
}

[[noreturn]] void bad_url(std::string_view text, const std::string& why) {
  fail(ErrorKind::kUsage, "invalid URL '" + redact_url_text(text) + "': " + why);
}

std::string decode_or_fail(std::string_view text, std::string_view part, std::string_view url) {
  auto decoded = percent_decode(text);
  if (!decoded) bad_url(url, "malformed %-escape in the " + std::string(part));
  return std::move(*decoded);
}

HostPort parse_host(std::string_view item, uint16_t port, std::string_view url) {
  HostPort hp;
  std::string_view host = item;
  std::string_view port_text;
  bool has_port = false;
  if (!item.empty() && item[0] == '[') {
    size_t close = item.find(']');
    if (close == std::string_view::npos) bad_url(url, "unterminated '[' in the host");
    host = item.substr(1, close - 1);
    std::string_view rest = item.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') bad_url(url, "unexpected text after ']' in the host");
      port_text = rest.substr(1);
      has_port = true;
    }
    if (host.find(':') == std::string_view::npos) bad_url(url, "brackets around a host that is not IPv6");
  } else {
    size_t colon = item.find(':');
    if (colon != std::string_view::npos) {
      if (item.find(':', colon + 1) != std::string_view::npos) {
        bad_url(url, "an IPv6 address must be written in brackets ([::1]:PORT)");
      }
      host = item.substr(0, colon);
      port_text = item.substr(colon + 1);
      has_port = true;
    }
  }
  if (host.empty()) bad_url(url, "empty host");
  hp.host = decode_or_fail(host, "host", url);
  hp.port = port;
  if (has_port) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() || value == 0 ||
        value > 65535) {
      bad_url(url, "invalid port '" + std::string(port_text) + "' (percent-encode '/', '@' and ':' in a password)");
    }
    hp.port = static_cast<uint16_t>(value);
  }
  return hp;
}

}  // namespace

std::string_view scheme_name(Scheme scheme) { return info(scheme).name; }
uint16_t default_port(Scheme scheme) { return info(scheme).port; }
const char* password_env_var(Scheme scheme) { return info(scheme).env; }

std::string HostPort::str() const {
  std::string out;
  if (host.find(':') != std::string::npos) {
    out += '[';
    out += host;
    out += ']';
  } else {
    out += host;
  }
  out += ':';
  out += std::to_string(port);
  return out;
}

std::optional<std::string_view> Url::param(std::string_view key) const {
  std::optional<std::string_view> found;
  for (const auto& [k, v] : query) {
    if (k == key) found = v;
  }
  return found;
}

std::string Url::host_list() const {
  std::string out;
  for (const HostPort& hp : hosts) {
    if (!out.empty()) out += ',';
    out += hp.str();
  }
  return out;
}

std::string Url::redacted() const {
  std::string out(scheme_name(scheme));
  if (srv) out += "+srv";
  out += "://";
  if (!user.empty() || password) {
    append_encoded(out, user);
    if (password) out += ":***";
    out += '@';
  }
  for (size_t i = 0; i < hosts.size(); ++i) {
    if (i > 0) out += ',';
    if (srv) {
      append_encoded(out, hosts[i].host);
    } else {
      out += hosts[i].str();
    }
  }
  if (has_path) {
    out += '/';
    append_encoded(out, path);
  }
  char sep = '?';
  for (const auto& [k, v] : query) {
    out += sep;
    sep = '&';
    append_encoded(out, k);
    out += '=';
    if (is_password_key(k)) {
      out += "***";
    } else {
      append_encoded(out, v);
    }
  }
  return out;
}

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (text.size() - i < 3) return std::nullopt;
    int value = 0;
    for (size_t k = 1; k <= 2; ++k) {
      char c = text[i + k];
      int d = c >= '0' && c <= '9'   ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                     : -1;
      if (d < 0) return std::nullopt;
      value = value * 16 + d;
    }
    out += static_cast<char>(value);
    i += 2;
  }
  return out;
}

std::string redact_url_text(std::string_view text) {
  size_t scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos) return redact_url(text);
  size_t auth = scheme_end + 3;
  size_t at = text.rfind('@');
  if (at == std::string_view::npos || at < auth) return redact_url(text);
  std::string_view userinfo = text.substr(auth, at - auth);
  size_t colon = userinfo.find(':');
  if (colon == std::string_view::npos) {
    // No password, unless the userinfo swallowed a query: mask the lot to be safe.
    if (userinfo.find_first_of("/?") == std::string_view::npos) return redact_url(text);
    return std::string(text.substr(0, auth)) + "***" + redact_url(text.substr(at));
  }
  std::string out(text.substr(0, auth + colon + 1));
  out += "***";
  out += redact_url(text.substr(at));
  return out;
}

Url parse_url(std::string_view text) {
  Url url;
  url.raw = std::string(text);
  size_t scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos) bad_url(text, "expected SCHEME://...");
  std::string_view scheme = text.substr(0, scheme_end);
  bool found = false;
  if (iequals(scheme, "mongodb+srv")) {
    url.scheme = Scheme::kMongodb;
    url.srv = true;
    found = true;
  }
  for (size_t i = 0; i < kSchemes.size() && !found; ++i) {
    if (iequals(scheme, kSchemes[i].name)) {
      url.scheme = static_cast<Scheme>(i);
      found = true;
    }
  }
  if (!found) {
    bad_url(text, "unknown scheme '" + std::string(scheme) + "' (expected mysql, redis, amqp, kafka or mongodb)");
  }
  std::string_view rest = text.substr(scheme_end + 3);

  // The authority ends at the first '/' or '?' after the userinfo (which ends at the last '@' before
  // that point): a password must percent-encode '/', '?', '@' and ':'.
  size_t auth_end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, auth_end);
  std::string_view tail = auth_end == std::string_view::npos ? std::string_view() : rest.substr(auth_end);
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    size_t colon = userinfo.find(':');
    url.user = decode_or_fail(userinfo.substr(0, colon), "user", text);
    if (colon != std::string_view::npos) url.password = decode_or_fail(userinfo.substr(colon + 1), "password", text);
  }
  if (authority.empty()) bad_url(text, "no host");
  uint16_t port = info(url.scheme).port;
  while (true) {
    size_t comma = authority.find(',');
    url.hosts.push_back(parse_host(authority.substr(0, comma), port, text));
    if (comma == std::string_view::npos) break;
    authority = authority.substr(comma + 1);
  }
  if (url.hosts.size() > 1 && !info(url.scheme).host_list) {
    bad_url(text, std::string(scheme_name(url.scheme)) + " URLs name one host");
  }

  size_t query_begin = tail.find('?');
  std::string_view path = tail.substr(0, query_begin);
  std::string_view query = query_begin == std::string_view::npos ? std::string_view() : tail.substr(query_begin + 1);
  if (tail.find('#') != std::string_view::npos) bad_url(text, "a URL fragment ('#') is not allowed");
  // An '@' here almost always means a password with an unencoded '/' ended the authority early.
  if (path.find('@') != std::string_view::npos) {
    bad_url(text, "'@' in the path (percent-encode '/', '@' and ':' in a password as %2F, %40, %3A)");
  }
  if (!path.empty()) {
    url.has_path = true;
    url.path = decode_or_fail(path.substr(1), "path", text);
  }
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view item = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (item.empty()) continue;
    size_t eq = item.find('=');
    std::string key = decode_or_fail(item.substr(0, eq), "query", text);
    std::string value =
        eq == std::string_view::npos ? std::string() : decode_or_fail(item.substr(eq + 1), "query", text);
    if (key.empty()) bad_url(text, "empty query parameter name");
    url.query.emplace_back(std::move(key), std::move(value));
  }

  if (url.scheme == Scheme::kRedis && !url.path.empty()) {
    unsigned db = 0;
    auto [end, ec] = std::from_chars(url.path.data(), url.path.data() + url.path.size(), db);
    if (ec != std::errc() || end != url.path.data() + url.path.size()) {
      bad_url(text, "the redis database must be a number, not '" + url.path + "'");
    }
  }
  return url;
}

Url parse_url(std::string_view text, Scheme expected) {
  Url url = parse_url(text);
  if (url.scheme != expected) {
    bad_url(text, "expected a " + std::string(scheme_name(expected)) + ":// URL");
  }
  return url;
}

std::string resolve_url_argument(std::string_view argument) {
  if (argument.empty() || argument[0] != '@') return std::string(argument);
  std::string path(argument.substr(1));
  if (path.empty()) fail(ErrorKind::kUsage, "'@' must be followed by the path of a file holding the URL");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorKind::kConfig, "cannot read URL file " + path + ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) fail(ErrorKind::kConfig, "cannot read URL file " + path + ": " + std::strerror(errno));
  std::string url = text.str();
  size_t begin = url.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) fail(ErrorKind::kConfig, "URL file " + path + " is empty");
  size_t end = url.find_last_not_of(" \t\r\n");
  return url.substr(begin, end - begin + 1);
}

std::optional<std::string> resolve_password(const Url& url, const std::string& password_file) {
  // Most explicit first: the URL, then a file named on the command line, then the environment.
  if (url.password) return url.password;
  if (!password_file.empty()) return read_secret_file(password_file);
  if (const char* env = std::getenv(password_env_var(url.scheme)); env != nullptr) return std::string(env);
  return std::nullopt;
}

}  // namespace rowpipe

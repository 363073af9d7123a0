// Blanking secrets in argv, redaction for logs, secret files.
#include "cli/secret.hpp"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "cli/error.hpp"

namespace rowpipe {
namespace {

// [begin, end) of the password in "scheme://user:pass@host...", or {npos, npos}.
std::pair<size_t, size_t> url_password(std::string_view url) {
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return {std::string_view::npos, std::string_view::npos};
  size_t auth_begin = scheme + 3;
  size_t auth_end = url.find_first_of("/?#", auth_begin);
  std::string_view authority =
      url.substr(auth_begin, auth_end == std::string_view::npos ? url.npos : auth_end - auth_begin);
  size_t at = authority.rfind('@');
  if (at == std::string_view::npos) return {std::string_view::npos, std::string_view::npos};
  size_t colon = authority.find(':');
  if (colon == std::string_view::npos || colon > at) return {std::string_view::npos, std::string_view::npos};
  return {auth_begin + colon + 1, auth_begin + at};
}

bool is_password_key(std::string_view key) {
  return key == "password" || key.ends_with(".password") || key == "sasl.password" || key == "pass";
}

void blank(char* s, size_t n) {
  for (size_t i = 0; i < n; ++i) s[i] = 'x';
}

}  // namespace

int blank_argv_secrets(int argc, char** argv) {
  int blanked = 0;
  for (int i = 1; i < argc; ++i) {
    char* arg = argv[i];
    std::string_view a(arg);
    if (a == "--") break;
    if ((a == "--password" || a == "-X") && i + 1 < argc) {
      if (a == "--password") {
        blank(argv[i + 1], std::strlen(argv[i + 1]));
        ++blanked;
        ++i;
        continue;
      }
      // -X sasl.password=SECRET (librdkafka properties)
      std::string_view prop(argv[i + 1]);
      size_t eq = prop.find('=');
      if (eq != std::string_view::npos && is_password_key(prop.substr(0, eq))) {
        blank(argv[i + 1] + eq + 1, prop.size() - eq - 1);
        ++blanked;
      }
      ++i;
      continue;
    }
    if (a.starts_with("--password=")) {
      blank(arg + 11, a.size() - 11);
      ++blanked;
      continue;
    }
    auto [begin, end] = url_password(a);
    if (begin != std::string_view::npos && end > begin) {
      blank(arg + begin, end - begin);
      ++blanked;
    }
  }
  return blanked;
}

std::string redact_url(std::string_view url) {
  std::string out(url);
  auto [begin, end] = url_password(out);
  if (begin != std::string::npos) out.replace(begin, end - begin, "***");
  size_t q = out.find('?');
  while (q != std::string::npos && q < out.size()) {
    size_t key_begin = q + 1;
    size_t amp = out.find('&', key_begin);
    size_t eq = out.find('=', key_begin);
    size_t stop = amp == std::string::npos ? out.size() : amp;
    if (eq != std::string::npos && eq < stop &&
        is_password_key(std::string_view(out).substr(key_begin, eq - key_begin))) {
      out.replace(eq + 1, stop - eq - 1, "***");
      stop = eq + 4;
    }
    q = out.find('&', stop);
  }
  return out;
}

std::string read_secret_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorKind::kConfig, "cannot read secret file " + path + ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  std::string secret = text.str();
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  return secret;
}

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

}  // namespace rowpipe

// JSON string escaping, shortest floating-point rendering, UTF-8 validation.
#include "event/json_writer.hpp"

#include <cmath>
#include <cstring>

namespace rowpipe::json {
namespace {

// 0: copy; otherwise the escape letter (u: \u00XX).
constexpr auto kEscape = [] {
  struct Table {
    char v[256];
  } t{};
  for (int c = 0; c < 0x20; ++c) t.v[c] = 'u';
  t.v[static_cast<unsigned char>('\b')] = 'b';
  t.v[static_cast<unsigned char>('\f')] = 'f';
  t.v[static_cast<unsigned char>('\n')] = 'n';
  t.v[static_cast<unsigned char>('\r')] = 'r';
  t.v[static_cast<unsigned char>('\t')] = 't';
  t.v[static_cast<unsigned char>('"')] = '"';
  t.v[static_cast<unsigned char>('\\')] = '\\';
  return t;
}();

}  // namespace

void append_string(std::string& out, std::string_view text) {
  out.reserve(out.size() + text.size() + 2);
  out += '"';
  const char* p = text.data();
  const char* end = p + text.size();
  while (p < end) {
    const char* run = p;
    while (p < end && kEscape.v[static_cast<unsigned char>(*p)] == 0) ++p;
    out.append(run, p);
    if (p == end) break;
    char esc = kEscape.v[static_cast<unsigned char>(*p)];
    if (esc == 'u') {
      static const char kHex[] = "0123456789abcdef";
      char buf[6] = {'\\', 'u', '0', '0', kHex[(*p >> 4) & 0xf], kHex[*p & 0xf]};
      out.append(buf, 6);
    } else {
      out += '\\';
      out += esc;
    }
    ++p;
  }
  out += '"';
}

void append_double(std::string& out, double value) {
  if (!std::isfinite(value)) {
    out += "null";
    return;
  }
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, end);
}

void append_float(std::string& out, float value) {
  if (!std::isfinite(value)) {
    out += "null";
    return;
  }
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, end);
}

bool is_valid_utf8(std::string_view text) noexcept {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = s + text.size();
  while (s < end) {
    // Fast path over ASCII, 8 bytes at a time.
    while (end - s >= 8) {
      uint64_t word;
      std::memcpy(&word, s, 8);
      if (word & 0x8080808080808080ULL) break;
      s += 8;
    }
    if (s >= end) break;
    unsigned char c = *s;
    if (c < 0x80) {
      ++s;
      continue;
    }
    int n;
    uint32_t min;
    uint32_t cp;
    if ((c & 0xe0) == 0xc0) {
      n = 1, min = 0x80, cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2, min = 0x800, cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3, min = 0x10000, cp = c & 0x07;
    } else {
      return false;
    }
    if (end - s <= n) return false;
    for (int i = 1; i <= n; ++i) {
      if ((s[i] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    s += n + 1;
  }
  return true;
}

}  // namespace rowpipe::json

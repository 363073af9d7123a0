// Base64 and date/time rendering.
#include "event/values.hpp"

#include <array>

namespace rowpipe {
namespace {

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr auto kB64Rev = [] {
  std::array<int16_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(kB64[i])] = static_cast<int16_t>(i);
  return t;
}();

void two(std::string& out, unsigned v) {
  out += static_cast<char>('0' + (v / 10) % 10);
  out += static_cast<char>('0' + v % 10);
}

void digits(std::string& out, unsigned v, int width) {
  char buf[12];
  int n = 0;
  do {
    buf[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0 && n < 11);
  for (int i = n; i < width; ++i) out += '0';
  while (n > 0) out += buf[--n];
}

void fraction(std::string& out, uint32_t micros, unsigned fsp) {
  if (fsp == 0) return;
  if (fsp > 6) fsp = 6;
  char buf[6];
  uint32_t v = micros % 1000000;
  for (int i = 5; i >= 0; --i) {
    buf[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  out += '.';
  out.append(buf, fsp);
}

}  // namespace

void base64_encode(std::string& out, std::string_view bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  size_t n = bytes.size();
  out.reserve(out.size() + (n + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t{p[i]} << 16) | (uint32_t{p[i + 1]} << 8) | p[i + 2];
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += kB64[v & 63];
  }
  if (i + 1 == n) {
    uint32_t v = uint32_t{p[i]} << 16;
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == n) {
    uint32_t v = (uint32_t{p[i]} << 16) | (uint32_t{p[i + 1]} << 8);
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += '=';
  }
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    int a = kB64Rev[static_cast<unsigned char>(text[i])];
    int b = kB64Rev[static_cast<unsigned char>(text[i + 1])];
    bool last = i + 4 == text.size();
    bool pad2 = last && text[i + 2] == '=' && text[i + 3] == '=';
    bool pad1 = last && !pad2 && text[i + 3] == '=';
    int c = pad2 ? 0 : kB64Rev[static_cast<unsigned char>(text[i + 2])];
    int d = (pad1 || pad2) ? 0 : kB64Rev[static_cast<unsigned char>(text[i + 3])];
    if (a < 0 || b < 0 || c < 0 || d < 0) return std::nullopt;
    uint32_t v = (uint32_t(a) << 18) | (uint32_t(b) << 12) | (uint32_t(c) << 6) | uint32_t(d);
    out += static_cast<char>(v >> 16);
    if (!pad2) out += static_cast<char>((v >> 8) & 0xff);
    if (!pad1 && !pad2) out += static_cast<char>(v & 0xff);
    // Canonical form only: the bits dropped by padding must be zero.
    if ((pad2 && (v & 0xffff) != 0) || (pad1 && (v & 0xff) != 0)) return std::nullopt;
  }
  return out;
}

void append_date(std::string& out, unsigned year, unsigned month, unsigned day) {
  digits(out, year, 4);
  out += '-';
  two(out, month);
  out += '-';
  two(out, day);
}

void append_time(std::string& out, bool negative, unsigned hours, unsigned minutes, unsigned seconds, uint32_t micros,
                 unsigned fsp) {
  if (negative) out += '-';
  digits(out, hours, 2);
  out += ':';
  two(out, minutes);
  out += ':';
  two(out, seconds);
  fraction(out, micros, fsp);
}

void append_datetime(std::string& out, unsigned year, unsigned month, unsigned day, unsigned hour, unsigned minute,
                     unsigned second, uint32_t micros, unsigned fsp) {
  append_date(out, year, month, day);
  out += ' ';
  two(out, hour);
  out += ':';
  two(out, minute);
  out += ':';
  two(out, second);
  fraction(out, micros, fsp);
}

// Howard Hinnant's days_from_civil / civil_from_days algorithms.
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civil_from_days(int64_t z, int64_t& year, unsigned& month, unsigned& day) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  day = doy - (153 * mp + 2) / 5 + 1;
  month = mp < 10 ? mp + 3 : mp - 9;
  year = static_cast<int64_t>(yoe) + era * 400 + (month <= 2);
}

void append_utc_datetime(std::string& out, int64_t epoch_seconds, uint32_t micros, unsigned fsp) {
  int64_t days = epoch_seconds >= 0 ? epoch_seconds / 86400 : -((-epoch_seconds + 86399) / 86400);
  int64_t secs = epoch_seconds - days * 86400;
  int64_t year;
  unsigned month;
  unsigned day;
  civil_from_days(days, year, month, day);
  append_datetime(out, static_cast<unsigned>(year), month, day, static_cast<unsigned>(secs / 3600),
                  static_cast<unsigned>(secs / 60 % 60), static_cast<unsigned>(secs % 60), micros, fsp);
}

}  // namespace rowpipe

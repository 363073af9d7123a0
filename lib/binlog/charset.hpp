// Collation ids of MySQL 8.x/9.x and MariaDB 11.x mapped to character sets, and conversion of column
// bytes in those character sets to UTF-8.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace rowpipe::binlog {

// Character sets, in the order of the table in charset.cpp. kUnknown: the id is not one we know
// (or no id was given); the caller then treats the bytes as binary.
enum class Charset : uint8_t {
  kUnknown = 0,
  kBinary,
  kUtf8mb3,
  kUtf8mb4,
  kLatin1,
  kAscii,
  kUcs2,
  kUtf16,
  kUtf16le,
  kUtf32,
  kArmscii8,
  kBig5,
  kCp1250,
  kCp1251,
  kCp1256,
  kCp1257,
  kCp850,
  kCp852,
  kCp866,
  kCp932,
  kDec8,
  kEucjpms,
  kEuckr,
  kGb18030,
  kGb2312,
  kGbk,
  kGeostd8,
  kGreek,
  kHebrew,
  kHp8,
  kKeybcs2,
  kKoi8r,
  kKoi8u,
  kLatin2,
  kLatin5,
  kLatin7,
  kMacce,
  kMacroman,
  kSjis,
  kSwe7,
  kTis620,
  kUjis,
};
constexpr size_t kCharsetCount = static_cast<size_t>(Charset::kUjis) + 1;

// The character set of a collation id (MySQL 8.0-9.x ids 1-323 incl. utf8mb4_0900_*, MariaDB's
// ids incl. its nopad collations 1025-1270 and uca1400 collations 2048-3327).
Charset charset_of_collation(uint32_t collation_id);

// "utf8mb4", "latin1", ... ("unknown" for kUnknown).
std::string_view charset_name(Charset cs);

// Converts column bytes to UTF-8.
//
// Policy for bytes that are invalid in their character set (a truncated multi-byte sequence, an
// unassigned code, a lone surrogate): each maximal invalid sequence becomes U+FFFD and is counted;
// the caller reports the count as a warning. Nothing is dropped silently and the output is always
// valid UTF-8. MySQL's latin1 is cp1252 with 0x81, 0x8d, 0x8f, 0x90, 0x9d mapped to the C1 controls,
// as MySQL maps them. Multi-byte Asian and legacy single-byte sets go through iconv(3); a set that
// iconv does not know here keeps its ASCII bytes and replaces the others.
class TextConverter {
 public:
  TextConverter();
  ~TextConverter();
  TextConverter(const TextConverter&) = delete;
  TextConverter& operator=(const TextConverter&) = delete;

  // Appends `bytes` (in `cs`; not kUnknown or kBinary) to `out` as UTF-8. Returns the number of
  // invalid sequences replaced.
  size_t to_utf8(std::string& out, std::string_view bytes, Charset cs);

 private:
  size_t via_iconv(std::string& out, std::string_view bytes, Charset cs);
  void* handles_[kCharsetCount];  // iconv_t, opened on first use; (void*)-1 when unavailable
};

// Appends `bytes` to `out`, replacing each invalid UTF-8 sequence by U+FFFD; returns how many.
size_t append_utf8_sanitized(std::string& out, std::string_view bytes);

// Appends code point `cp` as UTF-8 (U+FFFD for surrogates and values above U+10FFFF).
void append_code_point(std::string& out, uint32_t cp);

}  // namespace rowpipe::binlog

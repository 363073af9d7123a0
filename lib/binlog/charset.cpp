// Collation-to-charset tables (generated from MariaDB 10.11's information_schema plus MySQL 8.x's
// gb18030 and utf8mb4_0900 ids) and UTF-8 conversion.
#include "binlog/charset.hpp"

#include <iconv.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <utility>

#include "event/json_writer.hpp"

namespace rowpipe::binlog {
namespace {

struct CharsetInfo {
  std::string_view name;
  const char* iconv_name;  // nullptr: converted here, or not available
};

constexpr std::array<CharsetInfo, kCharsetCount> kCharsets{{
    {"unknown", nullptr},
    {"binary", nullptr},
    {"utf8mb3", nullptr},
    {"utf8mb4", nullptr},
    {"latin1", nullptr},
    {"ascii", nullptr},
    {"ucs2", nullptr},
    {"utf16", nullptr},
    {"utf16le", nullptr},
    {"utf32", nullptr},
    {"armscii8", "ARMSCII-8"},
    {"big5", "BIG5"},
    {"cp1250", "CP1250"},
    {"cp1251", "CP1251"},
    {"cp1256", "CP1256"},
    {"cp1257", "CP1257"},
    {"cp850", "CP850"},
    {"cp852", "CP852"},
    {"cp866", "CP866"},
    {"cp932", "CP932"},
    {"dec8", nullptr},
    {"eucjpms", "EUC-JP-MS"},
    {"euckr", "EUC-KR"},
    {"gb18030", "GB18030"},
    {"gb2312", "EUC-CN"},
    {"gbk", "GBK"},
    {"geostd8", "GEORGIAN-PS"},
    {"greek", "ISO-8859-7"},
    {"hebrew", "ISO-8859-8"},
    {"hp8", "HP-ROMAN8"},
    {"keybcs2", nullptr},
    {"koi8r", "KOI8-R"},
    {"koi8u", "KOI8-U"},
    {"latin2", "ISO-8859-2"},
    {"latin5", "ISO-8859-9"},
    {"latin7", "ISO-8859-13"},
    {"macce", "MAC-CENTRALEUROPE"},
    {"macroman", "MACINTOSH"},
    {"sjis", "SJIS"},
    {"swe7", nullptr},
    {"tis620", "TIS-620"},
    {"ujis", "EUC-JP"},
}};

// Collation ids 0..323: index into kCharsets (0 = unknown).
constexpr uint8_t kLowIds[] = {
    0,  11, 33, 20, 16, 4,  29, 31, 4,  33, 39, 5,  41, 38, 13, 4,  28, 0,  40, 22, 35, 33, 32, 13, 24, 27, 12,
    33, 25, 15, 34, 4,  10, 2,  12, 6,  18, 30, 36, 37, 17, 35, 35, 36, 12, 3,  3,  4,  4,  4,  13, 13, 13, 37,
    7,  7,  8,  14, 15, 15, 9,  9,  8,  1,  10, 5,  12, 14, 18, 20, 27, 28, 29, 30, 31, 32, 2,  33, 34, 35, 16,
    17, 39, 2,  11, 22, 24, 25, 38, 40, 6,  41, 26, 26, 4,  19, 19, 21, 21, 12, 0,  7,  7,  7,  7,  7,  7,  7,
    7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  0,  0,  0,  6,  6,  6,  6,  6,  6,  6,
    6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  0,  0,  0,  0,  0,  0,  0,  6,  9,  9,
    9,  9,  9,  9,  9,  9,  9,  9,  9,  9,  9,  9,  9,  9,  9,  9,  9,  9,  9,  9,  9,  9,  0,  0,  0,  0,  0,
    0,  0,  0,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,
    0,  0,  0,  0,  0,  0,  0,  2,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,
    3,  3,  3,  3,  3,  23, 23, 23, 0,  0,  0,  0,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,
    3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,
    3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,
};

// MariaDB ids 324..2047 that exist.
constexpr std::pair<uint16_t, uint8_t> kHighIds[] = {
    {576, 2},   {577, 2},   {578, 2},   {608, 3},   {609, 3},   {610, 3},   {640, 6},   {641, 6},   {642, 6},
    {672, 7},   {673, 7},   {674, 7},   {736, 9},   {737, 9},   {738, 9},   {1025, 11}, {1027, 20}, {1028, 16},
    {1030, 29}, {1031, 31}, {1032, 4},  {1033, 33}, {1034, 39}, {1035, 5},  {1036, 41}, {1037, 38}, {1040, 28},
    {1042, 40}, {1043, 22}, {1046, 32}, {1048, 24}, {1049, 27}, {1050, 12}, {1052, 25}, {1054, 34}, {1056, 10},
    {1057, 2},  {1059, 6},  {1060, 18}, {1061, 30}, {1062, 36}, {1063, 37}, {1064, 17}, {1065, 35}, {1067, 36},
    {1069, 3},  {1070, 3},  {1071, 4},  {1074, 13}, {1075, 13}, {1077, 37}, {1078, 7},  {1079, 7},  {1080, 8},
    {1081, 14}, {1082, 15}, {1083, 15}, {1084, 9},  {1085, 9},  {1086, 8},  {1088, 10}, {1089, 5},  {1090, 12},
    {1091, 14}, {1092, 18}, {1093, 20}, {1094, 27}, {1095, 28}, {1096, 29}, {1097, 30}, {1098, 31}, {1099, 32},
    {1101, 33}, {1102, 34}, {1103, 35}, {1104, 16}, {1105, 17}, {1106, 39}, {1107, 2},  {1108, 11}, {1109, 22},
    {1110, 24}, {1111, 25}, {1112, 38}, {1113, 40}, {1114, 6},  {1115, 41}, {1116, 26}, {1117, 26}, {1119, 19},
    {1120, 19}, {1121, 21}, {1122, 21}, {1125, 7},  {1147, 7},  {1152, 6},  {1174, 6},  {1184, 9},  {1206, 9},
    {1216, 2},  {1238, 2},  {1248, 3},  {1270, 3},
};

// cp1252 bytes 0x80..0x9f; MySQL's latin1 maps the five holes to the C1 controls.
constexpr uint16_t kCp1252High[32] = {
    0x20ac, 0x0081, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160,
    0x2039, 0x0152, 0x008d, 0x017d, 0x008f, 0x0090, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022,
    0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0x009d, 0x017e, 0x0178,
};

constexpr std::string_view kReplacement = "\xef\xbf\xbd";

bool all_ascii(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80) return false;
  return true;
}

// UTF-16 / UCS-2 / UTF-32 decoding; `unit` 2 or 4 bytes, big- or little-endian.
size_t from_wide(std::string& out, std::string_view bytes, size_t unit, bool big_endian, bool surrogates) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  size_t n = bytes.size();
  size_t bad = 0;
  size_t i = 0;
  auto load = [&](size_t at) -> uint32_t {
    uint32_t v = 0;
    for (size_t k = 0; k < unit; ++k) {
      uint32_t b = p[at + k];
      v = big_endian ? (v << 8) | b : v | (b << (8 * k));
    }
    return v;
  };
  while (i + unit <= n) {
    uint32_t cp = load(i);
    i += unit;
    if (surrogates && cp >= 0xd800 && cp <= 0xdbff) {
      if (i + unit <= n) {
        uint32_t lo = load(i);
        if (lo >= 0xdc00 && lo <= 0xdfff) {
          i += unit;
          append_code_point(out, 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00));
          continue;
        }
      }
      out += kReplacement;
      ++bad;
      continue;
    }
    if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
      out += kReplacement;
      ++bad;
      continue;
    }
    append_code_point(out, cp);
  }
  if (i < n) {
    out += kReplacement;
    ++bad;
  }
  return bad;
}

}  // namespace

Charset charset_of_collation(uint32_t id) {
  if (id < sizeof kLowIds) return static_cast<Charset>(kLowIds[id]);
  if (id < 2048) {
    auto it = std::lower_bound(std::begin(kHighIds), std::end(kHighIds), id,
                               [](const std::pair<uint16_t, uint8_t>& e, uint32_t v) { return e.first < v; });
    if (it != std::end(kHighIds) && it->first == id) return static_cast<Charset>(it->second);
    return Charset::kUnknown;
  }
  // MariaDB's uca1400 collations: 256 ids per character set.
  switch ((id - 2048) / 256) {
    case 0: return Charset::kUtf8mb3;
    case 1: return Charset::kUtf8mb4;
    case 2: return Charset::kUcs2;
    case 3: return Charset::kUtf16;
    case 4: return Charset::kUtf32;
    default: return Charset::kUnknown;
  }
}

std::string_view charset_name(Charset cs) { return kCharsets[static_cast<size_t>(cs)].name; }

void append_code_point(std::string& out, uint32_t cp) {
  if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
    out += kReplacement;
  } else if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

size_t append_utf8_sanitized(std::string& out, std::string_view bytes) {
  if (json::is_valid_utf8(bytes)) {
    out += bytes;
    return 0;
  }
  const auto* s = reinterpret_cast<const unsigned char*>(bytes.data());
  size_t n = bytes.size();
  size_t bad = 0;
  size_t i = 0;
  while (i < n) {
    unsigned char c = s[i];
    if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    size_t len;
    uint32_t min;
    uint32_t cp;
    if ((c & 0xe0) == 0xc0) {
      len = 2, min = 0x80, cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3, min = 0x800, cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4, min = 0x10000, cp = c & 0x07;
    } else {
      out += kReplacement;
      ++bad;
      ++i;
      continue;
    }
    size_t k = 1;
    while (k < len && i + k < n && (s[i + k] & 0xc0) == 0x80) {
      cp = (cp << 6) | (s[i + k] & 0x3f);
      ++k;
    }
    if (k < len || cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      out += kReplacement;
      ++bad;
      i += k;  // the maximal prefix that looked like a sequence
      continue;
    }
    out.append(bytes.data() + i, len);
    i += len;
  }
  return bad;
}

TextConverter::TextConverter() {
  for (auto& h : handles_) h = nullptr;
}

TextConverter::~TextConverter() {
  for (auto& h : handles_)
    if (h != nullptr && h != reinterpret_cast<void*>(-1)) iconv_close(static_cast<iconv_t>(h));
}

size_t TextConverter::to_utf8(std::string& out, std::string_view bytes, Charset cs) {
  switch (cs) {
    case Charset::kUtf8mb3:
    case Charset::kUtf8mb4: return append_utf8_sanitized(out, bytes);
    case Charset::kAscii: {
      size_t bad = 0;
      for (unsigned char c : bytes) {
        if (c < 0x80) {
          out += static_cast<char>(c);
        } else {
          out += kReplacement;
          ++bad;
        }
      }
      return bad;
    }
    case Charset::kLatin1:
      if (all_ascii(bytes)) {
        out += bytes;
        return 0;
      }
      for (unsigned char c : bytes) {
        if (c < 0x80) {
          out += static_cast<char>(c);
        } else if (c < 0xa0) {
          append_code_point(out, kCp1252High[c - 0x80]);
        } else {
          append_code_point(out, c);
        }
      }
      return 0;
    case Charset::kUcs2: return from_wide(out, bytes, 2, true, false);
    case Charset::kUtf16: return from_wide(out, bytes, 2, true, true);
    case Charset::kUtf16le: return from_wide(out, bytes, 2, false, true);
    case Charset::kUtf32: return from_wide(out, bytes, 4, true, false);
    case Charset::kUnknown:
    case Charset::kBinary: return append_utf8_sanitized(out, bytes);
    default:
      if (all_ascii(bytes) && cs != Charset::kSwe7) {
        out += bytes;
        return 0;
      }
      return via_iconv(out, bytes, cs);
  }
}

size_t TextConverter::via_iconv(std::string& out, std::string_view bytes, Charset cs) {
  void*& slot = handles_[static_cast<size_t>(cs)];
  const char* name = kCharsets[static_cast<size_t>(cs)].iconv_name;
  if (slot == nullptr) {
    iconv_t h = name ? iconv_open("UTF-8", name) : reinterpret_cast<iconv_t>(-1);
    slot = reinterpret_cast<void*>(h);
  }
  size_t bad = 0;
  if (slot == reinterpret_cast<void*>(-1)) {
    for (unsigned char c : bytes) {
      if (c < 0x80 && cs != Charset::kSwe7) {
        out += static_cast<char>(c);
      } else {
        out += kReplacement;
        ++bad;
      }
    }
    return bad;
  }
  auto h = static_cast<iconv_t>(slot);
  iconv(h, nullptr, nullptr, nullptr, nullptr);
  char* in = const_cast<char*>(bytes.data());
  size_t in_left = bytes.size();
  char buf[1024];
  while (in_left > 0) {
    char* o = buf;
    size_t o_left = sizeof buf;
    size_t r = iconv(h, &in, &in_left, &o, &o_left);
    out.append(buf, static_cast<size_t>(o - buf));
    if (r == static_cast<size_t>(-1)) {
      if (errno == E2BIG) continue;
      out += kReplacement;
      ++bad;
      if (errno == EINVAL) break;  // truncated sequence at the end
      ++in;
      --in_left;
      iconv(h, nullptr, nullptr, nullptr, nullptr);
    }
  }
  return bad;
}

}  // namespace rowpipe::binlog

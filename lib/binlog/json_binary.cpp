// MySQL binary JSON, DECIMAL and packed temporal rendering.
// https://dev.mysql.com/doc/dev/mysql-server/latest/json__binary_8h.html
//
// Binary JSON: a type byte, then the value. Objects (0x00 small, 0x01 large) and arrays (0x02, 0x03):
// element count and byte size (2 or 4 bytes each), key entries (offset, 2-byte length) for objects,
// value entries (type byte + offset, or the value itself when it fits: literals and 16-bit ints,
// plus 32-bit ints in large containers), then keys and values. Offsets count from the container's
// first byte after its type. Scalars: 0x04 literal (0 null, 1 true, 2 false), 0x05-0x0a int16,
// uint16, int32, uint32, int64, uint64, 0x0b double, 0x0c string (varlen length), 0x0f opaque
// (MySQL field type byte, varlen length, bytes).
#include "binlog/json_binary.hpp"

#include <charconv>
#include <cmath>
#include <cstring>

#include "binlog/constants.hpp"
#include "binlog/reader.hpp"
#include "event/json_writer.hpp"
#include "event/values.hpp"

namespace rowpipe::binlog {
namespace {

constexpr int kMaxDepth = 150;  // MySQL limits documents to depth 100

constexpr unsigned kDig2Bytes[10] = {0, 1, 1, 2, 2, 3, 3, 4, 4, 4};
constexpr uint32_t kPow10[10] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000};

class JsonRenderer {
 public:
  JsonRenderer(std::string_view doc, uint64_t base) : doc_(doc), base_(base) {}

  void render(std::string& out) {
    if (doc_.empty()) {
      out += "null";
      return;
    }
    Reader r(doc_, base_);
    uint8_t type = r.u8("JSON type");
    value(out, type, 1, doc_.size(), 0);
  }

 private:
  [[noreturn]] void bad(size_t at, const char* what) {
    throw_corrupt(std::string("malformed JSON value: ") + what, base_ + at);
  }

  Reader at(size_t pos, size_t end) {
    if (pos > end || end > doc_.size()) bad(pos, "offset outside the document");
    return Reader(reinterpret_cast<const uint8_t*>(doc_.data()) + pos, end - pos, base_ + pos);
  }

  // Renders the value of `type` whose data starts at `pos` and may extend to `end`.
  void value(std::string& out, uint8_t type, size_t pos, size_t end, int depth) {
    if (depth > kMaxDepth) bad(pos, "nested too deeply");
    Reader r = at(pos, end);
    switch (type) {
      case 0x00: container(out, pos, end, false, true, depth); return;
      case 0x01: container(out, pos, end, true, true, depth); return;
      case 0x02: container(out, pos, end, false, false, depth); return;
      case 0x03: container(out, pos, end, true, false, depth); return;
      case 0x04: literal(out, r.u8("JSON literal"), pos); return;
      case 0x05: json::append_int(out, static_cast<int16_t>(r.u16("JSON int16"))); return;
      case 0x06: json::append_int(out, r.u16("JSON uint16")); return;
      case 0x07: json::append_int(out, static_cast<int32_t>(r.u32("JSON int32"))); return;
      case 0x08: json::append_int(out, r.u32("JSON uint32")); return;
      case 0x09: json::append_int(out, static_cast<int64_t>(r.u64("JSON int64"))); return;
      case 0x0a: json::append_int(out, r.u64("JSON uint64")); return;
      case 0x0b: {
        uint64_t bits = r.u64("JSON double");
        double d;
        std::memcpy(&d, &bits, 8);
        append_json_double(out, d);
        return;
      }
      case 0x0c: {
        uint64_t len = varlen(r);
        if (len > r.remaining()) bad(pos, "string longer than the document");
        std::string_view s = r.bytes(len);
        if (json::is_valid_utf8(s)) {
          json::append_string(out, s);
        } else {
          std::string fixed;
          append_utf8_lossy(fixed, s);
          json::append_string(out, fixed);
        }
        return;
      }
      case 0x0f: opaque(out, r, pos); return;
      default: bad(pos, "unknown JSON value type");
    }
  }

  static void append_json_double(std::string& out, double d) {
    size_t start = out.size();
    json::append_double(out, d);
    // MySQL writes doubles with a fraction or exponent (3.0, not 3), keeping them doubles.
    bool plain = true;
    for (size_t i = start; i < out.size(); ++i)
      if (out[i] == '.' || out[i] == 'e' || out[i] == 'n' || out[i] == 'E') plain = false;
    if (plain) out += ".0";
  }

  static void append_utf8_lossy(std::string& out, std::string_view s);

  void literal(std::string& out, uint8_t v, size_t pos) {
    switch (v) {
      case 0: out += "null"; return;
      case 1: out += "true"; return;
      case 2: out += "false"; return;
      default: bad(pos, "unknown JSON literal");
    }
  }

  uint64_t varlen(Reader& r) {
    uint64_t len = 0;
    for (int i = 0; i < 5; ++i) {
      uint8_t b = r.u8("JSON length");
      len |= uint64_t{b & 0x7fu} << (7 * i);
      if ((b & 0x80) == 0) return len;
    }
    r.corrupt("JSON length longer than 5 bytes");
  }

  void opaque(std::string& out, Reader& r, size_t pos) {
    uint8_t ftype = r.u8("JSON opaque type");
    uint64_t len = varlen(r);
    if (len > r.remaining()) bad(pos, "opaque value longer than the document");
    const uint8_t* p = r.take(len);
    switch (ftype) {
      case kTypeNewdecimal: {
        if (len < 2) bad(pos, "short opaque DECIMAL");
        unsigned prec = p[0], scale = p[1];
        if (prec == 0 || prec > 65 || scale > 30 || scale > prec || decimal_bin_size(prec, scale) != len - 2)
          bad(pos, "opaque DECIMAL of bad size");
        append_decimal(out, p + 2, prec, scale);
        return;
      }
      case kTypeDate:
      case kTypeDatetime:
      case kTypeTimestamp:
      case kTypeTime: {
        if (len < 8) bad(pos, "short opaque temporal");
        auto packed = static_cast<int64_t>(load_le(p, 8));
        out += '"';
        if (ftype == kTypeTime) {
          append_packed_time(out, packed, 6);
        } else {
          append_packed_datetime(out, packed, 6, ftype == kTypeDate);
        }
        out += '"';
        return;
      }
      default: {
        out += "\"base64:type";
        json::append_int(out, static_cast<unsigned>(ftype));
        out += ':';
        base64_encode(out, std::string_view(reinterpret_cast<const char*>(p), len));
        out += '"';
        return;
      }
    }
  }

  void container(std::string& out, size_t pos, size_t end, bool large, bool object, int depth) {
    const size_t w = large ? 4 : 2;
    Reader r = at(pos, end);
    uint64_t count = r.uint_le(w, "JSON element count");
    uint64_t size = r.uint_le(w, "JSON container size");
    if (size > end - pos) bad(pos, "container larger than the document");
    const size_t cend = pos + size;
    const size_t key_entry = w + 2;
    const size_t value_entry = 1 + w;
    // Header entries must fit in the container: this also bounds `count` before any loop.
    uint64_t header = 2 * w + count * ((object ? key_entry : 0) + value_entry);
    if (count > size || header > size) bad(pos, "container header larger than the container");
    out += object ? '{' : '[';
    for (uint64_t i = 0; i < count; ++i) {
      if (i) out += ',';
      if (object) {
        Reader k = at(pos + 2 * w + i * key_entry, cend);
        uint64_t koff = k.uint_le(w, "JSON key offset");
        uint64_t klen = k.u16("JSON key length");
        if (koff + klen > size) bad(pos, "key outside the container");
        std::string_view key = doc_.substr(pos + koff, klen);
        if (json::is_valid_utf8(key)) {
          json::append_string(out, key);
        } else {
          std::string fixed;
          append_utf8_lossy(fixed, key);
          json::append_string(out, fixed);
        }
        out += ':';
      }
      size_t ventry = pos + 2 * w + (object ? count * key_entry : 0) + i * value_entry;
      Reader v = at(ventry, cend);
      uint8_t type = v.u8("JSON value type");
      bool inlined = type == 0x04 || type == 0x05 || type == 0x06 || (large && (type == 0x07 || type == 0x08));
      if (inlined) {
        value(out, type, ventry + 1, cend, depth + 1);
      } else {
        uint64_t voff = v.uint_le(w, "JSON value offset");
        if (voff >= size) bad(ventry, "value outside the container");
        value(out, type, pos + voff, cend, depth + 1);
      }
    }
    out += object ? '}' : ']';
  }

  std::string_view doc_;
  uint64_t base_;
};

void JsonRenderer::append_utf8_lossy(std::string& out, std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else {
      out += "\xef\xbf\xbd";
    }
  }
}

}  // namespace

size_t decimal_bin_size(unsigned precision, unsigned scale) {
  unsigned intg = precision - scale;
  return (intg / 9) * 4 + kDig2Bytes[intg % 9] + (scale / 9) * 4 + kDig2Bytes[scale % 9];
}

namespace {

// "00" .. "99": two digits per division.
constexpr auto kPairs = [] {
  struct Table {
    char v[200];
  } t{};
  for (size_t i = 0; i < 100; ++i) {
    t.v[2 * i] = static_cast<char>('0' + i / 10);
    t.v[2 * i + 1] = static_cast<char>('0' + i % 10);
  }
  return t;
}();

// Two digits of v < 100 at p.
inline char* put2(char* p, unsigned v) {
  std::memcpy(p, kPairs.v + size_t{2} * v, 2);
  return p + 2;
}

// ".ffffff" cut to fsp digits (none for fsp 0), as values.cpp's fraction() writes it.
inline char* put_fraction(char* p, uint32_t micros, unsigned fsp) {
  if (fsp == 0) return p;
  if (fsp > 6) fsp = 6;
  char buf[6];
  uint32_t v = micros % 1000000;
  put2(put2(put2(buf, v / 10000), v / 100 % 100), v % 100);
  *p++ = '.';
  std::memcpy(p, buf, fsp);
  return p + fsp;
}

}  // namespace

char* write_decimal(char* out, const uint8_t* bytes, unsigned precision, unsigned scale, bool quoted) {
  const unsigned intg = precision - scale;
  const unsigned intg0 = intg / 9, intg0x = intg % 9, frac0 = scale / 9, frac0x = scale % 9;
  const bool negative = (bytes[0] & 0x80) == 0;
  const uint32_t mask = negative ? 0xffffffffu : 0;
  size_t pos = 0;
  // The first byte carries the sign bit (flipped); a negative number is stored complemented.
  auto group = [&](unsigned nbytes, unsigned digits) -> uint32_t {
    uint32_t v = static_cast<uint32_t>(load_be(bytes + pos, nbytes));
    if (pos == 0) v ^= 0x80u << (8 * (nbytes - 1));
    pos += nbytes;
    v ^= mask & (nbytes == 4 ? 0xffffffffu : ((1u << (8 * nbytes)) - 1));
    if (v >= kPow10[digits]) v %= kPow10[digits];  // corrupt digits: keep the shape valid
    return v;
  };
  // The groups' values: the integer part's (a partial leading group, then groups of 9 digits),
  // then the fraction's (groups of 9, then a partial trailing group).
  uint32_t int_groups[8], frac_groups[5];
  unsigned ni = 0, nf = 0;
  uint32_t any = 0;
  if (intg0x) any |= int_groups[ni++] = group(kDig2Bytes[intg0x], intg0x);
  for (unsigned i = 0; i < intg0; ++i) any |= int_groups[ni++] = group(4, 9);
  const uint32_t int_any = any;
  for (unsigned i = 0; i < frac0; ++i) any |= frac_groups[nf++] = group(4, 9);
  if (frac0x) any |= frac_groups[nf++] = group(kDig2Bytes[frac0x], frac0x);
  // `width` digits of v, zero-padded.
  auto put = [](char* p, uint32_t v, unsigned width) {
    char* end = p + width;
    for (unsigned left = width; left >= 2; left -= 2) {
      p = end - (width - left) - 2;
      std::memcpy(p, kPairs.v + size_t{2} * (v % 100), 2);
      v /= 100;
    }
    if (width & 1) *(end - width) = static_cast<char>('0' + v % 10);
    return end;
  };
  // Quote, sign, integer digits (at least one), point, fraction, quote: at most 2 + 1 + 65 + 1.
  char* p = out;
  if (quoted) *p++ = '"';
  if (negative && any) *p++ = '-';
  if (int_any == 0) {
    *p++ = '0';
  } else {
    unsigned i = 0;
    while (int_groups[i] == 0) ++i;
    p = std::to_chars(p, p + 10, int_groups[i]).ptr;  // the first nonzero group: no leading zeros
    for (++i; i < ni; ++i) p = put(p, int_groups[i], 9);
  }
  if (scale) {
    *p++ = '.';
    for (unsigned i = 0; i < nf; ++i) p = put(p, frac_groups[i], i < frac0 ? 9 : frac0x);
  }
  if (quoted) *p++ = '"';
  return p;
}

void append_decimal(std::string& out, const uint8_t* bytes, unsigned precision, unsigned scale, bool quoted) {
  char text[kDecimalTextMax + 2];
  out.append(text, static_cast<size_t>(write_decimal(text, bytes, precision, scale, quoted) - text));
}

char* write_packed_time(char* text, int64_t packed, unsigned fsp, bool quoted) {
  bool negative = packed < 0;
  uint64_t v = negative ? 0 - static_cast<uint64_t>(packed) : static_cast<uint64_t>(packed);
  uint64_t hms = v >> 24;
  auto frac = static_cast<uint32_t>(v % (1u << 24));
  auto hours = static_cast<unsigned>((hms >> 12) % (1u << 10)), minutes = static_cast<unsigned>((hms >> 6) % 64),
       seconds = static_cast<unsigned>(hms % 64);
  // The rendering of append_time (values.hpp) into one buffer: hours (< 1024) take 2 to 4 digits,
  // minutes and seconds (< 64) two.
  char* p = text;
  if (quoted) *p++ = '"';
  if (negative) *p++ = '-';
  if (hours >= 1000) *p++ = static_cast<char>('0' + hours / 1000);
  if (hours >= 100) *p++ = static_cast<char>('0' + hours / 100 % 10);
  p = put2(p, hours % 100);
  *p++ = ':';
  p = put2(p, minutes);
  *p++ = ':';
  p = put2(p, seconds);
  p = put_fraction(p, frac % 1000000, fsp);
  if (quoted) *p++ = '"';
  return p;
}

void append_packed_time(std::string& out, int64_t packed, unsigned fsp, bool quoted) {
  char text[kTemporalTextMax];
  out.append(text, static_cast<size_t>(write_packed_time(text, packed, fsp, quoted) - text));
}

char* write_packed_datetime(char* text, int64_t packed, unsigned fsp, bool quoted) {
  uint64_t v = packed < 0 ? 0 - static_cast<uint64_t>(packed) : static_cast<uint64_t>(packed);
  uint64_t ymdhms = v >> 24;
  auto frac = static_cast<uint32_t>(v % (1u << 24));
  uint64_t ymd = ymdhms >> 17, ym = ymd >> 5, hms = ymdhms % (1u << 17);
  auto year = static_cast<unsigned>((ym / 13) % 10000), month = static_cast<unsigned>(ym % 13),
       day = static_cast<unsigned>(ymd % 32);
  auto hour = static_cast<unsigned>((hms >> 12) % 32), minute = static_cast<unsigned>((hms >> 6) % 64),
       second = static_cast<unsigned>(hms % 64);
  // The rendering of append_datetime (values.hpp) into one buffer; every field is in range here
  // (year < 10000, the others < 100).
  char* p = text;
  if (quoted) *p++ = '"';
  p = put2(put2(p, year / 100), year % 100);
  *p++ = '-';
  p = put2(p, month);
  *p++ = '-';
  p = put2(p, day);
  *p++ = ' ';
  p = put2(p, hour);
  *p++ = ':';
  p = put2(p, minute);
  *p++ = ':';
  p = put2(p, second);
  p = put_fraction(p, frac % 1000000, fsp);
  if (quoted) *p++ = '"';
  return p;
}

void append_packed_datetime(std::string& out, int64_t packed, unsigned fsp, bool date_only, bool quoted) {
  if (date_only) {
    uint64_t v = packed < 0 ? 0 - static_cast<uint64_t>(packed) : static_cast<uint64_t>(packed);
    uint64_t ymd = (v >> 24) >> 17, ym = ymd >> 5;
    if (quoted) out += '"';
    append_date(out, static_cast<unsigned>((ym / 13) % 10000), static_cast<unsigned>(ym % 13),
                static_cast<unsigned>(ymd % 32));
    if (quoted) out += '"';
    return;
  }
  char text[kTemporalTextMax];
  out.append(text, static_cast<size_t>(write_packed_datetime(text, packed, fsp, quoted) - text));
}

void append_json_binary(std::string& out, std::string_view doc, uint64_t base) { JsonRenderer(doc, base).render(out); }

}  // namespace rowpipe::binlog

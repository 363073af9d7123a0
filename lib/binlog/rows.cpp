// Column values of row images.
// https://dev.mysql.com/doc/dev/mysql-server/latest/classmysql_1_1binlog_1_1event_1_1Rows__event.html
//
// An image: NULL bitmap over the present columns ((present+7)/8 bytes, LSB first), then the values
// of the present non-NULL columns in table order, each in its field's binlog (pack) format:
// integers little-endian; DATETIME2/TIME2/TIMESTAMP2 and DECIMAL big-endian; strings and BLOBs
// behind a 1-4 byte little-endian length.
#include "binlog/rows.hpp"

#include <charconv>
#include <cmath>
#include <cstring>

#include "binlog/constants.hpp"
#include "binlog/json_binary.hpp"
#include "event/json_writer.hpp"
#include "event/values.hpp"

#if __has_include("event/geometry.hpp")
#include "event/geometry.hpp"
#define ROWPIPE_HAVE_WKT 1
#endif

namespace rowpipe::binlog {
namespace {

int64_t sign_extend(uint64_t v, unsigned bits) {
  uint64_t m = uint64_t{1} << (bits - 1);
  return static_cast<int64_t>((v ^ m) - m);
}

size_t string_length_bytes(uint32_t max_length) { return max_length > 255 ? 2 : 1; }

template <typename Int>
inline void append_number(TextBuffer& out, Int value) {
  out.append_int(value);
}

// As json::append_double / append_float: the shortest decimal that reads back to the same value;
// NaN and infinities (which JSON cannot carry) as null.
template <typename Float>
inline void append_floating(TextBuffer& out, Float value) {
  if (!std::isfinite(value)) {
    out += "null";
    return;
  }
  char* p = out.room(32);
  out.set_end(std::to_chars(p, p + 32, value).ptr);
}

// A JSON string of `text` (valid UTF-8) as json::append_string writes it.
inline void append_json_string(TextBuffer& out, std::string_view text, std::string& scratch) {
  scratch.clear();
  json::append_string(scratch, text);
  out += scratch;
}

// Any byte in `bytes` below 0x20, a '"' or '\\' (which JSON escapes), or at or above 0x80.
// Eight bytes at a time: each test sets a byte's high bit where it holds (with borrows only ever
// adding false positives after a true one, so "none" is exact).
inline void scan_text(std::string_view bytes, bool& escape, bool& high) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL, kHigh = 0x8080808080808080ULL;
  const char* p = bytes.data();
  size_t n = bytes.size();
  uint64_t esc = 0, hi = 0;
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    uint64_t q = w ^ (kOnes * '"'), b = w ^ (kOnes * '\\');
    esc |= ((w - kOnes * 0x20) | (q - kOnes) | (b - kOnes)) & ~w & kHigh;
    hi |= w & kHigh;
  }
  for (; n > 0; ++p, --n) {
    auto c = static_cast<unsigned char>(*p);
    esc |= c < 0x20 || c == '"' || c == '\\';
    hi |= c >= 0x80;
  }
  escape = esc != 0;
  high = hi != 0;
}

}  // namespace

void RowDecoder::text(std::string_view bytes, const ColumnInfo& c, Image& img, Cell& cell) {
  TextBuffer& out = img.text;
  cell.kind = CellKind::kString;
  if (c.charset == Charset::kUnknown || c.charset == Charset::kBinary) {
    scratch2_.assign(1, '"');
    if (c.type == kTypeString && c.charset == Charset::kBinary && bytes.size() < c.max_length) {
      // BINARY(n): the binlog drops trailing zero bytes; SELECT returns them.
      scratch_.assign(bytes);
      scratch_.resize(c.max_length, '\0');
      base64_encode(scratch2_, scratch_);
    } else {
      base64_encode(scratch2_, bytes);
    }
    scratch2_ += '"';
    out += scratch2_;
    return;
  }
  const bool utf8 = c.charset == Charset::kUtf8mb4 || c.charset == Charset::kUtf8mb3;
  if (utf8 || c.charset == Charset::kLatin1 || c.charset == Charset::kAscii) {
    // Fast path: text needing no JSON escape and no conversion is copied in one append (the bytes
    // json::append_string would write). ASCII is the same in these charsets and in UTF-8.
    bool escape, high;
    scan_text(bytes, escape, high);
    if (!escape && (!high || (utf8 && json::is_valid_utf8(bytes)))) {
      char* p = out.room(bytes.size() + 2);
      *p++ = '"';
      copy_bytes(p, bytes.data(), bytes.size());
      p += bytes.size();
      *p++ = '"';
      out.set_end(p);
      return;
    }
  }
  if (utf8 && json::is_valid_utf8(bytes)) {
    append_json_string(out, bytes, scratch2_);
    return;
  }
  scratch_.clear();
  if (conv_.to_utf8(scratch_, bytes, c.charset) != 0) ++invalid_text_;
  append_json_string(out, scratch_, scratch2_);
}

void RowDecoder::json_diff(Reader& r, std::string& out) {
  out += '[';
  bool first = true;
  while (!r.empty()) {
    if (!first) out += ',';
    first = false;
    uint8_t op = r.u8("JSON diff operation");
    if (op > 2) r.corrupt("unknown JSON diff operation");
    uint64_t plen = r.packed("JSON diff path length");
    std::string_view path = r.bytes(plen, "JSON diff path");
    out += op == 0   ? "{\"op\":\"replace\",\"path\":"
           : op == 1 ? "{\"op\":\"insert\",\"path\":"
                     : "{\"op\":\"remove\",\"path\":";
    scratch_.clear();
    append_utf8_sanitized(scratch_, path);
    json::append_string(out, scratch_);
    if (op != 2) {
      uint64_t vlen = r.packed("JSON diff value length");
      uint64_t at = r.offset();
      std::string_view v = r.bytes(vlen, "JSON diff value");
      out += ",\"value\":";
      append_json_binary(out, v, at);
    }
    out += '}';
  }
  out += ']';
}

void RowDecoder::value(Reader& r, const ColumnInfo& c, Image& img, Cell& cell, bool diff) {
  value_inline(r, c, img, cell, diff);
}

// The value decoder proper, inlined into decode()'s column loop.
[[gnu::always_inline]] inline void RowDecoder::value_inline(Reader& r, const ColumnInfo& c, Image& img, Cell& cell,
                                                            bool diff) {
  TextBuffer& out = img.text;
  cell.begin = static_cast<uint32_t>(out.size());
  cell.kind = CellKind::kNumber;
  switch (c.type) {
    case kTypeTiny: {
      uint64_t v = r.u8("TINYINT");
      c.is_unsigned ? append_number(out, v) : append_number(out, sign_extend(v, 8));
      break;
    }
    case kTypeShort: {
      uint64_t v = r.u16("SMALLINT");
      c.is_unsigned ? append_number(out, v) : append_number(out, sign_extend(v, 16));
      break;
    }
    case kTypeInt24: {
      uint64_t v = r.u24("MEDIUMINT");
      c.is_unsigned ? append_number(out, v) : append_number(out, sign_extend(v, 24));
      break;
    }
    case kTypeLong: {
      uint64_t v = r.u32("INT");
      c.is_unsigned ? append_number(out, v) : append_number(out, sign_extend(v, 32));
      break;
    }
    case kTypeLonglong: {
      uint64_t v = r.u64("BIGINT");
      c.is_unsigned ? append_number(out, v) : append_number(out, static_cast<int64_t>(v));
      break;
    }
    case kTypeFloat: {
      auto bits = static_cast<uint32_t>(r.u32("FLOAT"));
      float f;
      std::memcpy(&f, &bits, 4);
      append_floating(out, f);
      break;
    }
    case kTypeDouble: {
      uint64_t bits = r.u64("DOUBLE");
      double d;
      std::memcpy(&d, &bits, 8);
      append_floating(out, d);
      break;
    }
    case kTypeNewdecimal: {
      const uint8_t* p = r.take(decimal_bin_size(c.precision, c.scale), "DECIMAL");
      cell.kind = CellKind::kString;
      char* at = out.room(kDecimalTextMax + 2);
      out.set_end(write_decimal(at, p, c.precision, c.scale, true));
      break;
    }
    case kTypeYear: {
      uint8_t v = r.u8("YEAR");
      append_number(out, v == 0 ? 0u : 1900u + v);
      break;
    }
    case kTypeDate:
    case kTypeNewdate: {
      uint32_t v = r.u24("DATE");
      cell.kind = CellKind::kString;
      scratch_.assign(1, '"');
      append_date(scratch_, v >> 9, (v >> 5) & 15, v & 31);
      scratch_ += '"';
      out += scratch_;
      break;
    }
    case kTypeTime: {
      int64_t v = sign_extend(r.u24("TIME"), 24);
      bool negative = v < 0;
      uint64_t a = negative ? static_cast<uint64_t>(-v) : static_cast<uint64_t>(v);
      cell.kind = CellKind::kString;
      scratch_.assign(1, '"');
      append_time(scratch_, negative, static_cast<unsigned>(a / 10000), static_cast<unsigned>(a / 100 % 100),
                  static_cast<unsigned>(a % 100), 0, 0);
      scratch_ += '"';
      out += scratch_;
      break;
    }
    case kTypeTime2: {
      const unsigned fsp = c.scale;
      int64_t packed;
      int64_t intpart = static_cast<int64_t>(r.uint_be(3, "TIME2")) - 0x800000;
      switch (fsp) {
        case 1:
        case 2: {
          int64_t frac = r.u8("TIME2 fraction");
          if (intpart < 0 && frac) {
            ++intpart;
            frac -= 0x100;
          }
          packed = intpart * (int64_t{1} << 24) + frac * 10000;
          break;
        }
        case 3:
        case 4: {
          int64_t frac = static_cast<int64_t>(r.uint_be(2, "TIME2 fraction"));
          if (intpart < 0 && frac) {
            ++intpart;
            frac -= 0x10000;
          }
          packed = intpart * (int64_t{1} << 24) + frac * 100;
          break;
        }
        case 5:
        case 6: {
          int64_t low = static_cast<int64_t>(r.uint_be(3, "TIME2 fraction"));
          packed = (intpart + 0x800000) * (int64_t{1} << 24) + low - (int64_t{0x800000} << 24);
          break;
        }
        default: packed = intpart * (int64_t{1} << 24); break;
      }
      cell.kind = CellKind::kString;
      char* at = out.room(kTemporalTextMax);
      out.set_end(write_packed_time(at, packed, fsp, true));
      break;
    }
    case kTypeDatetime: {
      uint64_t v = r.u64("DATETIME");
      uint64_t d = v / 1000000, t = v % 1000000;
      cell.kind = CellKind::kString;
      scratch_.assign(1, '"');
      append_datetime(scratch_, static_cast<unsigned>(d / 10000 % 10000), static_cast<unsigned>(d / 100 % 100),
                      static_cast<unsigned>(d % 100), static_cast<unsigned>(t / 10000),
                      static_cast<unsigned>(t / 100 % 100), static_cast<unsigned>(t % 100), 0, 0);
      scratch_ += '"';
      out += scratch_;
      break;
    }
    case kTypeDatetime2: {
      const unsigned fsp = c.scale;
      int64_t intpart = static_cast<int64_t>(r.uint_be(5, "DATETIME2")) - 0x8000000000;
      int64_t frac = 0;
      switch (fsp) {
        case 1:
        case 2: frac = static_cast<int64_t>(r.u8("DATETIME2 fraction")) * 10000; break;
        case 3:
        case 4: frac = static_cast<int64_t>(r.uint_be(2, "DATETIME2 fraction")) * 100; break;
        case 5:
        case 6: frac = static_cast<int64_t>(r.uint_be(3, "DATETIME2 fraction")); break;
        default: break;
      }
      if (intpart < 0) intpart = -intpart;  // corrupt; keep the rendering well-formed
      cell.kind = CellKind::kString;
      char* at = out.room(kTemporalTextMax);
      out.set_end(write_packed_datetime(at, intpart * (int64_t{1} << 24) + frac, fsp, true));
      break;
    }
    case kTypeTimestamp:
    case kTypeTimestamp2: {
      uint64_t sec;
      uint32_t usec = 0;
      const unsigned fsp = c.type == kTypeTimestamp ? 0 : c.scale;
      if (c.type == kTypeTimestamp) {
        sec = r.u32("TIMESTAMP");
      } else {
        sec = r.uint_be(4, "TIMESTAMP2");
        switch (fsp) {
          case 1:
          case 2: usec = static_cast<uint32_t>(r.u8("TIMESTAMP2 fraction")) * 10000; break;
          case 3:
          case 4: usec = static_cast<uint32_t>(r.uint_be(2, "TIMESTAMP2 fraction")) * 100; break;
          case 5:
          case 6: usec = static_cast<uint32_t>(r.uint_be(3, "TIMESTAMP2 fraction")); break;
          default: break;
        }
      }
      cell.kind = CellKind::kString;
      scratch_.assign(1, '"');
      if (sec == 0 && usec == 0) {
        append_datetime(scratch_, 0, 0, 0, 0, 0, 0, 0, fsp);
      } else {
        append_utc_datetime(scratch_, static_cast<int64_t>(sec), usec % 1000000, fsp);
      }
      scratch_ += '"';
      out += scratch_;
      break;
    }
    case kTypeVarchar:
    case kTypeVarString:
    case kTypeString: {
      size_t len = r.uint_le(string_length_bytes(c.max_length), "string length");
      text(r.bytes(len, "string"), c, img, cell);
      break;
    }
    case kTypeTinyBlob:
    case kTypeMediumBlob:
    case kTypeLongBlob:
    case kTypeBlob: {
      size_t len = r.uint_le(c.max_length, "BLOB length");
      text(r.bytes(len, "BLOB"), c, img, cell);
      break;
    }
    case kTypeEnum: {
      uint64_t idx = r.uint_le(c.pack_length, "ENUM");
      if (c.labels.empty()) {
        append_number(out, idx);
      } else if (idx == 0) {
        cell.kind = CellKind::kString;
        out += "\"\"";  // the empty string MySQL stores for an invalid ENUM value
      } else if (idx <= c.labels.size()) {
        cell.kind = CellKind::kString;
        append_json_string(out, c.labels[idx - 1], scratch2_);
      } else {
        append_number(out, idx);
      }
      break;
    }
    case kTypeSet: {
      uint64_t mask = r.uint_le(c.pack_length, "SET");
      if (c.labels.empty() || (c.labels.size() < 64 && (mask >> c.labels.size()) != 0)) {
        append_number(out, mask);
        break;
      }
      scratch_.clear();
      for (size_t b = 0; b < c.labels.size(); ++b) {
        if ((mask >> b) & 1) {
          if (!scratch_.empty() || b > 0) {
            if (!scratch_.empty()) scratch_ += ',';
          }
          scratch_ += c.labels[b];
        }
      }
      cell.kind = CellKind::kString;
      append_json_string(out, scratch_, scratch2_);
      break;
    }
    case kTypeBit: {
      append_number(out, r.uint_be((c.bits + 7u) / 8u, "BIT"));
      break;
    }
    case kTypeJson: {
      size_t len = r.uint_le(c.max_length, "JSON length");
      uint64_t at = r.offset();
      Reader doc = r.sub(len, "JSON");
      scratch2_.clear();
      if (diff) {
        cell.kind = CellKind::kJsonDiff;
        json_diff(doc, scratch2_);
      } else {
        cell.kind = CellKind::kJson;
        append_json_binary(scratch2_, doc.rest(), at);
      }
      out += scratch2_;
      break;
    }
    case kTypeGeometry: {
      size_t len = r.uint_le(c.max_length, "GEOMETRY length");
      std::string_view g = r.bytes(len, "GEOMETRY");
      cell.kind = CellKind::kString;
#ifdef ROWPIPE_HAVE_WKT
      scratch_.clear();
      append_wkt(scratch_, g);
      append_json_string(out, scratch_, scratch2_);
#else
      // TODO(geometry): WKT once event/geometry.hpp lands; until then the internal bytes, base64.
      scratch2_.assign(1, '"');
      base64_encode(scratch2_, g);
      scratch2_ += '"';
      out += scratch2_;
#endif
      break;
    }
    case kTypeVector: {
      size_t len = r.uint_le(c.max_length, "VECTOR length");
      if (len % 4 != 0) r.corrupt("VECTOR length not a multiple of 4");
      const uint8_t* p = r.take(len, "VECTOR");
      cell.kind = CellKind::kJson;
      out += '[';
      for (size_t i = 0; i < len; i += 4) {
        if (i) out += ',';
        auto bits = static_cast<uint32_t>(load_le(p + i, 4));
        float f;
        std::memcpy(&f, &bits, 4);
        append_floating(out, f);
      }
      out += ']';
      break;
    }
    case kTypeNull:
      cell.kind = CellKind::kNull;
      out += "null";
      break;
    case kTypeDecimal:
      fail(ErrorKind::kData,
           "column `" + c.name + "` has the pre-5.0 DECIMAL type, which rows events cannot carry here");
    default: throw_corrupt("column `" + c.name + "` has unknown type " + std::to_string(c.type), r.offset());
  }
  cell.size = static_cast<uint32_t>(out.size() - cell.begin);
}

void RowDecoder::decode(Reader& r, const TableMap& t, const uint8_t* present, Image& img, const uint8_t* partial_json) {
  const size_t n = t.columns.size();
  // Every cell is set below (absent ones too): no reset pass over the cells.
  if (img.cells.size() != n) img.cells.resize(n);
  img.text.clear();
  size_t count = 0;
  for (size_t i = 0; i < n; ++i) count += (present[i / 8] >> (i % 8)) & 1;
  img.lacks_columns = count != n;
  const uint8_t* nulls = r.take((count + 7) / 8, "NULL bitmap");
  size_t k = 0;     // index among present columns
  size_t json = 0;  // index among the table's JSON columns
  for (size_t i = 0; i < n; ++i) {
    const ColumnInfo& c = t.columns[i];
    bool is_json = c.type == kTypeJson;
    bool diff = is_json && partial_json != nullptr && ((partial_json[json / 8] >> (json % 8)) & 1);
    if (is_json) ++json;
    Cell& cell = img.cells[i];
    if (!((present[i / 8] >> (i % 8)) & 1)) {
      cell = Cell{};
      continue;
    }
    if ((nulls[k / 8] >> (k % 8)) & 1) {
      cell.kind = CellKind::kNull;
      cell.begin = static_cast<uint32_t>(img.text.size());
      img.text += "null";
      cell.size = 4;
    } else {
      value_inline(r, c, img, cell, diff);
    }
    ++k;
  }
}

}  // namespace rowpipe::binlog

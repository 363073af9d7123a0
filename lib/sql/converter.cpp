// Result columns -> type words, result values -> JSON, over the binary protocol (prepared statements).
#include "sql/converter.hpp"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>

#include "cli/error.hpp"
#include "clients/mysql.hpp"
#include "event/geometry.hpp"
#include "event/json_writer.hpp"
#include "event/values.hpp"

namespace rowpipe {
namespace {

constexpr unsigned kBinaryCharset = 63;
// MySQL 9's VECTOR (not in Connector/C 3.3's enum): an array of little-endian float32.
constexpr int kMysqlTypeVector = 242;
// Inline buffer per string-like column; longer values go to the column's overflow buffer.
constexpr unsigned long kMaxInlineBytes = 4096;

uint16_t fraction_digits(unsigned decimals) { return static_cast<uint16_t>(std::min(decimals, 6U)); }

// Re-renders a JSON document compactly, in its own key order, with strings escaped as rowpipe escapes
// them. Numbers are written as the binlog decoder writes MySQL binary JSON: integers and fixed-point
// text (MySQL prints doubles shortest-first and DECIMALs with their scale) as the server sent them;
// exponent forms as the shortest round-trip double, with ".0" when that has no point or exponent.
struct Rerender : rapidjson::BaseReaderHandler<rapidjson::UTF8<>, Rerender> {
  explicit Rerender(std::string& out) : w(out) {}

  bool Null() {
    w.null();
    return true;
  }
  bool Bool(bool b) {
    w.boolean(b);
    return true;
  }
  bool RawNumber(const char* s, rapidjson::SizeType len, bool) {
    std::string_view text(s, len);
    if (text.find_first_of("eE") == std::string_view::npos) {
      w.raw(text);
      return true;
    }
    double v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v)) {
      w.raw(text);  // out of double range: keep the server's digits
      return true;
    }
    char buf[40];
    auto [stop, ec2] = std::to_chars(buf, buf + sizeof buf - 2, v);
    std::string_view shortest(buf, static_cast<size_t>(stop - buf));
    if (shortest.find_first_of(".e") == std::string_view::npos) {
      *stop++ = '.';
      *stop++ = '0';
    }
    w.raw(std::string_view(buf, static_cast<size_t>(stop - buf)));
    return true;
  }
  bool String(const char* s, rapidjson::SizeType len, bool) {
    w.string(std::string_view(s, len));
    return true;
  }
  bool Key(const char* s, rapidjson::SizeType len, bool) {
    w.key(std::string_view(s, len));
    return true;
  }
  bool StartObject() {
    w.begin_object();
    return true;
  }
  bool EndObject(rapidjson::SizeType) {
    w.end_object();
    return true;
  }
  bool StartArray() {
    w.begin_array();
    return true;
  }
  bool EndArray(rapidjson::SizeType) {
    w.end_array();
    return true;
  }

  json::Writer w;
};

[[noreturn]] void column_error(std::string_view column, ErrorKind kind, std::string_view what) {
  fail(kind, "column `" + std::string(column) + "`: " + std::string(what));
}

}  // namespace

ColumnType column_type_of(const MYSQL_FIELD& field) {
  ColumnType t;
  const bool binary = field.charsetnr == kBinaryCharset;
  const bool is_unsigned = (field.flags & UNSIGNED_FLAG) != 0;
  switch (static_cast<int>(field.type)) {
    case MYSQL_TYPE_TINY:
      t.base = TypeBase::kTinyint;
      t.is_unsigned = is_unsigned;
      break;
    case MYSQL_TYPE_SHORT:
      t.base = TypeBase::kSmallint;
      t.is_unsigned = is_unsigned;
      break;
    case MYSQL_TYPE_INT24:
      t.base = TypeBase::kMediumint;
      t.is_unsigned = is_unsigned;
      break;
    case MYSQL_TYPE_LONG:
      t.base = TypeBase::kInt;
      t.is_unsigned = is_unsigned;
      break;
    case MYSQL_TYPE_LONGLONG:
      t.base = TypeBase::kBigint;
      t.is_unsigned = is_unsigned;
      break;
    case MYSQL_TYPE_YEAR: t.base = TypeBase::kYear; break;
    case MYSQL_TYPE_FLOAT: t.base = TypeBase::kFloat; break;
    case MYSQL_TYPE_DOUBLE: t.base = TypeBase::kDouble; break;
    case MYSQL_TYPE_DECIMAL:
    case MYSQL_TYPE_NEWDECIMAL: {
      // The display length of DECIMAL(P,S) is P, plus one for the point when S > 0, plus one for the
      // sign unless UNSIGNED (my_decimal_precision_to_length_no_truncation).
      t.base = TypeBase::kDecimal;
      t.scale = static_cast<uint16_t>(std::min(field.decimals, 38U));
      long precision = static_cast<long>(field.length) - (t.scale > 0 ? 1 : 0) - (is_unsigned ? 0 : 1);
      precision = std::clamp(precision, std::max(1L, static_cast<long>(t.scale)), 65L);
      t.precision = static_cast<uint16_t>(precision);
      break;
    }
    case MYSQL_TYPE_DATE:
    case MYSQL_TYPE_NEWDATE: t.base = TypeBase::kDate; break;
    case MYSQL_TYPE_TIME:
    case MYSQL_TYPE_TIME2:
      t.base = TypeBase::kTime;
      t.scale = fraction_digits(field.decimals);
      break;
    case MYSQL_TYPE_DATETIME:
    case MYSQL_TYPE_DATETIME2:
      t.base = TypeBase::kDatetime;
      t.scale = fraction_digits(field.decimals);
      break;
    case MYSQL_TYPE_TIMESTAMP:
    case MYSQL_TYPE_TIMESTAMP2:
      t.base = TypeBase::kTimestamp;
      t.scale = fraction_digits(field.decimals);
      break;
    case MYSQL_TYPE_BIT:
      t.base = TypeBase::kBit;
      t.precision = static_cast<uint16_t>(std::clamp(field.length, 1UL, 64UL));
      break;
    case MYSQL_TYPE_ENUM: t.base = TypeBase::kEnum; break;
    case MYSQL_TYPE_SET: t.base = TypeBase::kSet; break;
    case MYSQL_TYPE_STRING:
      // ENUM and SET travel as strings with a flag.
      if (field.flags & ENUM_FLAG) {
        t.base = TypeBase::kEnum;
      } else if (field.flags & SET_FLAG) {
        t.base = TypeBase::kSet;
      } else {
        t.base = binary ? TypeBase::kBinary : TypeBase::kChar;
      }
      break;
    case MYSQL_TYPE_VAR_STRING:
    case MYSQL_TYPE_VARCHAR: t.base = binary ? TypeBase::kVarbinary : TypeBase::kVarchar; break;
    case MYSQL_TYPE_TINY_BLOB:
    case MYSQL_TYPE_MEDIUM_BLOB:
    case MYSQL_TYPE_LONG_BLOB:
    case MYSQL_TYPE_BLOB: t.base = binary ? TypeBase::kBlob : TypeBase::kText; break;
    case MYSQL_TYPE_JSON: t.base = TypeBase::kJson; break;
    case MYSQL_TYPE_GEOMETRY: t.base = TypeBase::kGeometry; break;
    case kMysqlTypeVector: t.base = TypeBase::kVector; break;
    case MYSQL_TYPE_NULL:  // SELECT NULL: no type of its own
      t.base = TypeBase::kVarchar;
      break;
    default:
      fail(ErrorKind::kData, "column `" + std::string(field.name, field.name_length) + "` has unsupported type " +
                                 std::to_string(static_cast<int>(field.type)));
  }
  return t;
}

RowConverter::RowConverter(MYSQL_STMT* stmt) : stmt_(stmt) {
  MysqlResult meta(mysql_stmt_result_metadata(stmt));
  if (!meta) {
    if (mysql_stmt_errno(stmt) != 0) throw_stmt_error(stmt, "reading result metadata failed");
    fail(ErrorKind::kInternal, "RowConverter: the statement returns no result set");
  }
  const unsigned n = mysql_num_fields(meta.get());
  const MYSQL_FIELD* fields = mysql_fetch_fields(meta.get());
  columns_.resize(n);
  binds_.assign(n, MYSQL_BIND{});
  for (unsigned i = 0; i < n; ++i) {
    const MYSQL_FIELD& f = fields[i];
    Column& c = columns_[i];
    c.name.assign(f.name, f.name_length);
    json::append_string(c.key, c.name);
    c.key += ':';
    c.type = column_type_of(f);
    c.word = c.type.word();
    c.field_type = f.type;
    MYSQL_BIND& b = binds_[i];
    b.length = &c.length;
    b.is_null = &c.null;
    b.error = &c.error;
    switch (c.type.base) {
      case TypeBase::kTinyint:
      case TypeBase::kSmallint:
      case TypeBase::kMediumint:
      case TypeBase::kInt:
      case TypeBase::kBigint:
      case TypeBase::kYear:
        // Every integer width (and YEAR) into 64 bits, signedness as declared: exact at both ends.
        c.kind = c.type.is_unsigned ? Kind::kUnsigned : Kind::kSigned;
        b.buffer_type = MYSQL_TYPE_LONGLONG;
        b.buffer = &c.number;
        b.buffer_length = sizeof c.number;
        b.is_unsigned = c.type.is_unsigned;
        break;
      case TypeBase::kFloat:
        // The stored 4-byte float itself: the text protocol would round it to 6 digits.
        c.kind = Kind::kFloat;
        b.buffer_type = MYSQL_TYPE_FLOAT;
        b.buffer = &c.number.f32;
        b.buffer_length = sizeof c.number.f32;
        break;
      case TypeBase::kDouble:
        c.kind = Kind::kDouble;
        b.buffer_type = MYSQL_TYPE_DOUBLE;
        b.buffer = &c.number.f64;
        b.buffer_length = sizeof c.number.f64;
        break;
      case TypeBase::kDate:
      case TypeBase::kTime:
      case TypeBase::kDatetime:
      case TypeBase::kTimestamp:
        c.kind = Kind::kTime;
        b.buffer_type = c.type.base == TypeBase::kDate       ? MYSQL_TYPE_DATE
                        : c.type.base == TypeBase::kTime     ? MYSQL_TYPE_TIME
                        : c.type.base == TypeBase::kDatetime ? MYSQL_TYPE_DATETIME
                                                             : MYSQL_TYPE_TIMESTAMP;
        b.buffer = &c.time;
        b.buffer_length = sizeof c.time;
        break;
      default: {
        switch (c.type.base) {
          case TypeBase::kDecimal: c.kind = Kind::kDecimal; break;
          case TypeBase::kBit: c.kind = Kind::kBit; break;
          case TypeBase::kBinary:
          case TypeBase::kVarbinary:
          case TypeBase::kBlob: c.kind = Kind::kBinary; break;
          case TypeBase::kJson: c.kind = Kind::kJson; break;
          case TypeBase::kGeometry: c.kind = Kind::kGeometry; break;
          case TypeBase::kVector: c.kind = Kind::kVector; break;
          default: c.kind = f.type == MYSQL_TYPE_NULL ? Kind::kNull : Kind::kText; break;
        }
        c.inline_bytes.resize(std::clamp(f.length, 16UL, kMaxInlineBytes));
        b.buffer_type = MYSQL_TYPE_BLOB;
        b.buffer = c.inline_bytes.data();
        b.buffer_length = c.inline_bytes.size();
        break;
      }
    }
  }
  if (mysql_stmt_bind_result(stmt_, binds_.data()) != 0) throw_stmt_error(stmt_, "binding result buffers failed");
}

RowConverter::~RowConverter() = default;

bool RowConverter::fetch() {
  int rc = mysql_stmt_fetch(stmt_);
  if (rc == MYSQL_NO_DATA) return false;
  if (rc == 1) throw_stmt_error(stmt_, "fetching a row failed");
  // rc is 0 or MYSQL_DATA_TRUNCATED: fetch the rest of every value longer than its inline buffer.
  for (unsigned i = 0; i < columns_.size(); ++i) {
    Column& c = columns_[i];
    if (c.null || c.error == 0) continue;
    if (c.inline_bytes.empty()) column_error(c.name, ErrorKind::kInternal, "value does not fit its buffer");
    const unsigned long have = c.inline_bytes.size();
    if (c.length <= have) continue;
    c.overflow.resize(c.length);  // reuses the capacity of earlier long values
    std::memcpy(c.overflow.data(), c.inline_bytes.data(), have);
    MYSQL_BIND rest{};
    unsigned long rest_length = 0;
    my_bool rest_null = 0;
    my_bool rest_error = 0;
    rest.buffer_type = MYSQL_TYPE_BLOB;
    rest.buffer = c.overflow.data() + have;
    rest.buffer_length = c.length - have;
    rest.length = &rest_length;
    rest.is_null = &rest_null;
    rest.error = &rest_error;
    if (mysql_stmt_fetch_column(stmt_, &rest, i, have) != 0) throw_stmt_error(stmt_, "fetching a long value failed");
  }
  return true;
}

std::string_view RowConverter::bytes(size_t column) const {
  const Column& c = columns_[column];
  if (c.null || c.inline_bytes.empty()) return {};
  if (c.length > c.inline_bytes.size()) return std::string_view(c.overflow.data(), c.length);
  return std::string_view(c.inline_bytes.data(), c.length);
}

void RowConverter::append_value(std::string& out, size_t column) {
  Column& c = columns_[column];
  if (c.null) {
    out += "null";
    return;
  }
  switch (c.kind) {
    case Kind::kNull: out += "null"; break;
    case Kind::kSigned: json::append_int(out, c.number.i64); break;
    case Kind::kUnsigned: json::append_int(out, c.number.u64); break;
    case Kind::kFloat: json::append_float(out, c.number.f32); break;
    case Kind::kDouble: json::append_double(out, c.number.f64); break;
    case Kind::kTime: {
      const MYSQL_TIME& t = c.time;
      out += '"';
      switch (c.type.base) {
        case TypeBase::kDate: append_date(out, t.year, t.month, t.day); break;
        case TypeBase::kTime:
          // Connector/C folds days into hours already; adding `day` is for libraries that do not.
          append_time(out, t.neg != 0, t.hour + t.day * 24, t.minute, t.second, static_cast<uint32_t>(t.second_part),
                      c.type.scale);
          break;
        default:
          append_datetime(out, t.year, t.month, t.day, t.hour, t.minute, t.second, static_cast<uint32_t>(t.second_part),
                          c.type.scale);
          break;
      }
      out += '"';
      break;
    }
    case Kind::kDecimal:
      // The server sends DECIMAL as text with exactly the declared scale ("-12.50", "0.000").
      json::append_string(out, bytes(column));
      break;
    case Kind::kBit: {
      std::string_view b = bytes(column);
      if (b.size() > 8) column_error(c.name, ErrorKind::kData, "BIT value longer than 8 bytes");
      uint64_t v = 0;
      for (char ch : b) v = v << 8 | static_cast<unsigned char>(ch);
      json::append_int(out, v);
      break;
    }
    case Kind::kText: {
      std::string_view text = bytes(column);
      if (!json::is_valid_utf8(text)) column_error(c.name, ErrorKind::kData, "value is not valid UTF-8");
      json::append_string(out, text);
      break;
    }
    case Kind::kBinary:
      out += '"';
      base64_encode(out, bytes(column));
      out += '"';
      break;
    case Kind::kJson: append_json_document(out, c, bytes(column)); break;
    case Kind::kGeometry:
      out += '"';
      try {
        append_wkt(out, bytes(column));
      } catch (const Error& e) {
        column_error(c.name, e.kind(), e.what());
      }
      out += '"';
      break;
    case Kind::kVector: {
      std::string_view b = bytes(column);
      if (b.size() % 4 != 0) column_error(c.name, ErrorKind::kData, "VECTOR value is not a whole number of floats");
      out += '[';
      for (size_t i = 0; i < b.size(); i += 4) {
        const auto* p = reinterpret_cast<const unsigned char*>(b.data() + i);
        uint32_t bits = uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
        if (i > 0) out += ',';
        json::append_float(out, std::bit_cast<float>(bits));
      }
      out += ']';
      break;
    }
  }
}

void RowConverter::append_json_document(std::string& out, const Column& c, std::string_view text) {
  Rerender handler(out);
  rapidjson::MemoryStream in(text.data(), text.size());
  constexpr unsigned kFlags =
      rapidjson::kParseNumbersAsStringsFlag | rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag;
  rapidjson::ParseResult ok = json_reader_.Parse<kFlags>(in, handler);
  if (!ok) {
    column_error(c.name, ErrorKind::kData,
                 std::string("invalid JSON value: ") + rapidjson::GetParseError_En(ok.Code()) + " at offset " +
                     std::to_string(ok.Offset()));
  }
}

void RowConverter::append_row(std::string& out) {
  out += '{';
  for (size_t i = 0; i < columns_.size(); ++i) {
    if (i > 0) out += ',';
    out += columns_[i].key;
    append_value(out, i);
  }
  out += '}';
}

void RowConverter::append_types(std::string& out) const {
  out += '{';
  for (size_t i = 0; i < columns_.size(); ++i) {
    if (i > 0) out += ',';
    out += columns_[i].key;
    out += '"';
    out += columns_[i].word;
    out += '"';
  }
  out += '}';
}

}  // namespace rowpipe

// TABLE_MAP_EVENT decoding.
// https://dev.mysql.com/doc/dev/mysql-server/latest/classmysql_1_1binlog_1_1event_1_1Table__map__event.html
//
// Post-header: table_id (6 bytes; 4 on pre-GA servers whose post-header is 6), flags (2).
// Body: db len (1) db NUL, table len (1) table NUL, column count (packed), column types (1 byte
// each), metadata length (packed) + per-type metadata, NULL-able bitmap ((n+7)/8, LSB first), then
// optional metadata as TLVs: type (1), length (packed), value. Bitmaps inside the optional
// metadata (signedness, visibility) are MSB first.
#include "binlog/table_map.hpp"

#include "binlog/constants.hpp"
#include "binlog/reader.hpp"
#include "event/json_writer.hpp"

namespace rowpipe::binlog {
namespace {

enum OptionalField : uint8_t {
  kSignedness = 1,
  kDefaultCharset = 2,
  kColumnCharset = 3,
  kColumnName = 4,
  kSetStrValue = 5,
  kEnumStrValue = 6,
  kGeometryType = 7,
  kSimplePrimaryKey = 8,
  kPrimaryKeyWithPrefix = 9,
  kEnumAndSetDefaultCharset = 10,
  kEnumAndSetColumnCharset = 11,
  kColumnVisibility = 12,
  kVectorDimensionality = 13,
};

constexpr size_t kMaxColumns = 4096;   // MySQL's and MariaDB's limit
constexpr size_t kMaxNameBytes = 192;  // 64 characters of utf8mb3

bool is_numeric(uint8_t type, bool mariadb) {
  switch (type) {
    case kTypeTiny:
    case kTypeShort:
    case kTypeInt24:
    case kTypeLong:
    case kTypeLonglong:
    case kTypeFloat:
    case kTypeDouble:
    case kTypeNewdecimal:
    case kTypeDecimal: return true;
    case kTypeYear: return mariadb;
    default: return false;
  }
}

bool is_character(uint8_t type, bool mariadb) {
  if (type == kTypeGeometry) return mariadb;  // MariaDB: "base class is blob for geom type"
  switch (type) {
    case kTypeString:
    case kTypeVarString:
    case kTypeVarchar:
    case kTypeBlob:
    case kTypeTinyBlob:
    case kTypeMediumBlob:
    case kTypeLongBlob:
    case kTypeVector:  // MySQL 9 counts VECTOR (charset binary) among the character columns
      return true;
    default: return false;
  }
}

void read_metadata(Reader& m, ColumnInfo& c) {
  switch (c.type) {
    case kTypeFloat:
    case kTypeDouble: c.meta = m.u8("FLOAT/DOUBLE metadata"); break;
    case kTypeTinyBlob:
    case kTypeMediumBlob:
    case kTypeLongBlob:
    case kTypeBlob:
    case kTypeGeometry:
    case kTypeJson:
    case kTypeVector:
      c.meta = m.u8("length-bytes metadata");
      if (c.meta < 1 || c.meta > 4) m.corrupt("length bytes of a BLOB-like column must be 1-4");
      c.max_length = c.meta;
      break;
    case kTypeTimestamp2:
    case kTypeDatetime2:
    case kTypeTime2:
      c.meta = m.u8("fraction digits");
      if (c.meta > 6) m.corrupt("fraction digits above 6");
      c.scale = static_cast<uint8_t>(c.meta);
      break;
    case kTypeVarchar:
      c.meta = m.u16("VARCHAR metadata");
      c.max_length = c.meta;
      break;
    case kTypeBit: {
      uint8_t bits = m.u8("BIT metadata");
      uint8_t bytes = m.u8("BIT metadata");
      if (bits > 7 || bytes > 8 || bytes * 8 + bits > 64 || bytes * 8 + bits == 0) m.corrupt("BIT width out of range");
      c.meta = static_cast<uint16_t>(bits | (bytes << 8));
      c.bits = static_cast<uint16_t>(bytes * 8 + bits);
      break;
    }
    case kTypeNewdecimal: {
      c.precision = m.u8("DECIMAL precision");
      c.scale = m.u8("DECIMAL scale");
      if (c.precision == 0 || c.precision > 65 || c.scale > 30 || c.scale > c.precision)
        m.corrupt("DECIMAL precision/scale out of range");
      c.meta = static_cast<uint16_t>(c.precision << 8 | c.scale);
      break;
    }
    case kTypeString:
    case kTypeVarString:
    case kTypeEnum:
    case kTypeSet: {
      uint8_t b0 = m.u8("STRING metadata");
      uint8_t b1 = m.u8("STRING metadata");
      c.meta = static_cast<uint16_t>(b0 << 8 | b1);
      uint8_t real = b0;
      uint32_t len = b1;
      if (real != 0 && (real & 0x30) != 0x30) {
        len |= static_cast<uint32_t>((real & 0x30) ^ 0x30) << 4;
        real |= 0x30;
      }
      if (real == kTypeEnum || real == kTypeSet) {
        c.type = real;
        c.pack_length = b1;
        if (c.type == kTypeEnum ? (b1 != 1 && b1 != 2) : (b1 < 1 || b1 > 8))
          m.corrupt("ENUM/SET storage size out of range");
      } else {
        c.max_length = len;
      }
      break;
    }
    default: break;
  }
}

void set_word(ColumnInfo& c) {
  ColumnType& w = c.word;
  w = ColumnType{};
  bool binary = c.charset == Charset::kBinary || c.charset == Charset::kUnknown;
  switch (c.type) {
    case kTypeTiny:
      w.base = TypeBase::kTinyint;
      w.is_unsigned = c.is_unsigned;
      break;
    case kTypeShort:
      w.base = TypeBase::kSmallint;
      w.is_unsigned = c.is_unsigned;
      break;
    case kTypeInt24:
      w.base = TypeBase::kMediumint;
      w.is_unsigned = c.is_unsigned;
      break;
    case kTypeLong:
      w.base = TypeBase::kInt;
      w.is_unsigned = c.is_unsigned;
      break;
    case kTypeLonglong:
      w.base = TypeBase::kBigint;
      w.is_unsigned = c.is_unsigned;
      break;
    case kTypeFloat: w.base = TypeBase::kFloat; break;
    case kTypeDouble: w.base = TypeBase::kDouble; break;
    case kTypeNewdecimal:
      w.base = TypeBase::kDecimal;
      w.precision = c.precision;
      w.scale = c.scale;
      break;
    case kTypeDate:
    case kTypeNewdate: w.base = TypeBase::kDate; break;
    case kTypeTime:
    case kTypeTime2:
      w.base = TypeBase::kTime;
      w.scale = c.scale;
      break;
    case kTypeDatetime:
    case kTypeDatetime2:
      w.base = TypeBase::kDatetime;
      w.scale = c.scale;
      break;
    case kTypeTimestamp:
    case kTypeTimestamp2:
      w.base = TypeBase::kTimestamp;
      w.scale = c.scale;
      break;
    case kTypeYear: w.base = TypeBase::kYear; break;
    case kTypeString:
      w.base = c.charset == Charset::kBinary ? TypeBase::kBinary : binary ? TypeBase::kVarbinary : TypeBase::kChar;
      break;
    case kTypeVarchar:
    case kTypeVarString: w.base = binary ? TypeBase::kVarbinary : TypeBase::kVarchar; break;
    case kTypeTinyBlob:
    case kTypeMediumBlob:
    case kTypeLongBlob:
    case kTypeBlob: w.base = binary ? TypeBase::kBlob : TypeBase::kText; break;
    case kTypeEnum: w.base = TypeBase::kEnum; break;
    case kTypeSet: w.base = TypeBase::kSet; break;
    case kTypeBit:
      w.base = TypeBase::kBit;
      w.precision = c.bits;
      break;
    case kTypeJson: w.base = TypeBase::kJson; break;
    case kTypeGeometry: w.base = TypeBase::kGeometry; break;
    case kTypeVector: w.base = TypeBase::kVector; break;
    default: w.base = TypeBase::kVarbinary; break;
  }
}

// MSB-first bitmap over `n` items.
bool msb_bit(std::string_view bitmap, size_t i) { return (static_cast<uint8_t>(bitmap[i / 8]) >> (7 - i % 8)) & 1; }

std::string utf8_name(std::string_view raw) {
  std::string out;
  append_utf8_sanitized(out, raw);
  return out;
}

// A binlog column type's family, for messages.
std::string_view binlog_type_name(uint8_t type) {
  switch (type) {
    case kTypeTiny: return "tinyint";
    case kTypeShort: return "smallint";
    case kTypeInt24: return "mediumint";
    case kTypeLong: return "int";
    case kTypeLonglong: return "bigint";
    case kTypeFloat: return "float";
    case kTypeDouble: return "double";
    case kTypeNewdecimal:
    case kTypeDecimal: return "decimal";
    case kTypeDate:
    case kTypeNewdate: return "date";
    case kTypeTime:
    case kTypeTime2: return "time";
    case kTypeDatetime:
    case kTypeDatetime2: return "datetime";
    case kTypeTimestamp:
    case kTypeTimestamp2: return "timestamp";
    case kTypeYear: return "year";
    case kTypeString: return "char/binary";
    case kTypeVarchar:
    case kTypeVarString: return "varchar/varbinary";
    case kTypeTinyBlob:
    case kTypeMediumBlob:
    case kTypeLongBlob:
    case kTypeBlob: return "blob/text";
    case kTypeEnum: return "enum";
    case kTypeSet: return "set";
    case kTypeBit: return "bit";
    case kTypeJson: return "json";
    case kTypeGeometry: return "geometry";
    case kTypeVector: return "vector";
    default: return "an unknown type";
  }
}

// Does a binlog column type fit an information_schema DATA_TYPE?
bool schema_type_fits(const ColumnInfo& c, std::string_view t) {
  switch (c.type) {
    case kTypeTiny: return t == "tinyint" || t == "bool" || t == "boolean";
    case kTypeShort: return t == "smallint";
    case kTypeInt24: return t == "mediumint";
    case kTypeLong: return t == "int" || t == "integer";
    case kTypeLonglong: return t == "bigint";
    case kTypeFloat: return t == "float";
    case kTypeDouble: return t == "double" || t == "real";
    case kTypeNewdecimal:
    case kTypeDecimal: return t == "decimal" || t == "numeric";
    case kTypeDate:
    case kTypeNewdate: return t == "date";
    case kTypeTime:
    case kTypeTime2: return t == "time";
    case kTypeDatetime:
    case kTypeDatetime2: return t == "datetime";
    case kTypeTimestamp:
    case kTypeTimestamp2: return t == "timestamp";
    case kTypeYear: return t == "year";
    // MariaDB's INET4, INET6 and UUID are fixed-size binary strings in the binlog.
    case kTypeString: return t == "char" || t == "binary" || t == "inet4" || t == "inet6" || t == "uuid";
    case kTypeVarchar:
    case kTypeVarString: return t == "varchar" || t == "varbinary";
    case kTypeTinyBlob:
    case kTypeMediumBlob:
    case kTypeLongBlob:
    case kTypeBlob: return t.ends_with("blob") || t.ends_with("text") || t == "json";
    case kTypeEnum: return t == "enum";
    case kTypeSet: return t == "set";
    case kTypeBit: return t == "bit";
    case kTypeJson: return t == "json";
    case kTypeGeometry:
      return t == "geometry" || t == "point" || t == "linestring" || t == "polygon" || t == "multipoint" ||
             t == "multilinestring" || t == "multipolygon" || t == "geometrycollection" || t == "geomcollection";
    case kTypeVector: return t == "vector";
    default: return true;
  }
}

// Why the binlog column `c` cannot be the information_schema column `s`; empty when it can.
std::string schema_mismatch(const ColumnInfo& c, const SchemaColumn& s) {
  std::string_view t = s.data_type;
  if (!schema_type_fits(c, t))
    return "is " + s.data_type + " but the binlog logs " + std::string(binlog_type_name(c.type));
  auto n = [](uint64_t v) { return std::to_string(v); };
  switch (c.type) {
    case kTypeNewdecimal:
      if (s.numeric_precision && s.numeric_scale &&
          (*s.numeric_precision != c.precision || *s.numeric_scale != c.scale))
        return "is decimal(" + n(*s.numeric_precision) + "," + n(*s.numeric_scale) + ") but the binlog logs decimal(" +
               n(c.precision) + "," + n(c.scale) + ")";
      break;
    case kTypeBit:
      if (s.numeric_precision && *s.numeric_precision != c.bits)
        return "is bit(" + n(*s.numeric_precision) + ") but the binlog logs bit(" + n(c.bits) + ")";
      break;
    case kTypeTime2:
    case kTypeDatetime2:
    case kTypeTimestamp2:
      if (s.datetime_precision && *s.datetime_precision != c.scale)
        return "is " + s.data_type + "(" + n(*s.datetime_precision) + ") but the binlog logs " + s.data_type + "(" +
               n(c.scale) + ")";
      break;
    case kTypeString:
    case kTypeVarchar:
    case kTypeVarString:
      if (s.octet_length && *s.octet_length != c.max_length)
        return "is " + s.data_type + " of " + n(*s.octet_length) + " bytes but the binlog logs " + n(c.max_length) +
               " bytes";
      break;
    case kTypeTinyBlob:
    case kTypeMediumBlob:
    case kTypeLongBlob:
    case kTypeBlob: {
      // The length prefix tells the four sizes apart (MariaDB's JSON is a longtext).
      uint32_t want = t.starts_with("tiny")                  ? 1
                      : t.starts_with("medium")              ? 3
                      : t.starts_with("long") || t == "json" ? 4
                                                             : 2;
      if (c.max_length != want)
        return "is " + s.data_type + " but the binlog logs a blob/text with a " + n(c.max_length) + "-byte length";
      break;
    }
    case kTypeEnum:
    case kTypeSet:
      if (!s.labels.empty()) {
        size_t k = s.labels.size();
        size_t want = c.type == kTypeEnum ? (k > 255 ? 2 : 1) : (k + 7) / 8 > 4 ? 8 : (k + 7) / 8;
        if (want != c.pack_length)
          return "is " + s.data_type + " of " + n(k) + " values but the binlog stores it in " + n(c.pack_length) +
                 " byte(s)";
      }
      break;
    default: break;
  }
  return {};
}

}  // namespace

uint64_t table_map_id(std::string_view body, uint64_t base, uint8_t post_header_len) {
  Reader r(body, base);
  return post_header_len == 6 ? r.u32("table id") : r.u48("table id");
}

std::shared_ptr<TableMap> parse_table_map(std::string_view body, uint64_t base, uint8_t post_header_len, bool mariadb,
                                          SchemaProvider* schema) {
  Reader r(body, base);
  auto map = std::make_shared<TableMap>();
  TableMap& t = *map;
  t.table_id = post_header_len == 6 ? r.u32("table id") : r.u48("table id");
  r.u16("table map flags");
  if (post_header_len > 8) r.skip(post_header_len - 8u, "table map post-header");

  size_t db_len = r.u8("database name length");
  if (db_len > kMaxNameBytes) r.corrupt("database name longer than 192 bytes");
  t.db = utf8_name(r.bytes(db_len, "database name"));
  r.skip(1, "database name terminator");
  size_t table_len = r.u8("table name length");
  if (table_len > kMaxNameBytes) r.corrupt("table name longer than 192 bytes");
  t.table = utf8_name(r.bytes(table_len, "table name"));
  r.skip(1, "table name terminator");

  uint64_t n = r.packed("column count");
  if (n == 0 || n > kMaxColumns || n > r.remaining()) r.corrupt("column count out of range");
  t.columns.resize(n);
  std::string_view types = r.bytes(n, "column types");
  for (size_t i = 0; i < n; ++i) {
    t.columns[i].type = static_cast<uint8_t>(types[i]);
    if (t.columns[i].type == kTypeJson) ++t.json_columns;
  }

  if (!r.empty()) {
    uint64_t meta_len = r.packed("metadata length");
    if (meta_len > 4 * n) r.corrupt("column metadata longer than 4 bytes per column");
    Reader m = r.sub(meta_len, "column metadata");
    for (auto& c : t.columns) read_metadata(m, c);
    if (!m.empty()) m.corrupt("column metadata longer than its columns need");
    std::string_view nulls = r.bytes((n + 7) / 8, "NULL bitmap");
    for (size_t i = 0; i < n; ++i) t.columns[i].nullable = (static_cast<uint8_t>(nulls[i / 8]) >> (i % 8)) & 1;
  }
  // else: pre-GA 5.1 table maps carry neither metadata nor the NULL bitmap; types needing metadata
  // then fail to decode in the rows event.

  size_t numeric = 0, character = 0, enum_set = 0, enums = 0, sets = 0, geometry = 0, vectors = 0;
  for (auto& c : t.columns) {
    if (is_numeric(c.type, mariadb)) ++numeric;
    c.is_character = is_character(c.type, mariadb);
    if (c.is_character) ++character;
    if (c.type == kTypeEnum || c.type == kTypeSet) ++enum_set;
    if (c.type == kTypeEnum) ++enums;
    if (c.type == kTypeSet) ++sets;
    if (c.type == kTypeGeometry) ++geometry;
    if (c.type == kTypeVector) ++vectors;
  }

  bool have_names = false;
  bool have_charsets = false;
  bool have_signedness = false;
  std::vector<uint32_t> text_collations;   // per character column
  std::vector<uint32_t> label_collations;  // per ENUM/SET column
  std::vector<std::vector<std::string_view>> enum_labels, set_labels;

  auto read_default_charset = [&](Reader& f, size_t count, std::vector<uint32_t>& out) {
    uint64_t def = f.packed("default collation");
    out.assign(count, static_cast<uint32_t>(def));
    while (!f.empty()) {
      uint64_t idx = f.packed("charset column index");
      uint64_t coll = f.packed("column collation");
      if (idx >= count) f.corrupt("charset column index out of range");
      out[idx] = static_cast<uint32_t>(coll);
    }
  };
  auto read_column_charsets = [&](Reader& f, size_t count, std::vector<uint32_t>& out) {
    out.clear();
    while (!f.empty()) {
      if (out.size() == count) f.corrupt("more column charsets than columns");
      out.push_back(static_cast<uint32_t>(f.packed("column collation")));
    }
    if (out.size() != count) f.corrupt("fewer column charsets than columns");
  };
  auto read_labels = [&](Reader& f, size_t count, std::vector<std::vector<std::string_view>>& out) {
    while (!f.empty()) {
      if (out.size() == count) f.corrupt("more label lists than ENUM/SET columns");
      uint64_t k = f.packed("label count");
      if (k > 65535 || k > f.remaining()) f.corrupt("label count out of range");
      auto& list = out.emplace_back();
      for (uint64_t j = 0; j < k; ++j) {
        uint64_t len = f.packed("label length");
        if (len > f.remaining()) f.corrupt("label longer than the metadata");
        list.push_back(f.bytes(len, "label"));
      }
    }
  };

  while (!r.empty()) {
    uint8_t field = r.u8("optional metadata type");
    uint64_t len = r.packed("optional metadata length");
    if (len > r.remaining()) r.corrupt("optional metadata field longer than the event");
    Reader f = r.sub(len, "optional metadata field");
    switch (field) {
      case kSignedness: {
        std::string_view bits = f.bytes((numeric + 7) / 8, "signedness bitmap");
        size_t k = 0;
        for (auto& c : t.columns) {
          if (!is_numeric(c.type, mariadb)) continue;
          c.is_unsigned = msb_bit(bits, k++);
          c.signedness_known = true;
        }
        have_signedness = true;
        break;
      }
      case kDefaultCharset:
        read_default_charset(f, character, text_collations);
        have_charsets = true;
        break;
      case kColumnCharset:
        read_column_charsets(f, character, text_collations);
        have_charsets = true;
        break;
      case kColumnName: {
        for (size_t i = 0; i < n; ++i) {
          uint64_t nl = f.packed("column name length");
          if (nl > kMaxNameBytes) f.corrupt("column name longer than 192 bytes");
          t.columns[i].name = utf8_name(f.bytes(nl, "column name"));
        }
        have_names = true;
        break;
      }
      case kSetStrValue: read_labels(f, sets, set_labels); break;
      case kEnumStrValue: read_labels(f, enums, enum_labels); break;
      case kGeometryType:
        for (auto& c : t.columns)
          if (c.type == kTypeGeometry && !f.empty()) c.geometry_type = static_cast<uint32_t>(f.packed("geometry type"));
        break;
      case kSimplePrimaryKey:
        t.pk.clear();
        while (!f.empty()) {
          uint64_t idx = f.packed("primary key column");
          if (idx >= n) f.corrupt("primary key column out of range");
          t.pk.push_back(static_cast<uint32_t>(idx));
        }
        t.pk_known = true;
        break;
      case kPrimaryKeyWithPrefix:
        t.pk.clear();
        while (!f.empty()) {
          uint64_t idx = f.packed("primary key column");
          f.packed("primary key prefix");
          if (idx >= n) f.corrupt("primary key column out of range");
          t.pk.push_back(static_cast<uint32_t>(idx));
        }
        t.pk_known = true;
        break;
      case kEnumAndSetDefaultCharset: read_default_charset(f, enum_set, label_collations); break;
      case kEnumAndSetColumnCharset: read_column_charsets(f, enum_set, label_collations); break;
      case kColumnVisibility: {
        std::string_view bits = f.bytes((n + 7) / 8, "visibility bitmap");
        for (size_t i = 0; i < n; ++i) t.columns[i].visible = msb_bit(bits, i);
        break;
      }
      case kVectorDimensionality:
        for (auto& c : t.columns)
          if (c.type == kTypeVector && !f.empty())
            c.vector_dimensions = static_cast<uint32_t>(f.packed("vector dimensions"));
        break;
      default: break;  // unknown fields are skipped by their length
    }
  }

  // Full metadata names every column; a primary key list without names would be useless.
  if (have_names) t.names_known = true;
  if (have_names && !t.pk_known) {
    // FULL metadata always logs the key when there is one: no key field means no key.
    t.pk_known = true;
  }

  {
    size_t ci = 0, ei = 0, enum_i = 0, set_i = 0;
    for (auto& c : t.columns) {
      if (c.is_character) {
        if (have_charsets && ci < text_collations.size()) c.charset = charset_of_collation(text_collations[ci]);
        ++ci;
      }
      if (c.type == kTypeEnum || c.type == kTypeSet) {
        c.label_charset = ei < label_collations.size() ? charset_of_collation(label_collations[ei]) : Charset::kUtf8mb4;
        ++ei;
        const auto* src = c.type == kTypeEnum ? (enum_i < enum_labels.size() ? &enum_labels[enum_i] : nullptr)
                                              : (set_i < set_labels.size() ? &set_labels[set_i] : nullptr);
        if (c.type == kTypeEnum)
          ++enum_i;
        else
          ++set_i;
        if (src) {
          TextConverter conv;
          for (std::string_view l : *src) {
            std::string u;
            conv.to_utf8(u, l,
                         c.label_charset == Charset::kUnknown || c.label_charset == Charset::kBinary ? Charset::kUtf8mb4
                                                                                                     : c.label_charset);
            c.labels.push_back(std::move(u));
          }
        }
      }
    }
  }

  // A schema fills in what the table map lacks; it must describe the same columns.
  if (schema != nullptr && (!have_names || !have_signedness || (!have_charsets && character > 0))) {
    if (const TableSchema* s = schema->lookup(t.db, t.table)) {
      if (s->columns.size() != n)
        fail(ErrorKind::kData, "the schema of `" + t.db + "`.`" + t.table + "` does not match its table map: " +
                                   std::to_string(s->columns.size()) + " columns in the schema, " + std::to_string(n) +
                                   " in the binlog (events older than a DDL?); refusing to label the data (log with "
                                   "binlog_row_metadata=FULL so that the binlog describes its own columns)");
      for (size_t i = 0; i < n; ++i) {
        ColumnInfo& c = t.columns[i];
        const SchemaColumn& sc = s->columns[i];
        if (std::string why = schema_mismatch(c, sc); !why.empty())
          fail(ErrorKind::kData, "the schema of `" + t.db + "`.`" + t.table +
                                     "` does not match its table map: column " + std::to_string(i + 1) + " (" +
                                     sc.name + ") " + why +
                                     " (events older than a DDL?); refusing to label the data (log with "
                                     "binlog_row_metadata=FULL so that the binlog describes its own columns)");
        if (!have_names) c.name = sc.name;
        if (!c.signedness_known && is_numeric(c.type, mariadb)) {
          c.is_unsigned = sc.is_unsigned;
          c.signedness_known = true;
        }
        if (c.is_character && c.charset == Charset::kUnknown && sc.collation_id)
          c.charset = charset_of_collation(*sc.collation_id);
        if ((c.type == kTypeEnum || c.type == kTypeSet) && c.labels.empty()) c.labels = sc.labels;
      }
      if (!t.pk_known) {
        for (const std::string& k : s->pk)
          for (size_t i = 0; i < n; ++i)
            if (t.columns[i].name == k) t.pk.push_back(static_cast<uint32_t>(i));
        t.pk_known = true;
      }
      t.names_known = true;
    }
  }

  for (size_t i = 0; i < n; ++i) {
    ColumnInfo& c = t.columns[i];
    if (c.name.empty()) c.name = "@" + std::to_string(i + 1);
    set_word(c);
  }

  // Pre-rendered JSON fragments.
  t.db_table_json = "\"db\":";
  json::append_string(t.db_table_json, t.db);
  t.db_table_json += ",\"table\":";
  json::append_string(t.db_table_json, t.table);
  t.key_json.resize(n);
  t.types_json = "{";
  for (size_t i = 0; i < n; ++i) {
    std::string& k = t.key_json[i];
    json::append_string(k, t.columns[i].name);
    k += ':';
    if (i) t.types_json += ',';
    t.types_json += k;
    json::append_string(t.types_json, t.columns[i].word.word());
  }
  t.types_json += '}';
  if (t.pk_known) {
    t.pk_json = "[";
    for (size_t i = 0; i < t.pk.size(); ++i) {
      if (i) t.pk_json += ',';
      json::append_string(t.pk_json, t.columns[t.pk[i]].name);
    }
    t.pk_json += ']';
  }
  return map;
}

}  // namespace rowpipe::binlog

// SQL results as rowpipe-events(5) values: the one converter behind binlog-tail snapshots and the
// sinks' --refetch, rendering every value exactly as the binlog decoder does.
#pragma once

#include <mysql.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/reader.h>

#include "event/column_type.hpp"

namespace rowpipe {

// The type word of a result column (field type, UNSIGNED/ENUM/SET flags, charsetnr 63 = binary,
// length, decimals). MariaDB's JSON arrives as a text blob and is `text`; only MySQL's native JSON
// (MYSQL_TYPE_JSON) is `json`. Throws Error(kData) for a type outside the vocabulary.
ColumnType column_type_of(const MYSQL_FIELD& field);

// Streams the rows of an executed prepared statement (binary protocol: FLOAT arrives as the stored
// 4-byte float, integers as exact 64-bit values) into JSON. Buffers are bound once; a value longer
// than its column's inline buffer is fetched into a per-column overflow buffer that is reused, so a
// snapshot of millions of rows allocates nothing per row. TIMESTAMP values are read as the session
// sends them: connect with time_zone '+00:00' (connect_mysql does) so they are UTC.
//
//   MysqlStmt stmt = prepare(db, "SELECT * FROM `d`.`t`");
//   execute(stmt.get());
//   RowConverter rows(stmt.get());
//   while (rows.fetch()) { line.clear(); rows.append_row(line); ... }
class RowConverter {
 public:
  // Reads the result metadata of `stmt` (prepared; executed or not) and binds the result buffers.
  // The statement must outlive the converter and must not be re-bound by anyone else.
  explicit RowConverter(MYSQL_STMT* stmt);
  ~RowConverter();
  RowConverter(const RowConverter&) = delete;
  RowConverter& operator=(const RowConverter&) = delete;

  size_t size() const { return columns_.size(); }
  std::string_view name(size_t column) const { return columns_[column].name; }
  const ColumnType& type(size_t column) const { return columns_[column].type; }
  // The type word ("int unsigned", "decimal(10,2)", ...).
  const std::string& word(size_t column) const { return columns_[column].word; }

  // Fetches the next row of the executed statement; false after the last one. Throws Error (kind from
  // mysql_error_kind) when the fetch fails.
  bool fetch();

  // Values of the current row.
  bool is_null(size_t column) const { return columns_[column].null != 0; }
  // The value as JSON. Throws Error(kData) naming the column for a value that cannot be rendered (text
  // that is not UTF-8, malformed geometry or JSON); `out` may then hold a partial value.
  void append_value(std::string& out, size_t column);
  // {"col":value,...} in result order.
  void append_row(std::string& out);
  // {"col":"word",...}: a line's `types`.
  void append_types(std::string& out) const;
  // The raw bytes of a string-like value (text, binary, DECIMAL, BIT, JSON, GEOMETRY) of the current
  // row; empty for NULL and for other types.
  std::string_view bytes(size_t column) const;

 private:
  enum class Kind : uint8_t {
    kSigned,
    kUnsigned,
    kFloat,
    kDouble,
    kTime,
    kDecimal,
    kBit,
    kText,
    kBinary,
    kJson,
    kGeometry,
    kVector,
    kNull
  };
  struct Column {
    std::string name;
    std::string key;  // the JSON key with its colon: "name":
    ColumnType type;
    std::string word;
    Kind kind = Kind::kNull;
    enum_field_types field_type = MYSQL_TYPE_NULL;
    union {
      int64_t i64;
      uint64_t u64;
      float f32;
      double f64;
    } number{};
    MYSQL_TIME time{};
    std::vector<char> inline_bytes;  // bound buffer for string-like values
    std::string overflow;            // a value longer than inline_bytes, fetched after the row
    unsigned long length = 0;
    my_bool null = 0;
    my_bool error = 0;
  };

  void append_json_document(std::string& out, const Column& c, std::string_view text);

  MYSQL_STMT* stmt_;
  std::vector<Column> columns_;
  std::vector<MYSQL_BIND> binds_;
  rapidjson::Reader json_reader_;
};

}  // namespace rowpipe

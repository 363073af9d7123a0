// TABLE_MAP_EVENT: a table's column types, per-type metadata and the optional metadata
// (binlog_row_metadata), turned into the per-column facts the row decoder needs.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "binlog/charset.hpp"
#include "event/column_type.hpp"

namespace rowpipe::binlog {

// What a column is, as far as decoding its bytes and typing its value go.
struct ColumnInfo {
  uint8_t type = 0;         // binlog type; STRING's ENUM/SET real type resolved to kTypeEnum/kTypeSet
  uint16_t meta = 0;        // the raw per-type metadata
  uint32_t max_length = 0;  // CHAR/BINARY/VARCHAR: declared bytes; BLOB/JSON/GEOMETRY/VECTOR: length bytes
  uint8_t pack_length = 0;  // ENUM/SET: storage bytes
  uint8_t precision = 0;    // DECIMAL
  uint8_t scale = 0;        // DECIMAL scale, temporal fraction digits
  uint16_t bits = 0;        // BIT(n)
  bool nullable = true;
  bool is_unsigned = false;
  bool signedness_known = false;
  bool is_character = false;                  // counts in the DEFAULT_CHARSET/COLUMN_CHARSET lists
  Charset charset = Charset::kUnknown;        // for text columns; kBinary for binary strings
  Charset label_charset = Charset::kUnknown;  // ENUM/SET labels
  bool visible = true;
  uint32_t geometry_type = 0;
  uint32_t vector_dimensions = 0;
  std::string name;                 // from metadata or schema, else "@N"
  std::vector<std::string> labels;  // ENUM/SET labels in UTF-8 (empty when unknown)
  ColumnType word;                  // the `types` word
};

// The optional metadata a server may log (binlog_row_metadata=MINIMAL/FULL).
struct TableMap {
  uint64_t table_id = 0;
  std::string db;
  std::string table;
  std::vector<ColumnInfo> columns;
  bool names_known = false;  // column names came from metadata or a schema
  bool pk_known = false;
  std::vector<uint32_t> pk;  // key column indexes, in key order
  size_t json_columns = 0;   // count of JSON columns (partial update bitmaps count these)

  // Rendered once per table map, reused by every row line.
  std::string db_table_json;          // "db":"d","table":"t" (empty: render from db and table)
  std::string types_json;             // {"col":"word",...}
  std::string pk_json;                // ["a","b"]; empty when unknown
  std::vector<std::string> key_json;  // per column: "\"name\":" ready to append
};

// Facts about a table from outside the binlog (information_schema), used when the table map lacks
// optional metadata. Implementations must return nullptr when they do not know the table.
struct SchemaColumn {
  std::string name;
  std::string data_type;  // information_schema DATA_TYPE: "int", "varchar", "enum", ...
  bool is_unsigned = false;
  std::optional<uint32_t> collation_id;
  std::vector<std::string> labels;  // ENUM/SET values, UTF-8
  // Declared sizes, checked against the table map's metadata when known (a DDL that changed them
  // must not go unnoticed): NUMERIC_PRECISION/NUMERIC_SCALE (DECIMAL; BIT: its width),
  // DATETIME_PRECISION (TIME, DATETIME, TIMESTAMP), CHARACTER_OCTET_LENGTH (CHAR, VARCHAR,
  // BINARY, VARBINARY).
  std::optional<uint32_t> numeric_precision;
  std::optional<uint32_t> numeric_scale;
  std::optional<uint32_t> datetime_precision;
  std::optional<uint64_t> octet_length;
};
struct TableSchema {
  std::vector<SchemaColumn> columns;
  std::vector<std::string> pk;  // key column names in key order
};
class SchemaProvider {
 public:
  virtual ~SchemaProvider() = default;
  virtual const TableSchema* lookup(std::string_view db, std::string_view table) = 0;
};

// Parses a TABLE_MAP_EVENT body (after the common header, checksum cut off). `post_header_len` is
// the FDE's value for type 19 (6 on pre-GA servers: 4-byte table id). `mariadb` selects MariaDB's
// signedness rule (YEAR counts as numeric). `base` is the body's absolute offset for errors.
std::shared_ptr<TableMap> parse_table_map(std::string_view body, uint64_t base, uint8_t post_header_len, bool mariadb,
                                          SchemaProvider* schema);

// Reads only the table id (to find a cached map without parsing the event).
uint64_t table_map_id(std::string_view body, uint64_t base, uint8_t post_header_len);

}  // namespace rowpipe::binlog

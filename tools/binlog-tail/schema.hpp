// --schema-from: column names, types, signedness, charsets, ENUM/SET labels and primary keys from a
// server's information_schema, for table maps logged without that optional metadata.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "binlog/table_map.hpp"
#include "clients/mysql.hpp"

namespace rowpipe::tail {

// Answers binlog::SchemaProvider lookups with one query per table (cached for the run, also when
// the table is unknown). The decoder compares each answer with the table map and stops with
// Error(kData) when they cannot describe the same columns.
class MysqlSchema : public binlog::SchemaProvider {
 public:
  explicit MysqlSchema(Mysql connection) : db_(std::move(connection)) {}

  // Connects to `url` (mysql://USER@HOST:PORT, or @FILE holding it; the password from the URL,
  // `password_file` or MYSQL_PWD). Throws Error as connect_mysql does.
  static std::unique_ptr<MysqlSchema> connect(const std::string& url, const std::string& password_file,
                                              const std::string& defaults_file);

  const binlog::TableSchema* lookup(std::string_view db, std::string_view table) override;
  // Drops the cached answer for a table (after DDL on it), or for every table of `db` when `table`
  // is empty (DDL naming no table: CREATE/DROP DATABASE, ...).
  void forget(std::string_view db, std::string_view table);

 private:
  Mysql db_;
  std::map<std::pair<std::string, std::string>, std::unique_ptr<binlog::TableSchema>, std::less<>> cache_;
};

// The labels of an ENUM or SET column from its information_schema COLUMN_TYPE
// ("enum('a','it''s','b\\c')" -> a, it's, b\c): quotes doubled, backslash escapes as
// SHOW CREATE TABLE writes them. Empty for other types.
std::vector<std::string> column_type_labels(std::string_view column_type);

}  // namespace rowpipe::tail

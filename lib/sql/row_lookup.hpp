// The sinks' --refetch: a row's current version read from MySQL by its key, as a rowpipe-events(5) line.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "clients/mysql.hpp"
#include "clients/url.hpp"
#include "event/event.hpp"
#include "sql/converter.hpp"

namespace rowpipe {

class RowLookup {
 public:
  // `url` parsed (mysql://...); connects lazily (MYSQL_PWD supplies a password the URL lacks).
  RowLookup(Url url, std::chrono::milliseconds retry_for);
  ~RowLookup();
  RowLookup(const RowLookup&) = delete;
  RowLookup& operator=(const RowLookup&) = delete;

  // Reads the row of e.db.e.table whose `key_columns` hold the values they hold in `image` (NULL-safe
  // comparison; binary columns compared as bytes) and writes it into `line` as a snapshot INSERT line
  // with `types` and `pk`, at the position of `e`. False when there is no such row. Retries while
  // MySQL is unavailable, up to `retry_for`; throws Error(kData) for an image lacking a key column.
  bool fetch(const Event& e, const std::vector<std::string_view>& key_columns, const JsonValue& image,
             std::string& line);

 private:
  struct Statement {
    MysqlStmt stmt;
    std::unique_ptr<RowConverter> rows;
  };
  bool fetch_once(const Event& e, const std::vector<std::string_view>& key_columns, const JsonValue& image,
                  std::string& line);
  Statement& statement(const Event& e, const std::vector<std::string_view>& key_columns);

  Url url_;
  std::chrono::milliseconds retry_for_;
  Mysql db_;
  std::unordered_map<std::string, Statement> statements_;
  std::vector<std::string> params_;
};

}  // namespace rowpipe

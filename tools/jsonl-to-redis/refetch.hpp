// --refetch: a line is only a trigger; the row's current version is read from MySQL by its key.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "clients/mysql.hpp"
#include "event/event.hpp"
#include "sql/converter.hpp"

namespace rowpipe::redis_sink {

class Refetcher {
 public:
  // `url` as given (@FILE allowed); connects lazily. MYSQL_PWD supplies a password the URL lacks.
  Refetcher(const std::string& url, std::chrono::milliseconds retry_for);
  ~Refetcher();

  // Reads the row of e.db.e.table whose `key_columns` hold the values they hold in `image` and writes
  // it into `line` as a rowpipe-events(5) snapshot INSERT (types and pk included, position of `e`).
  // False when the row is gone. Retries while MySQL is unavailable, up to the retry time.
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

}  // namespace rowpipe::redis_sink

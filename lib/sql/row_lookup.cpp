// Row lookups by key through a prepared statement per table and the shared SQL-result converter.
#include "sql/row_lookup.hpp"

#include <thread>

#include "cli/error.hpp"
#include "cli/log.hpp"
#include "event/json_writer.hpp"
#include "io/signals.hpp"

namespace rowpipe {
namespace {

void append_identifier(std::string& sql, std::string_view name) {
  sql += '`';
  for (char c : name) {
    if (c == '`') sql += '`';
    sql += c;
  }
  sql += '`';
}

bool is_binary_word(std::string_view type) { return type == "binary" || type == "varbinary" || type == "blob"; }

}  // namespace

RowLookup::RowLookup(Url url, std::chrono::milliseconds retry_for) : url_(std::move(url)), retry_for_(retry_for) {}

RowLookup::~RowLookup() = default;

RowLookup::Statement& RowLookup::statement(const Event& e, const std::vector<std::string_view>& key_columns) {
  std::string id(e.db);
  id += '\0';
  id += e.table;
  for (std::string_view c : key_columns) {
    id += '\0';
    id += c;
  }
  auto it = statements_.find(id);
  if (it != statements_.end()) return it->second;
  std::string sql = "SELECT * FROM ";
  append_identifier(sql, e.db);
  sql += '.';
  append_identifier(sql, e.table);
  for (size_t i = 0; i < key_columns.size(); ++i) {
    sql += i == 0 ? " WHERE " : " AND ";
    append_identifier(sql, key_columns[i]);
    sql += " <=> ?";  // NULL-safe: a key column of a table without a primary key may be NULL
  }
  Statement s;
  s.stmt = prepare(db_.get(), sql);
  s.rows = std::make_unique<RowConverter>(s.stmt.get());
  return statements_.emplace(std::move(id), std::move(s)).first->second;
}

bool RowLookup::fetch_once(const Event& e, const std::vector<std::string_view>& key_columns, const JsonValue& image,
                           std::string& line) {
  if (!db_) db_ = connect_mysql(url_);
  Statement& s = statement(e, key_columns);
  params_.assign(key_columns.size(), std::string());
  std::vector<MYSQL_BIND> binds(key_columns.size());
  std::vector<my_bool> nulls(key_columns.size(), 0);
  for (size_t i = 0; i < key_columns.size(); ++i) {
    auto m = image.FindMember(rapidjson::StringRef(key_columns[i].data(), key_columns[i].size()));
    if (m == image.MemberEnd())
      fail(ErrorKind::kData, "key column \"" + std::string(key_columns[i]) + "\" missing from the row image");
    auto text = value_text(e, key_columns[i], m->value);
    nulls[i] = text ? 0 : 1;
    if (text) params_[i] = std::move(*text);
    binds[i].buffer_type = is_binary_word(e.type_of(key_columns[i])) ? MYSQL_TYPE_BLOB : MYSQL_TYPE_STRING;
    binds[i].buffer = params_[i].data();
    binds[i].buffer_length = params_[i].size();
    binds[i].is_null = &nulls[i];
  }
  if (mysql_stmt_bind_param(s.stmt.get(), binds.data()) != 0) throw_stmt_error(s.stmt.get(), "binding the key");
  execute(s.stmt.get());
  bool found = s.rows->fetch();
  if (found) {
    line.clear();
    json::Writer w(line);
    w.begin_object();
    w.key("binlog").string(e.binlog.str());
    w.key("row").integer(e.row.value_or(0));
    w.key("db").string(e.db);
    w.key("table").string(e.table);
    w.key("eventType").string("INSERT");
    w.key("pk").begin_array();
    for (std::string_view c : key_columns) w.string(c);
    w.end_array();
    std::string types, row;
    s.rows->append_types(types);
    s.rows->append_row(row);
    w.key("types").raw(types);
    w.key("before").raw("null");
    w.key("after").raw(row);
    w.key("snapshot").boolean(true);
    w.end_object();
    while (s.rows->fetch()) {
    }
  }
  mysql_stmt_free_result(s.stmt.get());
  return found;
}

bool RowLookup::fetch(const Event& e, const std::vector<std::string_view>& key_columns, const JsonValue& image,
                      std::string& line) {
  auto start = std::chrono::steady_clock::now();
  auto backoff = std::chrono::milliseconds(100);
  for (;;) {
    try {
      return fetch_once(e, key_columns, image, line);
    } catch (const Error& err) {
      if (err.kind() != ErrorKind::kUnavailable) throw;
      statements_.clear();
      db_.reset();
      auto waited = std::chrono::steady_clock::now() - start;
      if (waited >= retry_for_ || signals::stop_requested()) throw;
      log::warning(std::string(err.what()) + "; retrying");
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(backoff, retry_for_ - waited));
      backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
    }
  }
}

}  // namespace rowpipe

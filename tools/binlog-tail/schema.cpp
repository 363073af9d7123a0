// information_schema queries behind --schema-from.
#include "schema.hpp"

#include "cli/log.hpp"
#include "event/position.hpp"

namespace rowpipe::tail {
namespace {

std::optional<uint64_t> number(const QueryResult& r, unsigned column) {
  if (r.is_null(column)) return std::nullopt;
  return parse_u64(r[column]);
}

}  // namespace

std::vector<std::string> column_type_labels(std::string_view type) {
  std::vector<std::string> labels;
  if (!type.starts_with("enum(") && !type.starts_with("set(")) return labels;
  size_t i = type.find('(') + 1;
  while (i < type.size() && type[i] == '\'') {
    std::string label;
    ++i;
    while (i < type.size()) {
      char c = type[i];
      if (c == '\'') {
        if (i + 1 < type.size() && type[i + 1] == '\'') {
          label += '\'';
          i += 2;
          continue;
        }
        ++i;
        break;
      }
      if (c == '\\' && i + 1 < type.size()) {
        char e = type[i + 1];
        label += e == '0' ? '\0' : e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t' : e == 'Z' ? '\x1a' : e;
        i += 2;
        continue;
      }
      label += c;
      ++i;
    }
    labels.push_back(std::move(label));
    if (i < type.size() && type[i] == ',') ++i;
  }
  return labels;
}

std::unique_ptr<MysqlSchema> MysqlSchema::connect(const std::string& url, const std::string& password_file,
                                                  const std::string& defaults_file) {
  Url u = parse_url(resolve_url_argument(url), Scheme::kMysql);
  MysqlOptions o;
  o.password_file = password_file;
  o.defaults_file = defaults_file;
  o.read_timeout = 60;
  auto schema = std::make_unique<MysqlSchema>(connect_mysql(u, o));
  log::info("--schema-from " + u.redacted() + ": connected");
  return schema;
}

void MysqlSchema::forget(std::string_view db, std::string_view table) {
  if (!table.empty()) {
    // Table maps copy what they take from an answer: dropping it leaves none dangling.
    if (auto it = cache_.find(std::make_pair(std::string(db), std::string(table))); it != cache_.end())
      cache_.erase(it);
    return;
  }
  for (auto it = cache_.begin(); it != cache_.end();) {
    if (it->first.first == db)
      it = cache_.erase(it);
    else
      ++it;
  }
}

const binlog::TableSchema* MysqlSchema::lookup(std::string_view db, std::string_view table) {
  auto key = std::make_pair(std::string(db), std::string(table));
  if (auto it = cache_.find(key); it != cache_.end()) return it->second.get();
  MYSQL* m = db_.get();
  std::string where = " WHERE TABLE_SCHEMA = " + sql_literal(m, db) + " AND TABLE_NAME = " + sql_literal(m, table);
  // Collation ids: the column's own, else its character set's default collation (any collation of
  // the set gives the same conversion).
  QueryResult cols =
      query(m,
            "SELECT c.COLUMN_NAME, c.DATA_TYPE, c.COLUMN_TYPE, "
            "(SELECT k.ID FROM information_schema.COLLATIONS k WHERE k.COLLATION_NAME = c.COLLATION_NAME LIMIT 1), "
            "(SELECT k.ID FROM information_schema.CHARACTER_SETS s JOIN information_schema.COLLATIONS k "
            "ON k.COLLATION_NAME = s.DEFAULT_COLLATE_NAME WHERE s.CHARACTER_SET_NAME = c.CHARACTER_SET_NAME LIMIT 1), "
            "c.NUMERIC_PRECISION, c.NUMERIC_SCALE, c.DATETIME_PRECISION, c.CHARACTER_OCTET_LENGTH "
            "FROM information_schema.COLUMNS c" +
                where + " ORDER BY c.ORDINAL_POSITION");
  std::unique_ptr<binlog::TableSchema> s;
  while (cols.next()) {
    if (!s) s = std::make_unique<binlog::TableSchema>();
    binlog::SchemaColumn& c = s->columns.emplace_back();
    c.name = cols[0];
    c.data_type = cols[1];
    for (char& ch : c.data_type) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    std::string_view column_type = cols[2];
    c.is_unsigned = column_type.find(" unsigned") != std::string_view::npos;
    if (auto id = number(cols, 3))
      c.collation_id = static_cast<uint32_t>(*id);
    else if (auto def = number(cols, 4))
      c.collation_id = static_cast<uint32_t>(*def);
    if (c.data_type == "enum" || c.data_type == "set") c.labels = column_type_labels(column_type);
    bool decimal = c.data_type == "decimal" || c.data_type == "numeric";
    if (decimal || c.data_type == "bit") {
      if (auto p = number(cols, 5)) c.numeric_precision = static_cast<uint32_t>(*p);
      if (auto sc = number(cols, 6); sc && decimal) c.numeric_scale = static_cast<uint32_t>(*sc);
    }
    if (auto p = number(cols, 7)) c.datetime_precision = static_cast<uint32_t>(*p);
    if (c.data_type == "char" || c.data_type == "varchar" || c.data_type == "binary" || c.data_type == "varbinary")
      c.octet_length = number(cols, 8);
  }
  if (s) {
    QueryResult pk = query(m, "SELECT COLUMN_NAME FROM information_schema.STATISTICS" + where +
                                  " AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX");
    while (pk.next()) s->pk.emplace_back(pk[0]);
  } else {
    log::warning("--schema-from: the server has no table `" + key.first + "`.`" + key.second +
                 "`: its columns are named @1, @2, ... where the binlog lacks their names");
  }
  return cache_.emplace(std::move(key), std::move(s)).first->second.get();
}

}  // namespace rowpipe::tail

// Consistent table snapshots rendered as snapshot lines.
#include "snapshot.hpp"

#include <ctime>

#include "cli/error.hpp"
#include "cli/log.hpp"
#include "clients/replica.hpp"
#include "event/json_writer.hpp"
#include "sql/converter.hpp"

namespace rowpipe::tail {
namespace {

constexpr size_t kBlockBytes = size_t{1} << 20;

std::string quoted_name(std::string_view name) {
  std::string out = "`";
  for (char c : name) {
    if (c == '`') out += '`';
    out += c;
  }
  return out + "`";
}

// The binlog position of the snapshot just started in this session.
Position snapshot_position(MYSQL* db) {
  QueryResult r = query(db, "SHOW STATUS LIKE 'binlog_snapshot_%'");
  std::string file;
  std::optional<uint64_t> pos;
  while (r.next()) {
    std::string_view name = r[0];
    if (name == "Binlog_snapshot_file") file = r[1];
    if (name == "Binlog_snapshot_position") pos = parse_u64(r[1]);
  }
  if (file.empty() || !pos)
    fail(ErrorKind::kConfig, "--snapshot: the server reports no binlog position (log_bin off?)");
  return Position{file, *pos};
}

// The columns to select: * unless the table has MariaDB's INET4, INET6 or UUID columns, which the
// binlog logs as their fixed-size binary form (its metadata does not name the type): selected as
// that binary form too, so that snapshot lines equal binlog lines.
std::string select_list(MYSQL* db, const SnapshotTable& t, bool mariadb) {
  if (!mariadb) return "*";
  QueryResult c = query(db, "SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = " +
                                sql_literal(db, t.db) + " AND TABLE_NAME = " + sql_literal(db, t.table) +
                                " ORDER BY ORDINAL_POSITION");
  std::string list;
  bool special = false;
  while (c.next()) {
    if (!list.empty()) list += ", ";
    std::string name = quoted_name(c[0]);
    std::string_view type = c[1];
    if (type == "inet4" || type == "inet6" || type == "uuid") {
      special = true;
      list += "CAST(" + name + " AS BINARY(" + (type == "inet4" ? "4" : "16") + ")) AS " + name;
    } else {
      list += name;
    }
  }
  return special ? list : "*";
}

}  // namespace

std::vector<SnapshotTable> parse_snapshot_tables(const std::string& list) {
  std::vector<SnapshotTable> out;
  size_t at = 0;
  while (at <= list.size()) {
    size_t comma = list.find(',', at);
    if (comma == std::string::npos) comma = list.size();
    std::string one = list.substr(at, comma - at);
    size_t dot = one.find('.');
    if (dot == std::string::npos || dot == 0 || dot + 1 == one.size())
      fail(ErrorKind::kUsage, "--snapshot " + list + ": give DB.TABLE[,DB.TABLE...] ('" + one + "' is not DB.TABLE)");
    out.push_back(SnapshotTable{one.substr(0, dot), one.substr(dot + 1)});
    at = comma + 1;
  }
  return out;
}

SnapshotResult write_snapshot(MYSQL* db, const std::vector<SnapshotTable>& tables, LineOutput& out,
                              const binlog::LineEmitter::TimeFormatter& time_format) {
  SnapshotResult result;
  QueryResult v = query(db, "SELECT @@server_id, @@version");
  bool mariadb = false;
  if (v.next()) {
    result.server_id = static_cast<uint32_t>(parse_u64(v[0]).value_or(0));
    mariadb = v[1].find("MariaDB") != std::string_view::npos;
  }
  // Estimates and keys first (information_schema reads outside the snapshot are fine: the schema
  // must not change during it anyway).
  std::vector<std::string> pk_json;
  uint64_t total = 0;
  for (const auto& t : tables) {
    std::string where =
        " WHERE TABLE_SCHEMA = " + sql_literal(db, t.db) + " AND TABLE_NAME = " + sql_literal(db, t.table);
    auto rows = query_value(db, "SELECT IFNULL(TABLE_ROWS, 0) FROM information_schema.TABLES" + where);
    if (!rows) fail(ErrorKind::kConfig, "--snapshot: the server has no table `" + t.db + "`.`" + t.table + "`");
    total += parse_u64(*rows).value_or(0);
    QueryResult pk = query(db, "SELECT COLUMN_NAME FROM information_schema.STATISTICS" + where +
                                   " AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX");
    std::string p = "[";
    while (pk.next()) {
      if (p.size() > 1) p += ',';
      json::append_string(p, pk[0]);
    }
    pk_json.push_back(p + "]");
  }

  execute(db, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ");
  if (mariadb) {
    execute(db, "START TRANSACTION WITH CONSISTENT SNAPSHOT");
    result.pos = snapshot_position(db);
  } else {
    // MySQL has no snapshot position: block commits while the snapshot starts and the position is
    // read (needs RELOAD), then let them go.
    execute(db, "FLUSH TABLES WITH READ LOCK");
    execute(db, "START TRANSACTION WITH CONSISTENT SNAPSHOT");
    result.pos = binlog_end_position(db, "--snapshot");
    execute(db, "UNLOCK TABLES");
  }

  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  std::string tail = ",\"time\":\"";  // ,"time":"...","ts":N
  time_format(tail, now);
  tail += "\",\"ts\":";
  json::append_int(tail, now);
  std::string pos_json;
  json::append_string(pos_json, result.pos.str());

  std::string buf;
  buf.reserve(kBlockBytes + (64 << 10));
  log::ProgressMeter meter;
  uint64_t row = 0;
  auto head = [&](std::string& b, const std::string& where_json) {
    b += "{\"binlog\":";
    b += pos_json;
    b += ",\"row\":";
    json::append_int(b, row++);
    if (result.server_id) {
      b += ",\"server_id\":";
      json::append_int(b, result.server_id);
    }
    b += where_json;
  };
  for (size_t i = 0; i < tables.size(); ++i) {
    const SnapshotTable& t = tables[i];
    std::string where_json = ",\"db\":";
    json::append_string(where_json, t.db);
    where_json += ",\"table\":";
    json::append_string(where_json, t.table);
    head(buf, where_json);
    buf += ",\"eventType\":\"SNAPSHOT_BEGIN\"";
    buf += tail;
    buf += "}\n";

    MysqlStmt stmt = prepare(
        db, "SELECT " + select_list(db, t, mariadb) + " FROM " + quoted_name(t.db) + "." + quoted_name(t.table));
    execute(stmt.get());
    RowConverter conv(stmt.get());
    std::string middle = ",\"eventType\":\"INSERT\",\"pk\":" + pk_json[i] + ",\"types\":";
    conv.append_types(middle);
    middle += ",\"before\":null,\"after\":";
    std::string after_tail = ",\"snapshot\":true" + tail + "}\n";
    while (conv.fetch()) {
      head(buf, where_json);
      buf += middle;
      conv.append_row(buf);
      buf += after_tail;
      ++result.rows;
      if (buf.size() >= kBlockBytes) {
        out.write(buf);
        buf.clear();
      }
      if (meter.due())
        log::progress("--snapshot " + t.db + "." + t.table + ": " + std::to_string(result.rows) + " rows of about " +
                      std::to_string(total));
    }
    head(buf, where_json);
    buf += ",\"eventType\":\"SNAPSHOT_END\"";
    buf += tail;
    if (i + 1 == tables.size()) {
      buf += ",\"commit\":true,\"next\":";
      buf += pos_json;
    }
    buf += "}\n";
  }
  execute(db, "COMMIT");
  log::finish_progress();
  out.write(buf);
  result.lines = row;
  return result;
}

}  // namespace rowpipe::tail

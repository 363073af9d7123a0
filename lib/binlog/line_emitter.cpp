// rowpipe-events(5) line rendering: field order binlog, row, server_id, gtid, db, table, eventType,
// pk, types, before, after, partial, json_diff, snapshot, sql, time, ts, xid, commit, next.
#include "binlog/line_emitter.hpp"

#include "event/json_writer.hpp"
#include "event/values.hpp"

namespace rowpipe::binlog {
namespace {

constexpr std::string_view kTypeNames[] = {"INSERT", "UPDATE", "DELETE"};

}  // namespace

LineEmitter::LineEmitter(LineFormat format) : format_(format) {
  time_format_ = [](std::string& out, int64_t ts) { append_utc_datetime(out, ts, 0, 0); };
}

void LineEmitter::append_position(std::string& out, const std::string& file, uint64_t offset) {
  out += '"';
  // File names are the server's (plain ASCII in practice); escape anyway.
  size_t at = out.size();
  json::append_string(out, file);
  out.erase(at, 1);
  out.pop_back();
  out += ':';
  json::append_int(out, offset);
  out += '"';
}

void LineEmitter::append_time(std::string& out, uint32_t ts) {
  if (static_cast<int64_t>(ts) != last_ts_) {
    last_time_.clear();
    time_format_(last_time_, ts);
    last_ts_ = ts;
  }
  out += '"';
  out += last_time_;
  out += '"';
}

void LineEmitter::append_image(std::string& out, const TableMap& t, const Image* image) {
  if (image == nullptr) {
    out += "null";
    return;
  }
  out += '{';
  bool first = true;
  for (size_t i = 0; i < image->cells.size(); ++i) {
    const Cell& c = image->cells[i];
    if (c.kind == CellKind::kAbsent) continue;
    if (!first) out += ',';
    first = false;
    out += t.key_json[i];
    out += image->json(c);
  }
  out += '}';
}

void LineEmitter::append_seed_image(std::string& out, const TableMap& t, const Image* image) {
  out += '{';
  bool first = true;
  for (size_t i = 0; i < image->cells.size(); ++i) {
    const Cell& c = image->cells[i];
    if (c.kind == CellKind::kAbsent) continue;
    if (!first) out += ',';
    first = false;
    out += t.key_json[i];
    switch (c.kind) {
      case CellKind::kString: out += image->json(c); break;
      case CellKind::kNull: out += "\"\""; break;
      case CellKind::kNumber:
        out += '"';
        out += image->json(c);
        out += '"';
        break;
      default: json::append_string(out, image->json(c)); break;
    }
  }
  out += '}';
}

void LineEmitter::close_pending() {
  if (pending_.empty()) return;
  out_ += pending_;
  out_ += "}\n";
  pending_.clear();
}

void LineEmitter::on_row(const RowChange& row) {
  const TableMap& t = *row.table;
  std::string& l = line_;
  l.clear();
  ++lines_;
  if (format_ == LineFormat::kSeed) {
    // The original client's shape: every value a string, NULL "", a DELETE's row in `after`.
    l += "{\"binlog\":";
    append_position(l, row.position->file, row.position->offset);
    l += ",\"db\":";
    json::append_string(l, t.db);
    l += ",\"table\":";
    json::append_string(l, t.table);
    l += ",\"eventType\":\"";
    l += kTypeNames[static_cast<int>(row.kind)];
    l += "\",\"before\":";
    if (row.kind == RowKind::kUpdate) {
      append_seed_image(l, t, row.before);
    } else {
      l += "\"\"";
    }
    l += ",\"after\":";
    append_seed_image(l, t, row.kind == RowKind::kDelete ? row.before : row.after);
    l += ",\"time\":";
    append_time(l, row.timestamp);
    l += "}\r\n";
    out_ += l;
    return;
  }
  l += "{\"binlog\":";
  append_position(l, row.position->file, row.position->offset);
  l += ",\"row\":";
  json::append_int(l, row.row);
  const TransactionInfo* tx = row.transaction;
  if (tx && tx->server_id) {
    l += ",\"server_id\":";
    json::append_int(l, tx->server_id);
  }
  if (tx && !tx->gtid.empty()) {
    l += ",\"gtid\":";
    json::append_string(l, tx->gtid);
  }
  l += ",\"db\":";
  json::append_string(l, t.db);
  l += ",\"table\":";
  json::append_string(l, t.table);
  l += ",\"eventType\":\"";
  l += kTypeNames[static_cast<int>(row.kind)];
  l += '"';
  if (t.pk_known) {
    l += ",\"pk\":";
    l += t.pk_json;
  }
  l += ",\"types\":";
  l += t.types_json;
  l += ",\"before\":";
  append_image(l, t, row.before);
  l += ",\"after\":";
  append_image(l, t, row.after);
  bool partial = (row.before && row.before->lacks_columns) || (row.after && row.after->lacks_columns) || row.json_diff;
  if (partial) l += ",\"partial\":true";
  if (row.json_diff && row.after) {
    // Columns whose `after` value is the logged JSON diff, not the document (rowpipe-events(5)).
    l += ",\"json_diff\":[";
    bool first = true;
    for (size_t i = 0; i < row.after->cells.size(); ++i) {
      if (row.after->cells[i].kind != CellKind::kJsonDiff) continue;
      if (!first) l += ',';
      first = false;
      json::append_string(l, t.columns[i].name);
    }
    l += ']';
  }
  l += ",\"time\":";
  append_time(l, row.timestamp);
  l += ",\"ts\":";
  json::append_int(l, row.timestamp);
  close_pending();
  std::swap(pending_, line_);
}

void LineEmitter::on_transaction_end(const TransactionEnd& end) {
  if (pending_.empty()) return;
  out_ += pending_;
  if (end.xid) {
    out_ += ",\"xid\":";
    json::append_int(out_, *end.xid);
  }
  out_ += ",\"commit\":true,\"next\":";
  append_position(out_, end.next.file, end.next.offset);
  out_ += "}\n";
  pending_.clear();
}

void LineEmitter::on_ddl(const Ddl& ddl) {
  if (format_ == LineFormat::kSeed) return;
  const size_t n = ddl.tables.empty() ? 1 : ddl.tables.size();
  for (size_t i = 0; i < n; ++i) {
    std::string& l = line_;
    l.clear();
    ++lines_;
    l += "{\"binlog\":";
    append_position(l, ddl.position.file, ddl.position.offset);
    if (n > 1) {
      l += ",\"row\":";
      json::append_int(l, i);
    }
    const TransactionInfo* tx = ddl.transaction;
    if (tx && tx->server_id) {
      l += ",\"server_id\":";
      json::append_int(l, tx->server_id);
    }
    if (tx && !tx->gtid.empty()) {
      l += ",\"gtid\":";
      json::append_string(l, tx->gtid);
    }
    if (!ddl.tables.empty()) {
      l += ",\"db\":";
      json::append_string(l, ddl.tables[i].first);
      l += ",\"table\":";
      json::append_string(l, ddl.tables[i].second);
    }
    l += ",\"eventType\":\"DDL\",\"sql\":";
    json::append_string(l, ddl.sql);
    l += ",\"time\":";
    append_time(l, ddl.timestamp);
    l += ",\"ts\":";
    json::append_int(l, ddl.timestamp);
    close_pending();
    std::swap(pending_, line_);
  }
  if (ddl.ends_transaction) {
    out_ += pending_;
    out_ += ",\"commit\":true,\"next\":";
    append_position(out_, ddl.next.file, ddl.next.offset);
    out_ += "}\n";
    pending_.clear();
  }
}

void LineEmitter::flush_pending() { close_pending(); }

}  // namespace rowpipe::binlog

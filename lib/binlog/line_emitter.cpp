// rowpipe-events(5) line rendering: field order binlog, row, server_id, gtid, db, table, eventType,
// pk, types, before, after, partial, json_diff, snapshot, sql, time, ts, xid, commit, next.
#include "binlog/line_emitter.hpp"

#include <charconv>
#include <cstring>

#include "event/json_writer.hpp"
#include "event/values.hpp"

namespace rowpipe::binlog {
namespace {

constexpr std::string_view kTypeNames[] = {"INSERT", "UPDATE", "DELETE"};

}  // namespace

LineEmitter::LineEmitter(LineFormat format) : format_(format) {
  time_format_ = [](std::string& out, int64_t ts) { append_utc_datetime(out, ts, 0, 0); };
}

void LineEmitter::append_position(TextBuffer& out, const std::string& file, uint64_t offset) {
  // The rows of one event share its position: render it once.
  if (offset != position_offset_ || file != position_file_ || position_text_.empty()) {
    if (file != position_file_ || position_text_.empty()) {
      position_file_ = file;
      position_prefix_.clear();
      // File names are the server's (plain ASCII in practice); escape anyway.
      json::append_string(position_prefix_, file);
      position_prefix_.back() = ':';
    }
    position_offset_ = offset;
    position_text_ = position_prefix_;
    char digits[24];
    position_text_.append(digits, static_cast<size_t>(std::to_chars(digits, digits + 24, offset).ptr - digits));
    position_text_ += '"';
  }
  out += position_text_;
}

void LineEmitter::append_db_table(TextBuffer& out, const TableMap& t) {
  if (!t.db_table_json.empty()) {
    out += t.db_table_json;
    return;
  }
  scratch_.assign("\"db\":");
  json::append_string(scratch_, t.db);
  scratch_ += ",\"table\":";
  json::append_string(scratch_, t.table);
  out += scratch_;
}

void LineEmitter::append_time(TextBuffer& out, uint32_t ts) {
  if (static_cast<int64_t>(ts) != last_ts_) {
    last_time_.clear();
    time_format_(last_time_, ts);
    last_ts_ = ts;
  }
  out += '"';
  out += last_time_;
  out += '"';
}

void LineEmitter::append_image(TextBuffer& out, const TableMap& t, const Image* image) {
  if (image == nullptr) {
    out += "null";
    return;
  }
  // Sized first, then copied with memcpy: one resize per image instead of two appends per column.
  const Cell* cells = image->cells.data();
  const size_t n = image->cells.size();
  size_t total = 2;
  for (size_t i = 0; i < n; ++i)
    if (cells[i].kind != CellKind::kAbsent) total += t.key_json[i].size() + cells[i].size + 1;
  char* p = out.room(total);
  const char* text = image->text.data();
  *p++ = '{';
  bool first = true;
  for (size_t i = 0; i < n; ++i) {
    const Cell& c = cells[i];
    if (c.kind == CellKind::kAbsent) continue;
    if (!first) *p++ = ',';
    first = false;
    const std::string& key = t.key_json[i];
    copy_bytes(p, key.data(), key.size());
    p += key.size();
    copy_bytes(p, text + c.begin, c.size);
    p += c.size;
  }
  *p++ = '}';
  out.set_end(p);
}

void LineEmitter::append_seed_image(TextBuffer& out, const TableMap& t, const Image* image) {
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
      default:
        scratch_.clear();
        json::append_string(scratch_, image->json(c));
        out += scratch_;
        break;
    }
  }
  out += '}';
}

void LineEmitter::close_pending() {
  if (!held_) return;
  out_ += "}\n";
  held_ = false;
}

void LineEmitter::append_line(std::string_view line) {
  if (held_) {
    out_.insert(held_at_, line);
    held_at_ += line.size();
  } else {
    out_ += line;
  }
}

void LineEmitter::clear_complete() {
  if (held_) {
    out_.erase_front(held_at_);
    held_at_ = 0;
  } else {
    out_.clear();
  }
  // A huge line (a row of large BLOBs) must not pin its memory for the rest of the run.
  out_.shrink_if_above(size_t{64} << 20);
}

void LineEmitter::append_json(TextBuffer& out, std::string_view text) {
  scratch_.clear();
  json::append_string(scratch_, text);
  out += scratch_;
}

void LineEmitter::on_row(const RowChange& row) {
  const TableMap& t = *row.table;
  // Lines are rendered in place: the previous held line is complete now.
  close_pending();
  TextBuffer& l = out_;
  ++lines_;
  if (format_ == LineFormat::kSeed) {
    // The original client's shape: every value a string, NULL "", a DELETE's row in `after`.
    l += "{\"binlog\":";
    append_position(l, row.position->file, row.position->offset);
    l += ',';
    append_db_table(l, t);
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
    return;
  }
  held_at_ = l.size();
  held_ = true;
  l += "{\"binlog\":";
  append_position(l, row.position->file, row.position->offset);
  l += ",\"row\":";
  l.append_int(row.row);
  const TransactionInfo* tx = row.transaction;
  if (tx && tx->server_id) {
    l += ",\"server_id\":";
    l.append_int(tx->server_id);
  }
  if (tx && !tx->gtid.empty()) {
    if (tx->gtid != gtid_) {
      gtid_ = tx->gtid;
      gtid_json_.assign(",\"gtid\":");
      json::append_string(gtid_json_, gtid_);
    }
    l += gtid_json_;
  }
  l += ',';
  append_db_table(l, t);
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
      append_json(l, t.columns[i].name);
    }
    l += ']';
  }
  l += ",\"time\":";
  append_time(l, row.timestamp);
  l += ",\"ts\":";
  l.append_int(row.timestamp);
}

void LineEmitter::on_transaction_end(const TransactionEnd& end) {
  if (!held_) return;
  if (end.xid) {
    out_ += ",\"xid\":";
    out_.append_int(*end.xid);
  }
  out_ += ",\"commit\":true,\"next\":";
  append_position(out_, end.next.file, end.next.offset);
  out_ += "}\n";
  held_ = false;
}

void LineEmitter::on_ddl(const Ddl& ddl) {
  if (format_ == LineFormat::kSeed) return;
  const size_t n = ddl.tables.empty() ? 1 : ddl.tables.size();
  for (size_t i = 0; i < n; ++i) {
    close_pending();
    TextBuffer& l = out_;
    ++lines_;
    held_at_ = l.size();
    held_ = true;
    l += "{\"binlog\":";
    append_position(l, ddl.position.file, ddl.position.offset);
    if (n > 1) {
      l += ",\"row\":";
      l.append_int(i);
    }
    const TransactionInfo* tx = ddl.transaction;
    if (tx && tx->server_id) {
      l += ",\"server_id\":";
      l.append_int(tx->server_id);
    }
    if (tx && !tx->gtid.empty()) {
      l += ",\"gtid\":";
      append_json(l, tx->gtid);
    }
    if (!ddl.tables.empty()) {
      l += ",\"db\":";
      append_json(l, ddl.tables[i].first);
      l += ",\"table\":";
      append_json(l, ddl.tables[i].second);
    }
    l += ",\"eventType\":\"DDL\",\"sql\":";
    append_json(l, ddl.sql);
    l += ",\"time\":";
    append_time(l, ddl.timestamp);
    l += ",\"ts\":";
    l.append_int(ddl.timestamp);
  }
  if (ddl.ends_transaction) {
    out_ += ",\"commit\":true,\"next\":";
    append_position(out_, ddl.next.file, ddl.next.offset);
    out_ += "}\n";
    held_ = false;
  }
}

}  // namespace rowpipe::binlog

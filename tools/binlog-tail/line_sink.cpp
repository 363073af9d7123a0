// Filtering, HEARTBEAT lines and warnings around the line emitter.
#include "line_sink.hpp"

#include "cli/error.hpp"
#include "cli/log.hpp"
#include "event/json_writer.hpp"

namespace rowpipe::tail {

Filter::Filter(const std::vector<std::string>& include, const std::vector<std::string>& exclude,
               const std::string& events) {
  auto compile = [](const std::string& re, const char* option) {
    try {
      return std::regex(re, std::regex::ECMAScript | std::regex::optimize);
    } catch (const std::regex_error& e) {
      fail(ErrorKind::kUsage, std::string(option) + " " + re + ": not a regular expression (" + e.what() + ")");
    }
  };
  for (const auto& re : include) include_.push_back(compile(re, "--include"));
  for (const auto& re : exclude) exclude_.push_back(compile(re, "--exclude"));
  if (!events.empty()) {
    kinds_[0] = kinds_[1] = kinds_[2] = ddl_ = false;
    size_t at = 0;
    while (at <= events.size()) {
      size_t comma = events.find(',', at);
      if (comma == std::string::npos) comma = events.size();
      std::string word = events.substr(at, comma - at);
      if (word == "insert")
        kinds_[static_cast<int>(binlog::RowKind::kInsert)] = true;
      else if (word == "update")
        kinds_[static_cast<int>(binlog::RowKind::kUpdate)] = true;
      else if (word == "delete")
        kinds_[static_cast<int>(binlog::RowKind::kDelete)] = true;
      else if (word == "ddl")
        ddl_ = true;
      else
        fail(ErrorKind::kUsage, "--events " + events + ": unknown kind '" + word +
                                    "' (a comma-separated subset of insert,update,delete,ddl)");
      at = comma + 1;
    }
  }
  active_ = !include_.empty() || !exclude_.empty() || !(kinds_[0] && kinds_[1] && kinds_[2] && ddl_);
}

bool Filter::match(const std::string& name) const {
  if (!include_.empty()) {
    bool any = false;
    for (const auto& re : include_)
      if (std::regex_match(name, re)) {
        any = true;
        break;
      }
    if (!any) return false;
  }
  for (const auto& re : exclude_)
    if (std::regex_match(name, re)) return false;
  return true;
}

bool Filter::keeps_table(std::string_view db, std::string_view table) {
  if (include_.empty() && exclude_.empty()) return true;
  key_.assign(db);
  key_ += '.';
  key_ += table;
  auto it = decided_.find(key_);
  if (it != decided_.end()) return it->second;
  bool keep = match(key_);
  if (decided_.size() > 100000) decided_.clear();  // bounded: names are not unbounded in practice
  decided_.emplace(key_, keep);
  return keep;
}

bool Filter::keeps_table(const binlog::TableMap& t) {
  // The decoder may free a table map and allocate another at the same address: compare the names.
  if (&t == last_ && t.db == last_db_ && t.table == last_table_) return last_keep_;
  last_keep_ = keeps_table(t.db, t.table);
  last_ = &t;
  last_db_ = t.db;
  last_table_ = t.table;
  return last_keep_;
}

TailSink::TailSink(binlog::LineFormat format, Filter filter, binlog::LineEmitter::TimeFormatter time_format)
    : format_(format), emitter_(format), filter_(std::move(filter)), time_format_(std::move(time_format)) {
  emitter_.set_time_formatter(time_format_);
}

void TailSink::on_row(const binlog::RowChange& row) {
  if (filter_.active() && (!filter_.keeps(row.kind) || !filter_.keeps_table(*row.table))) {
    ++dropped_;
    return;
  }
  ++kept_;
  emitter_.on_row(row);
}

void TailSink::remember(const binlog::TransactionInfo* tx) {
  if (tx == nullptr) return;
  last_gtid_ = tx->gtid;
  last_server_id_ = tx->server_id;
}

void TailSink::on_transaction_end(const binlog::TransactionEnd& end) {
  remember(end.transaction);
  if (kept_ > 0) {
    emitter_.on_transaction_end(end);
    last_next_ = end.next;
    heartbeat_due_ = false;
    filtered_run_ = 0;
  } else if (dropped_ > 0) {
    filtered_out(end.next, end.timestamp, end.transaction);
  }
  kept_ = dropped_ = 0;
}

void TailSink::on_ddl(const binlog::Ddl& ddl) {
  if (ddl_observer_) {
    if (ddl.tables.empty()) ddl_observer_(ddl.db, "");
    for (const auto& t : ddl.tables) ddl_observer_(t.first, t.second);
  }
  if (ddl.ends_transaction) remember(ddl.transaction);
  bool keep_all = !filter_.active() || format_ == binlog::LineFormat::kSeed;
  if (keep_all) {
    emitter_.on_ddl(ddl);
    if (ddl.ends_transaction) {
      last_next_ = ddl.next;
      heartbeat_due_ = false;
      filtered_run_ = 0;
      kept_ = dropped_ = 0;
    } else {
      ++kept_;
    }
    return;
  }
  // A statement naming tables keeps the ones the filter keeps; one naming none is kept unless
  // --include restricts the output to named tables.
  binlog::Ddl kept = ddl;
  bool any = false;
  if (filter_.keeps_ddl()) {
    if (ddl.tables.empty()) {
      any = filter_.keeps_table(ddl.db, "");
    } else {
      ddl_tables_.clear();
      for (const auto& t : ddl.tables)
        if (filter_.keeps_table(t.first, t.second)) ddl_tables_.push_back(t);
      any = !ddl_tables_.empty();
      kept.tables = ddl_tables_;
    }
  }
  if (any) {
    emitter_.on_ddl(kept);
    ++kept_;
  } else {
    ++dropped_;
  }
  if (ddl.ends_transaction) {
    if (kept_ > 0) {
      last_next_ = ddl.next;
      heartbeat_due_ = false;
      filtered_run_ = 0;
    } else {
      filtered_out(ddl.next, ddl.timestamp, ddl.transaction);
    }
    kept_ = dropped_ = 0;
  }
}

void TailSink::filtered_out(const Position& next, uint32_t timestamp, const binlog::TransactionInfo* tx) {
  if (format_ == binlog::LineFormat::kSeed) return;  // the seed shape has no HEARTBEAT lines
  heartbeat_due_ = true;
  hb_next_ = next;
  hb_ts_ = timestamp;
  hb_server_id_ = tx ? tx->server_id : 0;
  hb_gtid_ = tx ? tx->gtid : std::string();
  if (++filtered_run_ % kHeartbeatEvery == 0) heartbeat_if_due();
}

void TailSink::heartbeat_if_due() {
  if (!heartbeat_due_) return;
  // Due only between transactions, when the emitter holds no line: it follows the complete lines.
  append_heartbeat(hb_next_, hb_ts_, hb_server_id_, hb_gtid_);
}

void TailSink::idle_heartbeat(const Position& next, int64_t ts, uint32_t server_id) {
  if (format_ == binlog::LineFormat::kSeed) return;
  append_heartbeat(next, ts, last_server_id_ ? last_server_id_ : server_id, last_gtid_);
  filtered_run_ = 0;
}

void TailSink::append_heartbeat(const Position& next, int64_t ts, uint32_t server_id, const std::string& gtid) {
  std::string& out = hb_line_;
  out.clear();
  std::string pos = next.str();
  out += "{\"binlog\":";
  json::append_string(out, pos);
  if (server_id) {
    out += ",\"server_id\":";
    json::append_int(out, server_id);
  }
  if (!gtid.empty()) {
    out += ",\"gtid\":";
    json::append_string(out, gtid);
  }
  out += ",\"eventType\":\"HEARTBEAT\",\"time\":\"";
  time_format_(out, ts);
  out += "\",\"ts\":";
  json::append_int(out, ts);
  out += ",\"commit\":true,\"next\":";
  json::append_string(out, pos);
  out += "}\n";
  emitter_.append_line(out);
  last_next_ = next;
  ++heartbeats_;
  heartbeat_due_ = false;
}

void TailSink::on_warning(const Position& where, std::string_view message) {
  if (++warnings_ > kMaxWarnings) return;
  log::write(log::Level::kWarning, where.str(), message);
  if (warnings_ == kMaxWarnings) log::warning("further warnings are counted, not shown");
}

void TailSink::report_suppressed_warnings() const {
  if (warnings_ > kMaxWarnings)
    log::warning(std::to_string(warnings_ - kMaxWarnings) + " more warnings not shown (" + std::to_string(warnings_) +
                 " in all)");
}

}  // namespace rowpipe::tail

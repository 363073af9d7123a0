// binlog-tail's event sink: filters tables and kinds of change, renders the kept ones as
// rowpipe-events(5) lines (binlog::LineEmitter), writes HEARTBEAT lines for what it filtered out,
// and reports the decoder's warnings with their positions.
#pragma once

#include <cstdint>
#include <functional>
#include <regex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "binlog/line_emitter.hpp"
#include "binlog/sink.hpp"

namespace rowpipe::tail {

// --include/--exclude (regular expressions matched against the whole `db.table`) and --events.
class Filter {
 public:
  // `events`: a comma-separated subset of insert,update,delete,ddl; empty keeps all. Throws
  // Error(kUsage) for a bad expression or kind.
  Filter(const std::vector<std::string>& include, const std::vector<std::string>& exclude, const std::string& events);

  // True when some change may be filtered out (HEARTBEAT lines are then written).
  bool active() const { return active_; }
  bool keeps(binlog::RowKind kind) const { return kinds_[static_cast<int>(kind)]; }
  bool keeps_ddl() const { return ddl_; }
  // Decided once per table name (regex matching is slow), then looked up.
  bool keeps_table(std::string_view db, std::string_view table);
  // The same for a table map: remembers the last one asked about, so a row costs a comparison.
  bool keeps_table(const binlog::TableMap& t);

 private:
  bool match(const std::string& name) const;

  std::vector<std::regex> include_, exclude_;
  bool kinds_[3] = {true, true, true};
  bool ddl_ = true;
  bool active_ = false;
  std::unordered_map<std::string, bool> decided_;
  std::string key_;
  const binlog::TableMap* last_ = nullptr;
  std::string last_db_, last_table_;
  bool last_keep_ = true;
};

class TailSink : public binlog::EventSink {
 public:
  static constexpr uint64_t kMaxWarnings = 100;      // then only counted
  static constexpr uint64_t kHeartbeatEvery = 1000;  // consecutive transactions filtered out

  TailSink(binlog::LineFormat format, Filter filter, binlog::LineEmitter::TimeFormatter time_format);

  // Complete lines so far; the caller writes them, then clears them.
  std::string_view complete() const { return emitter_.complete(); }
  size_t complete_size() const { return emitter_.complete_size(); }
  void clear_complete() { emitter_.clear_complete(); }
  // Appends a HEARTBEAT line when transactions were filtered out since the last line written (call
  // before writing the buffer out and at the end).
  void heartbeat_if_due();
  // Writes the held last line of an unfinished transaction (end of input, an error).
  void flush_pending() { emitter_.flush_pending(); }
  // Appends a HEARTBEAT line at `next` (a transaction boundary at or after every line so far) with
  // time `ts`, replacing one that was due for filtered transactions (live mode: the server is idle).
  // `server_id` stands in until a transaction told whose positions these are. Nothing in the seed
  // format.
  void idle_heartbeat(const Position& next, int64_t ts, uint32_t server_id);

  // The `next` of the last line written (a commit line or a HEARTBEAT); empty before any.
  const Position& last_next() const { return last_next_; }
  // The GTID and server id of the last transaction that ended (kept or filtered out), for checkpoints.
  const std::string& last_gtid() const { return last_gtid_; }
  uint32_t last_server_id() const { return last_server_id_; }
  // Called with each table a DDL statement names (kept or not), before its line is rendered: live
  // mode forgets the cached schema of the table.
  void set_ddl_observer(std::function<void(std::string_view db, std::string_view table)> f) {
    ddl_observer_ = std::move(f);
  }

  uint64_t lines() const { return emitter_.lines() + heartbeats_; }
  uint64_t warnings() const { return warnings_; }
  // Reports how many warnings were not shown (at the end).
  void report_suppressed_warnings() const;

  void on_row(const binlog::RowChange& row) override;
  void on_transaction_end(const binlog::TransactionEnd& end) override;
  void on_ddl(const binlog::Ddl& ddl) override;
  void on_warning(const Position& where, std::string_view message) override;

 private:
  void filtered_out(const Position& next, uint32_t timestamp, const binlog::TransactionInfo* tx);
  void append_heartbeat(const Position& next, int64_t ts, uint32_t server_id, const std::string& gtid);
  void remember(const binlog::TransactionInfo* tx);

  binlog::LineFormat format_;
  binlog::LineEmitter emitter_;
  Filter filter_;
  binlog::LineEmitter::TimeFormatter time_format_;
  uint64_t kept_ = 0;     // lines kept in the current transaction
  uint64_t dropped_ = 0;  // changes filtered out of it
  // The position after the last transaction filtered out entirely, while no line followed it.
  bool heartbeat_due_ = false;
  uint64_t filtered_run_ = 0;
  Position hb_next_;
  uint32_t hb_ts_ = 0;
  uint32_t hb_server_id_ = 0;
  std::string hb_gtid_;
  std::string hb_line_;
  uint64_t heartbeats_ = 0;
  uint64_t warnings_ = 0;
  std::vector<std::pair<std::string, std::string>> ddl_tables_;  // scratch for filtered DDL
  std::string last_gtid_;
  uint32_t last_server_id_ = 0;
  Position last_next_;
  std::function<void(std::string_view, std::string_view)> ddl_observer_;
};

}  // namespace rowpipe::tail

// Applies events to Redis: ordered mode (whole transactions, several per MULTI/EXEC, with the
// checkpoint in the same MULTI; huge ones in chunks recorded with `applied`) and --guard mode (each row
// through a compare-and-set script keyed by its position).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config.hpp"
#include "destinations.hpp"
#include "event/ddl.hpp"
#include "event/event.hpp"
#include "event/line_source.hpp"
#include "event/map_file.hpp"
#include "io/checkpoint.hpp"
#include "io/dead_letter.hpp"
#include "mapper.hpp"
#include "sql/row_lookup.hpp"

namespace rowpipe::redis_sink {

// The registry of key columns per table, read back by TRUNCATE and DROP (see purge.hpp).
inline constexpr std::string_view kTablesKey = "rowpipe:tables";

struct Stats {
  uint64_t rows = 0;     // row lines applied
  uint64_t skipped = 0;  // lines the checkpoint already covered
  uint64_t stale = 0;    // --guard: rows older than what their key holds
  uint64_t purged = 0;   // keys deleted by TRUNCATE / DROP TABLE
  uint64_t ddl = 0;      // DDL lines logged and passed over
  uint64_t reconnects = 0;
};

class Sink {
 public:
  // `ack` is null unless --ack.
  Sink(const Config& config, const MapFile* map, LineSource& source, AckWriter* ack);
  ~Sink();

  // Connects every instance and reads the stored checkpoints.
  void open();
  // Applies one event. A row that cannot be mapped (no key columns, ...) throws Error(kData) before
  // anything of it is queued, so the caller may set the line aside and go on.
  void on_event(const Event& e);
  // The line of `e` was set aside after on_event threw for it: keeps its transaction boundary.
  void on_set_aside(const Event& e);
  // Input is idle: commit the complete transactions read so far and wait for Redis to confirm them.
  void on_idle();
  // End of input (or a stop): commits what is complete, drains, and reports an unfinished transaction.
  void finish();

  // The position Redis confirmed last (for messages); empty when none.
  std::string last_applied() const;
  const Stats& stats() const { return stats_; }
  const Destinations& destinations() const { return *destinations_; }

 private:
  struct Piece {
    Link* link;
    size_t begin;
    size_t end;
    size_t commands;
  };
  struct PendingAck {
    uint64_t seq;
    uint64_t lines;
    uint64_t rows;
    bool chunk;
    Checkpoint checkpoint;
  };

  void begin_unit(const Event& e);
  void commit_unit(const Position& binlog, const Event& e, const std::optional<RowPosition>& applied);
  void close_batches(const std::optional<Checkpoint>& checkpoint, bool split, bool chunk);
  void settle();
  void apply_row(const Event& e, TableInfo& t);
  void apply_ddl(const Event& e);
  bool covered(const Link& link, const RowPosition& pos);

  // Row commands are rendered into scratch_ first and only then handed to the links, so a row that
  // fails half way leaves nothing behind.
  void emit(Link& link, size_t commands);
  void cmd_del(Link& link, const TableInfo& t, std::string_view a, std::string_view b = {});
  void index_add(Link& link, const TableInfo& t, std::string_view key);
  void write_row(Link& link, const std::string& key, const Event& e, const JsonValue& image, TableInfo& t,
                 bool replace);
  void merge_row(Link& link, const std::string& key, const Event& e, TableInfo& t);
  void record_table(Link& link, const Event& e, TableInfo& t);
  void carry_across(Link& lo, Link& ln, const Event& e, TableInfo& t);
  void refetch_row(const Event& e, TableInfo& t);
  void reconcile(const Event& e);
  void guard_row(Link& link, const std::string& key, char op, const Event& e, const JsonValue* image, TableInfo& t);
  bool commit_pieces();

  const Config& config_;
  const bool guard_;  // --guard or --reconcile: rows compared by position, no checkpoint
  const MapFile* map_;
  LineSource& source_;
  AckWriter* ack_;
  LinkOptions link_options_;
  std::unique_ptr<Destinations> destinations_;
  std::unique_ptr<Mapper> mapper_;
  std::unique_ptr<TableCache> tables_;
  std::vector<Link*> links_;
  Stats stats_;

  // Ordered mode.
  std::optional<Checkpoint> pending_;    // after the last complete unit read
  std::optional<Checkpoint> closed_;     // the last checkpoint put into a batch
  std::optional<Checkpoint> confirmed_;  // the last checkpoint every instance confirmed
  std::vector<uint8_t> past_stored_;     // per link: input has passed its stored checkpoint
  bool unit_open_ = false;
  Position unit_base_;  // the boundary the open transaction starts at
  bool unit_has_last_ = false;
  RowPosition unit_last_;  // its last row queued (when unit_has_last_)
  RowPosition row_pos_;    // the row being applied; positions are assigned in place, not allocated per row
  uint64_t unit_first_line_ = 0;
  size_t unit_bytes_ = 0;
  bool unit_chunked_ = false;
  std::vector<Link::Mark> marks_;  // per link: where the open transaction begins in the open batch
  uint64_t units_in_batch_ = 0;
  uint64_t unit_rows_ = 0;   // rows of the open transaction queued
  uint64_t batch_rows_ = 0;  // rows of complete transactions in the open batch
  uint64_t lines_done_ = 0;  // input lines dealt with by complete units
  uint64_t seq_ = 0;
  uint64_t rows_since_pump_ = 0;
  uint64_t dead_synced_ = 0;
  std::chrono::steady_clock::time_point batch_started_;
  std::deque<PendingAck> acks_;

  // --refetch.
  std::unique_ptr<RowLookup> refetcher_;
  EventParser fresh_parser_;
  std::string fresh_line_, fresh_key_;

  std::string scratch_;
  std::vector<Piece> pieces_;
  std::string old_key_, new_key_, set_, nulls_, json_;
  std::string guard_pos_, guard_marker_, guard_pos_key_;
};

// A position as the guard script compares it: "FILE:POS:ROW".
void append_guard_position(std::string& out, const RowPosition& pos);

}  // namespace rowpipe::redis_sink

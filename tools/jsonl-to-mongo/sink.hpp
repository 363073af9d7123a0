// Applies events to MongoDB. Ordered mode: whole transactions are held in a batch and several are
// written together (group commit), each batch followed by the checkpoint document; lines the
// checkpoint covers are skipped. --guard mode: each write is conditional on the position its document
// holds (see guard.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "batch.hpp"
#include "config.hpp"
#include "event/event.hpp"
#include "event/line_source.hpp"
#include "event/map_file.hpp"
#include "io/checkpoint.hpp"
#include "io/dead_letter.hpp"
#include "mapper.hpp"
#include "store.hpp"

namespace rowpipe::mongo_sink {

class Guard;
class Refetcher;

struct Stats {
  uint64_t rows = 0;        // row lines applied
  uint64_t skipped = 0;     // lines the checkpoint already covered
  uint64_t stale = 0;       // --guard: rows older than what their document holds
  uint64_t cleared = 0;     // documents deleted by TRUNCATE
  uint64_t dropped = 0;     // collections dropped by DROP TABLE
  uint64_t ddl = 0;         // DDL lines logged and passed over
  uint64_t refused = 0;     // lines the server refused, set aside
  uint64_t reconciled = 0;  // --reconcile: documents the snapshot lacked, deleted
};

class Sink {
 public:
  // `ack` is null unless --ack.
  Sink(const Config& config, const MapFile* map, LineSource& source, AckWriter* ack);
  ~Sink();

  // Connects and reads the stored checkpoint.
  void open();
  // Applies one event. A row that cannot be mapped throws Error(kData) before anything of it is held,
  // so the caller may set the line aside and go on.
  void on_event(const Event& e);
  // The caller set the current line aside (it could not be mapped): a line that ended its transaction
  // still ends it, so the checkpoint can move past it.
  void on_set_aside(const Event& e);
  // Input is idle: write the complete transactions read so far.
  void on_idle();
  // End of input (or a stop, `stopping`): writes what is complete and reports an unfinished transaction.
  void finish(bool stopping = false);

  // Set when a line the server refused could not be set aside: everything before it is applied and
  // checkpointed; the tool stops (exit 65) with this message.
  const std::string& stop_reason() const { return stop_reason_; }
  // The position MongoDB holds last (for messages).
  std::string last_applied() const;
  const Stats& stats() const { return stats_; }
  Store& store() { return *store_; }
  uint64_t set_aside() const { return refused_count_; }

 private:
  struct UnitEnd {
    Batch::Mark mark;
    Checkpoint checkpoint;
    uint64_t lines = 0;  // input lines dealt with once this unit is applied
    uint64_t rows = 0;   // rows of the batch up to here
  };

  void begin_unit(const Event& e);
  void commit_unit(const Position& binlog, const Event& e, const std::optional<RowPosition>& applied);
  // Writes the complete transactions held (and, with `chunk`, the open one's rows so far, recorded
  // with `applied`), then the checkpoint.
  void flush();
  void flush_chunk(const RowPosition& applied);
  // --guard: applies the held writes and acknowledges the lines dealt with; false when a refused
  // line stopped the tool.
  bool flush_guarded();
  // Applies ops [0, end) of the batch; on a refusal narrows it down line by line. False when a refused
  // line stopped the tool.
  bool apply_batch(size_t op_end);
  bool apply_line_by_line(size_t op_end);
  bool refuse_line(uint32_t line, const std::string& reason);
  void checkpoint(const Checkpoint& ck, uint64_t lines);
  void sync_dead_letters();

  void apply_row(const Event& e, TableInfo& t);
  void move_partial(const Event& e, TableInfo& t, uint32_t old_target, uint32_t new_target);
  void apply_ddl(const Event& e);
  void end_row(const Event& e);
  void add_line();

  const Config& config_;
  LineSource& source_;
  AckWriter* ack_;
  std::unique_ptr<Mapper> mapper_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Guard> guard_;
  std::unique_ptr<Refetcher> refetcher_;
  Stats stats_;
  ApplyStats apply_stats_;

  Batch batch_;
  Plan plan_;
  std::vector<UnitEnd> units_;  // complete transactions in the batch (entries reused)
  size_t unit_count_ = 0;
  std::optional<Checkpoint> pending_;    // after the last complete transaction read
  std::optional<Checkpoint> confirmed_;  // the last checkpoint MongoDB holds
  bool unit_open_ = false;
  bool unit_chunked_ = false;
  Position unit_base_;                    // the boundary the open transaction starts at
  std::optional<RowPosition> unit_last_;  // its last row held
  uint64_t unit_first_line_ = 0;
  uint64_t unit_rows_ = 0;
  uint64_t batch_rows_ = 0;
  uint64_t lines_done_ = 0;
  uint64_t dead_synced_ = 0;
  std::chrono::steady_clock::time_point batch_started_;

  std::unique_ptr<DeadLetter> refused_;  // --dead-letter for lines the server refused
  uint64_t refused_count_ = 0;
  uint64_t refused_in_batch_ = 0;  // rows of the batch being applied that the server refused
  std::string stop_reason_;

  Bson key_old_, key_new_, doc_, fields_;
};

}  // namespace rowpipe::mongo_sink

// --guard (keyed or unordered input) and --reconcile: every document carries the position of the row
// change that wrote it, `_rowpipe: {pos: P}`, and a write happens only when its position is after the
// stored one. A DELETE leaves a tombstone `{_id, _rowpipe: {pos: P, deleted: DATE}}` so that an older
// INSERT arriving later cannot bring the row back; tombstones older than --tombstone-ttl are removed.
//
// Each write is a compare-and-set on one document (FerretDB v1 has no multi-document transactions):
// the stored positions are read first, then each document is written with a filter on the position
// that was read (or inserted when there was none); a write that finds another position there lost a
// race with another writer and is decided again from a fresh read.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "batch.hpp"
#include "config.hpp"
#include "event/event.hpp"
#include "event/line_source.hpp"
#include "mapper.hpp"
#include "store.hpp"

namespace rowpipe::mongo_sink {

struct Stats;

// A position as an order-preserving string (string order = position order): each number written as
// a letter giving its count of digits ('a' for 1 ... 't' for 20) and the digits, the binlog file's
// sequence number, its offset and the row joined by ':' ("b52:c754:a0" for mysql-bin.000052:754:0).
// A file name without a sequence number is written as '~' and the name.
std::string encode_position(const RowPosition& pos);

class Guard {
 public:
  Guard(const Config& config, Store& store, Targets& targets);

  // Reads the TRUNCATE markers.
  void open();
  // Holds the row's writes (with positions) in `batch`, or acts on DDL and snapshot markers.
  void on_event(const Event& e, Mapper& mapper, Batch& batch, LineSource& source, Stats& stats);
  bool should_flush(const Batch& batch);
  // True for lines that act on what is already written (TRUNCATE, DROP, a --reconcile SNAPSHOT_END, a
  // partial UPDATE that moves its row):
  // the held writes must be applied before on_event sees them.
  bool barrier(const Event& e) const;
  // Applies ops [begin, end) of `batch`. Throws Error(kData) when the server refuses a document.
  void apply(const Batch& batch, size_t begin, size_t end, Stats& stats);
  void finish(Stats& stats);
  uint64_t lines_done() const { return lines_done_; }

 private:
  struct Stored {
    bool exists = false;
    bool has_pos = false;
    std::string pos;  // encoded
  };
  void read_positions(uint32_t target, const std::vector<std::string_view>& keys,
                      std::unordered_map<std::string, Stored>& out);
  bool apply_once(const Batch& batch, size_t begin, size_t end, Stats& stats);
  // FerretDB v1 runs an update as a read and a later write, not atomically, so two writers of one
  // document can both pass a compare-and-set filter; there, --guard writers of a collection take turns
  // through a lock document in rowpipe.guard_locks (an insert, which the unique _id makes atomic; a
  // lease lets others go on when its holder died). MongoDB needs none: a TurnLock is then a no-op.
  class TurnLock {
   public:
    TurnLock(Guard& guard, uint32_t target);
    ~TurnLock();
    TurnLock(const TurnLock&) = delete;
    TurnLock& operator=(const TurnLock&) = delete;

   private:
    Guard& guard_;
    std::string ns_;
    bool held_ = false;
  };
  static constexpr size_t kChunk = 256;  // documents decided and written per turn

  // The stored TRUNCATE marker of a collection ("" when none), remembered.
  std::string read_marker(const std::string& ns);
  // Deletes the documents of `target` older than `pos` or without a position; how many.
  uint64_t delete_older(uint32_t target, const std::string& pos, std::string_view what);
  void truncate(uint32_t target, const RowPosition& pos, const std::string& ns);
  void purge_tombstones(uint32_t target);

  const Config& config_;
  Store& store_;
  Targets& targets_;
  std::map<std::string, std::string> markers_;  // ns -> encoded position of its last TRUNCATE/DROP
  std::string owner_;                           // names this process in --guard turns
  std::vector<uint8_t> purged_;                 // per target: tombstones purged this run
  std::chrono::steady_clock::time_point last_purge_;
  std::chrono::steady_clock::time_point batch_started_;
  uint64_t lines_done_ = 0;
  size_t rows_ = 0;
  // --reconcile: the snapshot position of each table whose SNAPSHOT_BEGIN was read.
  std::map<std::string, RowPosition> snapshots_;
  Bson key_old_, key_new_, doc_, fields_;
};

}  // namespace rowpipe::mongo_sink

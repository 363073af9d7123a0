// --snapshot: the current rows of tables from one consistent snapshot, as rowpipe-events(5)
// snapshot lines positioned at the snapshot's binlog position P, from which the stream continues.
#pragma once

#include <string>
#include <vector>

#include "binlog/line_emitter.hpp"
#include "clients/mysql.hpp"
#include "event/position.hpp"
#include "line_output.hpp"

namespace rowpipe::tail {

struct SnapshotTable {
  std::string db, table;
};

// Parses "db.t1,db.t2" (each name split at its first dot). Throws Error(kUsage).
std::vector<SnapshotTable> parse_snapshot_tables(const std::string& list);

struct SnapshotResult {
  Position pos;  // P: the binlog position the snapshot was taken at (a transaction boundary)
  uint32_t server_id = 0;
  uint64_t rows = 0;   // row lines written
  uint64_t lines = 0;  // with the markers
};

// Takes one consistent snapshot over `db` (MariaDB: START TRANSACTION WITH CONSISTENT SNAPSHOT and
// its binlog_snapshot_file/position; MySQL: the same under FLUSH TABLES WITH READ LOCK, released
// once the position is read) and writes, per table, a SNAPSHOT_BEGIN line, one INSERT line per row
// ("snapshot":true, values through sql::RowConverter: the decoder's rendering), a SNAPSHOT_END
// line; the last one commits with `next` P. Rows are streamed (unbuffered result sets), written
// to `out` in blocks; progress (rows / estimate) on a terminal. Throws Error: kConfig for a table
// that does not exist or binary logging off, and as the client library says.
SnapshotResult write_snapshot(MYSQL* db, const std::vector<SnapshotTable>& tables, LineOutput& out,
                              const binlog::LineEmitter::TimeFormatter& time_format);

}  // namespace rowpipe::tail

// What binlog-tail was asked to do, as parsed from its command line.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "binlog/line_emitter.hpp"
#include "cli/error.hpp"
#include "event/position.hpp"

namespace rowpipe::tail {

struct Config {
  std::vector<std::string> files;  // FILE...: binary or relay log files, decoded in this order
  std::optional<Position> from;    // --from FILE:POS (FILE a base name): a transaction boundary
  std::optional<Position> to;      // --to FILE:POS: stop before the first transaction at or after it
  binlog::LineFormat format = binlog::LineFormat::kNative;
  std::string timezone;  // --timezone; empty: UTC (native) or the local zone, TZ (seed)
  bool allow_statements = false;
  std::vector<std::string> include;  // --include REGEX on db.table (any matches)
  std::vector<std::string> exclude;  // --exclude REGEX on db.table (wins over --include)
  std::string events;                // --events insert,update,delete,ddl; empty: all
  size_t max_xa_bytes = size_t{256} << 20;
  std::string schema_from;    // --schema-from mysql://... (or @FILE holding it)
  std::string password_file;  // --password-file (for --schema-from)
  std::string defaults_file;  // --defaults-file (for --schema-from)
  bool quiet = false;         // only errors (no warnings, no summary)
  bool verbose = false;       // also the summary at the end

  // Live mode (--mysql).
  std::string mysql;         // mysql://USER@HOST:PORT (or @FILE holding it)
  std::string from_text;     // --from as given: FILE:POS, a GTID position, current, earliest
  bool stop_at_end = false;  // exit once caught up
  std::string resume;        // --resume FILE: start from this checkpoint when it exists
  std::string checkpoint;    // --checkpoint FILE
  std::optional<uint32_t> server_id;
  double heartbeat = 1;      // --heartbeat SECONDS: the server's heartbeat period when idle
  double read_timeout = 0;   // --read-timeout SECONDS; 0: max(10, 4 x heartbeat)
  double idle_interval = 3;  // --idle-interval SECONDS between HEARTBEAT lines when idle
  std::string ssl_mode, ssl_ca, ssl_cert, ssl_key;
  long max_retries = -1;      // reconnection attempts in a row; -1: no bound
  double retry_timeout = 0;   // seconds of failed reconnection before giving up; 0: no bound
  std::string dir;            // --dir DIR: binlog_STAMP.log files instead of stdout
  char rotate = 'd';          // --rotate y|m|d|h|i
  uint64_t rotate_size = 0;   // --rotate-size bytes; 0: none
  double stats_interval = 0;  // --stats-interval SECONDS; 0: none
  std::string snapshot;       // --snapshot / --snapshot-only: db.t1,db.t2
  bool snapshot_only = false;
};

// A FILE:POS option value, FILE reduced to its base name (positions name files as the server does).
// `forms` says what the option takes, for the usage error.
inline Position position_option(const std::string& option, const std::string& text, const std::string& forms) {
  auto p = Position::parse(text);
  if (!p || p->file.empty()) fail(ErrorKind::kUsage, option + " " + text + ": " + forms);
  if (size_t slash = p->file.find_last_of('/'); slash != std::string::npos) p->file.erase(0, slash + 1);
  if (p->offset < 4) fail(ErrorKind::kUsage, option + " " + text + ": positions start at 4 (after the magic bytes)");
  return *p;
}

}  // namespace rowpipe::tail

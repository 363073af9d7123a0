// What binlog-tail was asked to do, as parsed from its command line.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "binlog/line_emitter.hpp"
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
};

}  // namespace rowpipe::tail

// What jsonl-to-mongo was asked to do, as parsed from its command line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "cli/options.hpp"

namespace rowpipe::mongo_sink {

// How DECIMAL values (and integers beyond int64) are stored.
enum class DecimalMode : uint8_t { kDecimal128, kString };
// How DATETIME and TIMESTAMP values are stored: a date when no precision is lost (3 fraction digits or
// fewer declared), else a string; or always one of them.
enum class DatetimeMode : uint8_t { kAuto, kDate, kString };

struct Config {
  SinkOptions sink;                    // FILE..., --name, --map, --ack, --dead-letter, ...
  std::string mongo;                   // --mongo URL (or @FILE holding it)
  std::string database = "{db}";       // --database TEMPLATE
  std::string collection = "{table}";  // --collection TEMPLATE
  DecimalMode decimal = DecimalMode::kDecimal128;
  DatetimeMode datetime = DatetimeMode::kAuto;
  bool ignore_ddl = false;
  bool print_checkpoint = false;
  bool guard = false;
  uint64_t tombstone_ttl = 7 * 24 * 3600;
  std::string refetch;  // --refetch mysql://...
  bool reconcile = false;
  size_t batch_bytes = 8 << 20;  // group commit bound: BSON bytes of the writes held
  size_t batch_rows = 20000;     // group commit bound: rows held
  unsigned timeout_s = 60;       // connect and reply timeout
  unsigned retry_s = 60;         // how long an unavailable server is retried
  bool quiet = false;
  bool verbose = false;
};

}  // namespace rowpipe::mongo_sink

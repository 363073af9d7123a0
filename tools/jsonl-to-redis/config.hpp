// What jsonl-to-redis was asked to do, as parsed from its command line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cli/options.hpp"

namespace rowpipe::redis_sink {

enum class Store { kHash, kJson };

struct Config {
  SinkOptions sink;                 // FILE..., --name, --map, --ack, --dead-letter, ...
  std::vector<std::string> redis;   // --redis URL (several: a ketama ring)
  std::vector<std::string> routes;  // --route DB.TABLE=URL
  std::string key = "{db}_{table}_{pk}";
  Store store = Store::kHash;
  std::optional<std::string> null_as;  // --null-as
  bool ignore_ddl = false;
  bool print_checkpoint = false;
  bool guard = false;
  uint64_t tombstone_ttl = 7 * 24 * 3600;
  std::string refetch;  // --refetch mysql://...
  bool reconcile = false;
  size_t batch_bytes = 1 << 20;  // group commit and chunk bound per MULTI
  unsigned timeout_s = 30;       // connect and reply timeout
  unsigned retry_s = 60;         // how long an unavailable server is retried
  bool quiet = false;
  bool verbose = false;
};

}  // namespace rowpipe::redis_sink

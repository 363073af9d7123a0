// mq-pipe's settings, read from the command line and the broker URL (a flag wins over a URL parameter).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "clients/url.hpp"

namespace CLI {
class App;
}

namespace rowpipe::mq {

enum class Mode { kPub, kSub, kLag };
enum class From { kCommitted, kBeginning, kEnd };

struct Config {
  Mode mode = Mode::kPub;
  Url url;
  bool kafka = false;  // else AMQP

  // Both brokers.
  std::string password_file;
  unsigned timeout_s = 30;    // connecting, RPCs, metadata
  unsigned retry_for_s = 60;  // how long an unreachable broker is retried
  bool quiet = false;
  bool verbose = false;

  // Kafka.
  std::string topic;
  std::vector<std::string> properties;  // -X NAME=VALUE
  int partitions = 1;                   // pub --declare

  // AMQP.
  std::string exchange;
  std::string exchange_type = "topic";
  std::string routing_key;
  std::string queue;

  // pub
  std::string key = "{db}.{table}";
  bool key_given = false;
  std::string checkpoint;
  bool declare = false;
  uint64_t max_buffer = 100'000;   // messages handed over and not confirmed, at most
  uint64_t max_message_bytes = 0;  // 0: the broker's default (set by resolve)
  std::string dead_letter;
  uint64_t max_errors = UINT64_MAX;
  unsigned window = 10'000;  // AMQP confirms outstanding
  bool no_confirm = false;   // AMQP benchmark baseline: no publisher confirms
  int idle_ms = 200;

  // sub
  std::string group;
  From from = From::kCommitted;
  bool exit_at_end = false;
  unsigned prefetch = 10'000;
  std::vector<std::string> binds;  // EXCHANGE[:ROUTING_KEY]
  bool auto_ack = false;           // AMQP benchmark baseline: the broker forgets on delivery
  std::vector<std::string> command;

  // Where messages go or come from, for messages: "kafka topic T" / "exchange E" / "queue Q".
  std::string target() const;
};

// Builds the command line (subcommands pub, sub, lag) into `app`, writing into `c` and the raw
// strings resolve() needs.
struct RawOptions {
  std::string url;
  std::string from = "committed";
  std::string exchange, routing_key, queue;
  bool exchange_set = false, routing_key_set = false, queue_set = false;
};
void add_options(CLI::App& app, Config& c, RawOptions& raw);

// After parsing: reads the URL (@FILE too), merges URL parameters under the flags and checks the
// combination. Throws Error(kUsage).
void resolve(CLI::App& app, Config& c, RawOptions& raw);

}  // namespace rowpipe::mq

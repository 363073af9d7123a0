// librdkafka plumbing mq-pipe shares between pub, sub and lag: configuration, logging, wake-up pipe.
#pragma once

#include <chrono>
#include <string>

#include "clients/kafka.hpp"
#include "config.hpp"

namespace rowpipe::mq {

// The configuration for `c` before the role's own defaults: brokers, SASL, our log and error
// callbacks (opaque: `state`, which must outlive the handle). Apply -X last with apply_properties.
class KafkaState {
 public:
  explicit KafkaState(const Config& c) : c_(c) {}

  KafkaConf base_conf();
  // Throws the fatal error librdkafka raised (rd_kafka_fatal_error), if any, on our thread.
  void check_fatal(rd_kafka_t* rk) const;
  // The last error librdkafka reported (for messages).
  const std::string& last_error() const { return last_error_; }

  static void error_cb(rd_kafka_t* rk, int err, const char* reason, void* opaque);

  // The object that owns the handle, for its own callbacks (delivery reports, rebalances), which
  // receive this KafkaState as their opaque.
  void* owner = nullptr;
  static void log_cb(const rd_kafka_t* rk, int level, const char* fac, const char* buf);

 private:
  const Config& c_;
  std::string last_error_;
  std::chrono::steady_clock::time_point last_warning_{};
};

// A pipe that librdkafka writes to when a queue becomes non-empty (rd_kafka_queue_io_event_enable),
// so that one poll(2) waits on Kafka and on our other descriptors.
class WakePipe {
 public:
  WakePipe();
  ~WakePipe();
  WakePipe(const WakePipe&) = delete;
  WakePipe& operator=(const WakePipe&) = delete;

  void attach(rd_kafka_queue_t* queue);
  int fd() const { return fds_[0]; }
  // Empties the pipe (call before serving the queue).
  void drain();

 private:
  int fds_[2] = {-1, -1};
};

// Waits up to timeout_ms for either descriptor (a negative one is left out) to become readable.
void wait_readable(int fd1, int fd2, int timeout_ms);

}  // namespace rowpipe::mq

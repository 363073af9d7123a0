// What mq-pipe declares on a RabbitMQ connection, and the retry pacing both directions share.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "clients/amqp.hpp"
#include "config.hpp"

namespace rowpipe::mq {

// The binding key used when none is given: "#" for topic exchanges (everything), "1" (the weight)
// for x-consistent-hash, "" otherwise (fanout ignores it).
std::string default_binding_key(std::string_view exchange_type);

// Durable exchange of `type`; Error(kConfig) when it exists with another type.
void declare_exchange(amqp_connection_state_t conn, const std::string& name, const std::string& type);

struct QueueState {
  uint32_t messages = 0;  // ready for delivery (not counting delivered, unacknowledged ones)
  uint32_t consumers = 0;
};
// Declares a durable queue, or with `passive` only checks that it exists (Error(kConfig) if not; the
// channel is then closed by the broker). Returns the broker's counts.
QueueState declare_queue(amqp_connection_state_t conn, const std::string& name, bool passive);

void bind_queue(amqp_connection_state_t conn, const std::string& queue, const std::string& exchange,
                const std::string& key);

// Answers a channel.close or connection.close the broker sent (`frame`, a method frame of either).
// A closed channel, or a connection closed for a reason other than the broker's unavailability, is
// fatal: Error of the reply code's kind, naming `what` ("publishing to ..."). Otherwise returns the
// broker's reason; the caller reconnects.
std::string answer_close(amqp_connection_state_t conn, const amqp_frame_t& frame, const std::string& what);

// AMQP connection settings from the configuration.
AmqpOptions amqp_options(const Config& c);

// Reconnection pacing: exponential backoff from 100 ms to 5 s, and the --retry-for deadline of one
// outage.
class Backoff {
 public:
  using Clock = std::chrono::steady_clock;
  explicit Backoff(std::chrono::seconds give_up_after) : give_up_after_(give_up_after) {}

  // An attempt failed (or the connection was lost): schedules the next one.
  void failed(std::string why);
  // Connected: the outage is over.
  void succeeded();
  bool down() const { return down_since_.has_value(); }
  // Time to try again.
  bool due() const { return !down_since_ || Clock::now() >= next_; }
  // Milliseconds until due() (0 when due).
  int wait_ms() const;
  // True when the outage has lasted longer than --retry-for.
  bool expired() const { return down_since_ && Clock::now() - *down_since_ > give_up_after_; }
  const std::string& last_error() const { return last_error_; }
  // Seconds the current outage has lasted.
  long down_for_s() const;

 private:
  std::chrono::seconds give_up_after_;
  std::optional<Clock::time_point> down_since_;
  Clock::time_point next_{};
  std::chrono::milliseconds delay_{100};
  std::string last_error_;
};

}  // namespace rowpipe::mq

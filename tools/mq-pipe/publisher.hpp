// The broker side of mq-pipe pub: hands messages to Kafka or RabbitMQ and reports what the broker confirmed.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "config.hpp"
#include "confirm_window.hpp"

namespace rowpipe::mq {

class Publisher {
 public:
  virtual ~Publisher() = default;

  // Hands one message over (copied); call only while has_room(). Confirmations reach `window`
  // (given at construction) from poll().
  virtual void publish(uint64_t seq, std::string_view key, std::string_view body) = 0;
  // False while --max-buffer messages are unconfirmed: stop reading input until poll() frees room.
  virtual bool has_room() const = 0;
  // Messages handed over and not yet confirmed.
  virtual uint64_t outstanding() const = 0;
  // Network work: sends, reads confirmations, reconnects. Waits up to timeout_ms for something to
  // happen, or for `input_fd` (when >= 0) to become readable. Throws Error when the broker is lost
  // for good (unreachable past --retry-for, a refused or unroutable message, a fatal error).
  virtual void poll(int timeout_ms, int input_fd) = 0;
  // After the last confirmation: a polite goodbye. May throw.
  virtual void close() = 0;
};

std::unique_ptr<Publisher> make_kafka_publisher(const Config& c, ConfirmWindow& window);
std::unique_ptr<Publisher> make_amqp_publisher(const Config& c, ConfirmWindow& window);

}  // namespace rowpipe::mq

// The broker side of mq-pipe sub: receives messages from Kafka or RabbitMQ and acknowledges, on
// request, only those that were handed on.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include "config.hpp"

namespace rowpipe::mq {

// Which message a line came from, to acknowledge it later. Kafka: partition, the epoch of its
// assignment (a revoked and reassigned partition gets a new one), offset. AMQP: lane 0, the
// connection's generation, the delivery tag.
struct Mark {
  int32_t lane = 0;
  uint32_t epoch = 0;
  uint64_t id = 0;
};

// Receives one message: its body (valid during the call), its mark, and where it came from for
// messages ("topic t partition 2 offset 17").
using OnMessage = std::function<void(std::string_view body, const Mark& mark)>;

class Subscriber {
 public:
  virtual ~Subscriber() = default;

  // Hands up to `max` messages that are available now to `on_message`, without waiting; also does
  // the network work (reconnects, rebalances, heartbeats). Returns how many. Throws Error when the
  // broker is lost for good.
  virtual size_t fetch(size_t max, const OnMessage& on_message) = 0;
  // A descriptor that becomes readable when fetch() may find something (-1: none, e.g. while
  // waiting to reconnect), and whether fetch() may find more at once (then do not wait on it).
  virtual int fd() const = 0;
  virtual bool more() const = 0;
  // The longest useful wait before calling fetch() again (reconnect timers, end checks).
  virtual int wait_ms() const = 0;
  // Stops or resumes receiving (flow control while the next stage is slow).
  virtual void pause(bool paused) = 0;
  // Nothing more will be handed on (the end is near): the broker stops delivering, and fetch()
  // from now on only keeps the connection alive (heartbeats, rebalances), dropping what still
  // arrives, unacknowledged (it comes again).
  virtual void stop() = 0;

  // The line of this message was handed on (COMMAND acknowledged it, or stdout was flushed).
  // Marks arrive in the order fetch() produced them.
  virtual void done(const Mark& mark) = 0;
  // Sends the acknowledgements / offset commits for what is done: now, or when due (batched).
  virtual void commit(bool now) = 0;

  // --exit-at-end: everything there was has been fetched.
  virtual bool at_end() = 0;
  // Describes a message for error messages.
  virtual std::string describe(const Mark& mark) const = 0;
  // Leaves politely (AMQP close; Kafka: commit and leave the group). May throw.
  virtual void close() = 0;
};

std::unique_ptr<Subscriber> make_kafka_subscriber(const Config& c);
std::unique_ptr<Subscriber> make_amqp_subscriber(const Config& c);

}  // namespace rowpipe::mq

// The hand-off between the thread that reads the replica connection and the one that decodes: raw
// events appended to one buffer, which the decoder takes whole (so a backlog moves in large batches
// and a lone event is handed on at once), bounded in bytes.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <span>
#include <vector>

namespace rowpipe::tail {

class EventQueue {
 public:
  // What the consumer takes: complete events back to back (each event's size is in its header),
  // then how the stream ended, if it did.
  struct Batch {
    std::vector<uint8_t> bytes;
    bool ended = false;        // the producer finished: caught up (error null) or failed
    std::exception_ptr error;  // why it failed
  };

  // `max_bytes` bounds what waits for the consumer (one event larger than that still passes).
  explicit EventQueue(size_t max_bytes) : max_bytes_(max_bytes) {}

  // Producer: appends one event, waiting while the queue is full. False once the consumer closed
  // the queue (the producer then stops).
  bool push(std::span<const uint8_t> event);
  // Producer: no more events; `error` is why (null: the stream ended normally, caught up).
  void finish(std::exception_ptr error);

  // Consumer: waits up to `timeout` for events or the end, then moves them into `batch` (its bytes
  // are replaced, its capacity reused). Returns false when nothing came.
  bool take(Batch& batch, std::chrono::milliseconds timeout);
  // True when events are waiting (the consumer's hint to hold its output for more).
  bool pending();
  // Consumer: stop the producer (its push returns false from now on).
  void close();

 private:
  std::mutex mu_;
  std::condition_variable has_data_, has_room_;
  std::vector<uint8_t> bytes_;
  size_t max_bytes_;
  bool ended_ = false;
  bool closed_ = false;
  std::exception_ptr error_;
};

}  // namespace rowpipe::tail

// The reader-to-decoder hand-off.
#include "event_queue.hpp"

namespace rowpipe::tail {

bool EventQueue::push(std::span<const uint8_t> event) {
  std::unique_lock lock(mu_);
  has_room_.wait(lock, [&] { return closed_ || bytes_.empty() || bytes_.size() + event.size() <= max_bytes_; });
  if (closed_) return false;
  bool was_empty = bytes_.empty();
  bytes_.insert(bytes_.end(), event.begin(), event.end());
  lock.unlock();
  if (was_empty) has_data_.notify_one();
  return true;
}

void EventQueue::finish(std::exception_ptr error) {
  {
    std::lock_guard lock(mu_);
    ended_ = true;
    error_ = std::move(error);
  }
  has_data_.notify_one();
}

bool EventQueue::take(Batch& batch, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  if (bytes_.empty() && !ended_) has_data_.wait_for(lock, timeout, [&] { return !bytes_.empty() || ended_; });
  batch.bytes.clear();
  batch.bytes.swap(bytes_);
  // The end comes with the last events: the consumer handles them first.
  batch.ended = ended_;
  batch.error = ended_ ? error_ : nullptr;
  bool got = !batch.bytes.empty() || batch.ended;
  lock.unlock();
  if (!batch.bytes.empty()) has_room_.notify_one();
  return got;
}

bool EventQueue::pending() {
  std::lock_guard lock(mu_);
  return !bytes_.empty();
}

void EventQueue::close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  has_room_.notify_all();
}

}  // namespace rowpipe::tail

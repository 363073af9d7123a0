// Confirmed-prefix tracking for mq-pipe pub.
#include "confirm_window.hpp"

#include "cli/error.hpp"

namespace rowpipe::mq {

void ConfirmWindow::add(uint64_t seq, const Boundary* boundary) {
  if (seq != next_) fail(ErrorKind::kInternal, "confirm window: line " + std::to_string(seq) + " added out of order");
  ++next_;
  done_.push_back(0);
  ++unconfirmed_;
  if (boundary == nullptr) return;
  if (count_ == ring_.size()) {
    // Full: grow, keeping the order (oldest first).
    std::vector<Entry> bigger(ring_.empty() ? 64 : ring_.size() * 2);
    for (size_t i = 0; i < count_; ++i) bigger[i] = std::move(ring_[(head_ + i) % ring_.size()]);
    ring_ = std::move(bigger);
    head_ = 0;
  }
  Entry& e = ring_[(head_ + count_) % ring_.size()];
  ++count_;
  e.seq = seq;
  e.checkpoint.binlog.file.assign(boundary->file);
  e.checkpoint.binlog.offset = boundary->offset;
  e.checkpoint.server_id = boundary->server_id;
  e.checkpoint.gtid.assign(boundary->gtid);
  e.checkpoint.applied.reset();
}

void ConfirmWindow::confirm(uint64_t seq) {
  if (seq < base_ || seq >= next_) return;
  uint8_t& d = done_[seq - base_];
  if (d != 0) return;
  d = 1;
  --unconfirmed_;
  while (!done_.empty() && done_.front() != 0) {
    done_.pop_front();
    ++base_;
  }
  const Entry* last = nullptr;
  while (count_ > 0 && ring_[head_].seq < base_) {
    last = &ring_[head_];
    head_ = (head_ + 1) % ring_.size();
    --count_;
  }
  if (last != nullptr) {
    if (!latest_) latest_.emplace();
    latest_->binlog.file.assign(last->checkpoint.binlog.file);  // reuses the capacity
    latest_->binlog.offset = last->checkpoint.binlog.offset;
    latest_->server_id = last->checkpoint.server_id;
    latest_->gtid.assign(last->checkpoint.gtid);
    moved_ = true;
  }
}

const Checkpoint* ConfirmWindow::take_checkpoint() {
  if (!moved_) return nullptr;
  moved_ = false;
  return &*latest_;
}

}  // namespace rowpipe::mq

// Which input lines the broker has confirmed, and the checkpoint that follows from it.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string_view>
#include <vector>

#include "io/checkpoint.hpp"

namespace rowpipe::mq {

// The end of a transaction as a line states it (views into the line: copied by add()).
struct Boundary {
  std::string_view file;  // of `next`
  uint64_t offset = 0;
  std::optional<uint32_t> server_id;
  std::string_view gtid;
};

// Lines are numbered 1, 2, 3, ... in input order and added in that order. Confirmations arrive in
// any order (Kafka partitions, AMQP queues); the window tracks the longest confirmed prefix, and the
// checkpoint is the boundary (a commit line's `next`) of the last transaction inside that prefix.
// Steady state allocates nothing per line: boundaries live in a ring whose strings are reused.
class ConfirmWindow {
 public:
  // Line `seq` (the next number) was handed to the broker. `boundary`: it ends a transaction.
  void add(uint64_t seq, const Boundary* boundary = nullptr);
  // Line `seq` needs no confirmation (skipped, or set aside in the dead-letter file).
  void add_done(uint64_t seq, const Boundary* boundary = nullptr) {
    add(seq, boundary);
    confirm(seq);
  }
  // The broker confirmed line `seq`. Unknown or repeated numbers are ignored.
  void confirm(uint64_t seq);

  // Every line up to and including this one is confirmed (0: none).
  uint64_t confirmed_through() const { return base_ - 1; }
  // Lines added and not confirmed.
  uint64_t unconfirmed() const { return unconfirmed_; }

  // Whether the checkpoint moved since the last take_checkpoint() (cheap: no clock, no copy).
  bool moved() const { return moved_; }
  // The checkpoint of the confirmed prefix, when it moved since the last call; else nullptr.
  const Checkpoint* take_checkpoint();
  // The latest checkpoint of the confirmed prefix (moved or not).
  const std::optional<Checkpoint>& checkpoint() const { return latest_; }

 private:
  struct Entry {
    uint64_t seq = 0;
    Checkpoint checkpoint;
  };

  uint64_t base_ = 1;  // lowest unconfirmed line
  uint64_t next_ = 1;  // next line to be added
  uint64_t unconfirmed_ = 0;
  std::deque<uint8_t> done_;  // done_[i]: line base_ + i confirmed
  std::vector<Entry> ring_;   // pending boundaries, oldest at head_
  size_t head_ = 0;
  size_t count_ = 0;
  std::optional<Checkpoint> latest_;
  bool moved_ = false;
};

}  // namespace rowpipe::mq

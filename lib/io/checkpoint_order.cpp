// Checkpoint ordering.
#include "io/checkpoint_order.hpp"

namespace rowpipe {

std::strong_ordering compare_checkpoints(const Checkpoint& a, const Checkpoint& b) {
  if (auto c = a.binlog <=> b.binlog; c != 0) return c;
  if (!a.applied || !b.applied) return a.applied.has_value() <=> b.applied.has_value();
  return *a.applied <=> *b.applied;
}

}  // namespace rowpipe

// The order of checkpoints of one stream, for sinks that keep several or must notice one going back.
#pragma once

#include <compare>

#include "io/checkpoint.hpp"

namespace rowpipe {

// By `binlog`, then a checkpoint without `applied` before one with it (a chunk lies inside the
// transaction that starts at `binlog`), then by `applied`.
std::strong_ordering compare_checkpoints(const Checkpoint& a, const Checkpoint& b);

}  // namespace rowpipe

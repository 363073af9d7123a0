// mq-pipe pub, sub and lag: the three commands, each run from a resolved Config.
#pragma once

#include "config.hpp"

namespace rowpipe::mq {

int run_pub(const Config& c);
int run_sub(const Config& c);
int run_lag(const Config& c);

}  // namespace rowpipe::mq

// binlog-tail FILE...: decodes binary and relay log files, in the order given, into lines on stdout.
#pragma once

#include "binlog/table_map.hpp"
#include "config.hpp"

namespace rowpipe::tail {

// Checks every file can be read (Error(kNoInput) naming the first that cannot), then decodes them:
// from --from (a transaction boundary) to --to or the end, or until SIGINT/SIGTERM, which stop at
// the next transaction boundary. Output is written in large blocks, ending at transaction ends
// whenever transactions are smaller than a block. On an error (Error from the decoder: kProtocol
// for a truncated or corrupt file, kData for data it refuses) the lines of every event before the
// damage are written, then the error is thrown. Returns the exit code.
int run_files(const Config& config, binlog::SchemaProvider* schema);

}  // namespace rowpipe::tail

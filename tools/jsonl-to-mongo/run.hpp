// The body of jsonl-to-mongo once its options are parsed.
#pragma once

#include "config.hpp"

namespace rowpipe::mongo_sink {

// Reads the input and applies it (or prints the stored checkpoint); returns the exit code. Errors that
// end the run are thrown as Error and name the last applied position.
int run(const Config& config);

}  // namespace rowpipe::mongo_sink

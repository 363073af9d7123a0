// jsonl-to-mongo: applies change lines to MongoDB as typed documents exactly once (being built; see
// man/jsonl-to-mongo.1).
#include "cli/stub.hpp"

int main(int argc, char** argv) {
  return rowpipe::run_unimplemented_tool("jsonl-to-mongo", "Apply rowpipe-events(5) lines to MongoDB, exactly once.",
                                         argc, argv);
}

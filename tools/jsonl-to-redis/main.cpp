// jsonl-to-redis: applies change lines to Redis hashes exactly once (being built; see man/jsonl-to-redis.1).
#include "cli/stub.hpp"

int main(int argc, char** argv) {
  return rowpipe::run_unimplemented_tool("jsonl-to-redis", "Apply rowpipe-events(5) lines to Redis, exactly once.",
                                         argc, argv);
}

// binlog-tail: decodes the MySQL/MariaDB row binlog into rowpipe-events(5) lines (being built; see man/binlog-tail.1).
#include "cli/stub.hpp"

int main(int argc, char** argv) {
  return rowpipe::run_unimplemented_tool(
      "binlog-tail", "Decode MySQL/MariaDB row binlogs (files or a live replica stream) into JSON lines.", argc, argv);
}

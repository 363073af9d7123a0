// mq-pipe: carries lines to RabbitMQ or Kafka and back (being built; see man/mq-pipe.1).
#include "cli/stub.hpp"

int main(int argc, char** argv) {
  return rowpipe::run_unimplemented_tool(
      "mq-pipe", "Publish stdin lines to RabbitMQ or Kafka (pub), or consume them to stdout (sub).", argc, argv);
}

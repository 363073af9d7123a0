// mq-pipe lag: the backlog as one JSON line (RabbitMQ queue depth, or Kafka offsets per partition).
#include <unistd.h>

#include <string>

#include "amqp_setup.hpp"
#include "commands.hpp"
#include "event/json_writer.hpp"
#include "io/output.hpp"
#include "kafka_common.hpp"

namespace rowpipe::mq {
namespace {

std::string amqp_lag(const Config& c) {
  AmqpConnection conn = connect_amqp(c.url, amqp_options(c));
  QueueState q = declare_queue(conn.get(), c.queue, true);
  close_amqp(conn.get());
  std::string out;
  json::Writer w(out);
  w.begin_object()
      .key("queue")
      .string(c.queue)
      .key("messages")
      .integer(q.messages)
      .key("consumers")
      .integer(q.consumers);
  w.end_object();
  return out;
}

std::string kafka_lag(const Config& c) {
  KafkaState state(c);
  KafkaConf conf = state.base_conf();
  // A consumer handle only to read the group's committed offsets: it never subscribes, so the group
  // does not notice it.
  if (!c.group.empty()) set_property(conf.get(), "group.id", c.group);
  set_property(conf.get(), "enable.auto.commit", "false");
  apply_properties(conf.get(), c.properties);
  KafkaClient rk = create_kafka(RD_KAFKA_CONSUMER, std::move(conf));
  const int timeout = static_cast<int>(c.timeout_s * 1000);
  KafkaTopic topic(rd_kafka_topic_new(rk.get(), c.topic.c_str(), nullptr));
  KafkaMetadata md = topic_metadata(rk.get(), topic.get(), timeout);
  const rd_kafka_metadata_topic_t& t = md->topics[0];
  KafkaPartitions list(rd_kafka_topic_partition_list_new(t.partition_cnt));
  for (int i = 0; i < t.partition_cnt; ++i)
    rd_kafka_topic_partition_list_add(list.get(), c.topic.c_str(), t.partitions[i].id);
  rd_kafka_topic_partition_list_sort(list.get(), nullptr, nullptr);
  if (!c.group.empty())
    check_kafka(rd_kafka_committed(rk.get(), list.get(), timeout), "reading the committed offsets of group " + c.group);

  std::string out;
  json::Writer w(out);
  w.begin_object().key("topic").string(c.topic);
  if (!c.group.empty()) w.key("group").string(c.group);
  w.key("partitions").begin_array();
  int64_t total = 0;
  for (int i = 0; i < list->cnt; ++i) {
    const rd_kafka_topic_partition_t& tp = list->elems[i];
    int64_t low = 0, high = 0;
    check_kafka(rd_kafka_query_watermark_offsets(rk.get(), c.topic.c_str(), tp.partition, &low, &high, timeout),
                "reading the offsets of " + c.topic + " partition " + std::to_string(tp.partition));
    w.begin_object().key("partition").integer(tp.partition).key("start").integer(low).key("end").integer(high);
    int64_t backlog = high - low;
    if (!c.group.empty()) {
      w.key("committed");
      if (tp.offset >= 0) {
        w.integer(tp.offset);
        backlog = high - std::max(tp.offset, low);
      } else {
        w.null();  // nothing committed: the group would read everything there is
      }
      w.key("lag").integer(backlog);
    }
    w.end_object();
    total += backlog;
  }
  w.end_array().key(c.group.empty() ? "messages" : "lag").integer(total).end_object();
  rd_kafka_consumer_close(rk.get());
  return out;
}

}  // namespace

int run_lag(const Config& c) {
  std::string line = c.kafka ? kafka_lag(c) : amqp_lag(c);
  line += '\n';
  Output out(STDOUT_FILENO, "stdout");
  out.write(line);
  out.flush();
  return 0;
}

}  // namespace rowpipe::mq

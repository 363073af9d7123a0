// Kafka through librdkafka: RAII handles, configuration from a URL and -X properties, errors mapped to kinds.
#pragma once

#include <librdkafka/rdkafka.h>

#include <string>
#include <string_view>
#include <vector>

#include "cli/error.hpp"
#include "clients/handle.hpp"
#include "clients/url.hpp"

namespace rowpipe {

using KafkaClient = Handle<rd_kafka_t, rd_kafka_destroy>;
using KafkaConf = Handle<rd_kafka_conf_t, rd_kafka_conf_destroy>;
using KafkaTopic = Handle<rd_kafka_topic_t, rd_kafka_topic_destroy>;
using KafkaQueue = Handle<rd_kafka_queue_t, rd_kafka_queue_destroy>;
using KafkaMessage = Handle<rd_kafka_message_t, rd_kafka_message_destroy>;
using KafkaPartitions = Handle<rd_kafka_topic_partition_list_t, rd_kafka_topic_partition_list_destroy>;
using KafkaError = Handle<rd_kafka_error_t, rd_kafka_error_destroy>;
using KafkaEvent = Handle<rd_kafka_event_t, rd_kafka_event_destroy>;
using KafkaMetadata = Handle<const rd_kafka_metadata_t, rd_kafka_metadata_destroy>;
using KafkaAdminOptions = Handle<rd_kafka_AdminOptions_t, rd_kafka_AdminOptions_destroy>;
using KafkaNewTopic = Handle<rd_kafka_NewTopic_t, rd_kafka_NewTopic_destroy>;

// A configuration for the brokers of `url` (kafka://[USER@]HOST:PORT[,...]/TOPIC): bootstrap.servers,
// and when the URL names a user, SASL PLAIN over plaintext (security.protocol=sasl_plaintext,
// sasl.mechanism=PLAIN, both overridable with -X) with the password from resolve_password (URL,
// KAFKA_PASSWORD, then `password_file`). Set the tool's own defaults next, then apply_properties() so
// that -X wins. Throws Error(kConfig) naming the property.
KafkaConf kafka_conf(const Url& url, const std::string& password_file = {});

// Sets one property; throws Error(kConfig) with librdkafka's message (naming the property, never a
// secret value).
void set_property(rd_kafka_conf_t* conf, std::string_view name, std::string_view value);

// Applies NAME=VALUE properties in order (kcat's -X); throws Error(kUsage) for a malformed one.
void apply_properties(rd_kafka_conf_t* conf, const std::vector<std::string>& properties);

// Creates a producer or consumer; librdkafka takes `conf` over on success. Throws Error(kConfig) with
// librdkafka's message.
KafkaClient create_kafka(rd_kafka_type_t type, KafkaConf conf);

// Which category a librdkafka error belongs to: transport, timeouts, leader and coordinator moves ->
// kUnavailable; authentication and authorization -> kPermission; message too large -> kData; unknown
// topic, partition or group, invalid configuration -> kConfig; fatal idempotence and decode errors ->
// kProtocol.
ErrorKind kafka_error_kind(rd_kafka_resp_err_t err) noexcept;

// Throws Error(kafka_error_kind(err)) with "context: librdkafka's text".
[[noreturn]] void throw_kafka_error(rd_kafka_resp_err_t err, std::string_view context);
inline void check_kafka(rd_kafka_resp_err_t err, std::string_view context) {
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) throw_kafka_error(err, context);
}
// Takes ownership of `error` (may be null: no error) and throws it.
void check_kafka(rd_kafka_error_t* error, std::string_view context);

// The topic's metadata (partitions), waiting up to timeout_ms. Throws kUnavailable when the cluster
// does not answer, kConfig when the topic does not exist.
KafkaMetadata topic_metadata(rd_kafka_t* rk, rd_kafka_topic_t* topic, int timeout_ms);

// Creates `topic` with `partitions` partitions (replication factor: the broker's default) unless it
// exists. Throws on any other failure.
void create_topic(rd_kafka_t* rk, const std::string& topic, int partitions, int timeout_ms);

}  // namespace rowpipe

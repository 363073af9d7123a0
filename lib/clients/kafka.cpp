// Kafka configuration from URLs and properties, handle creation, error categories, topic helpers.
#include "clients/kafka.hpp"

#include <algorithm>
#include <array>

namespace rowpipe {
namespace {

bool is_secret_property(std::string_view name) { return name.find("password") != std::string_view::npos; }

}  // namespace

void set_property(rd_kafka_conf_t* conf, std::string_view name, std::string_view value) {
  std::array<char, 512> errstr{};
  std::string n(name);
  std::string v(value);
  if (rd_kafka_conf_set(conf, n.c_str(), v.c_str(), errstr.data(), errstr.size()) != RD_KAFKA_CONF_OK) {
    std::string message = errstr.data();
    // librdkafka quotes the rejected value in some messages: never show a secret.
    if (is_secret_property(name)) message = "invalid value";
    fail(ErrorKind::kConfig, "Kafka property " + n + ": " + message);
  }
  std::fill(v.begin(), v.end(), '\0');
}

void apply_properties(rd_kafka_conf_t* conf, const std::vector<std::string>& properties) {
  for (const std::string& p : properties) {
    size_t eq = p.find('=');
    if (eq == std::string::npos || eq == 0)
      fail(ErrorKind::kUsage, "-X expects PROPERTY=VALUE, got \"" + p.substr(0, eq) + "\"");
    set_property(conf, std::string_view(p).substr(0, eq), std::string_view(p).substr(eq + 1));
  }
}

KafkaConf kafka_conf(const Url& url, const std::string& password_file) {
  if (url.scheme != Scheme::kKafka) fail(ErrorKind::kUsage, "expected a kafka:// URL, got " + url.redacted());
  KafkaConf conf(rd_kafka_conf_new());
  if (!conf) fail(ErrorKind::kInternal, "cannot allocate a Kafka configuration");
  set_property(conf.get(), "bootstrap.servers", url.host_list());
  if (!url.user.empty()) {
    set_property(conf.get(), "security.protocol", "sasl_plaintext");
    set_property(conf.get(), "sasl.mechanism", "PLAIN");
    set_property(conf.get(), "sasl.username", url.user);
    if (std::optional<std::string> password = resolve_password(url, password_file)) {
      set_property(conf.get(), "sasl.password", *password);
      std::fill(password->begin(), password->end(), '\0');
    }
  }
  return conf;
}

KafkaClient create_kafka(rd_kafka_type_t type, KafkaConf conf) {
  std::array<char, 512> errstr{};
  KafkaClient rk(rd_kafka_new(type, conf.get(), errstr.data(), errstr.size()));
  if (!rk)
    fail(ErrorKind::kConfig, std::string("cannot create the Kafka ") +
                                 (type == RD_KAFKA_PRODUCER ? "producer" : "consumer") + ": " + errstr.data());
  (void)conf.release();  // owned by rk now
  return rk;
}

ErrorKind kafka_error_kind(rd_kafka_resp_err_t err) noexcept {
  switch (err) {
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__RESOLVE:
    case RD_KAFKA_RESP_ERR__WAIT_COORD:
    case RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE:
    case RD_KAFKA_RESP_ERR__NODE_UPDATE:
    case RD_KAFKA_RESP_ERR__PREV_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
    case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
    case RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR:
    case RD_KAFKA_RESP_ERR_THROTTLING_QUOTA_EXCEEDED: return ErrorKind::kUnavailable;
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED: return ErrorKind::kPermission;
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_MSG:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE: return ErrorKind::kData;
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR__UNKNOWN_GROUP:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
    case RD_KAFKA_RESP_ERR__SSL:
    case RD_KAFKA_RESP_ERR_INVALID_CONFIG:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR:
    case RD_KAFKA_RESP_ERR_INVALID_PARTITIONS:
    case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
    case RD_KAFKA_RESP_ERR_INVALID_REQUIRED_ACKS:
    case RD_KAFKA_RESP_ERR_INVALID_GROUP_ID: return ErrorKind::kConfig;
    case RD_KAFKA_RESP_ERR__CRIT_SYS_RESOURCE:
    case RD_KAFKA_RESP_ERR__FAIL: return ErrorKind::kInternal;
    default: return ErrorKind::kProtocol;
  }
}

void throw_kafka_error(rd_kafka_resp_err_t err, std::string_view context) {
  fail(kafka_error_kind(err), std::string(context) + ": " + rd_kafka_err2str(err));
}

void check_kafka(rd_kafka_error_t* error, std::string_view context) {
  KafkaError owned(error);
  if (!owned) return;
  fail(kafka_error_kind(rd_kafka_error_code(owned.get())),
       std::string(context) + ": " + rd_kafka_error_string(owned.get()));
}

KafkaMetadata topic_metadata(rd_kafka_t* rk, rd_kafka_topic_t* topic, int timeout_ms) {
  const rd_kafka_metadata_t* raw = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, topic, &raw, timeout_ms);
  KafkaMetadata md(raw);
  const std::string name = rd_kafka_topic_name(topic);
  check_kafka(err, "reading the metadata of topic " + name);
  if (md->topic_cnt != 1) fail(ErrorKind::kProtocol, "metadata of topic " + name + ": no topic in the answer");
  check_kafka(md->topics[0].err, "topic " + name);
  if (md->topics[0].partition_cnt <= 0) fail(ErrorKind::kConfig, "topic " + name + " has no partitions");
  return md;
}

void create_topic(rd_kafka_t* rk, const std::string& topic, int partitions, int timeout_ms) {
  std::array<char, 512> errstr{};
  KafkaNewTopic nt(rd_kafka_NewTopic_new(topic.c_str(), partitions, -1, errstr.data(), errstr.size()));
  if (!nt) fail(ErrorKind::kConfig, "topic " + topic + ": " + errstr.data());
  KafkaAdminOptions options(rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS));
  if (rd_kafka_AdminOptions_set_operation_timeout(options.get(), timeout_ms, errstr.data(), errstr.size()) !=
      RD_KAFKA_RESP_ERR_NO_ERROR)
    fail(ErrorKind::kInternal, std::string("admin options: ") + errstr.data());
  if (rd_kafka_AdminOptions_set_request_timeout(options.get(), timeout_ms, errstr.data(), errstr.size()) !=
      RD_KAFKA_RESP_ERR_NO_ERROR)
    fail(ErrorKind::kInternal, std::string("admin options: ") + errstr.data());
  KafkaQueue queue(rd_kafka_queue_new(rk));
  rd_kafka_NewTopic_t* topics[] = {nt.get()};
  rd_kafka_CreateTopics(rk, topics, 1, options.get(), queue.get());
  KafkaEvent ev(rd_kafka_queue_poll(queue.get(), timeout_ms + 5000));
  if (!ev) fail(ErrorKind::kUnavailable, "creating topic " + topic + ": no answer from the cluster");
  check_kafka(rd_kafka_event_error(ev.get()), "creating topic " + topic);
  const rd_kafka_CreateTopics_result_t* result = rd_kafka_event_CreateTopics_result(ev.get());
  if (result == nullptr) fail(ErrorKind::kProtocol, "creating topic " + topic + ": unexpected answer");
  size_t n = 0;
  const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(result, &n);
  for (size_t i = 0; i < n; ++i) {
    rd_kafka_resp_err_t err = rd_kafka_topic_result_error(results[i]);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) continue;
    const char* text = rd_kafka_topic_result_error_string(results[i]);
    fail(kafka_error_kind(err), "creating topic " + topic + ": " + (text != nullptr ? text : rd_kafka_err2str(err)));
  }
}

}  // namespace rowpipe

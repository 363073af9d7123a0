// librdkafka callbacks and the wake-up pipe.
#include "kafka_common.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "cli/log.hpp"

namespace rowpipe::mq {

KafkaConf KafkaState::base_conf() {
  KafkaConf conf = kafka_conf(c_.url, c_.password_file);
  rd_kafka_conf_set_opaque(conf.get(), this);
  rd_kafka_conf_set_error_cb(conf.get(), &KafkaState::error_cb);
  rd_kafka_conf_set_log_cb(conf.get(), &KafkaState::log_cb);
  set_property(conf.get(), "client.id", "rowpipe-mq-pipe");
  set_property(conf.get(), "socket.connection.setup.timeout.ms", std::to_string(c_.timeout_s * 1000));
  // librdkafka's own informational lines would fill stderr during a broker restart.
  set_property(conf.get(), "log_level", c_.verbose ? "6" : "3");
  return conf;
}

void KafkaState::check_fatal(rd_kafka_t* rk) const {
  std::array<char, 512> errstr{};
  rd_kafka_resp_err_t err = rd_kafka_fatal_error(rk, errstr.data(), errstr.size());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    fail(kafka_error_kind(err), std::string("fatal Kafka error: ") + errstr.data());
}

void KafkaState::error_cb(rd_kafka_t* /*rk*/, int err, const char* reason, void* opaque) {
  auto* self = static_cast<KafkaState*>(opaque);
  auto code = static_cast<rd_kafka_resp_err_t>(err);
  self->last_error_ = reason;
  if (code == RD_KAFKA_RESP_ERR__FATAL) return;  // check_fatal() reports it
  bool transient = kafka_error_kind(code) == ErrorKind::kUnavailable;
  // One warning per 10 s: a broker restart makes librdkafka report every failed reconnect.
  auto now = std::chrono::steady_clock::now();
  if (transient && now - self->last_warning_ < std::chrono::seconds(10)) return;
  self->last_warning_ = now;
  if (transient)
    log::warning(std::string("Kafka: ") + reason + " (retrying)");
  else
    log::error(std::string("Kafka: ") + reason);
}

void KafkaState::log_cb(const rd_kafka_t* /*rk*/, int level, const char* fac, const char* buf) {
  log::Level l = level <= 3 ? log::Level::kInfo : log::Level::kDebug;  // errors also reach error_cb
  if (log::enabled(l)) log::write(l, {}, std::string("librdkafka ") + fac + ": " + buf);
}

WakePipe::WakePipe() {
  if (::pipe2(fds_, O_CLOEXEC | O_NONBLOCK) != 0)
    fail(ErrorKind::kInternal, std::string("pipe: ") + std::strerror(errno));
}

WakePipe::~WakePipe() {
  for (int fd : fds_)
    if (fd >= 0) ::close(fd);
}

void WakePipe::attach(rd_kafka_queue_t* queue) { rd_kafka_queue_io_event_enable(queue, fds_[1], "1", 1); }

void WakePipe::drain() {
  char buf[256];
  while (::read(fds_[0], buf, sizeof buf) > 0) {
  }
}

void wait_readable(int fd1, int fd2, int timeout_ms) {
  pollfd fds[2];
  nfds_t n = 0;
  if (fd1 >= 0) fds[n++] = pollfd{fd1, POLLIN, 0};
  if (fd2 >= 0) fds[n++] = pollfd{fd2, POLLIN, 0};
  ::poll(fds, n, timeout_ms);
}

}  // namespace rowpipe::mq

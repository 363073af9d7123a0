// Exchange, queue and binding declarations for mq-pipe, and reconnection pacing.
#include "amqp_setup.hpp"

#include <algorithm>

namespace rowpipe::mq {

std::string default_binding_key(std::string_view exchange_type) {
  if (exchange_type == "topic") return "#";
  if (exchange_type == "x-consistent-hash") return "1";
  return "";
}

void declare_exchange(amqp_connection_state_t conn, const std::string& name, const std::string& type) {
  if (amqp_exchange_declare(conn, kAmqpChannel, amqp_view(name), amqp_view(type), 0, 1, 0, 0, amqp_empty_table) ==
      nullptr)
    throw_amqp_rpc_error(conn, "declaring exchange " + name + " (type " + type + ")");
}

QueueState declare_queue(amqp_connection_state_t conn, const std::string& name, bool passive) {
  amqp_queue_declare_ok_t* ok =
      amqp_queue_declare(conn, kAmqpChannel, amqp_view(name), passive ? 1 : 0, 1, 0, 0, amqp_empty_table);
  if (ok == nullptr) throw_amqp_rpc_error(conn, (passive ? "looking up queue " : "declaring queue ") + name);
  return QueueState{ok->message_count, ok->consumer_count};
}

void bind_queue(amqp_connection_state_t conn, const std::string& queue, const std::string& exchange,
                const std::string& key) {
  if (amqp_queue_bind(conn, kAmqpChannel, amqp_view(queue), amqp_view(exchange), amqp_view(key), amqp_empty_table) ==
      nullptr)
    throw_amqp_rpc_error(conn, "binding queue " + queue + " to exchange " + exchange);
}

AmqpOptions amqp_options(const Config& c) {
  AmqpOptions o;
  o.password_file = c.password_file;
  o.timeout = std::chrono::seconds(c.timeout_s);
  return o;
}

void Backoff::failed(std::string why) {
  auto now = Clock::now();
  if (!down_since_) {
    down_since_ = now;
    delay_ = std::chrono::milliseconds(100);
  } else {
    delay_ = std::min<std::chrono::milliseconds>(delay_ * 2, std::chrono::seconds(5));
  }
  next_ = now + delay_;
  last_error_ = std::move(why);
}

void Backoff::succeeded() {
  down_since_.reset();
  delay_ = std::chrono::milliseconds(100);
}

int Backoff::wait_ms() const {
  if (due()) return 0;
  return static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(next_ - Clock::now()).count()) + 1;
}

long Backoff::down_for_s() const {
  if (!down_since_) return 0;
  return static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - *down_since_).count());
}

std::string answer_close(amqp_connection_state_t conn, const amqp_frame_t& frame, const std::string& what) {
  if (frame.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD) {
    const auto* m = static_cast<const amqp_channel_close_t*>(frame.payload.method.decoded);
    amqp_channel_close_ok_t ok{};
    amqp_send_method(conn, frame.channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
    fail(amqp_reply_code_kind(m->reply_code),
         what + ": channel closed by the broker: " + std::string(amqp_text(m->reply_text)));
  }
  const auto* m = static_cast<const amqp_connection_close_t*>(frame.payload.method.decoded);
  std::string text(amqp_text(m->reply_text));
  int code = m->reply_code;
  amqp_connection_close_ok_t ok{};
  amqp_send_method(conn, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
  if (amqp_reply_code_kind(code) != ErrorKind::kUnavailable)
    fail(amqp_reply_code_kind(code), "connection closed by the broker: " + text);
  return text;
}

}  // namespace rowpipe::mq

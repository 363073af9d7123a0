// Connecting to RabbitMQ from a URL, logging in, and turning rabbitmq-c replies into Errors.
#include "clients/amqp.hpp"

#include <amqp_tcp_socket.h>
#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace rowpipe {
namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>(ms.count() % 1000 * 1000);
  return tv;
}

std::string server_text(amqp_bytes_t text, int code) {
  return std::string(amqp_text(text)) + " (AMQP " + std::to_string(code) + ")";
}

}  // namespace

ErrorKind amqp_status_kind(int status) noexcept {
  switch (status) {
    case AMQP_STATUS_HOSTNAME_RESOLUTION_FAILED:
    case AMQP_STATUS_CONNECTION_CLOSED:
    case AMQP_STATUS_SOCKET_ERROR:
    case AMQP_STATUS_TIMEOUT:
    case AMQP_STATUS_HEARTBEAT_TIMEOUT:
    case AMQP_STATUS_SOCKET_CLOSED:
    case AMQP_STATUS_TCP_ERROR: return ErrorKind::kUnavailable;
    case AMQP_STATUS_NO_MEMORY: return ErrorKind::kInternal;
    case AMQP_STATUS_INVALID_PARAMETER:
    case AMQP_STATUS_BROKER_UNSUPPORTED_SASL_METHOD:
    case AMQP_STATUS_UNSUPPORTED: return ErrorKind::kConfig;
    default: return ErrorKind::kProtocol;
  }
}

ErrorKind amqp_reply_code_kind(int code) noexcept {
  switch (code) {
    case AMQP_ACCESS_REFUSED:
    case AMQP_NOT_ALLOWED: return ErrorKind::kPermission;
    case AMQP_NOT_FOUND:
    case AMQP_RESOURCE_LOCKED:
    case AMQP_PRECONDITION_FAILED:
    case AMQP_NOT_IMPLEMENTED: return ErrorKind::kConfig;
    case AMQP_CONTENT_TOO_LARGE: return ErrorKind::kData;
    case AMQP_CONNECTION_FORCED:
    case AMQP_RESOURCE_ERROR:
    case AMQP_INTERNAL_ERROR: return ErrorKind::kUnavailable;
    default: return ErrorKind::kProtocol;
  }
}

void check_amqp_reply(const amqp_rpc_reply_t& reply, std::string_view context) {
  switch (reply.reply_type) {
    case AMQP_RESPONSE_NORMAL: return;
    case AMQP_RESPONSE_NONE: fail(ErrorKind::kProtocol, std::string(context) + ": no reply from the broker");
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
      fail(amqp_status_kind(reply.library_error),
           std::string(context) + ": " + amqp_error_string2(reply.library_error));
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      if (reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD && reply.reply.decoded != nullptr) {
        const auto* m = static_cast<const amqp_connection_close_t*>(reply.reply.decoded);
        fail(amqp_reply_code_kind(m->reply_code),
             std::string(context) + ": connection closed by the broker: " + server_text(m->reply_text, m->reply_code));
      }
      if (reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD && reply.reply.decoded != nullptr) {
        const auto* m = static_cast<const amqp_channel_close_t*>(reply.reply.decoded);
        fail(amqp_reply_code_kind(m->reply_code),
             std::string(context) + ": channel closed by the broker: " + server_text(m->reply_text, m->reply_code));
      }
      fail(ErrorKind::kProtocol, std::string(context) + ": unexpected method " + amqp_method_name(reply.reply.id));
  }
  fail(ErrorKind::kProtocol, std::string(context) + ": unknown reply type");
}

void check_amqp_status(int status, std::string_view context) {
  if (status < 0) fail(amqp_status_kind(status), std::string(context) + ": " + amqp_error_string2(status));
}

void throw_amqp_rpc_error(amqp_connection_state_t conn, std::string_view context) {
  check_amqp_reply(amqp_get_rpc_reply(conn), context);
  fail(ErrorKind::kProtocol, std::string(context) + ": no answer");
}

AmqpConnection connect_amqp(const Url& url, const AmqpOptions& options) {
  if (url.scheme != Scheme::kAmqp) fail(ErrorKind::kUsage, "expected an amqp:// URL, got " + url.redacted());
  const std::string where = url.redacted();
  AmqpConnection conn(amqp_new_connection());
  if (!conn) fail(ErrorKind::kInternal, "cannot allocate an AMQP connection");
  amqp_socket_t* socket = amqp_tcp_socket_new(conn.get());  // owned by the connection
  if (socket == nullptr) fail(ErrorKind::kInternal, "cannot allocate an AMQP socket");
  timeval tv = to_timeval(options.timeout);
  errno = 0;
  if (int status = amqp_socket_open_noblock(socket, url.host().host.c_str(), url.host().port, &tv); status < 0) {
    // rabbitmq-c says only "a socket error occurred"; errno tells which, when the failure was not
    // left behind by its non-blocking connect (then it is a stale EINPROGRESS).
    std::string why = amqp_error_string2(status);
    if ((status == AMQP_STATUS_SOCKET_ERROR || status == AMQP_STATUS_TCP_ERROR) && errno != 0 && errno != EINPROGRESS)
      why = std::strerror(errno);
    else if (status == AMQP_STATUS_SOCKET_ERROR)
      why += " (refused, unreachable or timed out)";
    fail(amqp_status_kind(status), "cannot connect to " + where + ": " + why);
  }
  check_amqp_status(amqp_set_handshake_timeout(conn.get(), &tv), "AMQP handshake timeout");
  check_amqp_status(amqp_set_rpc_timeout(conn.get(), &tv), "AMQP RPC timeout");

  std::string vhost = url.path.empty() ? std::string("/") : url.path;
  std::string user = url.user.empty() ? std::string("guest") : url.user;
  std::string password = resolve_password(url, options.password_file).value_or(std::string());
  amqp_rpc_reply_t reply = amqp_login(conn.get(), vhost.c_str(), 0, AMQP_DEFAULT_FRAME_SIZE, options.heartbeat_s,
                                      AMQP_SASL_METHOD_PLAIN, user.c_str(), password.c_str());
  std::fill(password.begin(), password.end(), '\0');
  if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && reply.library_error == AMQP_STATUS_CONNECTION_CLOSED) {
    // Brokers without the authentication_failure_close capability just hang up on bad credentials.
    fail(ErrorKind::kPermission, "login to " + where + " refused (bad credentials or vhost?)");
  }
  check_amqp_reply(reply, "login to " + where);
  if (amqp_channel_open(conn.get(), kAmqpChannel) == nullptr)
    throw_amqp_rpc_error(conn.get(), "opening a channel on " + where);
  return conn;
}

void close_amqp(amqp_connection_state_t conn) {
  check_amqp_reply(amqp_channel_close(conn, kAmqpChannel, AMQP_REPLY_SUCCESS), "closing the AMQP channel");
  check_amqp_reply(amqp_connection_close(conn, AMQP_REPLY_SUCCESS), "closing the AMQP connection");
}

}  // namespace rowpipe

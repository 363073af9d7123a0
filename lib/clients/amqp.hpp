// RabbitMQ (AMQP 0-9-1) through rabbitmq-c: RAII connection, connecting from a URL, replies mapped to kinds.
#pragma once

#include <amqp.h>
#include <amqp_framing.h>

#include <chrono>
#include <string>
#include <string_view>

#include "cli/error.hpp"
#include "clients/handle.hpp"
#include "clients/url.hpp"

namespace rowpipe {

// amqp_connection_state_t is a pointer to this opaque struct.
using AmqpConnection = Handle<amqp_connection_state_t_, amqp_destroy_connection>;

struct AmqpOptions {
  std::string password_file;                  // see resolve_password
  std::chrono::milliseconds timeout{10'000};  // TCP connect, login and every RPC (declare, qos, ...)
  int heartbeat_s = 30;                       // 0: none
};

// The channel connect_amqp() opens; tools use this one channel.
inline constexpr amqp_channel_t kAmqpChannel = 1;

// Connects to `url` (amqp://USER[:PASS]@HOST[:PORT][/VHOST]; no path or an empty one is vhost "/"),
// logs in with SASL PLAIN (user "guest" when the URL names none; password from resolve_password) and
// opens channel kAmqpChannel. Throws Error: kUnavailable when unreachable, kPermission when the
// broker refuses the credentials or the vhost; messages name the redacted URL.
AmqpConnection connect_amqp(const Url& url, const AmqpOptions& options = {});

// Category of a rabbitmq-c status code (amqp_status_enum): socket, timeout and closed-connection
// errors -> kUnavailable; out of memory -> kInternal; anything else -> kProtocol.
ErrorKind amqp_status_kind(int status) noexcept;

// Category of an AMQP reply code from connection.close/channel.close: 403 ACCESS_REFUSED and 530
// NOT_ALLOWED -> kPermission; 404 NOT_FOUND, 405 RESOURCE_LOCKED, 406 PRECONDITION_FAILED,
// 540 NOT_IMPLEMENTED -> kConfig; 311 CONTENT_TOO_LARGE -> kData; 320 CONNECTION_FORCED,
// 506 RESOURCE_ERROR, 541 INTERNAL_ERROR -> kUnavailable; other codes -> kProtocol.
ErrorKind amqp_reply_code_kind(int code) noexcept;

// Throws for a reply that is not AMQP_RESPONSE_NORMAL: "context: " + the server's reply text and
// code, or rabbitmq-c's message.
void check_amqp_reply(const amqp_rpc_reply_t& reply, std::string_view context);
// Throws for a negative status (int-returning calls such as amqp_basic_publish).
void check_amqp_status(int status, std::string_view context);
// After an RPC wrapper returned nullptr: throws the connection's last RPC reply.
[[noreturn]] void throw_amqp_rpc_error(amqp_connection_state_t conn, std::string_view context);

// Closes the channel and the connection politely (so the broker requeues nothing in a hurry and
// logs no error); throws on failure. Destroying the handle alone never throws.
void close_amqp(amqp_connection_state_t conn);

// Non-owning views between amqp_bytes_t and std::string_view.
inline amqp_bytes_t amqp_view(std::string_view s) {
  return amqp_bytes_t{s.size(), const_cast<char*>(s.data())};  // rabbitmq-c only reads through it
}
inline std::string_view amqp_text(amqp_bytes_t b) {
  return b.len == 0 ? std::string_view() : std::string_view(static_cast<const char*>(b.bytes), b.len);
}

}  // namespace rowpipe

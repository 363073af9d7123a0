// Connecting to MongoDB from a URL and mapping libmongoc errors onto rowpipe's error kinds.
#include "clients/mongo.hpp"

#include <cstring>

#include "cli/log.hpp"

namespace rowpipe {
namespace {

// Server error codes whose cure is to wait and retry: the server is shutting down, stepping down,
// unreachable from a router, or the write collided with another one.
bool transient_server_code(int64_t code) {
  switch (code) {
    case 6:      // HostUnreachable
    case 7:      // HostNotFound
    case 24:     // LockTimeout
    case 46:     // LockBusy
    case 50:     // MaxTimeMSExpired
    case 64:     // WriteConcernFailed
    case 89:     // NetworkTimeout
    case 91:     // ShutdownInProgress
    case 112:    // WriteConflict
    case 117:    // ConflictingOperationInProgress
    case 134:    // ReadConcernMajorityNotAvailableYet
    case 189:    // PrimarySteppedDown
    case 262:    // ExceededTimeLimit
    case 9001:   // SocketException
    case 10107:  // NotWritablePrimary
    case 11600:  // InterruptedAtShutdown
    case 11602:  // InterruptedDueToReplStateChange
    case 13435:  // NotPrimaryNoSecondaryOk
    case 13436:  // NotPrimaryOrSecondary
      return true;
    default: return false;
  }
}

}  // namespace

MongoLibrary::MongoLibrary() {
  mongoc_init();
  // libmongoc logs to stderr by itself (a warning when a server lacks endSessions, for one); the tool
  // reports errors from return values, so the library's own lines go to the debug level.
  mongoc_log_set_handler(
      [](mongoc_log_level_t level, const char* domain, const char* message, void*) {
        auto l = level <= MONGOC_LOG_LEVEL_ERROR ? log::Level::kInfo : log::Level::kDebug;
        if (log::enabled(l)) log::write(l, {}, std::string("libmongoc ") + domain + ": " + message);
      },
      nullptr);
}
MongoLibrary::~MongoLibrary() { mongoc_cleanup(); }

std::string MongoServerInfo::describe() const {
  if (is_ferretdb()) return "FerretDB " + ferretdb_version;
  return "MongoDB " + (version.empty() ? std::string("(unknown version)") : version);
}

ErrorKind mongo_server_error_kind(int64_t code) noexcept {
  if (transient_server_code(code)) return ErrorKind::kUnavailable;
  switch (code) {
    case 13:    // Unauthorized
    case 18:    // AuthenticationFailed
    case 8000:  // AtlasError (authentication)
      return ErrorKind::kPermission;
    case 59:   // CommandNotFound
    case 115:  // CommandNotSupported
    case 238:  // NotImplemented
      return ErrorKind::kConfig;
    default: return ErrorKind::kData;
  }
}

ErrorKind mongo_error_kind(const bson_error_t& error) noexcept {
  switch (error.domain) {
    case MONGOC_ERROR_STREAM:
    case MONGOC_ERROR_SERVER_SELECTION: return ErrorKind::kUnavailable;
    case MONGOC_ERROR_PROTOCOL: return ErrorKind::kProtocol;
    case MONGOC_ERROR_SASL:
    case MONGOC_ERROR_SCRAM: return ErrorKind::kPermission;
    case MONGOC_ERROR_WRITE_CONCERN: return ErrorKind::kUnavailable;
    case MONGOC_ERROR_CLIENT:
      if (error.code == MONGOC_ERROR_CLIENT_AUTHENTICATE) return ErrorKind::kPermission;
      if (error.code == MONGOC_ERROR_CLIENT_TOO_BIG) return ErrorKind::kData;
      if (error.code == MONGOC_ERROR_CLIENT_NOT_READY) return ErrorKind::kUnavailable;
      return ErrorKind::kInternal;
    case MONGOC_ERROR_BSON: return ErrorKind::kData;  // a document too large or invalid, found before sending
    case MONGOC_ERROR_SERVER:
    case MONGOC_ERROR_QUERY:
    case MONGOC_ERROR_COMMAND:
    case MONGOC_ERROR_COLLECTION:
      // Client-side argument checks share these domains with server errors but have small codes.
      if (error.code == MONGOC_ERROR_COMMAND_INVALID_ARG && error.domain == MONGOC_ERROR_COMMAND)
        return ErrorKind::kData;
      return mongo_server_error_kind(error.code);
    default: return ErrorKind::kInternal;
  }
}

void throw_mongo_error(const bson_error_t& error, std::string_view context) {
  std::string message(context);
  message += ": ";
  message += error.message[0] != '\0' ? error.message : "unknown libmongoc error";
  // Server errors carry their code; it helps to look them up.
  if (error.domain == MONGOC_ERROR_SERVER || error.domain == MONGOC_ERROR_COMMAND ||
      error.domain == MONGOC_ERROR_QUERY) {
    message += " (error " + std::to_string(error.code) + ")";
  }
  throw Error(mongo_error_kind(error), message);
}

MongoClient connect_mongo(const Url& url, const MongoOptions& options) {
  bson_error_t error{};
  MongoUri uri(mongoc_uri_new_with_error(url.raw.c_str(), &error));
  if (!uri) fail(ErrorKind::kUsage, "invalid MongoDB URL " + url.redacted() + ": " + error.message);
  if (!url.user.empty() && !url.password) {
    if (auto password = resolve_password(url, options.password_file)) {
      if (!mongoc_uri_set_password(uri.get(), password->c_str()))
        fail(ErrorKind::kConfig, "the MongoDB password is not valid UTF-8");
    }
  }
  auto ms = static_cast<int32_t>(options.timeout.count());
  // The URL's own settings win: only fill in what it leaves open.
  if (!mongoc_uri_has_option(uri.get(), MONGOC_URI_CONNECTTIMEOUTMS))
    mongoc_uri_set_option_as_int32(uri.get(), MONGOC_URI_CONNECTTIMEOUTMS, ms);
  if (!mongoc_uri_has_option(uri.get(), MONGOC_URI_SOCKETTIMEOUTMS))
    mongoc_uri_set_option_as_int32(uri.get(), MONGOC_URI_SOCKETTIMEOUTMS, ms);
  if (!mongoc_uri_has_option(uri.get(), MONGOC_URI_SERVERSELECTIONTIMEOUTMS))
    mongoc_uri_set_option_as_int32(uri.get(), MONGOC_URI_SERVERSELECTIONTIMEOUTMS, ms);
  if (!options.app_name.empty() && !mongoc_uri_has_option(uri.get(), MONGOC_URI_APPNAME))
    mongoc_uri_set_appname(uri.get(), options.app_name.c_str());
  MongoClient client(mongoc_client_new_from_uri_with_error(uri.get(), &error));
  if (!client) fail(ErrorKind::kUsage, "invalid MongoDB URL " + url.redacted() + ": " + error.message);
  mongoc_client_set_error_api(client.get(), MONGOC_ERROR_API_VERSION_2);
  return client;
}

MongoServerInfo server_info(mongoc_client_t* client, const Url& url) {
  MongoServerInfo info;
  bson_error_t error{};
  Bson command, reply;
  BSON_APPEND_INT32(command.get(), "buildInfo", 1);
  if (!mongoc_client_command_simple(client, "admin", command.get(), nullptr, reply.get(), &error))
    throw_mongo_error(error, "MongoDB " + url.redacted());
  bson_iter_t it;
  if (bson_iter_init_find(&it, reply.get(), "version") && BSON_ITER_HOLDS_UTF8(&it))
    info.version = bson_iter_utf8(&it, nullptr);
  if (bson_iter_init_find(&it, reply.get(), "ferretdbVersion") && BSON_ITER_HOLDS_UTF8(&it))
    info.ferretdb_version = bson_iter_utf8(&it, nullptr);
  // A reply is written over, not appended to: each command gets a fresh one (a reused one leaks).
  Bson hello, hello_reply;
  BSON_APPEND_INT32(hello.get(), "hello", 1);
  if (!mongoc_client_command_simple(client, "admin", hello.get(), nullptr, hello_reply.get(), &error))
    throw_mongo_error(error, "MongoDB " + url.redacted());
  if (bson_iter_init_find(&it, hello_reply.get(), "maxBsonObjectSize") && BSON_ITER_HOLDS_NUMBER(&it))
    info.max_bson_size = bson_iter_as_int64(&it);
  if (bson_iter_init_find(&it, hello_reply.get(), "maxWriteBatchSize") && BSON_ITER_HOLDS_NUMBER(&it))
    info.max_write_batch = bson_iter_as_int64(&it);
  return info;
}

std::string bson_to_json(const bson_t* doc) {
  size_t length = 0;
  char* text = bson_as_canonical_extended_json(doc, &length);
  if (text == nullptr) return "(invalid BSON)";
  std::string out(text, length);
  bson_free(text);
  return out;
}

}  // namespace rowpipe

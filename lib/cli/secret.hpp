// Credentials: kept out of argv, logs and error messages.
#pragma once

#include <string>
#include <string_view>

namespace rowpipe {

// Overwrites secrets in the process's argv in place (as the mysql client does) so `ps` cannot show
// them: the value of --password/--password=..., and the password part of any URL argument
// (scheme://user:PASSWORD@host). Returns how many secrets were blanked. Call after copying argv.
int blank_argv_secrets(int argc, char** argv);

// `url` with its password replaced by "***" (user:***@host) and password-like query parameters
// (password=, sasl.password=) masked. Safe to log.
std::string redact_url(std::string_view url);

// Reads a secret from a file (trailing newlines trimmed). Throws Error(kConfig) naming the file.
std::string read_secret_file(const std::string& path);

// The value of an environment variable, or empty.
std::string env_or_empty(const char* name);

}  // namespace rowpipe

// User-facing errors (fvlm::Error, carrying a product error code) and bug checks (FVLM_CHECK).
// Only cli/ turns an Error into JSON and an exit code; library code just throws.
#pragma once
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace fvlm {

// The error codes of the product contract (shared/design.md), in its order.
enum class Errc {
  kBadArgs,
  kNotFound,
  kBadImage,
  kTooLarge,
  kBadModel,
  kUnsupported,
  kOutOfMemory,
  kIoError,  // results cannot be written (disk full, I/O error, output locked)
  kInternal
};

std::string_view errc_name(Errc c);  // "bad_args", "not_found", ...
int errc_exit_code(Errc c);          // 2 args, 3 input, 4 model, 5 unsupported, 70 internal, 74 I/O

class Error : public std::runtime_error {
 public:
  Error(Errc code, const std::string& message, nlohmann::json detail = {})
      : std::runtime_error(message), code_(code), detail_(std::move(detail)) {}
  Errc code() const { return code_; }
  const nlohmann::json& detail() const { return detail_; }

 private:
  Errc code_;
  nlohmann::json detail_;
};

[[noreturn]] void check_failed(const char* file, int line, const char* cond, const std::string& msg);

}  // namespace fvlm

// A broken invariant is a bug in fastvlm, never a user error: log where and abort.
#define FVLM_CHECK(cond, ...)                                                               \
  do {                                                                                      \
    if (!(cond)) ::fvlm::check_failed(__FILE__, __LINE__, #cond, std::string{__VA_ARGS__}); \
  } while (0)
#ifdef NDEBUG
#define FVLM_DCHECK(cond) ((void)0)
#else
#define FVLM_DCHECK(cond) FVLM_CHECK(cond)
#endif

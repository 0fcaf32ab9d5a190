#include "core/error.h"

#include <cstdio>
#include <cstdlib>

namespace fvlm {

std::string_view errc_name(Errc c) {
  switch (c) {
    case Errc::kBadArgs:
      return "bad_args";
    case Errc::kNotFound:
      return "not_found";
    case Errc::kBadImage:
      return "bad_image";
    case Errc::kTooLarge:
      return "too_large";
    case Errc::kBadModel:
      return "bad_model";
    case Errc::kUnsupported:
      return "unsupported";
    case Errc::kOutOfMemory:
      return "out_of_memory";
    case Errc::kIoError:
      return "io_error";
    case Errc::kInternal:
      return "internal";
  }
  return "internal";
}

int errc_exit_code(Errc c) {
  switch (c) {
    case Errc::kBadArgs:
      return 2;
    case Errc::kNotFound:
    case Errc::kBadImage:
    case Errc::kTooLarge:
      return 3;
    case Errc::kBadModel:
      return 4;
    case Errc::kUnsupported:
      return 5;
    case Errc::kOutOfMemory:
    case Errc::kInternal:
      return 70;
    case Errc::kIoError:
      return 74;  // EX_IOERR (sysexits.h)
  }
  return 70;
}

void check_failed(const char* file, int line, const char* cond, const std::string& msg) {
  std::fprintf(stderr, "fastvlm: internal check failed at %s:%d: %s %s\n", file, line, cond, msg.c_str());
  std::abort();
}

}  // namespace fvlm

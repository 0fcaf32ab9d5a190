#include "cli/hub/sha256.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"

namespace fvlm::hub {

struct Sha256::Ctx {
  EVP_MD_CTX* md = nullptr;
};

Sha256::Sha256() : ctx_(std::make_unique<Ctx>()) {
  ctx_->md = EVP_MD_CTX_new();
  FVLM_CHECK(ctx_->md && EVP_DigestInit_ex(ctx_->md, EVP_sha256(), nullptr) == 1, "EVP sha256 init");
}

Sha256::~Sha256() { EVP_MD_CTX_free(ctx_->md); }

void Sha256::update(const void* data, size_t n) {
  FVLM_CHECK(EVP_DigestUpdate(ctx_->md, data, n) == 1, "EVP sha256 update");
}

std::string Sha256::hex() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  FVLM_CHECK(EVP_DigestFinal_ex(ctx_->md, digest, &len) == 1, "EVP sha256 final");
  std::string out;
  for (unsigned int i = 0; i < len; ++i) out += fmt::format("{:02x}", digest[i]);
  return out;
}

void sha256_update_file(Sha256& h, const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(Errc::kIoError, fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  std::vector<char> buf(size_t(4) << 20);
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      throw Error(Errc::kIoError, fmt::format("cannot read {}: {}", path, std::strerror(err)));
    }
    if (n == 0) break;
    h.update(buf.data(), size_t(n));
  }
  ::close(fd);
}

std::string sha256_file(const std::string& path) {
  Sha256 h;
  sha256_update_file(h, path);
  return h.hex();
}

}  // namespace fvlm::hub

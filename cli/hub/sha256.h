// SHA-256 (OpenSSL's EVP interface), the digest the Hub keeps for every LFS file.
#pragma once
#include <cstddef>
#include <memory>
#include <string>

namespace fvlm::hub {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const void* data, size_t n);
  std::string hex();  // lower-case, 64 digits; ends the digest

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

// Feeds a whole file to `h`, read in 4 MiB pieces. Error{kIoError} if it cannot be read.
void sha256_update_file(Sha256& h, const std::string& path);
std::string sha256_file(const std::string& path);  // the digest of a whole file

}  // namespace fvlm::hub

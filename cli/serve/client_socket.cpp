#include "cli/serve/client_socket.h"

#include <dirent.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace fvlm::cli::serve {
namespace {

// The numeric host and port of a socket address, the way cpp-httplib formats them.
bool host_port(const sockaddr_storage& a, socklen_t len, std::string& host, int& port) {
  char h[NI_MAXHOST], p[NI_MAXSERV];
  if (getnameinfo(reinterpret_cast<const sockaddr*>(&a), len, h, sizeof h, p, sizeof p,
                  NI_NUMERICHOST | NI_NUMERICSERV) != 0)
    return false;
  host = h;
  port = std::atoi(p);
  return true;
}

}  // namespace

ClientSocket ClientSocket::find(const std::string& local_addr, int local_port, const std::string& remote_addr,
                                int remote_port) {
  ClientSocket s;
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) return s;
  while (const dirent* e = readdir(dir)) {
    char* end = nullptr;
    const long fd = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || fd == dirfd(dir)) continue;
    struct stat st {};
    if (fstat(int(fd), &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
    sockaddr_storage peer{}, local{};
    socklen_t peer_len = sizeof peer, local_len = sizeof local;
    if (getpeername(int(fd), reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0) continue;
    if (getsockname(int(fd), reinterpret_cast<sockaddr*>(&local), &local_len) != 0) continue;
    std::string ph, lh;
    int pp = 0, lp = 0;
    if (!host_port(peer, peer_len, ph, pp) || !host_port(local, local_len, lh, lp)) continue;
    if (pp == remote_port && lp == local_port && ph == remote_addr && lh == local_addr) {
      s.fd_ = int(fd);
      break;
    }
  }
  closedir(dir);
  return s;
}

bool ClientSocket::gone() const {
  if (fd_ < 0) return false;
  char c;
  const ssize_t n = recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n > 0) return false;
  if (n == 0) return true;  // orderly shutdown by the client
  return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
}

}  // namespace fvlm::cli::serve

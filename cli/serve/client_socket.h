// Whether the client of a request is still there while its answer is being computed. cpp-httplib
// 0.11 (Debian bookworm) tells a handler neither its socket nor a closed connection (later versions
// have Request::is_connection_closed), but it does give the connection's addresses; a TCP
// connection is unique by them, so the socket is found among the process's descriptors once per
// request. The handler's thread owns that connection until it returns, so the descriptor stays
// valid and cannot be reused while the handler looks at it.
#pragma once
#include <string>

namespace fvlm::cli::serve {

class ClientSocket {
 public:
  ClientSocket() = default;  // unknown: gone() is always false
  // Addresses as cpp-httplib reports them (numeric host strings).
  static ClientSocket find(const std::string& local_addr, int local_port, const std::string& remote_addr,
                           int remote_port);
  // The client closed or reset the connection (an orderly EOF or an error; data it pipelined
  // behind the request does not count).
  bool gone() const;
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

}  // namespace fvlm::cli::serve

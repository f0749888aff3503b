// Server: todod's HTTP/1.1 front end. One io_context per thread ("event loop"), each with
// its own acceptor on the same port (SO_REUSEPORT, so the kernel spreads connections over
// the loops), one coroutine per connection, keep-alive, TCP_NODELAY on every socket.
//
// Limits per connection: a request head over max_header_bytes gets 431, a body over
// max_body_bytes gets 413 before the body is read, a head must arrive within header_timeout
// once started, an idle keep-alive connection is closed after idle_timeout; every store call
// has request_deadline. Nothing blocks a loop: a client that sends half a request holds only
// its own coroutine. Over max_connections, a new connection gets 503 and is closed.
//
// Life cycle, all from one controlling thread:
//   Server s(options);            // starts the loops (idle)
//   OpenStore(url, {.loops = s.loops()})
//   s.Listen(); s.Serve(store);   // bound, then answering
//   ... s.Drain();                // stop accepting, finish requests in flight
//   destroy the store; s.Stop();  // or ~Server
// Not thread-safe itself (one controlling thread); everything it runs is.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <vector>

#include "core/status.h"
#include "server/config.h"
#include "store/store.h"

namespace todo::server {

class Server {
 public:
  // Starts options.threads event loops (when 0: half the hardware threads, at least 1),
  // idle until Serve.
  explicit Server(ServerOptions options);
  ~Server();  // Stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The event loops, to pass to OpenStore (OpenOptions::loops). Owned by the Server.
  std::vector<boost::asio::io_context*> loops();
  int threads() const;

  // Binds one acceptor per loop on options.listen. Returns the bound address (with the real
  // port when options.listen asked for port 0). kInvalidArgument for a bad address,
  // kUnavailable when it cannot be bound.
  core::Result<boost::asio::ip::tcp::endpoint> Listen();

  // Starts accepting and answering requests with `store`, which must outlive the server's
  // use of it: until Drain() returned true (or Stop() returned). `read_store`, if given (a
  // replica: todod --read-db), answers managers' reads, under the same rule.
  void Serve(store::Store& store, store::Store* read_store = nullptr);

  // Graceful stop: closes the acceptors and idle connections, lets requests in flight finish
  // for up to options.shutdown_grace, then closes what is left and stops calling the store.
  // Returns true once no store call is in flight (the store may then be destroyed); false if
  // some call still runs after a further request_deadline.
  bool Drain();

  // Stops the loops and joins their threads. Idempotent.
  void Stop();

  // Connections currently open.
  int open_connections() const;

  struct State;  // the implementation, defined in server.cc

 private:
  std::unique_ptr<State> state_;
};

}  // namespace todo::server

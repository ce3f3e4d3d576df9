#ifndef RECSYS_COMMON_BASE_FREE_PORT_H_
#define RECSYS_COMMON_BASE_FREE_PORT_H_

namespace recsys {

// A loopback TCP port nothing listens on at the time of the call (the
// kernel's pick for port 0), for tests that must name a port before the
// process that binds it starts (e.g. a rendezvous); 0 if none could be had.
// Another process may take it in between: fine for tests, not for servers,
// which bind port 0 themselves and report it (--port_file).
int FreeLoopbackPort();

}  // namespace recsys

#endif  // RECSYS_COMMON_BASE_FREE_PORT_H_

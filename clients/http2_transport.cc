#include "clients/http2_transport.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "clients/hpack.h"

namespace recsys {
namespace {

using SteadyClock = std::chrono::steady_clock;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             SteadyClock::now().time_since_epoch())
      .count();
}

// Frame types and flags (RFC 9113 section 6).
enum FrameType : uint8_t {
  kData = 0,
  kHeaders = 1,
  kPriority = 2,
  kRstStream = 3,
  kSettings = 4,
  kPushPromise = 5,
  kPing = 6,
  kGoAway = 7,
  kWindowUpdate = 8,
  kContinuation = 9,
};
constexpr uint8_t kEndStream = 0x1;
constexpr uint8_t kAck = 0x1;
constexpr uint8_t kEndHeaders = 0x4;
constexpr uint8_t kPadded = 0x8;
constexpr uint8_t kPriorityFlag = 0x20;

// Settings.
constexpr uint16_t kSettingsEnablePush = 2;
constexpr uint16_t kSettingsMaxConcurrentStreams = 3;
constexpr uint16_t kSettingsInitialWindowSize = 4;
constexpr uint16_t kSettingsMaxFrameSize = 5;

// HTTP/2 error codes used here.
constexpr uint32_t kProtocolError = 1;
constexpr uint32_t kCancel = 8;

constexpr char kPreface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
// The frames we accept (our SETTINGS_MAX_FRAME_SIZE: the default).
constexpr uint32_t kMaxFrameSize = 16384;
// Our receive windows: as large as allowed, the connection's topped up
// whenever half of it is used.
constexpr int64_t kMaxWindow = 0x7fffffff;
constexpr int64_t kInitialWindow = 65535;
constexpr size_t kReadChunk = 64 << 10;
constexpr int64_t kReconnectBackoffNs = 250'000'000;
constexpr uint32_t kMaxStreamId = 0x7fffffff;

void AppendU32(std::string* out, uint32_t v) {
  out->push_back(static_cast<char>((v >> 24) & 0xff));
  out->push_back(static_cast<char>((v >> 16) & 0xff));
  out->push_back(static_cast<char>((v >> 8) & 0xff));
  out->push_back(static_cast<char>(v & 0xff));
}

void AppendFrameHeader(std::string* out, size_t length, uint8_t type, uint8_t flags,
                       uint32_t stream) {
  out->push_back(static_cast<char>((length >> 16) & 0xff));
  out->push_back(static_cast<char>((length >> 8) & 0xff));
  out->push_back(static_cast<char>(length & 0xff));
  out->push_back(static_cast<char>(type));
  out->push_back(static_cast<char>(flags));
  AppendU32(out, stream & 0x7fffffff);
}

uint32_t ReadU32(const char* p) {
  const auto* b = reinterpret_cast<const uint8_t*>(p);
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
}

// What every connection of a transport shares, read-only once built.
struct Shared {
  sockaddr_storage address{};
  socklen_t address_length = 0;
  std::string authority;
  // Each request framed as a gRPC message (flag byte, length, bytes).
  std::vector<std::string> framed;
  // The HEADERS block of every call.
  std::string header_block;
  int64_t deadline_ns = 0;
};

class Loop;

// One call on a connection, from its creation to its completion. Pooled:
// `serial` tells a live stream from a recycled one (0: free).
struct Stream {
  uint64_t serial = 0;
  uint32_t id = 0;  // 0 until it is opened.
  uint32_t request = 0;
  CallCompletion* done = nullptr;
  size_t sent = 0;
  int64_t send_window = 0;
  int http_status = 0;
  int grpc_status = -1;
  bool grpc_content = true;
  // Sent again once already (the server refused it unprocessed).
  bool retried = false;
  std::string body;
  std::string message;
};

class Connection {
 public:
  Connection(Loop* loop, const Shared* shared) : loop_(loop), shared_(shared) {}
  ~Connection() { CloseSocket(); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // On the loop's thread.
  void StartCall(uint32_t request, CallCompletion* done);
  // Connects if not connected (nor failed recently).
  void EnsureConnected();
  bool ready() const { return ready_.load(std::memory_order_acquire); }
  void OnEvent(uint32_t events);
  void Flush();
  // Ends the call of `stream` if it is still `serial`: DEADLINE_EXCEEDED.
  void Expire(Stream* stream, uint64_t serial);
  // A failed connection whose calls have drained may reconnect for the
  // calls that waited.
  void MaybeReconnect();
  // Closes the socket (the loop has stopped).
  void Close() { CloseSocket(); }
  // When a failed connection may be tried again.
  int64_t retry_at_ns() const { return retry_at_ns_; }

 private:
  enum class State { kIdle, kConnecting, kReady, kBroken };

  Stream* NewStream(uint32_t request, CallCompletion* done);
  void Recycle(Stream* s);
  void Connect();
  void Open(Stream* s);
  void SendData(Stream* s);
  void ResumeBlocked();
  void OpenWaiting();
  void MarkDirty();
  void ReadAvailable();
  void ParseFrames();
  void HandleFrame(uint8_t type, uint8_t flags, uint32_t stream_id, const char* payload,
                   size_t length);
  void HandleHeaderBlock(uint32_t stream_id, absl::string_view block, bool end_stream);
  void FinishStream(Stream* s);
  // Ends `s` (taken out of the open streams or the waiting ones already)
  // with `code` and `message`.
  void Complete(Stream* s, grpc::StatusCode code, absl::string_view message,
                absl::string_view bytes);
  void ResetStream(uint32_t id, uint32_t error);
  // Fails every call of the connection and closes it; with `defer`, the
  // calls are reported at the end of the loop's turn (not inside the call
  // that sent them).
  void Break(const std::string& why, bool defer = false);
  // After a call ended: waiting calls may open, a draining connection may
  // be replaced.
  void AfterStreamEnded();
  // A stream the server did not process (beyond a GOAWAY's last stream, or
  // reset with REFUSED_STREAM) goes back to the front of the waiting calls,
  // once, as gRPC retries such calls transparently; false if it was sent
  // again already.
  bool Requeue(Stream* s);
  void CloseSocket();
  void UpdateEpoll(bool want_write);

  Loop* const loop_;
  const Shared* const shared_;

  State state_ = State::kIdle;
  // The server's first SETTINGS arrived: calls may open (as gRPC, which
  // waits for them, so that the server's stream limit holds from the
  // first call).
  bool settings_received_ = false;
  // settings_received_, for other threads.
  std::atomic<bool> ready_{false};
  int fd_ = -1;
  bool registered_ = false;
  bool want_write_ = false;
  bool dirty_ = false;
  bool draining_ = false;
  int64_t retry_at_ns_ = 0;
  std::string last_error_;

  std::string out_;
  size_t out_pos_ = 0;
  std::vector<char> in_;
  size_t in_begin_ = 0;
  size_t in_end_ = 0;

  std::unique_ptr<hpack::Decoder> decoder_;
  // A header block in CONTINUATION frames: its stream, bytes, END_STREAM.
  uint32_t continuation_stream_ = 0;
  std::string continuation_block_;
  bool continuation_end_stream_ = false;

  uint32_t next_stream_id_ = 1;
  int64_t conn_send_window_ = kInitialWindow;
  int64_t peer_initial_window_ = kInitialWindow;
  size_t peer_max_frame_ = 16384;
  uint32_t peer_max_streams_ = UINT32_MAX;
  int64_t recv_unacked_ = 0;

  absl::flat_hash_map<uint32_t, Stream*> open_;
  std::deque<Stream*> waiting_;
  std::deque<std::pair<Stream*, uint64_t>> blocked_;
  std::vector<std::unique_ptr<Stream>> pool_;
  std::vector<Stream*> free_;
  uint64_t next_serial_ = 1;
};

class Loop {
 public:
  explicit Loop(const Shared* shared) : shared_(shared) {
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    event_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = nullptr;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, event_fd_, &ev);
  }
  ~Loop() {
    Stop();
    connections_.clear();
    close(event_fd_);
    close(epoll_fd_);
  }

  Connection* AddConnection() {
    connections_.push_back(std::make_unique<Connection>(this, shared_));
    return connections_.back().get();
  }

  void Start() {
    thread_ = std::thread([this] { Run(); });
  }
  // Joins the thread and closes the connections' sockets (the server need
  // not wait for them).
  void Stop() {
    if (!thread_.joinable()) return;
    stop_.store(true);
    Wake();
    thread_.join();
    for (auto& c : connections_) c->Close();
  }

  bool OnLoopThread() const { return std::this_thread::get_id() == loop_thread_.load(); }

  // From another thread.
  void Post(Connection* c, uint32_t request, CallCompletion* done) {
    bool was_empty;
    {
      std::lock_guard<std::mutex> lock(inbox_mu_);
      was_empty = inbox_.empty();
      inbox_.push_back({c, request, done});
    }
    if (was_empty) Wake();
  }

  int epoll_fd() const { return epoll_fd_; }
  const Shared& shared() const { return *shared_; }

  void AddDirty(Connection* c) { dirty_.push_back(c); }
  void AddDeadline(int64_t at_ns, Connection* c, Stream* s) {
    deadlines_.push_back({at_ns, c, s, s->serial});
  }
  void AddFailure(CallCompletion* done, grpc::StatusCode code, std::string message) {
    failures_.push_back({done, code, std::move(message)});
  }
  void AddReconnect(Connection* c) { reconnects_.push_back(c); }
  // `c` reconnects at its retry time (once however often it is added).
  void AddRetry(Connection* c) {
    if (std::find(retries_.begin(), retries_.end(), c) == retries_.end()) retries_.push_back(c);
  }

 private:
  struct Posted {
    Connection* connection;
    uint32_t request;
    CallCompletion* done;
  };
  struct Deadline {
    int64_t at_ns;
    Connection* connection;
    Stream* stream;
    uint64_t serial;
  };
  struct Failure {
    CallCompletion* done;
    grpc::StatusCode code;
    std::string message;
  };

  void Wake() {
    const uint64_t one = 1;
    ssize_t unused = write(event_fd_, &one, sizeof(one));
    (void)unused;
  }

  void Run() {
    loop_thread_.store(std::this_thread::get_id());
    epoll_event events[64];
    std::vector<Posted> posted;
    std::vector<Failure> failures;
    while (!stop_.load(std::memory_order_relaxed)) {
      int timeout_ms = 100;
      if (!failures_.empty() || !reconnects_.empty()) {
        timeout_ms = 0;
      } else {
        int64_t next = INT64_MAX;
        if (!deadlines_.empty()) next = deadlines_.front().at_ns;
        for (const Connection* c : retries_) next = std::min(next, c->retry_at_ns());
        if (next != INT64_MAX) {
          const int64_t wait = next - NowNs();
          timeout_ms = static_cast<int>(std::clamp<int64_t>((wait + 999'999) / 1'000'000, 0, 100));
        }
      }
      const int n = epoll_wait(epoll_fd_, events, 64, timeout_ms);
      for (int i = 0; i < n; ++i) {
        if (events[i].data.ptr == nullptr) {
          uint64_t count;
          ssize_t unused = read(event_fd_, &count, sizeof(count));
          (void)unused;
          {
            std::lock_guard<std::mutex> lock(inbox_mu_);
            posted.swap(inbox_);
          }
          for (const Posted& p : posted) {
            if (p.done == nullptr) {
              p.connection->EnsureConnected();
            } else {
              p.connection->StartCall(p.request, p.done);
            }
          }
          posted.clear();
        } else {
          static_cast<Connection*>(events[i].data.ptr)->OnEvent(events[i].events);
        }
      }
      // Deadlines, in order: every call has the same deadline, so they
      // expire in the order the calls were made.
      const int64_t now = NowNs();
      while (!deadlines_.empty()) {
        const Deadline& d = deadlines_.front();
        if (d.stream->serial != d.serial) {
          deadlines_.pop_front();
          continue;
        }
        if (d.at_ns > now) break;
        const Deadline expired = d;
        deadlines_.pop_front();
        expired.connection->Expire(expired.stream, expired.serial);
      }
      // Calls that failed at once, reported outside the call that sent
      // them.
      failures.swap(failures_);
      for (const Failure& f : failures) {
        CallResult result;
        result.code = f.code;
        result.message = f.message;
        f.done->OnCallDone(result);
      }
      failures.clear();
      std::vector<Connection*> reconnects;
      reconnects.swap(reconnects_);
      for (Connection* c : reconnects) c->MaybeReconnect();
      if (!retries_.empty()) {
        std::vector<Connection*> due;
        const int64_t t = NowNs();
        retries_.erase(std::remove_if(retries_.begin(), retries_.end(),
                                      [&](Connection* c) {
                                        if (c->retry_at_ns() > t) return false;
                                        due.push_back(c);
                                        return true;
                                      }),
                       retries_.end());
        for (Connection* c : due) c->MaybeReconnect();
      }
      // One write per connection per turn.
      for (size_t i = 0; i < dirty_.size(); ++i) dirty_[i]->Flush();
      dirty_.clear();
    }
  }

  const Shared* const shared_;
  int epoll_fd_ = -1;
  int event_fd_ = -1;
  std::vector<std::unique_ptr<Connection>> connections_;
  std::thread thread_;
  std::atomic<std::thread::id> loop_thread_{};
  std::atomic<bool> stop_{false};

  std::mutex inbox_mu_;
  std::vector<Posted> inbox_;

  std::vector<Connection*> dirty_;
  std::deque<Deadline> deadlines_;
  std::vector<Failure> failures_;
  std::vector<Connection*> reconnects_;
  std::vector<Connection*> retries_;
};

// ---------------------------------------------------------------------------
// Connection.

Stream* Connection::NewStream(uint32_t request, CallCompletion* done) {
  Stream* s;
  if (free_.empty()) {
    pool_.push_back(std::make_unique<Stream>());
    s = pool_.back().get();
  } else {
    s = free_.back();
    free_.pop_back();
  }
  s->serial = next_serial_++;
  s->id = 0;
  s->request = request;
  s->done = done;
  s->sent = 0;
  s->send_window = 0;
  s->http_status = 0;
  s->grpc_status = -1;
  s->grpc_content = true;
  s->retried = false;
  s->body.clear();
  s->message.clear();
  return s;
}

void Connection::Recycle(Stream* s) {
  s->serial = 0;
  s->done = nullptr;
  free_.push_back(s);
}

void Connection::MarkDirty() {
  if (!dirty_) {
    dirty_ = true;
    loop_->AddDirty(this);
  }
}

void Connection::StartCall(uint32_t request, CallCompletion* done) {
  const int64_t now = NowNs();
  Stream* s = NewStream(request, done);
  loop_->AddDeadline(now + shared_->deadline_ns, this, s);
  waiting_.push_back(s);
  if (state_ == State::kBroken) {
    // The next connection attempt; the call fails with it (UNAVAILABLE) if
    // it fails. Calls do not fail faster than attempts are made, so a
    // closed loop against a server that is down does not spin.
    if (now < retry_at_ns_) {
      loop_->AddRetry(this);
      return;
    }
    state_ = State::kIdle;
  }
  if (draining_) {
    // A new connection once the old one's calls have ended.
    if (open_.empty()) loop_->AddReconnect(this);
    return;
  }
  OpenWaiting();
}

void Connection::EnsureConnected() {
  if (state_ == State::kBroken && NowNs() >= retry_at_ns_) state_ = State::kIdle;
  if (state_ == State::kIdle) Connect();
}

void Connection::Connect() {
  const Shared& shared = *shared_;
  fd_ = socket(shared.address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    Break(absl::StrCat("socket: ", strerror(errno)), /*defer=*/true);
    return;
  }
  const int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  decoder_ = std::make_unique<hpack::Decoder>();
  next_stream_id_ = 1;
  conn_send_window_ = kInitialWindow;
  peer_initial_window_ = kInitialWindow;
  peer_max_frame_ = 16384;
  peer_max_streams_ = UINT32_MAX;
  recv_unacked_ = 0;
  continuation_stream_ = 0;
  draining_ = false;
  settings_received_ = false;
  in_begin_ = in_end_ = 0;
  out_.clear();
  out_pos_ = 0;
  // The preface, our SETTINGS, and the connection window opened up; calls
  // may follow before the server's SETTINGS arrive.
  out_.append(kPreface, sizeof(kPreface) - 1);
  AppendFrameHeader(&out_, 12, kSettings, 0, 0);
  out_.push_back(0);
  out_.push_back(static_cast<char>(kSettingsEnablePush));
  AppendU32(&out_, 0);
  out_.push_back(0);
  out_.push_back(static_cast<char>(kSettingsInitialWindowSize));
  AppendU32(&out_, static_cast<uint32_t>(kMaxWindow));
  AppendFrameHeader(&out_, 4, kWindowUpdate, 0, 0);
  AppendU32(&out_, static_cast<uint32_t>(kMaxWindow - kInitialWindow));
  const int r = connect(fd_, reinterpret_cast<const sockaddr*>(&shared.address),
                        shared.address_length);
  if (r != 0 && errno != EINPROGRESS) {
    Break(absl::StrCat("connect to ", shared.authority, ": ", strerror(errno)), /*defer=*/true);
    return;
  }
  state_ = r == 0 ? State::kReady : State::kConnecting;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT;
  ev.data.ptr = this;
  epoll_ctl(loop_->epoll_fd(), EPOLL_CTL_ADD, fd_, &ev);
  registered_ = true;
  want_write_ = true;
  MarkDirty();
}

void Connection::Open(Stream* s) {
  if (next_stream_id_ > kMaxStreamId - 2) {
    // Out of stream IDs: this connection drains, the next one takes over.
    draining_ = true;
    waiting_.push_back(s);
    return;
  }
  s->id = next_stream_id_;
  next_stream_id_ += 2;
  s->send_window = peer_initial_window_;
  open_[s->id] = s;
  const std::string& block = shared_->header_block;
  AppendFrameHeader(&out_, block.size(), kHeaders, kEndHeaders, s->id);
  out_.append(block);
  SendData(s);
  MarkDirty();
}

void Connection::SendData(Stream* s) {
  const std::string& data = shared_->framed[s->request];
  while (s->sent < data.size()) {
    int64_t chunk = static_cast<int64_t>(std::min(data.size() - s->sent, peer_max_frame_));
    chunk = std::min({chunk, s->send_window, conn_send_window_});
    if (chunk <= 0) {
      blocked_.emplace_back(s, s->serial);
      return;
    }
    const bool last = s->sent + static_cast<size_t>(chunk) == data.size();
    AppendFrameHeader(&out_, static_cast<size_t>(chunk), kData, last ? kEndStream : 0, s->id);
    out_.append(data, s->sent, static_cast<size_t>(chunk));
    s->sent += static_cast<size_t>(chunk);
    s->send_window -= chunk;
    conn_send_window_ -= chunk;
  }
}

void Connection::ResumeBlocked() {
  for (size_t n = blocked_.size(); n > 0 && conn_send_window_ > 0; --n) {
    const auto [s, serial] = blocked_.front();
    blocked_.pop_front();
    if (s->serial != serial || s->id == 0) continue;
    SendData(s);
  }
  MarkDirty();
}

void Connection::OpenWaiting() {
  if (waiting_.empty() || draining_ || state_ == State::kBroken) return;
  if (state_ == State::kIdle) Connect();
  if (!settings_received_) return;  // Or broken.
  while (!waiting_.empty() && !draining_ && open_.size() < peer_max_streams_) {
    Stream* s = waiting_.front();
    waiting_.pop_front();
    Open(s);
  }
}

void Connection::MaybeReconnect() {
  if (draining_ && open_.empty()) {
    CloseSocket();
    state_ = State::kIdle;
    draining_ = false;
  }
  if (state_ == State::kBroken) {
    if (NowNs() < retry_at_ns_) return;
    state_ = State::kIdle;
  }
  OpenWaiting();
}

void Connection::AfterStreamEnded() {
  OpenWaiting();
  if (draining_ && open_.empty()) loop_->AddReconnect(this);
}

bool Connection::Requeue(Stream* s) {
  if (s->retried) return false;
  s->retried = true;
  s->id = 0;
  s->sent = 0;
  s->http_status = 0;
  s->grpc_status = -1;
  s->grpc_content = true;
  s->body.clear();
  s->message.clear();
  waiting_.push_front(s);
  return true;
}

void Connection::Expire(Stream* s, uint64_t serial) {
  if (s->serial != serial) return;
  if (s->id != 0) {
    open_.erase(s->id);
    ResetStream(s->id, kCancel);
  } else {
    const auto it = std::find(waiting_.begin(), waiting_.end(), s);
    if (it != waiting_.end()) waiting_.erase(it);
  }
  if (s->id == 0 && state_ == State::kBroken) {
    // Waited for a connection that is down: what a gRPC client says then.
    Complete(s, grpc::StatusCode::UNAVAILABLE, last_error_, {});
  } else {
    Complete(s, grpc::StatusCode::DEADLINE_EXCEEDED, "Deadline Exceeded", {});
  }
  AfterStreamEnded();
}

void Connection::ResetStream(uint32_t id, uint32_t error) {
  if (state_ != State::kReady && state_ != State::kConnecting) return;
  AppendFrameHeader(&out_, 4, kRstStream, 0, id);
  AppendU32(&out_, error);
  MarkDirty();
}

void Connection::Complete(Stream* s, grpc::StatusCode code, absl::string_view message,
                          absl::string_view bytes) {
  CallResult result;
  result.code = code;
  result.message = message;
  result.bytes = bytes;
  CallCompletion* done = s->done;
  done->OnCallDone(result);
  Recycle(s);
}

void Connection::CloseSocket() {
  if (fd_ >= 0) {
    if (registered_) epoll_ctl(loop_->epoll_fd(), EPOLL_CTL_DEL, fd_, nullptr);
    close(fd_);
  }
  fd_ = -1;
  registered_ = false;
  want_write_ = false;
  ready_.store(false, std::memory_order_release);
}

void Connection::Break(const std::string& why, bool defer) {
  CloseSocket();
  state_ = State::kBroken;
  retry_at_ns_ = NowNs() + kReconnectBackoffNs;
  last_error_ = why;
  out_.clear();
  out_pos_ = 0;
  in_begin_ = in_end_ = 0;
  blocked_.clear();
  draining_ = false;
  // Completions may send calls on this connection: they fail at once
  // (queued), so the streams taken here are all there is to end.
  std::vector<Stream*> streams;
  for (const auto& [id, s] : open_) streams.push_back(s);
  open_.clear();
  streams.insert(streams.end(), waiting_.begin(), waiting_.end());
  waiting_.clear();
  for (Stream* s : streams) {
    if (defer) {
      loop_->AddFailure(s->done, grpc::StatusCode::UNAVAILABLE, why);
      Recycle(s);
    } else {
      Complete(s, grpc::StatusCode::UNAVAILABLE, why, {});
    }
  }
}

void Connection::UpdateEpoll(bool want_write) {
  if (!registered_ || want_write == want_write_) return;
  epoll_event ev{};
  ev.events = EPOLLIN | (want_write ? EPOLLOUT : 0u);
  ev.data.ptr = this;
  epoll_ctl(loop_->epoll_fd(), EPOLL_CTL_MOD, fd_, &ev);
  want_write_ = want_write;
}

void Connection::Flush() {
  dirty_ = false;
  if (state_ != State::kReady) return;
  while (out_pos_ < out_.size()) {
    const ssize_t n = send(fd_, out_.data() + out_pos_, out_.size() - out_pos_,
                           MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      out_pos_ += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      UpdateEpoll(true);
      return;
    }
    if (n < 0 && errno == EINTR) continue;
    Break(absl::StrCat("write to ", shared_->authority, ": ", strerror(errno)));
    return;
  }
  out_.clear();
  out_pos_ = 0;
  UpdateEpoll(false);
}

void Connection::OnEvent(uint32_t events) {
  if (state_ == State::kConnecting) {
    if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) == 0) return;
    int error = 0;
    socklen_t length = sizeof(error);
    getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &length);
    if (error != 0) {
      Break(absl::StrCat("connect to ", shared_->authority, ": ", strerror(error)));
      return;
    }
    state_ = State::kReady;
    Flush();
    return;
  }
  if (state_ != State::kReady) return;
  if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0) {
    ReadAvailable();
    if (state_ != State::kReady) return;
  }
  if ((events & EPOLLOUT) != 0) Flush();
}

void Connection::ReadAvailable() {
  for (int reads = 0; reads < 8; ++reads) {
    if (in_begin_ == in_end_) {
      in_begin_ = in_end_ = 0;
    } else if (in_begin_ > 0 && in_.size() - in_end_ < kReadChunk) {
      std::memmove(in_.data(), in_.data() + in_begin_, in_end_ - in_begin_);
      in_end_ -= in_begin_;
      in_begin_ = 0;
    }
    if (in_.size() - in_end_ < kReadChunk) in_.resize(in_end_ + kReadChunk);
    const size_t room = in_.size() - in_end_;
    const ssize_t n = recv(fd_, in_.data() + in_end_, room, MSG_DONTWAIT);
    if (n > 0) {
      in_end_ += static_cast<size_t>(n);
      ParseFrames();
      if (state_ != State::kReady) return;
      if (static_cast<size_t>(n) < room) return;
      continue;
    }
    if (n == 0) {
      Break(absl::StrCat("connection to ", shared_->authority, " closed by the server"));
      return;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    if (errno == EINTR) continue;
    Break(absl::StrCat("read from ", shared_->authority, ": ", strerror(errno)));
    return;
  }
}

void Connection::ParseFrames() {
  while (in_end_ - in_begin_ >= 9) {
    const char* h = in_.data() + in_begin_;
    const auto* b = reinterpret_cast<const uint8_t*>(h);
    const size_t length = (size_t{b[0]} << 16) | (size_t{b[1]} << 8) | b[2];
    if (length > kMaxFrameSize) {
      Break(absl::StrCat("HTTP/2 protocol error: a frame of ", length, " bytes"));
      return;
    }
    if (in_end_ - in_begin_ < 9 + length) break;
    const uint8_t type = b[3];
    const uint8_t flags = b[4];
    const uint32_t stream_id = ReadU32(h + 5) & 0x7fffffff;
    in_begin_ += 9 + length;
    HandleFrame(type, flags, stream_id, h + 9, length);
    if (state_ != State::kReady) return;
  }
  if (recv_unacked_ >= kMaxWindow / 2) {
    AppendFrameHeader(&out_, 4, kWindowUpdate, 0, 0);
    AppendU32(&out_, static_cast<uint32_t>(recv_unacked_));
    recv_unacked_ = 0;
    MarkDirty();
  }
}

void Connection::HandleFrame(uint8_t type, uint8_t flags, uint32_t stream_id,
                             const char* payload, size_t length) {
  if (continuation_stream_ != 0 && (type != kContinuation || stream_id != continuation_stream_)) {
    Break("HTTP/2 protocol error: a header block was interrupted");
    return;
  }
  // The payload without padding (DATA, HEADERS).
  auto unpadded = [&](size_t* offset, size_t* size) {
    *offset = 0;
    *size = length;
    if ((flags & kPadded) != 0) {
      if (length < 1 || static_cast<uint8_t>(payload[0]) >= length) return false;
      *offset = 1;
      *size = length - 1 - static_cast<uint8_t>(payload[0]);
    }
    return true;
  };
  switch (type) {
    case kData: {
      recv_unacked_ += static_cast<int64_t>(length);
      size_t offset, size;
      if (!unpadded(&offset, &size)) {
        Break("HTTP/2 protocol error: bad padding");
        return;
      }
      auto it = open_.find(stream_id);
      if (it == open_.end()) return;
      Stream* s = it->second;
      s->body.append(payload + offset, size);
      if ((flags & kEndStream) != 0) FinishStream(s);
      return;
    }
    case kHeaders: {
      size_t offset, size;
      if (!unpadded(&offset, &size)) {
        Break("HTTP/2 protocol error: bad padding");
        return;
      }
      if ((flags & kPriorityFlag) != 0) {
        if (size < 5) {
          Break("HTTP/2 protocol error: short HEADERS");
          return;
        }
        offset += 5;
        size -= 5;
      }
      const absl::string_view fragment(payload + offset, size);
      if ((flags & kEndHeaders) == 0) {
        continuation_stream_ = stream_id;
        continuation_block_.assign(fragment.data(), fragment.size());
        continuation_end_stream_ = (flags & kEndStream) != 0;
        return;
      }
      HandleHeaderBlock(stream_id, fragment, (flags & kEndStream) != 0);
      return;
    }
    case kContinuation: {
      if (continuation_stream_ == 0) {
        Break("HTTP/2 protocol error: unexpected CONTINUATION");
        return;
      }
      continuation_block_.append(payload, length);
      if ((flags & kEndHeaders) != 0) {
        continuation_stream_ = 0;
        const std::string block = std::move(continuation_block_);
        continuation_block_.clear();
        HandleHeaderBlock(stream_id, block, continuation_end_stream_);
      }
      return;
    }
    case kRstStream: {
      if (length != 4) {
        Break("HTTP/2 protocol error: bad RST_STREAM");
        return;
      }
      auto it = open_.find(stream_id);
      if (it == open_.end()) return;
      Stream* s = it->second;
      open_.erase(it);
      const uint32_t error = ReadU32(payload);
      constexpr uint32_t kRefusedStream = 7;
      if (!(error == kRefusedStream && Requeue(s))) {
        Complete(s, StatusFromHttp2Error(error),
                 absl::StrCat("stream reset by the server (HTTP/2 error ", error, ")"), {});
      }
      AfterStreamEnded();
      return;
    }
    case kSettings: {
      if ((flags & kAck) != 0) return;
      if (length % 6 != 0) {
        Break("HTTP/2 protocol error: bad SETTINGS");
        return;
      }
      for (size_t i = 0; i < length; i += 6) {
        const auto* p = reinterpret_cast<const uint8_t*>(payload + i);
        const uint16_t id = static_cast<uint16_t>((p[0] << 8) | p[1]);
        const uint32_t value = ReadU32(payload + i + 2);
        if (id == kSettingsMaxConcurrentStreams) {
          peer_max_streams_ = value;
        } else if (id == kSettingsInitialWindowSize) {
          if (value > kMaxWindow) {
            Break("HTTP/2 flow control error: SETTINGS_INITIAL_WINDOW_SIZE");
            return;
          }
          const int64_t delta = static_cast<int64_t>(value) - peer_initial_window_;
          peer_initial_window_ = value;
          for (auto& [sid, s] : open_) s->send_window += delta;
        } else if (id == kSettingsMaxFrameSize) {
          peer_max_frame_ = std::clamp<size_t>(value, 16384, (1 << 24) - 1);
        }
      }
      AppendFrameHeader(&out_, 0, kSettings, kAck, 0);
      if (!settings_received_) {
        settings_received_ = true;
        ready_.store(true, std::memory_order_release);
      }
      ResumeBlocked();
      OpenWaiting();
      MarkDirty();
      return;
    }
    case kPing: {
      if (length != 8) {
        Break("HTTP/2 protocol error: bad PING");
        return;
      }
      if ((flags & kAck) != 0) return;
      AppendFrameHeader(&out_, 8, kPing, kAck, 0);
      out_.append(payload, 8);
      MarkDirty();
      return;
    }
    case kGoAway: {
      if (length < 8) {
        Break("HTTP/2 protocol error: bad GOAWAY");
        return;
      }
      const uint32_t last = ReadU32(payload) & 0x7fffffff;
      const uint32_t error = ReadU32(payload + 4);
      draining_ = true;
      // Streams past `last` were not processed: sent again on the next
      // connection, in their order.
      std::vector<Stream*> refused;
      for (const auto& [id, s] : open_) {
        if (id > last) refused.push_back(s);
      }
      std::sort(refused.begin(), refused.end(),
                [](const Stream* a, const Stream* b) { return a->id > b->id; });
      for (Stream* s : refused) {
        open_.erase(s->id);
        if (!Requeue(s)) {
          Complete(s, grpc::StatusCode::UNAVAILABLE,
                   absl::StrCat("the server is going away (GOAWAY, HTTP/2 error ", error, ")"),
                   {});
        }
      }
      loop_->AddReconnect(this);
      return;
    }
    case kWindowUpdate: {
      if (length != 4) {
        Break("HTTP/2 protocol error: bad WINDOW_UPDATE");
        return;
      }
      const int64_t increment = ReadU32(payload) & 0x7fffffff;
      if (stream_id == 0) {
        conn_send_window_ += increment;
      } else {
        auto it = open_.find(stream_id);
        if (it == open_.end()) return;
        it->second->send_window += increment;
      }
      if (!blocked_.empty()) ResumeBlocked();
      return;
    }
    case kPushPromise:
      Break("HTTP/2 protocol error: PUSH_PROMISE with push disabled");
      return;
    default:
      return;  // PRIORITY and unknown types.
  }
}

void Connection::HandleHeaderBlock(uint32_t stream_id, absl::string_view block,
                                   bool end_stream) {
  auto it = open_.find(stream_id);
  Stream* s = it == open_.end() ? nullptr : it->second;
  // Decoded whatever the stream: the dynamic table must follow every block.
  const absl::Status status = decoder_->Decode(
      block, [s](absl::string_view name, absl::string_view value) {
        if (s == nullptr) return;
        if (name == ":status") {
          int v = 0;
          s->http_status = absl::SimpleAtoi(value, &v) ? v : -1;
        } else if (name == "grpc-status") {
          int v = 0;
          s->grpc_status = absl::SimpleAtoi(value, &v) ? v : static_cast<int>(grpc::StatusCode::UNKNOWN);
        } else if (name == "grpc-message") {
          s->message = PercentDecode(value);
        } else if (name == "content-type") {
          s->grpc_content = absl::StartsWith(value, "application/grpc");
        }
      });
  if (!status.ok()) {
    Break(absl::StrCat("HTTP/2 compression error: ", status.message()));
    return;
  }
  if (s != nullptr && end_stream) FinishStream(s);
}

void Connection::FinishStream(Stream* s) {
  open_.erase(s->id);
  if (s->sent < shared_->framed[s->request].size()) ResetStream(s->id, kCancel);
  grpc::StatusCode code;
  std::string fallback;
  absl::string_view message = s->message;
  absl::string_view bytes;
  if (s->grpc_status >= 0) {
    code = s->grpc_status <= static_cast<int>(grpc::StatusCode::UNAUTHENTICATED)
               ? static_cast<grpc::StatusCode>(s->grpc_status)
               : grpc::StatusCode::UNKNOWN;
  } else if (s->http_status != 200) {
    code = StatusFromHttpStatus(s->http_status);
    fallback = absl::StrCat("HTTP status ", s->http_status, " without grpc-status");
    message = fallback;
  } else {
    code = grpc::StatusCode::UNKNOWN;
    message = "the answer ended without grpc-status";
  }
  if (code == grpc::StatusCode::OK) {
    const std::string& body = s->body;
    if (!s->grpc_content) {
      code = grpc::StatusCode::UNKNOWN;
      message = "the answer's content-type is not application/grpc";
    } else if (body.empty()) {
      code = grpc::StatusCode::INTERNAL;
      message = "No message returned for unary request";
    } else if (body.size() < 5 || body[0] != 0 ||
               ReadU32(body.data() + 1) != body.size() - 5) {
      code = grpc::StatusCode::INTERNAL;
      message = body[0] != 0 ? "a compressed answer (compression was not offered)"
                             : "not one length-prefixed message in the answer";
    } else {
      bytes = absl::string_view(body).substr(5);
    }
  }
  Complete(s, code, message, bytes);
  AfterStreamEnded();
}

// ---------------------------------------------------------------------------

class Http2Transport final : public CallTransport {
 public:
  Http2Transport(std::unique_ptr<Shared> shared, int connections, int threads)
      : shared_(std::move(shared)) {
    for (int t = 0; t < threads; ++t) loops_.push_back(std::make_unique<Loop>(shared_.get()));
    for (int c = 0; c < connections; ++c) {
      connections_.push_back(loops_[static_cast<size_t>(c % threads)]->AddConnection());
    }
  }
  ~Http2Transport() override { Stop(); }

  void Start() override {
    for (auto& loop : loops_) loop->Start();
  }

  void Send(size_t connection, size_t request, CallCompletion* done) override {
    const size_t c = connection % connections_.size();
    Loop* loop = loops_[c % loops_.size()].get();
    const auto r = static_cast<uint32_t>(request % shared_->framed.size());
    if (loop->OnLoopThread()) {
      connections_[c]->StartCall(r, done);
    } else {
      loop->Post(connections_[c], r, done);
    }
  }

  bool WaitConnected(absl::Duration timeout) override {
    for (size_t c = 0; c < connections_.size(); ++c) {
      loops_[c % loops_.size()]->Post(connections_[c], 0, nullptr);
    }
    const absl::Time deadline = absl::Now() + timeout;
    while (true) {
      bool all = true;
      for (const Connection* c : connections_) all = all && c->ready();
      if (all) return true;
      if (absl::Now() >= deadline) return false;
      absl::SleepFor(absl::Milliseconds(1));
    }
  }

  void Stop() override {
    for (auto& loop : loops_) loop->Stop();
  }

  size_t connections() const override { return connections_.size(); }
  size_t threads() const override { return loops_.size(); }

 private:
  std::unique_ptr<Shared> shared_;
  std::vector<std::unique_ptr<Loop>> loops_;
  std::vector<Connection*> connections_;
};

}  // namespace

std::string GrpcTimeoutValue(absl::Duration deadline) {
  const int64_t ns = std::max<int64_t>(absl::ToInt64Nanoseconds(deadline), 1);
  struct Unit {
    int64_t ns;
    char name;
  };
  constexpr Unit kUnits[] = {{1, 'n'},
                             {1000, 'u'},
                             {1000'000, 'm'},
                             {1000'000'000, 'S'},
                             {60'000'000'000, 'M'},
                             {3600'000'000'000, 'H'}};
  for (const Unit& u : kUnits) {
    const int64_t value = (ns + u.ns - 1) / u.ns;
    if (value < 100'000'000) return absl::StrCat(value, std::string(1, u.name));
  }
  return "99999999H";
}

std::string PercentDecode(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      int v = 0;
      bool ok = true;
      for (size_t k = 1; k <= 2; ++k) {
        const char c = text[i + k];
        v <<= 4;
        if (c >= '0' && c <= '9') {
          v |= c - '0';
        } else if (c >= 'a' && c <= 'f') {
          v |= c - 'a' + 10;
        } else if (c >= 'A' && c <= 'F') {
          v |= c - 'A' + 10;
        } else {
          ok = false;
        }
      }
      if (ok) {
        out.push_back(static_cast<char>(v));
        i += 2;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

grpc::StatusCode StatusFromHttp2Error(uint32_t code) {
  switch (code) {
    case 0x7:  // REFUSED_STREAM
      return grpc::StatusCode::UNAVAILABLE;
    case 0x8:  // CANCEL
      return grpc::StatusCode::CANCELLED;
    case 0xb:  // ENHANCE_YOUR_CALM
      return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case 0xc:  // INADEQUATE_SECURITY
      return grpc::StatusCode::PERMISSION_DENIED;
    default:
      return grpc::StatusCode::INTERNAL;
  }
}

grpc::StatusCode StatusFromHttpStatus(int status) {
  switch (status) {
    case 400:
      return grpc::StatusCode::INTERNAL;
    case 401:
      return grpc::StatusCode::UNAUTHENTICATED;
    case 403:
      return grpc::StatusCode::PERMISSION_DENIED;
    case 404:
      return grpc::StatusCode::UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return grpc::StatusCode::UNAVAILABLE;
    default:
      return grpc::StatusCode::UNKNOWN;
  }
}

absl::StatusOr<std::unique_ptr<CallTransport>> NewHttp2Transport(Http2TransportOptions options) {
  if (options.requests.empty()) return absl::InvalidArgumentError("no requests");
  if (options.connections < 1 || options.threads < 1) {
    return absl::InvalidArgumentError("connections and threads must be >= 1");
  }
  if (options.deadline <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("the deadline must be positive");
  }
  auto shared = std::make_unique<Shared>();
  absl::string_view address = options.address;
  address = absl::StripPrefix(address, "dns:///");
  address = absl::StripPrefix(address, "dns:");
  address = absl::StripPrefix(address, "ipv4:");
  address = absl::StripPrefix(address, "ipv6:");
  shared->authority = std::string(address);
  std::string host;
  std::string port;
  const size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos || colon + 1 == address.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("address '", options.address, "' is not host:port"));
  }
  host = std::string(address.substr(0, colon));
  port = std::string(address.substr(colon + 1));
  if (absl::StartsWith(host, "[") && absl::EndsWith(host, "]")) {
    host = host.substr(1, host.size() - 2);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0 || found == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot resolve '", options.address, "': ", gai_strerror(rc)));
  }
  std::memcpy(&shared->address, found->ai_addr, found->ai_addrlen);
  shared->address_length = found->ai_addrlen;
  freeaddrinfo(found);

  for (const std::string& r : options.requests) {
    std::string framed;
    framed.reserve(r.size() + 5);
    framed.push_back(0);
    AppendU32(&framed, static_cast<uint32_t>(r.size()));
    framed += r;
    shared->framed.push_back(std::move(framed));
  }
  shared->deadline_ns = absl::ToInt64Nanoseconds(options.deadline);
  std::string& block = shared->header_block;
  block.push_back(static_cast<char>(0x83));  // :method POST (static index 3)
  block.push_back(static_cast<char>(0x86));  // :scheme http (static index 6)
  hpack::AppendLiteralWithoutIndexing(":path", options.path, &block);
  hpack::AppendLiteralWithoutIndexing(":authority", shared->authority, &block);
  hpack::AppendLiteralWithoutIndexing("content-type", "application/grpc", &block);
  hpack::AppendLiteralWithoutIndexing("user-agent", options.user_agent, &block);
  hpack::AppendLiteralWithoutIndexing("te", "trailers", &block);
  hpack::AppendLiteralWithoutIndexing("grpc-timeout", GrpcTimeoutValue(options.deadline),
                                      &block);
  const int threads = std::min(options.threads, options.connections);
  return std::unique_ptr<CallTransport>(
      new Http2Transport(std::move(shared), options.connections, threads));
}

}  // namespace recsys

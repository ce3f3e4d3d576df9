#ifndef RECSYS_TESTS_TEST_UTIL_H_
#define RECSYS_TESTS_TEST_UTIL_H_

// Helpers for end-to-end tests: the project's real binaries (Bazel data
// dependencies) run as child processes.

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

namespace recsys::testing {

// Path of a binary of this workspace in the test's runfiles, e.g.
// "simulator/world_gen".
std::string RunfilePath(const std::string& workspace_relative);

// A scratch directory private to the test.
std::string TestTempDir();

// Runs `argv` to completion with stdout and stderr appended to `log_path`;
// returns the exit code (or -signal).
int RunToCompletion(const std::vector<std::string>& argv, const std::string& log_path);

// A child process, sent SIGTERM and reaped when destroyed.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, const std::string& log_path);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool running();
  // Waits up to `timeout_s` for the process to exit by itself; true and its
  // exit code (or -signal) in `*exit_code` if it did.
  bool WaitForExit(double timeout_s, int* exit_code);
  // Sends `signal` (e.g. SIGHUP) if the process still runs; true if sent.
  bool Signal(int signal);
  // SIGTERM, then waits; returns the exit code (or -signal).
  int Stop();
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int exit_code_ = 0;
  bool reaped_ = false;
};

// A server binary of this workspace started by `StartServer`: the ports it
// bound (0 when it did not come up) and its log.
struct StartedServer {
  std::unique_ptr<ChildProcess> process;
  int port = 0;
  int metrics_port = 0;
  std::string log;
};

// Starts `binary` (e.g. "candidate_service/candidate_server") with
// `--address=127.0.0.1:0 --metrics_address=127.0.0.1:0`, port files and
// `flags`; its log and port files are `name`.* under `TestTempDir()`. Waits
// up to 60 s for the gRPC port and 5 s more for the metrics port.
StartedServer StartServer(const std::string& binary, const std::string& name,
                          const std::vector<std::string>& flags);

// Waits up to `timeout_s` for `path` to hold a port number; 0 on timeout.
int WaitForPortFile(const std::string& path, double timeout_s);

// The last `max_bytes` of a file, for failure messages.
std::string FileTail(const std::string& path, size_t max_bytes = 2000);

// The whole file; empty when it cannot be read.
std::string ReadFileOrEmpty(const std::string& path);

// Non-overlapping occurrences of `needle` (not empty) in `text`.
int CountOccurrences(const std::string& text, const std::string& needle);

// Copies the directory tree `from` to `to` (which must not exist). Returns
// an empty string on success, else what went wrong.
std::string CopyDirectory(const std::string& from, const std::string& to);

}  // namespace recsys::testing

#endif  // RECSYS_TESTS_TEST_UTIL_H_

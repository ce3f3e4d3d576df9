#include "tests/test_util.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace recsys::testing {
namespace {

pid_t Spawn(const std::vector<std::string>& argv, const std::string& log_path) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = -1;
  if (posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ) != 0) {
    pid = -1;
  }
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

int ExitCode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return -1;
}

}  // namespace

std::string RunfilePath(const std::string& workspace_relative) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  if (srcdir == nullptr) return workspace_relative;
  return std::string(srcdir) + "/" + (workspace ? workspace : "recsys") + "/" +
         workspace_relative;
}

std::string TestTempDir() {
  const char* t = std::getenv("TEST_TMPDIR");
  return t != nullptr ? t : "/tmp";
}

int RunToCompletion(const std::vector<std::string>& argv, const std::string& log_path) {
  pid_t pid = Spawn(argv, log_path);
  if (pid < 0) return -1000;
  int status = 0;
  waitpid(pid, &status, 0);
  return ExitCode(status);
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv,
                           const std::string& log_path)
    : pid_(Spawn(argv, log_path)) {
  reaped_ = pid_ < 0;
}

ChildProcess::~ChildProcess() { Stop(); }

bool ChildProcess::running() {
  if (reaped_) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    reaped_ = true;
    exit_code_ = ExitCode(status);
    return false;
  }
  return true;
}

bool ChildProcess::WaitForExit(double timeout_s, int* exit_code) {
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::duration<double>(timeout_s);
  while (running()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  *exit_code = exit_code_;
  return true;
}

bool ChildProcess::Signal(int signal) {
  return running() && kill(pid_, signal) == 0;
}

int ChildProcess::Stop() {
  if (!reaped_) {
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    reaped_ = true;
    exit_code_ = ExitCode(status);
  }
  return exit_code_;
}

StartedServer StartServer(const std::string& binary, const std::string& name,
                          const std::vector<std::string>& flags) {
  StartedServer server;
  const std::string base = TestTempDir() + "/" + name;
  server.log = base + ".log";
  std::vector<std::string> argv = {RunfilePath(binary), "--address=127.0.0.1:0",
                                   "--port_file=" + base + ".port",
                                   "--metrics_address=127.0.0.1:0",
                                   "--metrics_port_file=" + base + ".metrics_port"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  server.process = std::make_unique<ChildProcess>(argv, server.log);
  server.port = WaitForPortFile(base + ".port", 60);
  if (server.port > 0) server.metrics_port = WaitForPortFile(base + ".metrics_port", 5);
  return server;
}

int WaitForPortFile(const std::string& path, double timeout_s) {
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::duration<double>(timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(path);
    int port = 0;
    if (in >> port && port > 0) return port;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return 0;
}

std::string FileTail(const std::string& path, size_t max_bytes) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > max_bytes ? s.substr(s.size() - max_bytes) : s;
}

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int CountOccurrences(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + needle.size())) {
    ++n;
  }
  return n;
}

std::string CopyDirectory(const std::string& from, const std::string& to) {
  std::error_code error;
  if (std::filesystem::exists(to, error)) return to + " already exists";
  std::filesystem::copy(from, to, std::filesystem::copy_options::recursive, error);
  if (error) return "cannot copy " + from + " to " + to + ": " + error.message();
  return "";
}

}  // namespace recsys::testing

#ifndef RECSYS_IMPORTERS_TEST_UTIL_H_
#define RECSYS_IMPORTERS_TEST_UTIL_H_

// Helpers for the importers' tests: canonical records as one readable line
// each, and fixture directories copied with some files replaced.

#include <map>
#include <string>
#include <vector>

#include "common/logs/logs.h"

namespace recsys::testing {

// One line per record with every field in declaration order, joined by '|',
// for readable comparisons (e.g. "u1|zip8||male|24|1|" for a user).
std::vector<std::string> Lines(const std::vector<VideoRecord>& videos);
std::vector<std::string> Lines(const std::vector<UserRecord>& users);
std::vector<std::string> Lines(const std::vector<WatchRecord>& watches);
std::vector<std::string> Lines(const std::vector<SearchRecord>& searches);
std::vector<std::string> Lines(const std::vector<ImpressionRecord>& rows);
// Every table of `logs` as above, each line prefixed by its table's name
// ("videos: ...", "users: ...", ...), in the order of `Logs`' members.
std::vector<std::string> Lines(const Logs& logs);

// A fresh directory under the test's temporary directory holding a copy of
// the directory tree `fixture`, with `files` (path relative to the copy ->
// contents) written over it. Each call returns a new directory.
std::string CopyFixtureWith(const std::string& fixture,
                            const std::map<std::string, std::string>& files);

}  // namespace recsys::testing

#endif  // RECSYS_IMPORTERS_TEST_UTIL_H_

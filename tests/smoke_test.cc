#include <gtest/gtest.h>
#include <faiss/IndexFlat.h>
#include <spdlog/spdlog.h>
#include <grpcpp/grpcpp.h>
#include "proto/recsys.grpc.pb.h"
#include "proto/bundle.pb.h"
TEST(Smoke, Links) {
  recsys::RecommendRequest r; r.set_num_results(3);
  faiss::IndexFlatIP idx(4); float v[4]={1,2,3,4}; idx.add(1,v);
  spdlog::info("ok {}", r.num_results());
  EXPECT_EQ(idx.ntotal, 1);
}

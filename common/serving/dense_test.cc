#include "common/serving/dense.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "absl/status/status.h"

namespace recsys {
namespace {

DenseLayer RandomLayer(int in, int out, std::mt19937* rng) {
  std::uniform_real_distribution<float> uniform(-0.5f, 0.5f);
  DenseLayer layer;
  layer.in = in;
  layer.out = out;
  layer.weight.resize(static_cast<size_t>(in) * out);
  layer.bias.resize(out);
  for (float& w : layer.weight) w = uniform(*rng);
  for (float& b : layer.bias) b = uniform(*rng);
  return layer;
}

// y[b][o] = sum_i x[b][i] * W[o][i] + bias[o], ReLU on all but the last
// layer, in double precision.
std::vector<float> NaiveForward(const std::vector<DenseLayer>& layers,
                                std::vector<float> x, int batch) {
  for (size_t l = 0; l < layers.size(); ++l) {
    const DenseLayer& layer = layers[l];
    std::vector<float> y(static_cast<size_t>(batch) * layer.out);
    for (int b = 0; b < batch; ++b) {
      for (int o = 0; o < layer.out; ++o) {
        double sum = layer.bias[o];
        for (int i = 0; i < layer.in; ++i) {
          sum += double{x[b * layer.in + i]} * layer.weight[o * layer.in + i];
        }
        if (l + 1 < layers.size()) sum = std::max(sum, 0.0);
        y[b * layer.out + o] = static_cast<float>(sum);
      }
    }
    x = std::move(y);
  }
  return x;
}

TEST(MlpTest, ForwardMatchesNaiveReference) {
  std::mt19937 rng(42);
  const std::vector<DenseLayer> layers = {RandomLayer(23, 64, &rng),
                                          RandomLayer(64, 17, &rng),
                                          RandomLayer(17, 3, &rng)};
  absl::StatusOr<Mlp> mlp = Mlp::Create(layers);
  ASSERT_TRUE(mlp.ok()) << mlp.status();
  EXPECT_EQ(mlp->input_dim(), 23);
  EXPECT_EQ(mlp->output_dim(), 3);
  std::normal_distribution<float> normal;
  bool saw_negative_output = false;
  for (int batch : {1, 37}) {
    std::vector<float> x(static_cast<size_t>(batch) * 23);
    for (float& v : x) v = normal(rng);
    const std::vector<float> got = mlp->Forward(x.data(), batch);
    const std::vector<float> want = NaiveForward(layers, x, batch);
    ASSERT_EQ(got.size(), static_cast<size_t>(batch) * 3);
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_NEAR(got[i], want[i], 1e-4) << "batch " << batch << " at " << i;
      saw_negative_output |= got[i] < 0;
    }
  }
  // The last layer has no ReLU.
  EXPECT_TRUE(saw_negative_output);
}

// `RandomLayer` with weights scaled by 1 / sqrt(in), as a trained tower's
// are initialised: activations stay of order one through wide layers.
DenseLayer ScaledRandomLayer(int in, int out, std::mt19937* rng) {
  DenseLayer layer = RandomLayer(in, out, rng);
  const float scale = 1.0f / std::sqrt(static_cast<float>(in));
  for (float& w : layer.weight) w *= scale;
  return layer;
}

// A batch of one runs through gemv, a larger batch through sgemm: each row
// must come out the same either way (to float rounding), with the first
// layer's bias replaced or not.
TEST(MlpTest, BatchOfOneEqualsItsRowInABatch) {
  std::mt19937 rng(3);
  const std::vector<DenseLayer> layers = {ScaledRandomLayer(70, 256, &rng),
                                          ScaledRandomLayer(256, 128, &rng),
                                          ScaledRandomLayer(128, 33, &rng)};
  absl::StatusOr<Mlp> mlp = Mlp::Create(layers);
  ASSERT_TRUE(mlp.ok()) << mlp.status();
  constexpr int kBatch = 19;
  std::normal_distribution<float> normal;
  std::vector<float> x(static_cast<size_t>(kBatch) * 70);
  for (float& v : x) v = normal(rng);
  std::vector<float> first_bias(256);
  for (float& v : first_bias) v = normal(rng);
  for (const float* bias : {static_cast<const float*>(nullptr),
                            static_cast<const float*>(first_bias.data())}) {
    const std::vector<float> batched = mlp->Forward(x.data(), kBatch, bias);
    ASSERT_EQ(batched.size(), static_cast<size_t>(kBatch) * 33);
    for (int row = 0; row < kBatch; ++row) {
      const std::vector<float> one = mlp->Forward(&x[static_cast<size_t>(row) * 70], 1, bias);
      ASSERT_EQ(one.size(), 33u);
      for (int j = 0; j < 33; ++j) {
        EXPECT_NEAR(one[j], batched[static_cast<size_t>(row) * 33 + j], 1e-5)
            << "row " << row << ", output " << j
            << (bias != nullptr ? ", first bias replaced" : "");
      }
    }
  }
}

TEST(MlpTest, EmptyBatch) {
  std::mt19937 rng(1);
  absl::StatusOr<Mlp> mlp = Mlp::Create({RandomLayer(4, 2, &rng)});
  ASSERT_TRUE(mlp.ok());
  EXPECT_TRUE(mlp->Forward(nullptr, 0).empty());
}

TEST(MlpTest, GemmNTAccumulates) {
  // A = [[1, 2], [3, 4]], B = [[1, 0], [0, 1], [1, 1]]: A B^T = [[1, 2, 3],
  // [3, 4, 7]].
  const float a[] = {1, 2, 3, 4};
  const float b[] = {1, 0, 0, 1, 1, 1};
  float c[6] = {10, 10, 10, 10, 10, 10};
  GemmNT(a, b, c, 2, 3, 2, /*accumulate=*/true);
  EXPECT_EQ(std::vector<float>(c, c + 6),
            (std::vector<float>{11, 12, 13, 13, 14, 17}));
  GemmNT(a, b, c, 2, 3, 2);
  EXPECT_EQ(std::vector<float>(c, c + 6),
            (std::vector<float>{1, 2, 3, 3, 4, 7}));
}

TEST(MlpTest, GemmNTSingleRowAccumulates) {
  // The one-row path (gemv): a = [3, 4], B as above: a B^T = [3, 4, 7].
  const float a[] = {3, 4};
  const float b[] = {1, 0, 0, 1, 1, 1};
  float c[3] = {10, 10, 10};
  GemmNT(a, b, c, 1, 3, 2, /*accumulate=*/true);
  EXPECT_EQ(std::vector<float>(c, c + 3), (std::vector<float>{13, 14, 17}));
  GemmNT(a, b, c, 1, 3, 2);
  EXPECT_EQ(std::vector<float>(c, c + 3), (std::vector<float>{3, 4, 7}));
}

void ExpectRejected(std::vector<DenseLayer> layers, const std::string& text) {
  absl::StatusOr<Mlp> mlp = Mlp::Create(std::move(layers));
  ASSERT_FALSE(mlp.ok());
  EXPECT_EQ(mlp.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(mlp.status().message().find(text), absl::string_view::npos)
      << mlp.status();
}

TEST(MlpTest, CreateRejectsMismatchedShapes) {
  std::mt19937 rng(7);
  ExpectRejected({}, "at least one layer");
  ExpectRejected({RandomLayer(8, 4, &rng), RandomLayer(5, 1, &rng)},
                 "layer 1 takes in = 5 inputs but layer 0 produces out = 4");
  DenseLayer short_weight = RandomLayer(8, 4, &rng);
  short_weight.weight.pop_back();
  ExpectRejected({short_weight},
                 "layer 0: weight has 31 floats, expected out * in = 4 * 8");
  DenseLayer long_bias = RandomLayer(8, 4, &rng);
  long_bias.bias.push_back(0);
  ExpectRejected({long_bias}, "layer 0: bias has 5 floats, expected out = 4");
  DenseLayer zero = RandomLayer(8, 4, &rng);
  zero.out = 0;
  ExpectRejected({zero}, "in and out must be > 0");
}

}  // namespace
}  // namespace recsys

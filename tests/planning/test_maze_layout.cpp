#include <gtest/gtest.h>

#include "df/core/error.h"
#include "df/planning/maze_layout.h"

namespace df::planning {
namespace {

struct LayoutFacts {
  const char* env_id;
  int rows, cols, free_with_goal;
  Cell goal;
  int episode_steps;
};

TEST(MazeLayout, V1LayoutsHaveTheD4rlSizesGoalsAndEpisodeLengths) {
  const LayoutFacts facts[] = {{"maze2d-umaze-v1", 5, 5, 7, {1, 1}, 300},
                               {"maze2d-medium-v1", 8, 8, 26, {6, 6}, 600},
                               {"maze2d-large-v1", 9, 12, 46, {7, 9}, 800}};
  for (const auto& f : facts) {
    const MazeEnvSpec spec = maze_env_spec(f.env_id);
    const MazeLayout layout = MazeLayout::parse(spec.layout_text);
    EXPECT_EQ(layout.rows(), f.rows) << f.env_id;
    EXPECT_EQ(layout.cols(), f.cols) << f.env_id;
    EXPECT_EQ(static_cast<int>(layout.start_cells().size()), f.free_with_goal) << f.env_id;
    EXPECT_EQ(layout.goal_cell(), f.goal) << f.env_id;
    EXPECT_EQ(layout.start_cells().back(), f.goal) << "goal comes last, as in empty_and_goal_locations";
    EXPECT_EQ(spec.max_episode_steps, f.episode_steps);
    EXPECT_FALSE(spec.random_goal);
    // The border is wall everywhere.
    for (int j = 0; j < layout.cols(); ++j) EXPECT_TRUE(layout.is_wall(0, j) && layout.is_wall(f.rows - 1, j));
  }
}

TEST(MazeLayout, FreeCellsAreRowMajorSorted) {
  const MazeLayout layout = MazeLayout::parse(umaze_layout_text());
  const std::vector<Cell> expected = {{1, 2}, {1, 3}, {2, 3}, {3, 1}, {3, 2}, {3, 3}};
  EXPECT_EQ(layout.free_cells(), expected);
}

TEST(MazeLayout, ParsesD4rlBackslashSpelling) {
  const MazeLayout layout = MazeLayout::parse("#####\\#GOO#\\###O#\\#OOO#\\#####");
  EXPECT_EQ(layout.to_string(), umaze_layout_text());
}

TEST(MazeLayout, RejectsBadLayoutsWithAMessage) {
  try {
    MazeLayout::parse("###\n#X#\n###");
    FAIL() << "expected df::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'X'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(MazeLayout::parse("###\n##\n"), Error);
  EXPECT_THROW(MazeLayout::parse("#G#\n#G#"), Error);
}

TEST(MazeEnvSpec, MultiVariantsDrawRandomGoalsAndUnknownIdsAreNamed) {
  EXPECT_TRUE(maze_env_spec("maze2d-large-multi-v1").random_goal);
  EXPECT_EQ(maze_env_spec("maze2d-large-multi-v1").max_episode_steps, 800);
  EXPECT_EQ(maze_env_ids().size(), 6u);
  try {
    maze_env_spec("maze2d-huge-v1");
    FAIL() << "expected df::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("maze2d-huge-v1"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("maze2d-umaze-v1"), std::string::npos);
  }
}

TEST(MazeEnvSpec, NormalizedScoreUsesD4rlReferences) {
  EXPECT_DOUBLE_EQ(normalized_score("maze2d-umaze-v1", 161.86), 1.0);
  EXPECT_DOUBLE_EQ(normalized_score("maze2d-umaze-v1", 23.85), 0.0);
  EXPECT_NEAR(normalized_score("maze2d-medium-v1", (13.13 + 277.39) / 2), 0.5, 1e-12);
  EXPECT_NEAR(normalized_score("maze2d-large-v1", 273.99), 1.0, 1e-12);
}

}  // namespace
}  // namespace df::planning

// client::Positions: keeps the newest commit position, compared as a number, not as text.
#include <gtest/gtest.h>

#include "client/client.h"

namespace todo::client {
namespace {

TEST(PositionsTest, KeepsTheNewestComparedAsNumbers) {
  Positions p;
  EXPECT_EQ(p.Latest(), "");
  p.Record("0/9");
  EXPECT_EQ(p.Latest(), "0/9");
  p.Record("0/10");  // as text "0/10" < "0/9"; as a position it is newer
  EXPECT_EQ(p.Latest(), "0/10");
  p.Record("0/A");   // older
  EXPECT_EQ(p.Latest(), "0/10");
  p.Record("1/0");   // the high part counts most
  EXPECT_EQ(p.Latest(), "1/0");
  p.Record("0/FFFFFFFF");
  EXPECT_EQ(p.Latest(), "1/0");
  p.Record("16/B374D848");
  EXPECT_EQ(p.Latest(), "16/B374D848");
}

TEST(PositionsTest, IgnoresWhatIsNotAPosition) {
  Positions p;
  p.Record("2/0");
  for (const char* bad : {"", "9", "/1", "9/", "G/0", "9/0/1", "123456789/0", "9/123456789",
                          " 9/0", "9/0 ", "-9/0", "+9/0"}) {
    p.Record(bad);
    EXPECT_EQ(p.Latest(), "2/0") << "'" << bad << "'";
  }
}

}  // namespace
}  // namespace todo::client

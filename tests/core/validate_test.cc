#include "core/validate.h"

#include <gtest/gtest.h>

#include <string>

namespace todo::core {
namespace {

// Expects `text` to be rejected with kInvalidArgument and a message containing `reason`.
void ExpectRejected(std::string_view text, std::string_view reason) {
  Status s = ValidateTaskText(text);
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument) << "text: " << testing::PrintToString(text);
  EXPECT_NE(s.message().find(reason), std::string::npos)
      << "text: " << testing::PrintToString(text) << " message: " << s.message();
}

TEST(ValidateTaskTextTest, EmptyIsRejected) { ExpectRejected("", "empty"); }

TEST(ValidateTaskTextTest, WhitespaceOnlyIsRejected) {
  ExpectRejected(" ", "only whitespace");
  ExpectRejected("   ", "only whitespace");
  ExpectRejected("\t", "only whitespace");
  ExpectRejected(" \t \t", "only whitespace");
  ExpectRejected("\xC2\xA0", "only whitespace");      // U+00A0 no-break space
  ExpectRejected("\xE3\x80\x80", "only whitespace");  // U+3000 ideographic space
  ExpectRejected(" \xC2\xA0\t\xE3\x80\x80 ", "only whitespace");
}

TEST(ValidateTaskTextTest, TextAroundWhitespaceIsAccepted) {
  EXPECT_TRUE(ValidateTaskText(" a ").ok());
  EXPECT_TRUE(ValidateTaskText("\xC2\xA0x").ok());
  EXPECT_TRUE(ValidateTaskText("\tindented").ok());
}

TEST(ValidateTaskTextTest, SizeLimitIsBytes) {
  EXPECT_TRUE(ValidateTaskText(std::string(kMaxTaskBytes, 'a')).ok());
  ExpectRejected(std::string(kMaxTaskBytes + 1, 'a'), "4097 bytes");
}

TEST(ValidateTaskTextTest, MultibyteCharacterAtTheLimit) {
  // 4094 + 2 bytes of "é" = exactly 4096: accepted.
  std::string at_limit = std::string(kMaxTaskBytes - 2, 'a') + "\xC3\xA9";
  ASSERT_EQ(at_limit.size(), kMaxTaskBytes);
  EXPECT_TRUE(ValidateTaskText(at_limit).ok());
  // The same character one byte later crosses the limit.
  std::string over = std::string(kMaxTaskBytes - 1, 'a') + "\xC3\xA9";
  ExpectRejected(over, "limit");
  // Cutting at 4096 bytes through the character leaves invalid UTF-8.
  ExpectRejected(over.substr(0, kMaxTaskBytes), "UTF-8");
}

TEST(ValidateTaskTextTest, InvalidUtf8IsRejected) {
  ExpectRejected("\x80", "UTF-8");                  // lone continuation byte
  ExpectRejected("abc\xBF", "UTF-8");               // continuation byte after ASCII
  ExpectRejected("\xE2\x82", "UTF-8");              // truncated three-byte sequence (euro sign)
  ExpectRejected("\xE2\x82 euro", "UTF-8");         // truncated, followed by more text
  ExpectRejected("\xC0\xAF", "UTF-8");              // overlong '/'
  ExpectRejected("\xE0\x80\xAF", "UTF-8");          // overlong '/' in three bytes
  ExpectRejected("\xED\xA0\x80", "UTF-8");          // surrogate U+D800
  ExpectRejected("\xED\xBF\xBF", "UTF-8");          // surrogate U+DFFF
  ExpectRejected("\xF4\x90\x80\x80", "UTF-8");      // U+110000, above U+10FFFF
  ExpectRejected("\xF8\x88\x80\x80\x80", "UTF-8");  // five-byte form
  ExpectRejected("\xFF", "UTF-8");
}

TEST(ValidateTaskTextTest, InvalidUtf8NamesTheOffset) {
  Status s = ValidateTaskText("ok\x80");
  EXPECT_NE(s.message().find("offset 2"), std::string::npos) << s.message();
}

TEST(IsValidUtf8Test, AcceptsWellFormedAndBoundaries) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("caf\xC3\xA9"));
  EXPECT_TRUE(IsValidUtf8("\xF0\x9F\x8E\x89"));  // U+1F389
  EXPECT_TRUE(IsValidUtf8("\xED\x9F\xBF"));      // U+D7FF, just below the surrogates
  EXPECT_TRUE(IsValidUtf8("\xEE\x80\x80"));      // U+E000, just above them
  EXPECT_TRUE(IsValidUtf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF, the last code point
}

TEST(IsValidUtf8Test, RejectsMalformed) {
  EXPECT_FALSE(IsValidUtf8("\x80"));
  EXPECT_FALSE(IsValidUtf8("\xC3"));
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));
}

TEST(ValidateTaskTextTest, ControlCharactersAreRejected) {
  ExpectRejected("line\nbreak", "control character");
  ExpectRejected("carriage\rreturn", "control character");
  ExpectRejected("a\x01", "control character");
  ExpectRejected("delete\x7F", "control character");
  ExpectRejected(std::string("nul\0byte", 8), "control character");
  ExpectRejected("\x1B[31mred", "control character");
}

TEST(ValidateTaskTextTest, TabIsAccepted) { EXPECT_TRUE(ValidateTaskText("a\tb").ok()); }

TEST(ValidateTaskTextTest, UnicodeTextIsAccepted) {
  EXPECT_TRUE(ValidateTaskText("caf\xC3\xA9").ok());
  EXPECT_TRUE(ValidateTaskText("\xF0\x9F\x8E\x89 ship it").ok());
  EXPECT_TRUE(ValidateTaskText("\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E").ok());  // 日本語
  EXPECT_TRUE(ValidateTaskText("(A) call Bob +project @context due:2026-12-01").ok());
}

TEST(ValidateUserNameTest, AcceptsNames) {
  EXPECT_TRUE(ValidateUserName("dev0001").ok());
  EXPECT_TRUE(ValidateUserName("a").ok());
  EXPECT_TRUE(ValidateUserName("7").ok());
  EXPECT_TRUE(ValidateUserName("Ann.Lee_2-x").ok());
  EXPECT_TRUE(ValidateUserName(std::string(kMaxUserNameBytes, 'u')).ok());
}

TEST(ValidateUserNameTest, RejectsBadNames) {
  for (std::string name :
       {std::string(), std::string(kMaxUserNameBytes + 1, 'u'), std::string("-lead"),
        std::string(".lead"), std::string("_lead"), std::string("two words"), std::string("a/b"),
        std::string("a]"), std::string("caf\xC3\xA9"), std::string("tab\there")}) {
    Status s = ValidateUserName(name);
    EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument) << "name: " << name;
  }
}

}  // namespace
}  // namespace todo::core

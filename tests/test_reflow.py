"""Reflow: hard-wrapped lines joined into paragraphs, everything else left as it is."""

import re

from hypothesis import given
from hypothesis import strategies as st

from transforms.core.reflow import reflow

WIRE = """\
BAHIA COCOA REVIEW

Showers continued throughout the week in
the Bahia cocoa zone, alleviating the drought since early
January and improving prospects for the coming temporao,
although normal humidity levels have not been restored,
Comissaria Smith said in its weekly review.
    The dry period means the temporao will be late this year
and there could be room for co-
operation between the producers, the report said.
    Arrivals for the week ended February 22 were 155,221 bags
of 60 kilos making a cumulative total for the season of 5.93
mln against 5.81 at the same stage last year.
         Natl   Loan           Release   Call
 Wheat   2.55   2.40       IV     4.65     --
 Corn    1.35   1.92       IV     3.15   3.15
    The ministers agreed on the following measures, it said:
1. A cut in the discount rate to be decided on March
30.
2. Closer monitoring of exchange rates.
 Reuter
"""
REFLOWED = """\
BAHIA COCOA REVIEW

Showers continued throughout the week in the Bahia cocoa zone, alleviating the drought since early \
January and improving prospects for the coming temporao, although normal humidity levels have not been \
restored, Comissaria Smith said in its weekly review.
    The dry period means the temporao will be late this year and there could be room for co-operation \
between the producers, the report said.
    Arrivals for the week ended February 22 were 155,221 bags of 60 kilos making a cumulative total for \
the season of 5.93 mln against 5.81 at the same stage last year.
         Natl   Loan           Release   Call
 Wheat   2.55   2.40       IV     4.65     --
 Corn    1.35   1.92       IV     3.15   3.15
    The ministers agreed on the following measures, it said:
1. A cut in the discount rate to be decided on March 30.
2. Closer monitoring of exchange rates.
 Reuter
"""
ONE_PARAGRAPH_PER_LINE = (
    "Ad sales boost Time Warner profit\n\n"
    "Quarterly profits at US media giant TimeWarner jumped 76% to $1.13bn (£600m) for the three months to "
    "December, from $639m year-earlier.\n"
    "The firm, which is now one of the biggest investors in Google, benefited from sales of high-speed "
    "internet connections and higher advert sales.\n"
    "Short line.\n"
)
SHORT_LINES = "Shopping list\n\nApples and pears for\nthe weekend.\nMilk.\nBread, butter and\njam.\n"
WORDS = st.lists(
    st.sampled_from(
        ["the", "Reuter", "co-", "operation", "  ", "1.", "-", "said", "DLRS", "2.55", "\t", "a"]
    ),
    max_size=15,
).map(" ".join)


def test_wrapped_wire_story_is_joined_into_paragraphs():
    reflowed, joins = reflow(WIRE)
    assert reflowed == REFLOWED
    assert joins == WIRE.count("\n") - REFLOWED.count("\n") == 9


def test_text_that_is_not_hard_wrapped_is_unchanged():
    assert reflow(ONE_PARAGRAPH_PER_LINE) == (ONE_PARAGRAPH_PER_LINE, 0)
    assert reflow(SHORT_LINES) == (SHORT_LINES, 0)
    assert reflow("") == ("", 0)


def test_uppercase_heading_inside_wrapped_text_keeps_its_breaks():
    text = (
        "The government could talk to Boko Haram if credible representatives\n"
        "emerged, the president said in a statement issued in the capital.\n"
        "INFORMATION LOST\n"
        "Activists said the government is not doing enough to find them.\n"
    )
    assert reflow(text) == (text.replace("representatives\nemerged", "representatives emerged"), 1)


@given(st.lists(WORDS, max_size=12).map("\n".join))
def test_is_idempotent_and_only_removes_line_breaks(text):
    reflowed, joins = reflow(text)
    assert reflow(reflowed) == (reflowed, 0)
    assert re.sub(r"\s", "", reflowed) == re.sub(r"\s", "", text)
    assert reflowed.count("\n") == text.count("\n") - joins


def test_chinese_and_japanese_lines_are_joined_without_a_space():
    chinese = (
        "国家统计局今天发布的数据显示，今年前三季度全国居民人均可支配收入\n"
        "比上年同期名义增长百分之五点三，扣除价格因素实际增长百分之四点九。\n"
        "其中城镇居民人均可支配收入增长百分之四点五，农村居民增长百分之六。\n"
    )
    reflowed, joins = reflow(chinese)
    assert (reflowed, joins) == (chinese.replace("\n", "") + "\n", 2)
    japanese = (
        "東京都は今日、新しい交通計画を発表し、来年から市内の主要な駅の周辺で\n"
        "バスの運行本数を増やすと明らかにした。\n"
    )
    assert reflow(japanese) == (japanese.replace("で\nバ", "でバ"), 1)


def test_korean_lines_keep_the_space_between_words():
    korean = (
        "서울시는 오늘 새로운 교통 계획을 발표하고 내년부터 시내 주요 역 주변에서\n"
        "버스 운행 횟수를 늘리겠다고 밝혔다. 시민들의 반응은 대체로 긍정적이었다.\n"
    )
    assert reflow(korean) == (korean.replace("주변에서\n버스", "주변에서 버스"), 1)

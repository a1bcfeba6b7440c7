"""统一社会信用代码 check character (GB 32100-2015) against codes published on business licences."""

import pytest

from institutions.credit_code import ALPHABET, WEIGHTS, check_character, is_credit_code

# Codes printed on the business licences of well-known companies (public registration records).
PUBLISHED = (
    "91440300708461136T",  # 深圳市腾讯计算机系统有限公司
    "91330100799655058B",  # 阿里巴巴（中国）有限公司
    "914403001922038216",  # 华为技术有限公司
    "91110108551385082Q",  # 小米科技有限责任公司
    "91110000710925462X",  # 中国石油天然气股份有限公司
)


def test_the_standard_weights_and_alphabet():
    assert WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
    assert len(ALPHABET) == 31 and not set("IOZSV") & set(ALPHABET)


@pytest.mark.parametrize("code", PUBLISHED)
def test_published_codes_pass(code):
    assert check_character(code[:17]) == code[17]
    assert is_credit_code(code)
    assert is_credit_code(code.lower())  # lower case is normalised


@pytest.mark.parametrize("code", PUBLISHED)
def test_any_single_changed_character_fails(code):
    for position in range(18):
        for replacement in "0A":
            if code[position] == replacement:
                continue
            changed = code[:position] + replacement + code[position + 1 :]
            assert not is_credit_code(changed), changed


@pytest.mark.parametrize(
    "code",
    ["", "9144030070846113", "91440300708461136TT", "9144030070846113OT", "91ABCDEF708461136T", "914403007084611 6T"],
)
def test_malformed_codes_fail(code):
    assert not is_credit_code(code)

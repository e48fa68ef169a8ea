import pytest

from xiaoan.text.amounts import format_amount, parse_amount


@pytest.mark.parametrize(
    "text, expected",
    [
        ("三千五", "3500.00"),
        ("两千块", "2000.00"),
        ("一万二", "12000.00"),
        ("3.5万", "35000.00"),
        ("¥1,280.50", "1280.50"),
        ("1,280.50元", "1280.50"),
        ("500元", "500.00"),
        ("五百块钱", "500.00"),
        ("一千零五", "1005.00"),
        ("两万五千", "25000.00"),
        ("3千5", "3500.00"),
        ("五块五", "5.50"),
        ("两百五", "250.00"),
        ("人民币3500元整", "3500.00"),
        ("１２８０元", "1280.00"),
        ("1.2w", "12000.00"),
    ],
)
def test_amounts_people_type(text, expected):
    assert format_amount(parse_amount(text)) == expected


@pytest.mark.parametrize("text", ["", None, "abc", "尾号", "0元", "12 34 56 78 90 12 34 56 78 90 12 34 56 78 90 12 34 56 78 90 12 34 56 78"])
def test_not_an_amount(text):
    assert parse_amount(text) is None

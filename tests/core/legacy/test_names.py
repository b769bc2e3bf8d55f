"""core.legacy.names: hash names in the format of Frappe's make_autoname("hash")."""

import base64
import re

import pytest

from gigafibre_fsm.core.legacy.names import ALPHABET, HashNames, time_part, with_lead

NAME = re.compile(r"^[0-9a-v]{10}$")


def frappe_time_part(deciseconds: int) -> str:
	# frappe/model/naming.py _get_timestamp_prefix (v15), with time.time() * 10 given
	ts = deciseconds % (32**4)
	return base64.b32hexencode(ts.to_bytes(length=5, byteorder="big")).decode()[-3:].lower()


@pytest.mark.parametrize("deciseconds", [0, 1, 31, 32, 32**3 - 1, 32**3, 32**4 - 1, 32**4, 17_650_000_000])
def test_time_part_is_frappes(deciseconds):
	assert time_part(deciseconds) == frappe_time_part(deciseconds)
	assert len(time_part(deciseconds)) == 3


def test_time_part_orders_within_its_period():
	# the three characters sort as the time does, until they wrap (every 32**3 deciseconds)
	parts = [time_part(d) for d in range(32**3 * 5, 32**3 * 6, 97)]
	assert parts == sorted(parts)
	assert time_part(32**3) == time_part(0) == "000"


def test_names_have_the_orm_format_and_the_clocks_prefix():
	clock = iter([1_765_000_000.05] * 3 + [1_765_000_000.15] * 3)
	names = HashNames(lead="7", clock=lambda: next(clock))
	drawn = names.many(6)
	for name in drawn:
		assert NAME.match(name), name
		assert name[0] == "7"
	assert {n[1:4] for n in drawn[:3]} == {time_part(17_650_000_000)}
	assert {n[1:4] for n in drawn[3:]} == {time_part(17_650_000_001)}
	assert len(set(drawn)) == 6


def test_names_drawn_later_sort_after_earlier_ones():
	now = [1_765_000_000.0]
	names = HashNames(clock=lambda: now[0])
	first = names.many(100)
	now[0] += 0.2
	second = names.many(100)
	assert max(first) < min(second)


def test_no_name_twice_within_a_decisecond():
	names = HashNames(clock=lambda: 1_765_000_000.0)
	drawn = names.many(50_000)
	assert len(set(drawn)) == len(drawn)
	assert {n[:4] for n in drawn} == {"0" + time_part(17_650_000_000)}


def test_a_random_part_met_again_is_skipped():
	# the system's randomness repeating itself (as two draws among millions may): the second is
	# not handed out within the same decisecond
	names = HashNames(clock=lambda: 1_765_000_000.0)
	names._random = ["aaaaaa", "bbbbbb", "aaaaaa"]
	prefix = "0" + time_part(17_650_000_000)
	assert [names.draw(), names.draw()] == [prefix + "aaaaaa", prefix + "bbbbbb"]
	third = names.draw()
	assert third[4:] != "aaaaaa" and NAME.match(third)


def test_lead_and_with_lead():
	assert with_lead("0abcdefghi", "5") == "5abcdefghi"
	with pytest.raises(ValueError):
		HashNames(lead="w")
	with pytest.raises(ValueError):
		HashNames(lead="01")
	assert set(ALPHABET) == set("0123456789abcdefghijklmnopqrstuv")

"""The process's SNMP loop for diagnoses: one loop and socket for every read, a late read a timeout."""

import asyncio
import threading
from concurrent.futures import TimeoutError as FutureTimeout

import pytest

from gigafibre_fsm.connectors import snmp_loop


def test_reads_share_one_loop_thread_and_transport():
	async def where(transport):
		return threading.get_ident(), id(asyncio.get_running_loop()), transport

	first = snmp_loop.run(where, timeout=5)
	second = snmp_loop.run(where, timeout=5)
	assert first == second
	assert first[0] != threading.get_ident()


def test_a_late_read_raises_a_timeout_and_leaves_the_loop_usable():
	async def slow(transport):
		await asyncio.sleep(5)

	with pytest.raises(FutureTimeout):
		snmp_loop.run(slow, timeout=0.1)

	async def quick(transport):
		return 42

	assert snmp_loop.run(quick, timeout=5) == 42

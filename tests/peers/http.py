"""Re-export of the fake-peer toolkit, which lives in gigafibre_fsm.fakepeers.http."""

from gigafibre_fsm.fakepeers.http import FakePeer, Request, Response

__all__ = ["FakePeer", "Request", "Response"]

"""Who may do what in a shared session: the access-code check, the slow-down, the role rules."""

import logging
import re

import pytest

from core import access
from core.access import PRESENTER, VIEWER, Forbidden, Sharing, Throttle


def test_codes_open_their_role_and_nothing_else():
    sharing = Sharing(shared=True, viewer_code="river-1234", presenter_code="maple-9876")
    assert sharing.role_for("river-1234") == VIEWER
    assert sharing.role_for("maple-9876") == PRESENTER
    for wrong in ("", "river-123", "river-12345", "RIVER-1234", " river-1234", "maple"):
        assert sharing.role_for(wrong) is None
    assert Sharing(shared=True, viewer_code="", presenter_code="").role_for("") is None  # no code set: nobody


def test_the_codes_never_show_in_a_repr_or_a_log(caplog):
    sharing = Sharing(shared=True, viewer_code="river-1234", presenter_code="maple-9876")
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("corpus-lab").info("settings: %r", sharing)
        sharing.role_for("wrong-guess")
    assert "river-1234" not in repr(sharing) and "maple-9876" not in repr(sharing)
    assert "river-1234" not in caplog.text and "wrong-guess" not in caplog.text


def test_the_comparison_is_constant_time_by_construction(monkeypatch):
    seen = []
    real = access.hmac.compare_digest
    monkeypatch.setattr(access.hmac, "compare_digest", lambda a, b: seen.append((len(a), len(b))) or real(a, b))
    assert access.same("a", "a") and not access.same("a", "a much longer guess")
    assert seen == [(32, 32), (32, 32)]  # digests of equal length whatever the inputs: nothing leaks by length


def test_wrong_codes_slow_further_tries_down_and_a_right_one_clears_them():
    now = [100.0]
    throttle = Throttle(free=3, cap=60.0, clock=lambda: now[0])
    for _ in range(3):
        assert throttle.delay("10.0.0.9") == 0
        throttle.failed("10.0.0.9")
    assert throttle.delay("10.0.0.9") == pytest.approx(1.0)  # the 4th try waits 1 s
    throttle.failed("10.0.0.9")
    assert throttle.delay("10.0.0.9") == pytest.approx(2.0)  # then 2 s, 4 s …
    for _ in range(20):
        throttle.failed("10.0.0.9")
    assert throttle.delay("10.0.0.9") == pytest.approx(60.0)  # capped
    assert throttle.delay("10.0.0.7") == 0  # another client is not slowed by this one
    now[0] += 61
    assert throttle.delay("10.0.0.9") == 0
    throttle.succeeded("10.0.0.9")
    throttle.failed("10.0.0.9")
    assert throttle.delay("10.0.0.9") == 0  # the record starts over


@pytest.mark.parametrize("ip, headers, local", [
    ("127.0.0.1", {}, True), ("::1", {}, True), ("127.0.0.5", {}, True),
    ("192.168.1.20", {}, False), ("10.0.0.2", {}, False), (None, {}, False), ("not an ip", {}, False),
    ("127.0.0.1", {"X-Forwarded-For": "192.168.1.20"}, False),  # a proxy on this machine: the client is not
    ("127.0.0.1", {"Forwarded": "for=192.168.1.20"}, False),
])
def test_only_this_machines_own_browser_counts_as_local(ip, headers, local):
    assert access.is_local(ip, headers) is local


@pytest.mark.parametrize("action", sorted(access.ACTIONS))
def test_every_action_that_changes_the_workspace_is_the_presenters(action):
    assert access.can(PRESENTER, action)
    access.require(PRESENTER, action)
    assert not access.can(VIEWER, action) and not access.can(None, action)
    with pytest.raises(Forbidden, match=re.escape(f"Only the presenter can {access.ACTIONS[action]}")):
        access.require(VIEWER, action)


def test_job_kinds_map_to_their_actions():
    for kind in ("ingest", "tokens", "vectors", "map", "demo", "finetune", "model"):
        with pytest.raises(Forbidden):
            access.require_job(VIEWER, kind)
        access.require_job(PRESENTER, kind)
    for kind in ("generate", "perplexity", "attention", "compare"):
        access.require_job(VIEWER, kind)  # light and interactive work is the viewers' too
    with pytest.raises(ValueError):
        access.can(VIEWER, "no-such-action")


def test_a_viewers_generations_are_bounded_and_one_at_a_time():
    ok_prompt, ok_tokens = ["hello"], [access.VIEWER_MAX_NEW_TOKENS]
    access.check_generation(VIEWER, ok_prompt, ok_tokens, running=0)
    with pytest.raises(Forbidden, match="one at a time"):
        access.check_generation(VIEWER, ok_prompt, ok_tokens, running=1)
    with pytest.raises(Forbidden, match="new tokens"):
        access.check_generation(VIEWER, ok_prompt, [access.VIEWER_MAX_NEW_TOKENS + 1], running=0)
    with pytest.raises(Forbidden, match="characters"):
        access.check_generation(VIEWER, ["x" * (access.VIEWER_MAX_PROMPT_CHARS + 1)], ok_tokens, running=0)
    access.check_generation(PRESENTER, ["x" * 10_000], [2_000], running=3)  # the presenter: no limits


def test_generated_codes_are_readable_and_differ():
    codes = {access.new_code() for _ in range(50)}
    assert len(codes) == 50
    assert all(re.fullmatch(r"[a-z]+-\d{4}-[a-z]+-\d{4}", c) for c in codes)


def test_sharing_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv(access.ENV_SHARE, raising=False)
    assert not Sharing.from_env().shared  # private unless asked
    monkeypatch.setenv(access.ENV_SHARE, "1")
    monkeypatch.setenv(access.ENV_VIEWER, "river-1234")
    assert Sharing.from_env().shared and Sharing.from_env().role_for("river-1234") == VIEWER

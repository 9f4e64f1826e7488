"""The link rules: codes, the ``!link`` line, and every reason a line makes no link."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from domain.links import (
    CODE_ALPHABET,
    CODE_LENGTH,
    CODE_TTL,
    ActiveLink,
    Allowance,
    ChatLine,
    Outcome,
    PendingCode,
    claim_refusal,
    code_hash,
    decide,
    link_command_code,
    new_code,
)

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
USER, OTHER_USER = 10, 11
MEMBER, OTHER_MEMBER = 100, 101
CODE = PendingCode(USER, MEMBER, T0, T0 + CODE_TTL, used=False)


def line(member: int | None = MEMBER, at: datetime = T0, relayed: bool = True) -> ChatLine:
    return ChatLine(relayed=relayed, credited_member_id=member, posted_at=at)


def test_codes_are_short_unambiguous_and_random() -> None:
    rng = random.Random(7)
    codes = {new_code(rng.choice) for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert len(code) == CODE_LENGTH == 6
        assert set(code) <= set(CODE_ALPHABET)
    assert not set("01OIL") & set(CODE_ALPHABET)


def test_only_a_hash_of_the_code_is_kept_and_case_does_not_matter() -> None:
    assert code_hash("abc234") == code_hash(" ABC234 ")
    assert len(code_hash("ABC234")) == 64
    assert "ABC234" not in code_hash("ABC234")
    assert code_hash("ABC234") != code_hash("ABC235")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("!link ABC234", "ABC234"),
        ("  !LINK abc234 ", "ABC234"),
        ("\\!link ABC234", "ABC234"),  # clanchat.net escapes the "!"
        ("!link", None),
        ("!link ABC 234", None),
        ("please !link ABC234", None),
        ("!link ABC234 now", None),
        ("!linkABC234", None),
        ("link ABC234", None),
        ("!link AB", None),
    ],
)
def test_the_link_command_is_the_whole_line(text: str, code: str | None) -> None:
    assert link_command_code(text) == code


def test_the_right_line_links() -> None:
    assert decide(CODE, line(), []) is Outcome.LINKED
    # The last moment of the code's life still counts.
    assert decide(CODE, line(at=T0 + CODE_TTL), []) is Outcome.LINKED


@pytest.mark.parametrize(
    ("code", "chat", "outcome"),
    [
        (CODE, line(relayed=False), Outcome.NOT_RELAYED),
        (None, line(), Outcome.UNKNOWN_CODE),
        (PendingCode(USER, MEMBER, T0, T0 + CODE_TTL, used=True), line(), Outcome.USED),
        (CODE, line(at=T0 - timedelta(seconds=1)), Outcome.TOO_EARLY),
        (CODE, line(at=T0 + CODE_TTL + timedelta(seconds=1)), Outcome.EXPIRED),
        (CODE, line(member=OTHER_MEMBER), Outcome.WRONG_NAME),
        (CODE, line(member=None), Outcome.WRONG_NAME),
    ],
)
def test_every_refusal_of_a_line(
    code: PendingCode | None, chat: ChatLine, outcome: Outcome
) -> None:
    assert decide(code, chat, []) is outcome


def test_one_account_per_member_and_one_member_per_account() -> None:
    mine = ActiveLink(USER, OTHER_MEMBER)
    theirs = ActiveLink(OTHER_USER, MEMBER)
    assert decide(CODE, line(), [ActiveLink(USER, MEMBER)]) is Outcome.ALREADY_LINKED
    assert decide(CODE, line(), [mine]) is Outcome.MEMBER_HAS_LINK
    assert decide(CODE, line(), [theirs]) is Outcome.ACCOUNT_TAKEN
    # An officer's exception: a second account for this member…
    assert decide(CODE, line(), [mine], Allowance(max_accounts=2)) is Outcome.LINKED
    assert decide(CODE, line(), [mine, ActiveLink(USER, 7)], Allowance(2)) is (
        Outcome.MEMBER_HAS_LINK
    )
    # … and a shared account only when both sides may share.
    share = Allowance(shared_accounts=True)
    assert decide(CODE, line(), [theirs], share) is Outcome.ACCOUNT_TAKEN
    assert decide(CODE, line(), [theirs], share, lambda _u: share) is Outcome.LINKED
    assert decide(CODE, line(), [theirs], Allowance(), lambda _u: share) is (Outcome.ACCOUNT_TAKEN)


def test_link_refuses_before_handing_out_a_code() -> None:
    assert claim_refusal(USER, MEMBER, []) is None
    assert claim_refusal(USER, MEMBER, [ActiveLink(OTHER_USER, MEMBER)]) is (Outcome.ACCOUNT_TAKEN)
    assert claim_refusal(USER, MEMBER, [ActiveLink(USER, OTHER_MEMBER)]) is (
        Outcome.MEMBER_HAS_LINK
    )


def test_other_members_links_do_not_block_and_each_holder_is_asked() -> None:
    share, plain = Allowance(shared_accounts=True), Allowance()
    # Someone else's link to another account is none of this claim's business.
    elsewhere = [ActiveLink(OTHER_USER, OTHER_MEMBER)]
    assert decide(CODE, line(), elsewhere) is Outcome.LINKED
    # Sharing asks each current holder of the account, by who they are.
    holders = [ActiveLink(OTHER_USER, MEMBER), ActiveLink(12, MEMBER)]

    def only_other_user_shares(user: int) -> Allowance:
        return share if user == OTHER_USER else plain

    assert decide(CODE, line(), holders, share, only_other_user_shares) is (Outcome.ACCOUNT_TAKEN)
    assert decide(CODE, line(), holders[:1], share, only_other_user_shares) is Outcome.LINKED
    # /link hands out a code on the same terms.
    assert claim_refusal(USER, MEMBER, holders[:1], share, only_other_user_shares) is None
    assert claim_refusal(USER, MEMBER, holders[:1], share) is Outcome.ACCOUNT_TAKEN
